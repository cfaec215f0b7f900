// sumValues: folds the per-CPU copies of a value into one. Counters add up
// (wrapping at their width, as the kernel's would); everything that is not
// a count (text, enums, addresses, pointers, unions) is taken from CPU 0.
import { readBits, writeBits } from './bits';
import { Btf } from './parse';
import { isCharType, semanticOf } from './semantic';

export function sumValues(btf: Btf, typeId: number, perCpu: Buffer[]): Buffer {
  if (perCpu.length === 0) throw new Error('sumValues: no per-CPU values');
  const size = btf.sizeOf(typeId);
  for (const [cpu, b] of perCpu.entries()) {
    if (b.length < size) throw new Error(`sumValues: CPU ${cpu} value is ${b.length} bytes, type needs ${size}`);
  }
  const out = Buffer.from(perCpu[0].subarray(0, size));
  new Summer(btf, perCpu, out).add(typeId, 0, 0, 0);
  return out;
}

class Summer {
  constructor(
    private readonly btf: Btf,
    private readonly perCpu: Buffer[],
    private readonly out: Buffer,
  ) {}

  /** bitfield: member bitfield size (0 = none); bitOff: 0..7 within byte off. */
  add(id: number, off: number, bitOff: number, bitfield: number): void {
    if (semanticOf(this.btf, id)) return; // an address or ifindex, not a count
    const t = this.btf.type(this.btf.resolve(id));
    switch (t.kind) {
      case 'int': {
        if (t.bool || isCharType(this.btf, t.id)) return;
        const total = bitOff + (bitfield ? 0 : t.offset);
        this.addBits(off + (total >> 3), total & 7, bitfield || t.bits);
        return;
      }
      case 'array': {
        if (isCharType(this.btf, t.elemType)) return;
        const size = this.btf.sizeOf(t.elemType);
        for (let i = 0; i < t.nelems; i++) this.add(t.elemType, off + i * size, 0, 0);
        return;
      }
      case 'struct':
        for (const m of t.members) this.add(m.type, off + (m.bitOffset >> 3), m.bitOffset & 7, m.bitfieldSize);
        return;
      case 'var':
        this.add(t.type, off, bitOff, bitfield);
        return;
      case 'datasec':
        for (const v of t.vars) this.add(v.type, off + v.offset, 0, 0);
        return;
      default:
        return; // union (which member?), enum, pointer, float: CPU 0's copy
    }
  }

  private addBits(off: number, bitOff: number, width: number): void {
    let sum = 0n;
    for (const b of this.perCpu) sum += readBits(b, off, bitOff, width);
    writeBits(this.out, off, bitOff, width, BigInt.asUintN(width, sum));
  }
}
