// The segmenter: a veth pair l2bpf creates in the instance's namespace when
// a tunnel runs on a TC port. A GSO packet the tunnel cannot wrap whole is
// redirected into the outer end, whose offloads are off, so the kernel cuts
// it into MTU-sized packets with finished checksums; the inner end runs the
// TC program, which wraps each one. Two cases: a checksum tunnel (the kernel
// cannot compute GRE checksums for segments made from a BPF-built packet),
// and a packet with a VLAN tag in its data, i.e. QinQ (adjust_room refuses
// an skb whose protocol is 802.1Q).
import { createHash } from 'crypto';
import { execFileSync } from 'child_process';
import { ifIndex, inNetns } from '../bpf/sys';

export interface SegmenterPair { outer: string; inner: string }

/** Names that fit IFNAMSIZ and tell whose they are: l2s<hash>o / l2s<hash>i. */
export function segmenterNames(instance: string): SegmenterPair {
  const h = createHash('sha256').update(instance).digest('hex').slice(0, 8);
  return { outer: `l2s${h}o`, inner: `l2s${h}i` };
}

function run(netns: string | undefined, cmd: string[]): void {
  const full = netns ? ['ip', 'netns', 'exec', netns, ...cmd] : cmd;
  try {
    execFileSync(full[0], full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer };
    throw new Error(`${full.join(' ')}: ${err.stderr?.toString().trim() ?? String(e)}`);
  }
}

/** Creates the pair (MTU mtu); returns the ifindex of both ends. */
export function createSegmenter(netns: string | undefined, s: SegmenterPair, mtu: number): { outer: number; inner: number } {
  run(netns, ['ip', 'link', 'add', s.outer, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', s.inner, 'mtu', String(mtu)]);
  try {
    for (const dev of [s.outer, s.inner]) run(netns, ['ip', 'link', 'set', 'dev', dev, 'addrgenmode', 'none']);
    // No offloads on the way in: the kernel segments and checksums here.
    run(netns, ['ethtool', '-K', s.outer, 'tx', 'off', 'tso', 'off', 'gso', 'off', 'sg', 'off']);
    // and no GRO on the way out, which would merge the segments again
    run(netns, ['ethtool', '-K', s.inner, 'gro', 'off']);
    for (const dev of [s.outer, s.inner]) run(netns, ['ip', 'link', 'set', 'dev', dev, 'up']);
  } catch (e) {
    deleteSegmenter(netns, s);
    throw e;
  }
  return inNetns(netns, () => ({ outer: ifIndex(s.outer), inner: ifIndex(s.inner) }));
}

export function deleteSegmenter(netns: string | undefined, s: SegmenterPair): void {
  if (!inNetns(netns, () => ifIndex(s.outer) || ifIndex(s.inner))) return;
  try { run(netns, ['ip', 'link', 'del', 'dev', inNetns(netns, () => ifIndex(s.outer)) ? s.outer : s.inner]); } catch { /* gone with its peer */ }
}

export function segmenterExists(netns: string | undefined, s: SegmenterPair): boolean {
  return inNetns(netns, () => ifIndex(s.outer) !== 0 && ifIndex(s.inner) !== 0);
}
