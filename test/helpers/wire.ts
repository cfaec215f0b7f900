// Loads the wire object for BPF_PROG_TEST_RUN with pinning switched off, so
// tests never touch the host's bpffs, and gives typed access to its maps.
import path from 'path';
import * as bpf from '../../src/bpf/libbpf';
import { BpfMap } from '../../src/bpf/maps';
import { formatJson, sumValues } from '../../src/btf';

export const BUILD = path.resolve(__dirname, '..', '..', '..', 'build');
export const XDP_ABORTED = 0, XDP_DROP = 1, XDP_PASS = 2, XDP_TX = 3, XDP_REDIRECT = 4;

export class LoadedObject {
  readonly obj: bpf.BpfObject;
  private maps = new Map<string, BpfMap>();

  constructor(file: string) {
    this.obj = bpf.openObject(path.join(BUILD, file));
    for (const m of bpf.mapNames(this.obj)) if (!m.includes('.')) bpf.setMapPinPath(this.obj, m, null);
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
