// A GRE pair of two l2bpf boxes in TC mode, with a Linux router behind the
// second one:
//
//   A a0 -- eth2 [box a] eth3 -- eth2 [box b] eth3 -- r0 (R, forwarding) r1 -- b0 B
//   198.51.100.1/25                                 198.51.100.126/25  203.0.113.1/24  203.0.113.2/24
//
// Box a tunnels 203.0.113.0/24 to box b; box b tunnels A (198.51.100.1/32)
// back to box a. On veths a TC-encapsulated GSO packet crosses to the other
// box whole, so each box unwraps GRO-merged GRE packets (64 KB, SKB_GSO_GRE)
// and R forwards what box b unwrapped: the proof that a merged packet comes
// out of the decapsulation as a packet a router can forward and segment again
// (6.18 leaves SKB_GSO_GRE set after the shrink; segmentation follows the
// headers that are there). R's port toward B is run with its offloads on, and
// with TSO, GRE segmentation or checksum offload off, so the kernel segments
// and checksums R's output in software.
//
// Box b only unwraps packets of flows it saw leave (B is not its neighbour,
// R is), so B opens every connection.
import fs from 'fs';
import path from 'path';
import { parseJsonExact } from '../../src/btf';
import { ip, l2bpf, sh, shaFetch, shaTransfer } from '../helpers/netns';

const P = `l2p${process.pid % 100000}-`;
const ROOT = `/sys/fs/bpf/l2bpf-pair-${process.pid}`;
const env = { L2BPF_PIN_ROOT: ROOT };
const NODES = ['a', 'boxa', 'boxb', 'r', 'b'];
const ns = (n: string) => `${P}${n}`;
const x = (n: string, ...cmd: string[]) => sh('ip', ['netns', 'exec', ns(n), ...cmd], { allowFail: true, timeoutMs: 60000 });
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = (r: { out: string }) => parseJsonExact(r.out) as any;

function teardown(): void {
  l2bpf(['detach', '--all'], env);
  const have = ip('netns', 'list');
  for (const n of NODES) if (have.split('\n').some((l) => l.split(' ')[0] === ns(n))) sh('ip', ['netns', 'del', ns(n)], { allowFail: true });
}

function build(): void {
  teardown();
  for (const n of NODES) { ip('netns', 'add', ns(n)); ip('-n', ns(n), 'link', 'set', 'lo', 'up'); }
  ip('link', 'add', 'a0', 'netns', ns('a'), 'type', 'veth', 'peer', 'name', 'eth2', 'netns', ns('boxa'));
  ip('link', 'add', 'eth3', 'netns', ns('boxa'), 'type', 'veth', 'peer', 'name', 'eth2', 'netns', ns('boxb'));
  ip('link', 'add', 'eth3', 'netns', ns('boxb'), 'type', 'veth', 'peer', 'name', 'r0', 'netns', ns('r'));
  ip('link', 'add', 'r1', 'netns', ns('r'), 'type', 'veth', 'peer', 'name', 'b0', 'netns', ns('b'));
  for (const box of ['boxa', 'boxb']) {
    x(box, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1');
    for (const d of ['eth2', 'eth3']) ip('-n', ns(box), 'link', 'set', d, 'up');
  }
  const addr = (n: string, dev: string, a: string) => { ip('-n', ns(n), 'addr', 'add', a, 'dev', dev); ip('-n', ns(n), 'link', 'set', dev, 'up'); };
  addr('a', 'a0', '198.51.100.1/25');
  addr('r', 'r0', '198.51.100.126/25');
  addr('r', 'r1', '203.0.113.1/24');
  addr('b', 'b0', '203.0.113.2/24');
  ip('-n', ns('a'), 'route', 'add', '203.0.113.0/24', 'via', '198.51.100.126');
  ip('-n', ns('b'), 'route', 'add', 'default', 'via', '203.0.113.1');
  x('r', 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
}

function attach(tunnel: string): void {
  const dir = fs.mkdtempSync('/tmp/l2bpf-pair-');
  for (const [me, local, remote, dst] of [['a', '198.51.100.11', '198.51.100.12', '203.0.113.0/24'], ['b', '198.51.100.12', '198.51.100.11', '198.51.100.1/32']]) {
    const file = path.join(dir, `${me}.yaml`);
    fs.writeFileSync(file, [
      `instance: ${P}${me}`, 'ports: [eth2, eth3]', `netns: ${ns(`box${me}`)}`, 'mode: tc', `local: ${local}/25`,
      'tunnels:', `  peer: {remote: ${remote}${tunnel}}`, 'rules:', `  - {dst: ${dst}, action: tunnel peer}`, '',
    ].join('\n'));
    const r = l2bpf(['attach', '-c', file], env);
    if (r.code !== 0) throw new Error(`attach box ${me}: ${r.err}`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

const tunStats = (box: string) => json(l2bpf(['dump', 'l2_tun_stats', '--name', `${P}${box}`, '--json'], env)).find((e: any) => e.key === 1).value; // eslint-disable-line @typescript-eslint/no-explicit-any
/** Drop reasons with packets, other than flow_miss (the pings before a flow was seen). */
const drops = (box: string) => (json(l2bpf(['stats', '--name', `${P}${box}`, '--json'], env)).drops as Array<{ reason: string; packets: number | string }>)
  .filter((d) => Number(d.packets) > 0 && d.reason !== 'flow_miss').map((d) => d.reason);
/** One counter of R's /proc/net/snmp (its namespace's), e.g. snmp('Ip', 'ForwDatagrams'). */
function snmp(group: string, name: string): number {
  const lines = x('r', 'cat', '/proc/net/snmp').out.split('\n').filter((l) => l.startsWith(`${group}:`));
  const [head, vals] = lines.map((l) => l.trim().split(/\s+/));
  return Number(vals[head.indexOf(name)]);
}
const forwarded = () => snmp('Ip', 'ForwDatagrams');
/** ICMP errors R sent (frag needed would mean a segment came out too big). */
const rErrors = () => snmp('Icmp', 'OutDestUnreachs') + snmp('Icmp', 'OutTimeExcds');

afterAll(() => {
  teardown();
  fs.rmSync(ROOT, { recursive: true, force: true });
});

describe.each(<Array<[string, string, boolean]>>[
  ['no key, no checksum', '', false],
  // veth only GROs what a sender without TSO sent (veth_skb_is_eligible_for_gro):
  // the box-to-box link then behaves like a NIC pair, each segment on its own
  // on the wire and merged again by the receiver's GRO (GRE checksums checked).
  ['key and checksum, box-to-box link with GRO on and TSO off (merged checksum GRE)', ', key: 7, checksum: true', true],
])('GRE pair of l2bpf boxes in TC mode, router behind box b: %s', (_name, tunnel, boxGro) => {
  beforeAll(() => {
    build();
    if (boxGro) for (const [box, d] of [['boxa', 'eth3'], ['boxb', 'eth2']]) x(box, 'ethtool', '-K', d, 'gro', 'on', 'tso', 'off');
    attach(tunnel);
  });

  test('B pings A through the pair and R (box b learns the flow as it leaves, unwraps the replies)', () => {
    const r = x('b', 'ping', '-c', '3', '-i', '0.2', '-W', '2', '198.51.100.1');
    expect(r.out).toMatch(/3 received/);
  });

  describe.each(<Array<[string, string[]]>>[
    ['all offloads on', []],
    ['TSO off (software GSO)', ['tso', 'off']],
    ['GRE segmentation off', ['tx-gre-segmentation', 'off', 'tx-gre-csum-segmentation', 'off']],
    ['tx checksum off (software checksums)', ['tx', 'off']],
  ])('R\'s port toward B: %s', (_o, features) => {
    beforeAll(() => {
      x('r', 'ethtool', '-K', 'r1', 'tx', 'on', 'tso', 'on', 'gso', 'on', 'tx-gre-segmentation', 'on', 'tx-gre-csum-segmentation', 'on');
      if (features.length) x('r', 'ethtool', '-K', 'r1', ...features);
    });

    test('B fetches 20 MB from A: box b unwraps merged GRE packets whole, R forwards them, sha256 matches', async () => {
      const before = { b: tunStats('b'), fwd: forwarded(), err: rErrors() };
      const { sent, got } = await shaFetch(ns('a'), ns('b'), '198.51.100.1', 5301, 20);
      expect(got).toBe(sent);
      expect(sent).toMatch(/^20971520 [0-9a-f]{64}$/);
      const b = tunStats('b');
      expect(b.gso_decap - before.b.gso_decap).toBeGreaterThan(0);
      expect(forwarded() - before.fwd).toBeGreaterThan(0);
      expect(rErrors() - before.err).toBe(0);
      expect(drops('b')).toEqual([]);
    });

    test('B sends 20 MB to A: box b wraps R\'s GSO packets, box a unwraps them merged, sha256 matches', async () => {
      const before = { a: tunStats('a'), b: tunStats('b') };
      const { sent, got } = await shaTransfer(ns('b'), ns('a'), '198.51.100.1', 5302, 20);
      expect(got).toBe(sent);
      expect(sent).toMatch(/^20971520 [0-9a-f]{64}$/);
      expect(tunStats('a').gso_decap - before.a.gso_decap).toBeGreaterThan(0);
      const b = tunStats('b');
      // a checksum tunnel sends GSO packets through the segmenter instead
      expect(b.gso_packets + b.segmented - before.b.gso_packets - before.b.segmented).toBeGreaterThan(0);
    });
  });
});
