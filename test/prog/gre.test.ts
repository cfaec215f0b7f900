// The one IP, prefix rules and GRE through BPF_PROG_TEST_RUN: frames in,
// verdict and frames out, counters. Port = loopback (ifindex 1), as in
// wire.test.ts; the flow cache records it, so replies go back out that port.
import { ENTRIES, LoadedObject } from '../helpers/wire';
import { csum, ip4, pkt, Pkt, withIpCsum } from '../helpers/packet';
import { dropped, gre, GW1, GW2, inner, LOCAL, PC, PORT_MAC, REMOTE, runWire, setupBox, SRV, TunnelOpts, udp } from '../helpers/onebox';

describe.each(ENTRIES)('one IP, rules and GRE ($hook entry, BPF_PROG_TEST_RUN)', (e) => {
  let o: LoadedObject;
  const run = (frame: Buffer) => runWire(e, o, frame);
  const drops = (reason: string) => dropped(o, reason);
  const setup = (t: TunnelOpts = {}) => setupBox(o, t);
  beforeEach(() => { o = new LoadedObject(e.object); });
  afterEach(() => o.close());

  test('ARP request for local is answered from the port MAC', () => {
    setup();
    const req = pkt().eth('ff:ff:ff:ff:ff:ff', GW2, 0x0806).arpRequest(GW2, '198.51.100.2', LOCAL).build();
    const r = run(req);
    expect(r.retval).toBe(e.v.redirect);
    const a = r.data;
    expect(a.subarray(0, 6)).toEqual(Pkt.mac(GW2));
    expect(a.subarray(6, 12)).toEqual(Pkt.mac(PORT_MAC));
    expect(a.readUInt16BE(14 + 6)).toBe(2); // reply
    expect(a.subarray(14 + 8, 14 + 14)).toEqual(Pkt.mac(PORT_MAC));
    expect(a.subarray(14 + 14, 14 + 18)).toEqual(ip4(LOCAL));
    expect(a.subarray(14 + 24, 14 + 28)).toEqual(ip4('198.51.100.2'));
  });

  test('ARP for another address crosses the wire', () => {
    setup();
    expect(run(pkt().eth('ff:ff:ff:ff:ff:ff', GW2, 0x0806).arpRequest(GW2, '198.51.100.2', '198.51.100.1').build()).retval).toBe(e.v.redirect);
  });

  test('ping to local gets an echo reply with valid checksums', () => {
    setup();
    const echo = Buffer.alloc(16); echo[0] = 8; echo.writeUInt16BE(0x1234, 4); echo.writeUInt16BE(7, 6);
    echo.writeUInt16BE(csum(echo), 2);
    const req = withIpCsum(Buffer.concat([pkt().eth(PORT_MAC, GW2, 0x0800).ipv4('198.51.100.2', LOCAL, 1, 16).build(), echo]));
    const r = run(req);
    expect(r.retval).toBe(e.v.redirect);
    expect(r.data.subarray(0, 6)).toEqual(Pkt.mac(GW2));
    expect(r.data.subarray(14 + 12, 14 + 16)).toEqual(ip4(LOCAL));
    expect(r.data.subarray(14 + 16, 14 + 20)).toEqual(ip4('198.51.100.2'));
    expect(csum(r.data.subarray(14, 34))).toBe(0);
    expect(r.data[34]).toBe(0);
    expect(csum(r.data.subarray(34))).toBe(0);
  });

  test.each([
    ['plain', {}],
    ['with key', { key: 0xdeadbeef }],
    ['with key and checksum', { key: 42, csum: true }],
  ])('encapsulation %s: outer IPv4 + GRE, original MACs, inner untouched', (_n, t: { key?: number; csum?: boolean }) => {
    setup(t);
    const f = udp(PC, SRV, 100);
    const r = run(f);
    expect(r.retval).toBe(e.v.redirect);
    const out = r.data;
    const glen = 4 + (t.csum ? 4 : 0) + (t.key !== undefined ? 4 : 0);
    expect(out.length).toBe(f.length + 20 + glen);
    expect(out.subarray(0, 12)).toEqual(f.subarray(0, 12)); // same next hop
    expect(out.readUInt16BE(12)).toBe(0x0800);
    const ip = out.subarray(14, 34);
    expect(ip[0]).toBe(0x45);
    expect(ip.readUInt16BE(2)).toBe(out.length - 14);
    expect(ip.readUInt16BE(6)).toBe(0x4000); // DF
    expect(ip[8]).toBe(64);
    expect(ip[9]).toBe(47);
    expect(ip.subarray(12, 16)).toEqual(ip4(LOCAL));
    expect(ip.subarray(16, 20)).toEqual(ip4(REMOTE));
    expect(csum(ip)).toBe(0);
    const g = out.subarray(34);
    expect(g.readUInt16BE(0)).toBe((t.csum ? 0x8000 : 0) | (t.key !== undefined ? 0x2000 : 0));
    expect(g.readUInt16BE(2)).toBe(0x0800);
    if (t.key !== undefined) expect(g.readUInt32BE(t.csum ? 8 : 4)).toBe(t.key);
    if (t.csum) expect(csum(g)).toBe(0);
    expect(out.subarray(34 + glen)).toEqual(f.subarray(14));
    const ts = o.read('l2_tun_stats', 1)!;
    expect(ts.encap_packets).toBe(1n);
    expect(ts.encap_bytes).toBe(BigInt(f.length - 14));
  });

  test('decapsulation of a reply: Ethernet header from the flow cache, out the flow\'s port', () => {
    setup({ key: 7, csum: true });
    expect(run(udp(PC, SRV, 40, 4000, 53)).retval).toBe(e.v.redirect); // learns the flow
    const reply = inner(SRV, PC, 40, 53, 4000);
    const r = run(gre({ key: 7, csum: true, payload: reply }));
    expect(r.retval).toBe(e.v.redirect); // back out the same port: the flow came in here
    expect(r.data.subarray(0, 6)).toEqual(Pkt.mac(GW1));  // back to whoever sent the flow
    expect(r.data.subarray(6, 12)).toEqual(Pkt.mac(GW2)); // from the MAC it was sent to
    expect(r.data.readUInt16BE(12)).toBe(0x0800);
    expect(r.data.subarray(14)).toEqual(reply);
    expect(o.read('l2_tun_stats', 1)!.decap_packets).toBe(1n);
  });

  test('decapsulation restores the flow\'s VLAN tag', () => {
    setup();
    const tagged = withIpCsum(pkt().eth(GW2, GW1, 0x8100).tag(100, 0x0800).ipv4(PC, SRV, 17, 16).udp(4000, 53, 8).payload(8).build(), 18);
    expect(run(tagged).retval).toBe(e.v.redirect);
    const reply = inner(SRV, PC, 8, 53, 4000);
    const r = run(gre({ payload: reply }));
    expect(r.retval).toBe(e.v.redirect);
    expect(r.data.readUInt16BE(12)).toBe(0x8100);
    expect(r.data.readUInt16BE(14) & 0xfff).toBe(100);
    expect(r.data.readUInt16BE(16)).toBe(0x0800);
    expect(r.data.subarray(18)).toEqual(reply);
  });

  test('a flow never seen, to a learned neighbour: to its MAC, from the router that delivered the tunnel packet', () => {
    setup();
    const HOST = '198.51.100.20', HMAC = '02:00:5e:00:53:c1';
    run(withIpCsum(pkt().eth(GW2, HMAC, 0x0800).ipv4(HOST, '198.51.100.77', 17, 16).udp(1, 2, 8).payload(8).build())); // learned
    const opened = inner(SRV, HOST, 8, 5000, 80); // the far end opens a flow (a GRE pair)
    const r = run(gre({ payload: opened }));
    expect(r.retval).toBe(e.v.redirect);
    expect(r.data.subarray(0, 6)).toEqual(Pkt.mac(HMAC));
    expect(r.data.subarray(6, 12)).toEqual(Pkt.mac(GW2));
    expect(r.data.readUInt16BE(12)).toBe(0x0800);
    expect(r.data.subarray(14)).toEqual(opened);
    const ts = o.read('l2_tun_stats', 1)!;
    expect([ts.decap_packets, ts.decap_neigh]).toEqual([1n, 1n]);
    expect(drops('flow_miss')).toBe(0n);
  });

  test('a MAC move (gratuitous ARP) re-points cached flows', () => {
    setup();
    const GW1B = '02:00:5e:00:53:b1';
    run(pkt().eth('ff:ff:ff:ff:ff:ff', GW1, 0x0806).arpRequest(GW1, '198.51.100.1', '198.51.100.1').build());
    expect(run(udp(PC, SRV, 8)).retval).toBe(e.v.redirect);
    run(pkt().eth('ff:ff:ff:ff:ff:ff', GW1B, 0x0806).arpRequest(GW1B, '198.51.100.1', '198.51.100.1').build()); // VRRP fail-over
    const r = run(gre({ payload: inner(SRV, PC, 8, 53, 4000) }));
    expect(r.retval).toBe(e.v.redirect);
    expect(r.data.subarray(0, 6)).toEqual(Pkt.mac(GW1B));
  });

  test.each(<Array<[string, object, string, object]>>[
    ['a flow never seen', { payload: inner(SRV, PC, 8, 1, 2) }, 'flow_miss', {}],
    ['a missing key', { payload: inner(SRV, PC, 8, 53, 4000) }, 'gre_key', { key: 9 }],
    ['a wrong key', { key: 8, payload: inner(SRV, PC, 8, 53, 4000) }, 'gre_key', { key: 9 }],
    ['version 1 (PPTP)', { flags: 1, payload: inner(SRV, PC, 8, 53, 4000) }, 'gre_version', {}],
    ['routing present', { flags: 0x4000, payload: inner(SRV, PC, 8, 53, 4000) }, 'gre_flags', {}],
    ['an unknown protocol', { proto: 0x6558, payload: inner(SRV, PC, 8, 53, 4000) }, 'gre_proto', {}],
    ['an unknown remote', { from: '203.0.113.99', payload: inner(SRV, PC, 8, 53, 4000) }, 'gre_remote', {}],
  ])('GRE with %s is dropped and counted', (_n, g, reason, t) => {
    setup(t as { key?: number });
    const d0 = drops(reason as string) ?? 0n;
    const r = run(gre(g as Parameters<typeof gre>[0]));
    expect(r.retval).toBe(e.v.drop);
    expect(drops(reason as string)).toBe(d0 + 1n);
  });

  test('a bad GRE checksum is dropped and counted', () => {
    setup();
    run(udp(PC, SRV, 8));
    const f = gre({ csum: true, payload: inner(SRV, PC, 8, 53, 4000) });
    f[f.length - 1] ^= 0xff;
    expect(run(f).retval).toBe(e.v.drop);
    expect(drops('gre_csum')).toBe(1n);
  });

  test('truncated GRE is dropped and counted', () => {
    setup();
    const f = gre({ payload: inner(SRV, PC, 8, 53, 4000) });
    const cut = withIpCsum(Buffer.concat([f.subarray(0, 36)]));
    cut.writeUInt16BE(22, 16); // outer says 22 bytes: only half a GRE header
    expect(run(withIpCsum(cut)).retval).toBe(e.v.drop);
    expect(drops('gre_truncated')).toBe(1n);
  });

  test('a fragmented outer packet is dropped and counted', () => {
    setup();
    const f = gre({ payload: inner(SRV, PC, 8, 53, 4000) });
    f.writeUInt16BE(0x2000, 14 + 6); // MF
    expect(run(withIpCsum(f)).retval).toBe(e.v.drop);
    expect(drops('outer_frag')).toBe(1n);
  });

  test('too big with DF: ICMP frag-needed back to the sender with the tunnel MTU', () => {
    setup({ mtu: 1000 });
    const big = udp(PC, SRV, 1200);
    big.writeUInt16BE(0x4000, 14 + 6);
    const r = run(withIpCsum(big));
    expect(r.retval).toBe(e.v.redirect);
    const out = r.data;
    expect(out.subarray(0, 6)).toEqual(Pkt.mac(GW1));
    expect(out.subarray(14 + 12, 14 + 16)).toEqual(ip4(LOCAL));
    expect(out.subarray(14 + 16, 14 + 20)).toEqual(ip4(PC));
    expect(out[14 + 9]).toBe(1);
    expect(csum(out.subarray(14, 34))).toBe(0);
    expect([out[34], out[35]]).toEqual([3, 4]);
    expect(out.readUInt16BE(34 + 6)).toBe(1000);
    expect(csum(out.subarray(34))).toBe(0);
    expect(out.subarray(42, 42 + 28)).toEqual(withIpCsum(big).subarray(14, 14 + 28)); // quoted header + 8 bytes
    expect(drops('too_big')).toBe(1n);
  });

  test('too big without DF is dropped and counted, not black-holed silently', () => {
    setup({ mtu: 1000 });
    expect(run(udp(PC, SRV, 1200)).retval).toBe(e.v.drop);
    expect(drops('too_big_noicmp')).toBe(1n);
  });

  test('MSS of a tunneled SYN is clamped to the tunnel MTU, checksum kept valid', () => {
    setup({ mtu: 1400 });
    const tcp = Buffer.alloc(24);
    tcp.writeUInt16BE(40000, 0); tcp.writeUInt16BE(80, 2); tcp[12] = 6 << 4; tcp[13] = 0x02; // SYN
    tcp[20] = 2; tcp[21] = 4; tcp.writeUInt16BE(1460, 22);
    const pseudo = Buffer.concat([ip4(PC), ip4(SRV), Buffer.from([0, 6, 0, 24])]);
    tcp.writeUInt16BE(csum(Buffer.concat([pseudo, tcp])), 16);
    const f = withIpCsum(Buffer.concat([pkt().eth(GW2, GW1, 0x0800).ipv4(PC, SRV, 6, 24).build(), tcp]));
    const r = run(f);
    expect(r.retval).toBe(e.v.redirect);
    const t = r.data.subarray(14 + 24 + 20);
    expect(t.readUInt16BE(22)).toBe(1400 - 40);
    expect(csum(Buffer.concat([pseudo, t]))).toBe(0);
  });

  /** The frame with `opts` inserted as IPv4 options after the header at l3 (ihl and lengths fixed). */
  function withOptions(frame: Buffer, opts: number[], l3 = 14): Buffer {
    const f = Buffer.concat([frame.subarray(0, l3 + 20), Buffer.from(opts), frame.subarray(l3 + 20)]);
    f[l3] = 0x40 | ((20 + opts.length) / 4);
    f.writeUInt16BE(f.readUInt16BE(l3 + 2) + opts.length, l3 + 2);
    f.writeUInt16BE(0, l3 + 10);
    f.writeUInt16BE(csum(f.subarray(l3, l3 + 20 + opts.length)), l3 + 10);
    return f;
  }

  test('GRE whose outer IPv4 header carries options is unwrapped', () => {
    setup({ key: 3, csum: true });
    run(udp(PC, SRV, 8));
    const reply = inner(SRV, PC, 8, 53, 4000);
    const r = run(withOptions(gre({ key: 3, csum: true, payload: reply }), [0x94, 0x04, 0, 0])); // router alert
    expect(r.retval).toBe(e.v.redirect);
    expect(r.data.subarray(0, 6)).toEqual(Pkt.mac(GW1));
    expect(r.data.subarray(14)).toEqual(reply);
  });

  test('an inner packet with IP options is carried whole, options included', () => {
    setup();
    const f = withOptions(udp(PC, SRV, 16), [1, 1, 1, 0]); // NOP NOP NOP EOL
    const r = run(f);
    expect(r.retval).toBe(e.v.redirect);
    expect(r.data.subarray(14 + 24)).toEqual(f.subarray(14));
    expect(r.data.readUInt16BE(14 + 2)).toBe(20 + 4 + f.length - 14);
  });

  test('inner fragments (first and later) are tunneled by destination, unchanged', () => {
    setup();
    const first = udp(PC, SRV, 64);
    first.writeUInt16BE(0x2000, 14 + 6); // MF, offset 0
    const later = udp(PC, SRV, 64);
    later.writeUInt16BE(0x0009, 14 + 6); // offset 72 bytes, last: no UDP header in it
    for (const f of [withIpCsum(first), withIpCsum(later)]) {
      const r = run(f);
      expect(r.retval).toBe(e.v.redirect);
      expect(r.data.readUInt16BE(14 + 20 + 2)).toBe(0x0800);
      expect(r.data.subarray(14 + 24)).toEqual(f.subarray(14));
    }
    expect(o.read('l2_tun_stats', 1)!.encap_packets).toBe(2n);
  });

  test('ICMP frag-needed is rate limited; the rest is counted as icmp_limit', () => {
    setup({ mtu: 1000 });
    const big = udp(PC, SRV, 1200);
    big.writeUInt16BE(0x4000, 14 + 6);
    const f = withIpCsum(big);
    const verdicts = new Set<number>();
    for (let i = 0; i < 300; i++) verdicts.add(run(f).retval);
    const sent = drops('too_big'), limited = drops('icmp_limit');
    expect(sent + limited).toBe(300n);
    // a burst of 100 per CPU (this process may run on either of two), refilled at 100/s
    expect(sent).toBeGreaterThanOrEqual(100n);
    expect(sent).toBeLessThanOrEqual(250n);
    expect(limited).toBeGreaterThan(0n);
    expect([...verdicts].sort()).toEqual([e.v.drop, e.v.redirect]);
  });

  test('a rule that drops', () => {
    setup();
    expect(run(udp(PC, '192.0.2.66', 8)).retval).toBe(e.v.drop);
    expect(drops('rule')).toBe(1n);
  });

  test('traffic outside every rule crosses untouched and its flow is learned', () => {
    setup();
    const f = udp(PC, '198.51.100.77', 20);
    const r = run(f);
    expect(r.retval).toBe(e.v.redirect);
    expect(r.data).toEqual(f);
    expect(o.map('l2_flows').info.maxEntries).toBeGreaterThanOrEqual(262144);
    expect([...o.map('l2_flows').entries()]).toHaveLength(1);
  });
});
