// IPv6 through BPF_PROG_TEST_RUN: the one IP's IPv6 address (neighbour
// solicitation, echo, packet-too-big) and IPv6 inside IPv4 GRE both ways.
import { ENTRIES, LoadedObject } from '../helpers/wire';
import { csum, csum6, ip4, ip6, pkt, Pkt } from '../helpers/packet';
import { dropped, gre, GW1, GW2, LOCAL, LOCAL6, PORT_MAC, REMOTE, runWire, setupBox, TunnelOpts } from '../helpers/onebox';

const ROUTER6 = '2001:db8:100::1', PC6 = '2001:db8:1::10', SRV6 = '2001:db8:200::80';

/** ICMPv6 message (type, code, body after the 4-byte header) with a valid checksum. */
function icmp6(src: string, dst: string, type: number, body: Buffer, hop = 64, macs: [string, string] = [PORT_MAC, GW2]): Buffer {
  const ic = Buffer.concat([Buffer.from([type, 0, 0, 0]), body]);
  const hdr = pkt().ipv6(src, dst, 58, ic.length).build();
  hdr[7] = hop;
  ic.writeUInt16BE(csum6(hdr, ic), 2);
  return Buffer.concat([pkt().eth(macs[0], macs[1], 0x86dd).build(), hdr, ic]);
}
/** Neighbour solicitation for target, with a source link-layer option when from a real address. */
function ns(src: string, target: string): Buffer {
  const opt = src === '::' ? Buffer.alloc(0) : Buffer.concat([Buffer.from([1, 1]), Pkt.mac(GW2)]);
  const t = ip6(target);
  const snm = `ff02::1:ff${t[13].toString(16).padStart(2, '0')}:${t.readUInt16BE(14).toString(16)}`;
  return icmp6(src, snm, 135, Buffer.concat([Buffer.alloc(4), t, opt]), 255, ['33:33:ff:00:00:10', GW2]);
}
const udp6 = (src: string, dst: string, n: number, sport = 4000, dport = 53) =>
  pkt().eth(GW2, GW1, 0x86dd).ipv6(src, dst, 17, 8 + n).udp(sport, dport, n).payload(n).build();

describe.each(ENTRIES)('IPv6: the one IP and IPv6 in GRE ($hook entry, BPF_PROG_TEST_RUN)', (e) => {
  let o: LoadedObject;
  const run = (frame: Buffer) => runWire(e, o, frame);
  const setup = (t: TunnelOpts = {}, local6: string | null = LOCAL6) => setupBox(o, t, local6 ?? undefined);
  beforeEach(() => { o = new LoadedObject(e.object); });
  afterEach(() => o.close());

  test('neighbour solicitation for local6 gets a solicited NA from the port MAC', () => {
    setup();
    const r = run(ns(ROUTER6, LOCAL6));
    expect(r.retval).toBe(e.v.redirect);
    const a = r.data;
    expect(a.subarray(0, 6)).toEqual(Pkt.mac(GW2));
    expect(a.subarray(6, 12)).toEqual(Pkt.mac(PORT_MAC));
    expect(a.readUInt16BE(12)).toBe(0x86dd);
    const ip = a.subarray(14, 54), na = a.subarray(54);
    expect(ip[6]).toBe(58);
    expect(ip[7]).toBe(255); // RFC 4861: hop limit 255 or the NA is ignored
    expect(ip.subarray(8, 24)).toEqual(ip6(LOCAL6));
    expect(ip.subarray(24, 40)).toEqual(ip6(ROUTER6));
    expect(ip.readUInt16BE(4)).toBe(na.length);
    expect(na.length).toBe(32);
    expect(na[0]).toBe(136);
    expect(na.readUInt32BE(4)).toBe(0x60000000); // solicited, override
    expect(na.subarray(8, 24)).toEqual(ip6(LOCAL6));
    expect([na[24], na[25]]).toEqual([2, 1]); // target link-layer address
    expect(na.subarray(26, 32)).toEqual(Pkt.mac(PORT_MAC));
    expect(csum6(ip, na)).toBe(0);
  });

  test('duplicate address detection (NS from ::) is answered to all-nodes, not solicited', () => {
    setup();
    const r = run(ns('::', LOCAL6));
    expect(r.retval).toBe(e.v.redirect);
    expect(r.data.subarray(0, 6)).toEqual(Pkt.mac('33:33:00:00:00:01'));
    expect(r.data.subarray(14 + 24, 14 + 40)).toEqual(ip6('ff02::1'));
    expect(r.data.readUInt32BE(54 + 4)).toBe(0x20000000);
    expect(csum6(r.data.subarray(14, 54), r.data.subarray(54))).toBe(0);
  });

  test('a solicitation for another address crosses the wire unchanged', () => {
    setup();
    const f = ns(ROUTER6, '2001:db8:100::2');
    const r = run(f);
    expect(r.retval).toBe(e.v.redirect);
    expect(r.data).toEqual(f);
  });

  test('without an IPv6 local, a solicitation for that address is just bridged', () => {
    setup({}, null);
    const f = ns(ROUTER6, LOCAL6);
    expect(run(f).data).toEqual(f);
  });

  test('ping6 to local6 gets an echo reply with a valid checksum', () => {
    setup();
    const body = Buffer.concat([Buffer.from([0x12, 0x34, 0, 7]), Buffer.from('l2bpf-echo')]);
    const r = run(icmp6(ROUTER6, LOCAL6, 128, body));
    expect(r.retval).toBe(e.v.redirect);
    expect(r.data.subarray(0, 6)).toEqual(Pkt.mac(GW2));
    const ip = r.data.subarray(14, 54), ic = r.data.subarray(54);
    expect(ip.subarray(8, 24)).toEqual(ip6(LOCAL6));
    expect(ip.subarray(24, 40)).toEqual(ip6(ROUTER6));
    expect(ic[0]).toBe(129);
    expect(ic.subarray(4)).toEqual(body);
    expect(csum6(ip, ic)).toBe(0);
  });

  test('other IPv6 traffic to local6 is dropped and counted', () => {
    setup();
    const f = pkt().eth(PORT_MAC, GW2, 0x86dd).ipv6(ROUTER6, LOCAL6, 17, 16).udp(1, 2, 8).payload(8).build();
    expect(run(f).retval).toBe(e.v.drop);
    expect(dropped(o, 'to_local')).toBe(1n);
  });

  test('IPv6 in IPv4 GRE: protocol 0x86DD, original MACs, inner untouched', () => {
    setup({ key: 5, csum: true });
    const f = udp6(PC6, SRV6, 100);
    const r = run(f);
    expect(r.retval).toBe(e.v.redirect);
    const out = r.data;
    expect(out.length).toBe(f.length + 20 + 12);
    expect(out.subarray(0, 12)).toEqual(f.subarray(0, 12));
    expect(out.readUInt16BE(12)).toBe(0x0800);
    const ip = out.subarray(14, 34);
    expect(ip[9]).toBe(47);
    expect(ip.readUInt16BE(2)).toBe(out.length - 14);
    expect(ip.subarray(12, 16)).toEqual(ip4(LOCAL));
    expect(ip.subarray(16, 20)).toEqual(ip4(REMOTE));
    expect(csum(ip)).toBe(0);
    const g = out.subarray(34);
    expect(g.readUInt16BE(0)).toBe(0xa000);
    expect(g.readUInt16BE(2)).toBe(0x86dd);
    expect(g.readUInt32BE(8)).toBe(5);
    expect(csum(g)).toBe(0);
    expect(out.subarray(46)).toEqual(f.subarray(14));
    expect(o.read('l2_tun_stats', 1)!.encap_packets).toBe(1n);
  });

  test('an IPv6 reply out of GRE gets the flow\'s Ethernet header and ethertype 0x86DD', () => {
    setup();
    expect(run(udp6(PC6, SRV6, 20)).retval).toBe(e.v.redirect);
    const reply = udp6(SRV6, PC6, 20, 53, 4000).subarray(14);
    const r = run(gre({ proto: 0x86dd, payload: reply }));
    expect(r.retval).toBe(e.v.redirect);
    expect(r.data.subarray(0, 6)).toEqual(Pkt.mac(GW1));
    expect(r.data.subarray(6, 12)).toEqual(Pkt.mac(GW2));
    expect(r.data.readUInt16BE(12)).toBe(0x86dd);
    expect(r.data.subarray(14)).toEqual(reply);
  });

  test('an unsolicited NA with a new MAC (fail-over) re-points the flows of the old one', () => {
    setup();
    const GW1B = '02:00:5e:00:53:b1';
    const na = (mac: string) => icmp6(ROUTER6, 'ff02::1', 136,
      Buffer.concat([Buffer.from([0x20, 0, 0, 0]), ip6(ROUTER6), Buffer.from([2, 1]), Pkt.mac(mac)]), 255, ['33:33:00:00:00:01', mac]);
    run(na(GW1)); // the router, learned with its first MAC
    expect(run(udp6(PC6, SRV6, 20)).retval).toBe(e.v.redirect); // a flow from behind it
    run(na(GW1B)); // fail-over
    const r = run(gre({ proto: 0x86dd, payload: udp6(SRV6, PC6, 20, 53, 4000).subarray(14) }));
    expect(r.retval).toBe(e.v.redirect);
    expect(r.data.subarray(0, 6)).toEqual(Pkt.mac(GW1B));
  });

  test('an oversize IPv6 packet gets packet-too-big from local6 with the tunnel MTU', () => {
    setup({ mtu: 1280 });
    const big = udp6(PC6, SRV6, 1400);
    const r = run(big);
    expect(r.retval).toBe(e.v.redirect);
    const out = r.data;
    expect(out.subarray(0, 6)).toEqual(Pkt.mac(GW1)); // back to the sender
    expect(out.subarray(6, 12)).toEqual(Pkt.mac(PORT_MAC));
    const ip = out.subarray(14, 54), ic = out.subarray(54);
    expect(ip[6]).toBe(58);
    expect(ip.subarray(8, 24)).toEqual(ip6(LOCAL6));
    expect(ip.subarray(24, 40)).toEqual(ip6(PC6));
    expect([ic[0], ic[1]]).toEqual([2, 0]);
    expect(ic.readUInt32BE(4)).toBe(1280);
    expect(ic.subarray(8)).toEqual(big.subarray(14, 14 + 48)); // quoted header + 8 bytes
    expect(csum6(ip, ic)).toBe(0);
    expect(dropped(o, 'too_big')).toBe(1n);
  });

  test('an oversize IPv6 packet with no IPv6 local is dropped and counted (no source for the ICMPv6)', () => {
    setup({ mtu: 1280 }, null);
    expect(run(udp6(PC6, SRV6, 1400)).retval).toBe(e.v.drop);
    expect(dropped(o, 'too_big_noicmp')).toBe(1n);
  });

  test('MSS of a tunneled IPv6 SYN is clamped to the tunnel MTU minus 60', () => {
    setup({ mtu: 1400 });
    const tcp = Buffer.alloc(24);
    tcp.writeUInt16BE(40000, 0); tcp.writeUInt16BE(443, 2); tcp[12] = 6 << 4; tcp[13] = 0x02;
    tcp[20] = 2; tcp[21] = 4; tcp.writeUInt16BE(1440, 22);
    const hdr = pkt().ipv6(PC6, SRV6, 6, 24).build();
    tcp.writeUInt16BE(csum6(hdr, tcp), 16);
    const r = run(Buffer.concat([pkt().eth(GW2, GW1, 0x86dd).build(), hdr, tcp]));
    expect(r.retval).toBe(e.v.redirect);
    const ip = r.data.subarray(14 + 24, 14 + 24 + 40), t = r.data.subarray(14 + 24 + 40);
    expect(t.readUInt16BE(22)).toBe(1400 - 60);
    expect(csum6(ip, t)).toBe(0);
  });
});
