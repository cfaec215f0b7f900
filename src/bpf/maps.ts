// A pinned (or loaded) map together with the BTF the kernel holds for it:
// keys and values are encoded and decoded from that BTF, never from a
// hand-kept copy of the C structs.
import * as bpf from './libbpf';
import { mapInfo, MapInfo } from './info';
import { Btf } from '../btf';
import { encodeValue, JsInput } from '../btf/encode';

const btfCache = new Map<number, Btf>();
export function btfById(id: number): Btf {
  let btf = btfCache.get(id);
  if (!btf) {
    btf = Btf.parse(bpf.btfRawById(id));
    btfCache.set(id, btf);
  }
  return btf;
}

export interface RawEntry { key: Buffer; values: Buffer[] }

export class BpfMap {
  readonly info: MapInfo;
  readonly btf?: Btf;
  private readonly cpus: number;

  private constructor(readonly fd: number, readonly path: string) {
    this.info = mapInfo(fd);
    if (this.info.btfId) this.btf = btfById(this.info.btfId);
    this.cpus = this.info.perCpu ? bpf.possibleCpus() : 1;
  }

  static openPinned(path: string): BpfMap { return new BpfMap(bpf.getPinned(path), path); }
  static fromFd(fd: number, label: string): BpfMap { return new BpfMap(fd, label); }

  close(): void { bpf.closeFd(this.fd); }

  /** Per-CPU values are one slot per possible CPU, each rounded up to 8 bytes. */
  private get slot(): number { return this.info.perCpu ? Math.ceil(this.info.valueSize / 8) * 8 : this.info.valueSize; }

  private split(buf: Buffer): Buffer[] {
    if (!this.info.perCpu) return [buf];
    return Array.from({ length: this.cpus }, (_, i) => buf.subarray(i * this.slot, i * this.slot + this.info.valueSize));
  }

  private join(values: Buffer[]): Buffer {
    if (!this.info.perCpu) return values[0];
    const out = Buffer.alloc(this.slot * this.cpus);
    for (let i = 0; i < this.cpus; i++) (values[i] ?? values[0]).copy(out, i * this.slot);
    return out;
  }

  encodeKey(key: JsInput): Buffer { return this.encode(this.info.keyTypeId, this.info.keySize, key); }
  encodeVal(value: JsInput): Buffer { return this.encode(this.info.valueTypeId, this.info.valueSize, value); }

  private encode(typeId: number, size: number, v: JsInput): Buffer {
    if (Buffer.isBuffer(v)) return v;
    if (!this.btf || !typeId) throw new Error(`map ${this.info.name} has no BTF to encode with`);
    const b = encodeValue(this.btf, typeId, v);
    if (b.length !== size) throw new Error(`map ${this.info.name}: encoded ${b.length} bytes, expected ${size}`);
    return b;
  }

  lookup(key: JsInput): Buffer[] | undefined {
    const v = bpf.mapLookup(this.fd, this.encodeKey(key), this.slot * this.cpus);
    return v && this.split(v);
  }

  /** Same value on every CPU for per-CPU maps. */
  update(key: JsInput, value: JsInput, flags = 0): void {
    const v = this.encodeVal(value);
    bpf.mapUpdate(this.fd, this.encodeKey(key), this.join(Array(this.cpus).fill(v)), flags);
  }

  delete(key: JsInput): boolean { return bpf.mapDelete(this.fd, this.encodeKey(key)); }

  *entries(): Generator<RawEntry> {
    for (const key of bpf.mapKeys(this.fd, this.info.keySize)) {
      const v = bpf.mapLookup(this.fd, key, this.slot * this.cpus);
      if (v) yield { key, values: this.split(v) }; // deleted under us: skip
    }
  }
}
