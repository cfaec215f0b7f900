// The wire program, frame in -> verdict and frame out, with counter deltas,
// through BPF_PROG_TEST_RUN. Port "A" is the loopback device (ifindex 1,
// present in every namespace): the test run needs a real ingress device.
import * as bpf from '../../src/bpf/libbpf';
import { LoadedObject, xdpCtx, XDP_DROP, XDP_REDIRECT } from '../helpers/wire';
import { pkt } from '../helpers/packet';

const LO = 1;
const PEER = 1; // the devmap needs a real device too; the test run does not transmit
const A = '02:00:00:00:00:0a', B = '02:00:00:00:00:0b', BCAST = 'ff:ff:ff:ff:ff:ff';

interface Row {
  name: string;
  frame: Buffer;
  linear?: number;           // size of the linear part (rest in fragments)
  setup?: 'wired' | 'no-port' | 'no-peer';
  verdict: number;
  drop?: string;             // expected drop reason (counted once)
}

const udp4 = (n: number) => pkt().eth(B, A, 0x0800).ipv4('198.51.100.1', '198.51.100.2', 17, 8 + n).udp(4000, 9, n).payload(n).build();
const rows: Row[] = [
  { name: 'IPv4 UDP, minimum size', frame: udp4(18), verdict: XDP_REDIRECT },
  { name: 'ARP request (42 bytes: a runt on the wire, normal on veth)', frame: pkt().eth(BCAST, A, 0x0806).arpRequest(A, '198.51.100.1', '198.51.100.2').build(), verdict: XDP_REDIRECT },
  { name: 'IPv6 UDP', frame: pkt().eth('33:33:00:00:00:01', A, 0x86dd).ipv6('2001:db8::1', 'ff02::1', 17, 16).udp(5, 6, 8).payload(8).build(), verdict: XDP_REDIRECT },
  { name: '802.1Q tagged', frame: pkt().eth(B, A, 0x8100).tag(100, 0x0800).ipv4('192.0.2.1', '192.0.2.2', 17, 16).udp(1, 2, 8).payload(8).build(), verdict: XDP_REDIRECT },
  { name: 'QinQ (802.1ad outer, 802.1Q inner)', frame: pkt().eth(B, A, 0x88a8).tag(10, 0x8100).tag(20, 0x86dd).payload(40).build(), verdict: XDP_REDIRECT },
  { name: 'LLDP', frame: pkt().eth('01:80:c2:00:00:0e', A, 0x88cc).payload(46).build(), verdict: XDP_REDIRECT },
  { name: 'STP BPDU (802.3 length + LLC)', frame: pkt().eth('01:80:c2:00:00:00', A, 38).bytes([0x42, 0x42, 0x03]).payload(35).build(), verdict: XDP_REDIRECT },
  { name: 'unknown ethertype 0x88b5', frame: pkt().eth(B, A, 0x88b5).payload(50).build(), verdict: XDP_REDIRECT },
  { name: 'broadcast', frame: pkt().eth(BCAST, A, 0x88b5).payload(46).build(), verdict: XDP_REDIRECT },
  { name: 'Ethernet header only (14 bytes)', frame: pkt().eth(B, A, 0x88b5).build(), verdict: XDP_REDIRECT },
  { name: 'jumbo 9000 bytes (multi-buffer)', frame: udp4(9000 - 14 - 28), verdict: XDP_REDIRECT },
  { name: 'headers split across buffers (10-byte linear part)', frame: udp4(100), linear: 10, verdict: XDP_REDIRECT },
  { name: 'port not owned by this instance', frame: udp4(18), setup: 'no-port', verdict: XDP_DROP, drop: 'unknown_port' },
  { name: 'port without a peer', frame: udp4(18), setup: 'no-peer', verdict: XDP_DROP, drop: 'no_peer' },
];

describe('l2_wire (XDP) through BPF_PROG_TEST_RUN', () => {
  let o: LoadedObject;
  beforeEach(() => { o = new LoadedObject('l2_xdp.bpf.o'); });
  afterEach(() => o.close());

  function setup(kind: Row['setup'] = 'wired'): void {
    if (kind !== 'no-port') o.map('l2_port_stats').update(LO, Buffer.alloc(48));
    if (kind !== 'no-peer') {
      const v = Buffer.alloc(8); v.writeUInt32LE(PEER);
      o.map('l2_tx_ports').update(Buffer.from([LO, 0, 0, 0]), v);
    }
  }
  const reasons = () => o.map('l2_drops').btf!.enumNames('l2_drop_reason');
  const dropCount = (reason: string) => {
    const code = [...reasons()].find(([, n]) => n === `L2_DROP_${reason.toUpperCase()}`)![0];
    return o.read('l2_drops', Number(code))?.packets as bigint;
  };

  test.each(rows)('$name', (row) => {
    setup(row.setup);
    const len = row.frame.length;
    const out = bpf.testRun(o.prog('l2_wire'), { data: row.frame, ctx: xdpCtx(row.linear ?? len, LO), dataOutSize: len + 512 });
    expect(out.retval).toBe(row.verdict);

    const port = o.read('l2_port_stats', LO);
    if (row.verdict === XDP_REDIRECT) {
      expect(out.data.equals(row.frame)).toBe(true); // byte-identical, every length
      expect(port).toMatchObject({ rx_packets: 1n, rx_bytes: BigInt(len), fwd_packets: 1n, fwd_bytes: BigInt(len), drop_packets: 0n });
      for (const [, name] of reasons()) if (!name.endsWith('__MAX') && name !== 'L2_DROP_NONE') expect(dropCount(name.slice(8))).toBe(0n);
    } else {
      expect(dropCount(row.drop!)).toBe(1n);
      const others = [...reasons()].filter(([, n]) => n !== `L2_DROP_${row.drop!.toUpperCase()}` && !n.endsWith('__MAX'));
      for (const [, n] of others) if (n !== 'L2_DROP_NONE') expect(dropCount(n.slice(8))).toBe(0n);
      if (row.setup === 'no-port') expect(port).toBeUndefined();
      else expect(port).toMatchObject({ rx_packets: 1n, fwd_packets: 0n, drop_packets: 1n, drop_bytes: BigInt(len) });
    }
  });

  test('a frame shorter than an Ethernet header cannot be injected (kernel refuses), so short_frame stays 0', () => {
    setup();
    // 14 bytes with 4 of metadata in front leave a 10-byte frame: the kernel's
    // test run (like AF_PACKET on Ethernet devices) refuses anything under ETH_HLEN.
    expect(() => bpf.testRun(o.prog('l2_wire'), { data: Buffer.alloc(14), ctx: xdpCtx(14, LO, 4) })).toThrow(/Invalid argument/);
    expect(dropCount('short_frame')).toBe(0n);
  });

  test('drop bytes are counted with the frame length', () => {
    setup('no-peer');
    for (let i = 0; i < 3; i++) bpf.testRun(o.prog('l2_wire'), { data: udp4(100), ctx: xdpCtx(udp4(100).length, LO) });
    expect(o.read('l2_drops', 3)).toEqual({ packets: 3n, bytes: BigInt(3 * udp4(100).length) });
  });
});
