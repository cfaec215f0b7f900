// formatText: one-line human rendering of a BTF-typed value for `l2bpf dump`.
// Unlike formatJson it is free to be helpful: l2_* typedefs print as
// addresses and interface names, signedness follows BTF, bitfields are decimal.
import { readBits } from './bits';
import { formatAddress } from '../net/address';
import { Btf } from './parse';
import { isCharType, L2Semantic, semanticOf } from './semantic';
import { BtfComposite, BtfEnum, BtfEnum64, BtfInt } from './types';

export interface FormatTextOptions {
  /** Interface name for an ifindex; undefined prints the number. */
  ifname?: (ifindex: number) => string | undefined;
}

export function formatText(btf: Btf, typeId: number, bytes: Buffer, opts: FormatTextOptions = {}): string {
  return new TextDumper(btf, bytes, opts).value(typeId, 0, 0, 0);
}

/** Quotes C text: stops at NUL, escapes what is not printable ASCII. */
export function quoteCString(bytes: Buffer): string {
  const nul = bytes.indexOf(0);
  const text = nul < 0 ? bytes : bytes.subarray(0, nul);
  let out = '"';
  for (const b of text) {
    if (b === 0x22 || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return `${out}"`;
}

/** RFC 5952 text (src/net/address.ts), IPv4-mapped addresses dotted. */
export function formatIpv6(b: Buffer): string {
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) {
    return `::ffff:${[...b.subarray(12, 16)].join('.')}`;
  }
  return formatAddress({ family: 6, bytes: [...b] });
}

class TextDumper {
  constructor(
    private readonly btf: Btf,
    private readonly buf: Buffer,
    private readonly opts: FormatTextOptions,
  ) {}

  /** bitfield: member bitfield size (0 = none); bitOff: 0..7 within buf[off]. */
  value(id: number, off: number, bitOff: number, bitfield: number): string {
    const sem = bitfield ? undefined : semanticOf(this.btf, id);
    if (sem) return this.semantic(sem, off);
    const t = this.btf.type(this.btf.resolve(id));
    switch (t.kind) {
      case 'int': return this.int(t, off, bitOff, bitfield);
      case 'enum': case 'enum64': return this.enumName(t, off, bitOff, bitfield);
      case 'ptr': return `0x${this.bits(off, 0, 64).toString(16)}`;
      case 'float':
        return String(t.size === 4 ? this.buf.readFloatLE(off) : this.buf.readDoubleLE(off));
      case 'array': {
        const size = this.btf.sizeOf(t.elemType);
        if (isCharType(this.btf, t.elemType)) return quoteCString(this.slice(off, t.nelems));
        const items = Array.from({ length: t.nelems }, (_, i) => this.value(t.elemType, off + i * size, 0, 0));
        return `[${items.join(', ')}]`;
      }
      case 'struct': case 'union': return `{${this.fields(t, off)}}`;
      case 'var': return this.value(t.type, off, bitOff, bitfield);
      case 'datasec': {
        const vars = t.vars.map((v) => `${this.btf.type(v.type).name}: ${this.value(v.type, off + v.offset, 0, 0)}`);
        return `{${vars.join(', ')}}`;
      }
      default:
        throw new Error(`BTF: cannot format type ${id} of kind ${t.kind}`);
    }
  }

  /** "a: 1, b: 2"; an anonymous member's fields are shown inline, as C reads them. */
  private fields(t: BtfComposite<'struct' | 'union'>, off: number): string {
    const parts: string[] = [];
    for (const m of t.members) {
      const v = this.value(m.type, off + (m.bitOffset >> 3), m.bitOffset & 7, m.bitfieldSize);
      if (m.name) parts.push(`${m.name}: ${v}`);
      else if (v.length > 2 && v.startsWith('{')) parts.push(v.slice(1, -1));
      // else: unnamed padding bitfield or empty struct, nothing to say
    }
    return parts.join(', ');
  }

  private semantic(sem: L2Semantic, off: number): string {
    switch (sem) {
      case 'l2_ifindex': {
        const n = this.buf.readUInt32LE(off);
        return this.opts.ifname?.(n) ?? String(n);
      }
      case 'l2_mac':
        return [...this.slice(off, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
      case 'l2_ipv4': return [...this.slice(off, 4)].join('.'); // network order = memory order
      case 'l2_ipv6': return formatIpv6(this.slice(off, 16));
    }
  }

  private int(t: BtfInt, off: number, bitOff: number, bitfield: number): string {
    const v = this.intValue(t.bits, t.offset, t.signed, off, bitOff, bitfield);
    if (t.bool) return v !== 0n ? 'true' : 'false';
    return v.toString();
  }

  private enumName(t: BtfEnum | BtfEnum64, off: number, bitOff: number, bitfield: number): string {
    const v = this.intValue(t.size * 8, 0, t.signed, off, bitOff, bitfield);
    const hit = (t.values as readonly { name: string; value: number | bigint }[])
      .find((e) => BigInt(e.value) === v);
    return hit ? hit.name : v.toString();
  }

  /** Reads an integer field, honouring BTF int offsets and member bitfields. */
  private intValue(bits: number, intOff: number, signed: boolean,
    off: number, bitOff: number, bitfield: number): bigint {
    const width = bitfield || bits;
    const total = bitOff + (bitfield ? 0 : intOff);
    const v = this.bits(off + (total >> 3), total & 7, width);
    return signed ? BigInt.asIntN(width, v) : v;
  }

  private bits(off: number, bitOff: number, width: number): bigint {
    return readBits(this.buf, off, bitOff, width);
  }

  private slice(off: number, len: number): Buffer {
    if (off + len > this.buf.length) {
      throw new Error(`BTF value: need ${len} bytes at offset ${off}, buffer has ${this.buf.length}`);
    }
    return this.buf.subarray(off, off + len);
  }
}
