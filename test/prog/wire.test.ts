// The wire, frame in -> verdict and frame out, with counter deltas, through
// BPF_PROG_TEST_RUN, on both entries (XDP and TC). Port "A" is the loopback
// device (ifindex 1, present in every namespace): the test run needs a real
// ingress device.
import * as bpf from '../../src/bpf/libbpf';
import { ENTRIES, Hook, LoadedObject, wirePort, xdpCtx } from '../helpers/wire';
import { pkt } from '../helpers/packet';

const LO = 1;
const PEER = 1; // the redirect needs a real device too; the test run does not transmit
const A = '02:00:00:00:00:0a', B = '02:00:00:00:00:0b', BCAST = 'ff:ff:ff:ff:ff:ff';

interface Row {
  name: string;
  frame: Buffer;
  linear?: number;           // XDP: size of the linear part (rest in fragments)
  setup?: 'wired' | 'no-port' | 'no-peer';
  verdict: 'redirect' | 'drop';
  drop?: string;             // expected drop reason (counted once)
  /** Only on these hooks, and why not on the others. */
  only?: { hooks: Hook[]; why: string };
}

const udp4 = (n: number) => pkt().eth(B, A, 0x0800).ipv4('198.51.100.1', '198.51.100.2', 17, 8 + n).udp(4000, 9, n).payload(n).build();
// TC test runs build a linear skb of at most a page: jumbo and split
// headers exist only as XDP multi-buffer here (TC gets them end to end).
const XDP_ONLY = { hooks: ['xdp'] as Hook[], why: 'a TC test run cannot build a frame larger than a page or a non-linear one' };
const rows: Row[] = [
  { name: 'IPv4 UDP, minimum size', frame: udp4(18), verdict: 'redirect' },
  { name: 'ARP request (42 bytes: a runt on the wire, normal on veth)', frame: pkt().eth(BCAST, A, 0x0806).arpRequest(A, '198.51.100.1', '198.51.100.2').build(), verdict: 'redirect' },
  { name: 'IPv6 UDP', frame: pkt().eth('33:33:00:00:00:01', A, 0x86dd).ipv6('2001:db8::1', 'ff02::1', 17, 16).udp(5, 6, 8).payload(8).build(), verdict: 'redirect' },
  { name: '802.1Q tagged', frame: pkt().eth(B, A, 0x8100).tag(100, 0x0800).ipv4('192.0.2.1', '192.0.2.2', 17, 16).udp(1, 2, 8).payload(8).build(), verdict: 'redirect' },
  { name: 'QinQ (802.1ad outer, 802.1Q inner)', frame: pkt().eth(B, A, 0x88a8).tag(10, 0x8100).tag(20, 0x86dd).payload(40).build(), verdict: 'redirect' },
  { name: 'LLDP', frame: pkt().eth('01:80:c2:00:00:0e', A, 0x88cc).payload(46).build(), verdict: 'redirect' },
  { name: 'STP BPDU (802.3 length + LLC)', frame: pkt().eth('01:80:c2:00:00:00', A, 38).bytes([0x42, 0x42, 0x03]).payload(35).build(), verdict: 'redirect' },
  { name: 'unknown ethertype 0x88b5', frame: pkt().eth(B, A, 0x88b5).payload(50).build(), verdict: 'redirect' },
  { name: 'broadcast', frame: pkt().eth(BCAST, A, 0x88b5).payload(46).build(), verdict: 'redirect' },
  { name: 'Ethernet header only (14 bytes)', frame: pkt().eth(B, A, 0x88b5).build(), verdict: 'redirect' },
  { name: 'a full page worth of frame (3000 bytes)', frame: udp4(3000 - 14 - 28), verdict: 'redirect' },
  { name: 'jumbo 9000 bytes (multi-buffer)', frame: udp4(9000 - 14 - 28), verdict: 'redirect', only: XDP_ONLY },
  { name: 'headers split across buffers (10-byte linear part)', frame: udp4(100), linear: 10, verdict: 'redirect', only: XDP_ONLY },
  { name: 'port not owned by this instance', frame: udp4(18), setup: 'no-port', verdict: 'drop', drop: 'unknown_port' },
  { name: 'port without a peer', frame: udp4(18), setup: 'no-peer', verdict: 'drop', drop: 'no_peer' },
];

describe.each(ENTRIES)('the wire ($hook entry) through BPF_PROG_TEST_RUN', (e) => {
  let o: LoadedObject;
  beforeEach(() => { o = new LoadedObject(e.object); });
  afterEach(() => o.close());

  function setup(kind: Row['setup'] = 'wired'): void {
    if (kind === 'wired') wirePort(o, LO, PEER);
    if (kind === 'no-peer') o.map('l2_port_stats').update(LO, Buffer.alloc(o.map('l2_port_stats').info.valueSize));
  }
  const reasons = () => o.map('l2_drops').btf!.enumNames('l2_drop_reason');
  const dropCount = (reason: string) => {
    const code = [...reasons()].find(([, n]) => n === `L2_DROP_${reason.toUpperCase()}`)![0];
    return o.read('l2_drops', Number(code))?.packets as bigint;
  };

  test.each(rows.filter((r) => !r.only || r.only.hooks.includes(e.hook)))('$name', (row) => {
    setup(row.setup);
    const len = row.frame.length;
    const out = e.run(o, row.frame, LO, { linear: row.linear, dataOutSize: len + 512 });
    expect(out.retval).toBe(e.v[row.verdict]);

    const port = o.read('l2_port_stats', LO);
    if (row.verdict === 'redirect') {
      expect(out.data.equals(row.frame)).toBe(true); // byte-identical, every length
      expect(port).toMatchObject({ rx_packets: 1n, rx_bytes: BigInt(len), fwd_packets: 1n, fwd_bytes: BigInt(len), drop_packets: 0n, answer_packets: 0n });
      for (const [, name] of reasons()) if (!name.endsWith('__MAX') && name !== 'L2_DROP_NONE') expect(dropCount(name.slice(8))).toBe(0n);
    } else {
      expect(dropCount(row.drop!)).toBe(1n);
      const others = [...reasons()].filter(([, n]) => n !== `L2_DROP_${row.drop!.toUpperCase()}` && !n.endsWith('__MAX'));
      for (const [, n] of others) if (n !== 'L2_DROP_NONE') expect(dropCount(n.slice(8))).toBe(0n);
      if (row.setup === 'no-port') expect(port).toBeUndefined();
      else expect(port).toMatchObject({ rx_packets: 1n, fwd_packets: 0n, drop_packets: 1n, drop_bytes: BigInt(len) });
    }
  });

  test('drop bytes are counted with the frame length', () => {
    setup('no-peer');
    for (let i = 0; i < 3; i++) e.run(o, udp4(100), LO);
    expect(o.read('l2_drops', 3)).toEqual({ packets: 3n, bytes: BigInt(3 * udp4(100).length) });
  });

  if (e.hook === 'tc') {
    test('skb->csum of a CHECKSUM_COMPLETE skb still matches after forwarding', () => {
      setup();
      const out = e.run(o, udp4(100), LO, { csumComplete: true });
      expect(out.retval).toBe(e.v.redirect);
    });
  }
});

describe('XDP only', () => {
  test('a frame shorter than an Ethernet header cannot be injected (kernel refuses), so short_frame stays 0', () => {
    const o = new LoadedObject('l2_xdp.bpf.o');
    try {
      wirePort(o, LO, PEER);
      // 14 bytes with 4 of metadata in front leave a 10-byte frame: the kernel's
      // test run (like AF_PACKET on Ethernet devices) refuses anything under ETH_HLEN.
      expect(() => bpf.testRun(o.prog('l2_xdp_in'), { data: Buffer.alloc(14), ctx: xdpCtx(14, LO, 4) })).toThrow(/Invalid argument/);
      expect(o.read('l2_drops', 1)?.packets).toBe(0n);
    } finally {
      o.close();
    }
  });
});
