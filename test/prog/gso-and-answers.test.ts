// What only TC meets (GSO packets: too big per segment, checksum tunnels
// through the segmenter) and how answers are counted, through
// BPF_PROG_TEST_RUN. The test run can mark an skb as GSO (gso_segs,
// gso_size) but not give it a GSO type, so wrapping one whole is proved end
// to end (test/netns/gre.test.ts), not here.
import { ENTRIES, LoadedObject, TC_ENTRY } from '../helpers/wire';
import { csum, pkt, withIpCsum } from '../helpers/packet';
import { dropped, GW1, GW2, LO, LOCAL, PC, PORT_MAC, runWire, setupBox, SRV, udp } from '../helpers/onebox';

const SEG_OUTER = 1; // where GSO packets for checksum tunnels go (loopback: the test run does not transmit)

describe('GSO on TC (BPF_PROG_TEST_RUN)', () => {
  let o: LoadedObject;
  const e = TC_ENTRY;
  beforeEach(() => { o = new LoadedObject(e.object); });
  afterEach(() => o.close());
  /** A TCP segment PC -> SRV of `n` payload bytes, standing for a GSO packet of `segs` x `mss`. */
  const tcp = (n: number) => {
    const t = Buffer.alloc(20); t.writeUInt16BE(40000, 0); t.writeUInt16BE(80, 2); t[12] = 5 << 4; t[13] = 0x10;
    return withIpCsum(pkt().eth(GW2, GW1, 0x0800).ipv4(PC, SRV, 6, 20 + n).bytes(t).payload(n).build());
  };

  test('too big is judged per future segment: segments that fit the tunnel pass, bigger ones get frag-needed', () => {
    setupBox(o, { mtu: 1400 });
    const f = tcp(2000);
    f.writeUInt16BE(0x4000, 14 + 6); // DF
    const df = withIpCsum(f);
    // 2000 bytes cut into 1000-byte segments: each 1040 on the wire, fits 1400
    expect(e.run(o, df, LO, { gso: { segs: 2, size: 1000 } }).retval).toBe(e.v.drop); // wrapping a fake GSO skb is refused (no GSO type)
    expect(dropped(o, 'encap')).toBe(1n);
    expect(dropped(o, 'too_big')).toBe(0n);
    // 1500-byte segments: each 1540 > 1400
    const r = e.run(o, df, LO, { gso: { segs: 2, size: 1500 } });
    expect(r.retval).toBe(e.v.redirect);
    expect(dropped(o, 'too_big')).toBe(1n);
    expect([r.data[34], r.data[35]]).toEqual([3, 4]);
    expect(r.data.readUInt16BE(34 + 6)).toBe(1400);
    expect(csum(r.data.subarray(34))).toBe(0);
  });

  test('a GSO packet for a checksum tunnel goes to the segmenter, counted', () => {
    setupBox(o, { csum: true, key: 5 });
    o.map('l2_ports').update(LO, { peer: LO, slot: 0, mac: PORT_MAC, mtu: 1500, kind: 'L2_PORT_WIRE', segmenter: SEG_OUTER });
    const f = tcp(2000);
    const r = e.run(o, f, LO, { gso: { segs: 2, size: 1000 } });
    expect(r.retval).toBe(e.v.redirect);
    expect(r.data).toEqual(f); // untouched: wrapped after segmentation
    expect(o.read('l2_tun_stats', 1)).toMatchObject({ segmented: 1n, encap_packets: 0n });
  });

  test('a GSO QinQ packet for a plain tunnel goes to the segmenter too (adjust_room takes no GSO packet with a tag in its data)', () => {
    setupBox(o);
    o.map('l2_ports').update(LO, { peer: LO, slot: 0, mac: PORT_MAC, mtu: 1500, kind: 'L2_PORT_WIRE', segmenter: SEG_OUTER });
    const t = Buffer.alloc(20); t.writeUInt16BE(40000, 0); t.writeUInt16BE(80, 2); t[12] = 5 << 4; t[13] = 0x10;
    const f = withIpCsum(pkt().eth(GW2, GW1, 0x88a8).tag(10, 0x8100).tag(20, 0x0800).ipv4(PC, SRV, 6, 20 + 2000).bytes(t).payload(2000).build(), 22);
    const r = e.run(o, f, LO, { gso: { segs: 2, size: 1000 } });
    expect(r.retval).toBe(e.v.redirect);
    expect(r.data).toEqual(f);
    expect(o.read('l2_tun_stats', 1)).toMatchObject({ segmented: 1n, encap_packets: 0n });
    expect(dropped(o, 'encap')).toBe(0n);
    // one tag or none: wrapped whole as before (here refused only because the test run gives no GSO type)
    expect(e.run(o, tcp(2000), LO, { gso: { segs: 2, size: 1000 } }).retval).toBe(e.v.drop);
    expect(dropped(o, 'encap')).toBe(1n);
  });

  test('without a segmenter it is dropped and counted, never sent with a wrong checksum', () => {
    setupBox(o, { csum: true });
    expect(e.run(o, tcp(2000), LO, { gso: { segs: 2, size: 1000 } }).retval).toBe(e.v.drop);
    expect(dropped(o, 'segment')).toBe(1n);
  });

  test('the segments coming back from the segmenter are wrapped with their own checksum and sent on', () => {
    setupBox(o, { csum: true, key: 5 });
    expect(e.run(o, udp(PC, SRV, 40, 4000, 53), LO).retval).toBe(e.v.redirect); // learns the flow (tunnel 1)
    const SEG_INNER = 2; // any other ifindex: the inner end
    o.map('l2_ports').update(SEG_INNER, { peer: 0, slot: 2, mac: '00:00:00:00:00:00', mtu: 0, kind: 'L2_PORT_SEGMENTER', segmenter: 0 });
    o.map('l2_port_stats').update(SEG_INNER, Buffer.alloc(o.map('l2_port_stats').info.valueSize));
    const seg = udp(PC, SRV, 40, 4000, 53);
    const r = e.run(o, seg, SEG_INNER);
    expect(r.retval).toBe(e.v.redirect);
    expect(r.data[14 + 9]).toBe(47);
    expect(csum(r.data.subarray(34))).toBe(0); // GRE checksum over its header and the segment
    expect(r.data.subarray(34 + 12)).toEqual(seg.subarray(14));
    // a packet on the segmenter that belongs to no tunneled flow is dropped
    expect(e.run(o, udp(PC, '192.0.2.99', 8), SEG_INNER).retval).toBe(e.v.drop);
    expect(dropped(o, 'segment')).toBe(1n);
  });
});

describe.each(ENTRIES)('answers are counted as answers ($hook entry)', (e) => {
  test('ARP and ping for local: answered, not forwarded; drops and forwards stay 0', () => {
    const o = new LoadedObject(e.object);
    try {
      setupBox(o);
      const arp = pkt().eth('ff:ff:ff:ff:ff:ff', GW2, 0x0806).arpRequest(GW2, '198.51.100.2', LOCAL).build();
      expect(runWire(e, o, arp).retval).toBe(e.v.redirect);
      const echo = Buffer.alloc(16); echo[0] = 8; echo.writeUInt16BE(csum(echo), 2);
      const ping = withIpCsum(Buffer.concat([pkt().eth(PORT_MAC, GW2, 0x0800).ipv4('198.51.100.2', LOCAL, 1, 16).build(), echo]));
      expect(runWire(e, o, ping).retval).toBe(e.v.redirect);
      expect(o.read('l2_port_stats', LO)).toMatchObject({
        rx_packets: 2n, answer_packets: 2n, answer_bytes: BigInt(arp.length + ping.length), fwd_packets: 0n, drop_packets: 0n,
      });
    } finally {
      o.close();
    }
  });
});
