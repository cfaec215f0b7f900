// ICMP and ICMPv6 errors about a tunneled flow, on both entries: they carry
// their own addresses, so they are matched to the flow by the header they
// quote. Out of the tunnel they reach the flow's origin (traceroute, PMTU
// discovery past the service point); on the wire they go into the tunnel
// the flow uses. A SYN-ACK out of the tunnel is MSS-clamped like the SYN.
import { ENTRIES, LoadedObject } from '../helpers/wire';
import { csum, csum6, ip4, pkt, Pkt, withIpCsum } from '../helpers/packet';
import { dropped, gre, GW1, GW2, inner, PC, runWire, setupBox, SRV, udp } from '../helpers/onebox';

const ROUTER = '203.0.113.129', HOP = '198.51.100.1';
const PC6 = '2001:db8:1::10', SRV6 = '2001:db8:200::80', ROUTER6 = '2001:db8:200::1';

/** An IPv4 ICMP error from `from` to `to` quoting `quoted` (an IP packet): its header and 8 bytes. */
function icmp4Err(from: string, to: string, type: number, code: number, quoted: Buffer, rest = 0): Buffer {
  const ihl = (quoted[0] & 0xf) * 4;
  const ic = Buffer.concat([Buffer.from([type, code, 0, 0]), Buffer.alloc(4), quoted.subarray(0, ihl + 8)]);
  ic.writeUInt32BE(rest, 4);
  ic.writeUInt16BE(csum(ic), 2);
  return withIpCsum(Buffer.concat([pkt().ipv4(from, to, 1, ic.length).build(), ic]), 0);
}
/** An ICMPv6 error quoting the packet's IPv6 header and 8 bytes. */
function icmp6Err(from: string, to: string, type: number, quoted: Buffer, rest = 0): Buffer {
  const ic = Buffer.concat([Buffer.from([type, 0, 0, 0]), Buffer.alloc(4), quoted.subarray(0, 48)]);
  ic.writeUInt32BE(rest, 4);
  const hdr = pkt().ipv6(from, to, 58, ic.length).build();
  ic.writeUInt16BE(csum6(hdr, ic), 2);
  return Buffer.concat([hdr, ic]);
}
const udp6 = (src: string, dst: string, n: number, sport = 4000, dport = 53) =>
  pkt().eth(GW2, GW1, 0x86dd).ipv6(src, dst, 17, 8 + n).udp(sport, dport, n).payload(n).build();

describe.each(ENTRIES)('ICMP errors and SYN-ACKs of tunneled flows ($hook entry)', (e) => {
  let o: LoadedObject;
  const run = (frame: Buffer) => runWire(e, o, frame);
  beforeEach(() => { o = new LoadedObject(e.object); setupBox(o, { mtu: 1400 }, '2001:db8:100::10'); });
  afterEach(() => o.close());
  const ts = () => o.read('l2_tun_stats', 1)!;

  // PC -> SRV went into the tunnel; errors about it come back out of it
  test.each(<Array<[string, string, number, number]>>[
    ['port unreachable from the server', SRV, 3, 3],
    ['frag-needed from a router beyond the service point', ROUTER, 3, 4],
    ['time exceeded (traceroute) from a router beyond it', ROUTER, 11, 0],
    ['parameter problem', ROUTER, 12, 0],
  ])('out of the tunnel: IPv4 %s reaches the flow\'s origin', (_n, from, type, code) => {
    const sent = udp(PC, SRV, 40);
    expect(run(sent).retval).toBe(e.v.redirect); // learned, wrapped
    const err = icmp4Err(from, PC, type, code, sent.subarray(14), type === 3 && code === 4 ? 1300 : 0);
    const r = run(gre({ payload: err }));
    expect(r.retval).toBe(e.v.redirect);
    expect(r.data.subarray(0, 6)).toEqual(Pkt.mac(GW1)); // to whoever sent the flow
    expect(r.data.subarray(6, 12)).toEqual(Pkt.mac(GW2));
    expect(r.data.subarray(14)).toEqual(err);
    expect(ts()).toMatchObject({ icmp_in: 1n, decap_packets: 1n });
    expect(dropped(o, 'flow_miss')).toBe(0n);
  });

  test.each(<Array<[string, number]>>[
    ['destination unreachable', 1], ['packet too big', 2], ['time exceeded', 3], ['parameter problem', 4],
  ])('out of the tunnel: ICMPv6 %s reaches the flow\'s origin', (_n, type) => {
    const sent = udp6(PC6, SRV6, 40);
    expect(run(sent).retval).toBe(e.v.redirect);
    const err = icmp6Err(ROUTER6, PC6, type, sent.subarray(14), type === 2 ? 1280 : 0);
    const r = run(gre({ proto: 0x86dd, payload: err }));
    expect(r.retval).toBe(e.v.redirect);
    expect(r.data.subarray(0, 6)).toEqual(Pkt.mac(GW1));
    expect(r.data.readUInt16BE(12)).toBe(0x86dd);
    expect(r.data.subarray(14)).toEqual(err);
    expect(ts().icmp_in).toBe(1n);
  });

  test('out of the tunnel: an error about a flow never seen is dropped and counted', () => {
    const never = udp(PC, SRV, 40, 4444, 5555);
    const r = run(gre({ payload: icmp4Err(ROUTER, PC, 11, 0, never.subarray(14)) }));
    expect(r.retval).toBe(e.v.drop);
    expect(dropped(o, 'icmp_no_flow')).toBe(1n);
    expect(ts().icmp_in).toBe(0n);
  });

  // SRV -> PC came out of the tunnel (a reply of PC's flow); errors about it go back in
  test.each(<Array<[string, string, number, number]>>[
    ['port unreachable from the PC', PC, 3, 3],
    ['time exceeded from a router on this side', HOP, 11, 0],
    ['frag-needed from a router on this side', HOP, 3, 4],
  ])('on the wire: IPv4 %s goes into the flow\'s tunnel', (_n, from, type, code) => {
    expect(run(udp(PC, SRV, 40)).retval).toBe(e.v.redirect); // the flow, into tunnel 1
    const back = inner(SRV, PC, 40, 53, 4000); // what came out of the tunnel
    const err = icmp4Err(from, SRV, type, code, back);
    const f = Buffer.concat([pkt().eth(GW2, GW1, 0x0800).build(), err]);
    const r = run(f);
    expect(r.retval).toBe(e.v.redirect);
    expect(r.data.readUInt16BE(12)).toBe(0x0800);
    expect(r.data[14 + 9]).toBe(47); // GRE
    expect(r.data.subarray(14 + 24)).toEqual(err);
    expect(ts()).toMatchObject({ icmp_out: 1n, encap_packets: 2n });
  });

  test('on the wire: an ICMPv6 error about a flow from the tunnel goes into it', () => {
    expect(run(udp6(PC6, SRV6, 40)).retval).toBe(e.v.redirect);
    const back = udp6(SRV6, PC6, 40, 53, 4000).subarray(14);
    const err = icmp6Err(PC6, SRV6, 1, back);
    const r = run(Buffer.concat([pkt().eth(GW2, GW1, 0x86dd).build(), err]));
    expect(r.retval).toBe(e.v.redirect);
    expect(r.data[14 + 9]).toBe(47);
    expect(r.data.readUInt16BE(14 + 22)).toBe(0x86dd);
    expect(ts().icmp_out).toBe(1n);
  });

  test('on the wire: an error whose quote matches no flow follows the rules for the quoted flow\'s reply', () => {
    // the quote is SRV -> a host that never talked: the reply direction is
    // dst SRV, which the rule tunnels
    const err = icmp4Err(HOP, SRV, 3, 1, inner(SRV, '192.0.2.77', 8, 53, 7));
    const r = run(Buffer.concat([pkt().eth(GW2, GW1, 0x0800).build(), err]));
    expect(r.retval).toBe(e.v.redirect);
    expect(r.data[14 + 9]).toBe(47);
    expect(ts()).toMatchObject({ icmp_out: 0n, encap_packets: 1n });
  });

  test('a SYN-ACK out of the tunnel gets the MSS limit of the tunnel, checksum valid', () => {
    const syn = (src: string, dst: string, sport: number, dport: number, flags: number) => {
      const t = Buffer.alloc(24);
      t.writeUInt16BE(sport, 0); t.writeUInt16BE(dport, 2); t[12] = 6 << 4; t[13] = flags;
      t[20] = 2; t[21] = 4; t.writeUInt16BE(1460, 22);
      const pseudo = Buffer.concat([ip4(src), ip4(dst), Buffer.from([0, 6, 0, 24])]);
      t.writeUInt16BE(csum(Buffer.concat([pseudo, t])), 16);
      return { ip: withIpCsum(Buffer.concat([pkt().ipv4(src, dst, 6, 24).build(), t]), 0), pseudo };
    };
    const out = syn(PC, SRV, 40000, 80, 0x02);
    expect(run(Buffer.concat([pkt().eth(GW2, GW1, 0x0800).build(), out.ip])).retval).toBe(e.v.redirect);
    const sa = syn(SRV, PC, 80, 40000, 0x12); // SYN-ACK, MSS 1460
    const r = run(gre({ payload: sa.ip }));
    expect(r.retval).toBe(e.v.redirect);
    const t = r.data.subarray(14 + 20);
    expect(t.readUInt16BE(22)).toBe(1400 - 40);
    expect(csum(Buffer.concat([sa.pseudo, t]))).toBe(0);
  });
});
