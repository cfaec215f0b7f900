// Loads an l2bpf object for BPF_PROG_TEST_RUN with pinning switched off, so
// tests never touch the host's bpffs, and gives typed access to its maps.
// ENTRIES lists the two entries (XDP and TC) with what differs between
// them: object, program, context, verdict numbers. Program tests run their
// tables against both.
import path from 'path';
import * as bpf from '../../src/bpf/libbpf';
import { BpfMap } from '../../src/bpf/maps';
import { formatJson, sumValues } from '../../src/btf';

export const BUILD = path.resolve(__dirname, '..', '..', '..', 'build');
export const XDP_ABORTED = 0, XDP_DROP = 1, XDP_PASS = 2, XDP_TX = 3, XDP_REDIRECT = 4;
export const TC_ACT_OK = 0, TC_ACT_SHOT = 2, TC_ACT_REDIRECT = 7;

export class LoadedObject {
  readonly obj: bpf.BpfObject;
  private maps = new Map<string, BpfMap>();

  /** `sizes`: max_entries for some maps (a small table to fill). */
  constructor(file: string, sizes: Record<string, number> = {}) {
    this.obj = bpf.openObject(path.join(BUILD, file));
    for (const m of bpf.mapNames(this.obj)) if (!m.includes('.')) bpf.setMapPinPath(this.obj, m, null);
    for (const [m, n] of Object.entries(sizes)) bpf.setMaxEntries(this.obj, m, n);
    bpf.loadObject(this.obj);
  }
  map(name: string): BpfMap {
    let m = this.maps.get(name);
    if (!m) { m = BpfMap.fromFd(bpf.mapFd(this.obj, name), name); this.maps.set(name, m); }
    return m;
  }
  prog(name: string): number { return bpf.programFd(this.obj, name); }
  /** A map value decoded with its BTF, per-CPU values summed. */
  read(name: string, key: Parameters<BpfMap['lookup']>[0]): Record<string, unknown> | undefined {
    const m = this.map(name);
    const v = m.lookup(key);
    if (!v) return undefined;
    return formatJson(m.btf!, m.info.valueTypeId, m.info.perCpu ? sumValues(m.btf!, m.info.valueTypeId, v) : v[0]) as Record<string, unknown>;
  }
  close(): void { bpf.closeObject(this.obj); }
}

/** struct xdp_md for the test run: frame starts `meta` bytes into the buffer. */
export function xdpCtx(len: number, ingressIfindex: number, meta = 0): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt32LE(meta, 0); b.writeUInt32LE(len, 4); b.writeUInt32LE(0, 8); b.writeUInt32LE(ingressIfindex, 12);
  return b;
}

/** struct __sk_buff for the test run (offsets: uapi linux/bpf.h, checked by test/unit/layout.test.ts). */
export const SKB = { size: 192, ingress_ifindex: 36, ifindex: 40, gso_segs: 164, gso_size: 176 };
export function skbCtx(ingressIfindex: number, gso?: { segs: number; size: number }): Buffer {
  const b = Buffer.alloc(SKB.size);
  b.writeUInt32LE(ingressIfindex, SKB.ingress_ifindex);
  b.writeUInt32LE(ingressIfindex, SKB.ifindex);
  if (gso) { b.writeUInt32LE(gso.segs, SKB.gso_segs); b.writeUInt32LE(gso.size, SKB.gso_size); }
  return b;
}

/** A per-CPU counter array read by its enum: each name (prefix dropped, lower case) with its sum over CPUs. */
export function enumCounts(m: BpfMap, enumName: string, prefix: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [v, n] of m.btf!.enumNames(enumName)) {
    const vals = m.lookup(Number(v));
    if (vals) out[n.slice(prefix.length).toLowerCase()] = vals.reduce((a, b) => a + Number(b.readBigUInt64LE(0)), 0);
  }
  return out;
}
/** The counters f changed, by how much. */
export function countsDelta(counts: () => Record<string, number>, f: () => void): Record<string, number> {
  const a = counts(); f(); const b = counts();
  return Object.fromEntries(Object.entries(b).filter(([k, v]) => v !== a[k]).map(([k, v]) => [k, v - (a[k] ?? 0)]));
}

export type Hook = 'xdp' | 'tc';
export interface RunOpts {
  /** XDP: size of the linear part (the rest in fragments) */
  linear?: number;
  /** TC: pretend the skb is a GSO packet */
  gso?: { segs: number; size: number };
  /** TC: start CHECKSUM_COMPLETE and have the kernel check skb->csum afterwards */
  csumComplete?: boolean;
  dataOutSize?: number;
}
export interface Entry {
  hook: Hook;
  object: string;
  program: string;
  /** Verdicts as the hook spells them. */
  v: { redirect: number; drop: number; pass: number };
  run(o: LoadedObject, frame: Buffer, ingress: number, opts?: RunOpts): bpf.TestRunOut;
}

export const XDP_ENTRY: Entry = {
  hook: 'xdp', object: 'l2_xdp.bpf.o', program: 'l2_xdp_in', v: { redirect: XDP_REDIRECT, drop: XDP_DROP, pass: XDP_PASS },
  run: (o, frame, ingress, opts = {}) => bpf.testRun(o.prog('l2_xdp_in'), {
    data: frame, ctx: xdpCtx(opts.linear ?? frame.length, ingress), dataOutSize: opts.dataOutSize ?? frame.length + 512,
  }),
};
export const TC_ENTRY: Entry = {
  hook: 'tc', object: 'l2_tc.bpf.o', program: 'l2_tc_in', v: { redirect: TC_ACT_REDIRECT, drop: TC_ACT_SHOT, pass: TC_ACT_OK },
  run: (o, frame, ingress, opts = {}) => bpf.testRun(o.prog('l2_tc_in'), {
    data: frame, ctx: skbCtx(ingress, opts.gso), ctxOutSize: SKB.size, dataOutSize: opts.dataOutSize ?? frame.length + 512,
    flags: opts.csumComplete ? bpf.BPF_F_TEST_SKB_CHECKSUM_COMPLETE : 0,
  }),
};
export const ENTRIES: Entry[] = [XDP_ENTRY, TC_ENTRY];

/** Port `ifindex` wired to `peer`, in both the devmap (XDP) and l2_ports (TC, answers). */
export function wirePort(o: LoadedObject, ifindex: number, peer: number, extra: Record<string, unknown> = {}): void {
  o.map('l2_port_stats').update(ifindex, Buffer.alloc(o.map('l2_port_stats').info.valueSize));
  const v = Buffer.alloc(8); v.writeUInt32LE(peer);
  const k = Buffer.alloc(4); k.writeUInt32LE(ifindex);
  o.map('l2_tx_ports').update(k, v);
  o.map('l2_ports').update(ifindex, { peer, slot: 0, mac: '02:00:5e:00:53:01', mtu: 1500, kind: 'L2_PORT_WIRE', segmenter: 0, ...extra });
}
