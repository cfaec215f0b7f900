// formatJson: the value bpftool 7.1 prints under "formatted" in
// `bpftool -j map dump`, mirrored from its btf_dumper.c (is_plain_text off).
// Each case below notes the bpftool behaviour it copies.
import { readBits, readInt } from './bits';
import { JsonValue, setKey } from './json';
import { Btf } from './parse';
import { BtfArray, BtfComposite, BtfEnum, BtfEnum64, BtfInt } from './types';

export { JsonValue, parseJsonExact, stringifyJson } from './json';
export { formatText, FormatTextOptions } from './text';
export { sumValues } from './sum';

const MAX_RESOLVE = 32;

/** Formats `bytes` (one value of type typeId) the way bpftool -j does. */
export function formatJson(btf: Btf, typeId: number, bytes: Buffer): JsonValue {
  return new JsonDumper(btf, bytes).value(typeId, 0, 0);
}

/** bitfields are printed as a quoted hex string ("0x%llx"), never signed. */
function hexString(v: bigint): string {
  return `0x${v.toString(16)}`;
}

class JsonDumper {
  constructor(private readonly btf: Btf, private readonly buf: Buffer) {}

  /** btf_dumper_do_type: bitOff is 0..7, the bits within buf[off]. */
  value(id: number, bitOff: number, off: number): JsonValue {
    const t = this.btf.type(id);
    switch (t.kind) {
      case 'int': return this.int(t, bitOff, off);
      case 'struct': case 'union': return this.composite(t, off);
      case 'array': return this.array(t, off);
      case 'enum': return this.enum32(t, off);
      case 'enum64': return this.enum64(t, off);
      // "%lu" of the pointer value: an unsigned 64-bit number.
      case 'ptr': return readInt(this.buf, off, 8, false);
      case 'typedef': case 'volatile': case 'const': case 'restrict': case 'type_tag':
        return this.value(this.resolveForDump(id), bitOff, off);
      case 'var': {
        const obj: { [key: string]: JsonValue } = {};
        setKey(obj, t.name, this.value(t.type, bitOff, off));
        return obj;
      }
      case 'datasec': {
        // { "<section>": [ {var: value}, ... ] }
        const obj: { [key: string]: JsonValue } = {};
        setKey(obj, t.name, t.vars.map((v) => this.value(v.type, 0, off + v.offset)));
        return obj;
      }
      // bpftool 7.1 has no float case: it prints "(unsupported-kind" and
      // stops, which is not JSON. A plain number is the useful answer.
      case 'float': return this.float(t.size, off);
      default:
        throw new Error(`BTF: cannot format type ${id} of kind ${t.kind}`);
    }
  }

  /** btf__resolve_type: skips typedefs, modifiers, type tags and vars. */
  private resolveForDump(id: number): number {
    for (let depth = 0; depth < MAX_RESOLVE; depth++) {
      const t = this.btf.type(id);
      if (t.kind === 'void') throw new Error('BTF: cannot format void');
      if (!('type' in t) || !['typedef', 'volatile', 'const', 'restrict', 'type_tag', 'var'].includes(t.kind)) {
        return id;
      }
      id = t.type;
    }
    throw new Error(`BTF: type ${id} nests too deeply`);
  }

  private int(t: BtfInt, bitOff: number, off: number): JsonValue {
    // Unaligned, offset or odd-width ints go through the bitfield printer.
    if (bitOff || t.offset || t.bits % 8) return this.intBits(t, bitOff, off);
    // 128-bit ints print as a quoted hex string too.
    if (t.bits === 128) return hexString(readInt(this.buf, off, 16, false));
    if (t.char) return String.fromCharCode(this.buf[off]); // "%c" or "\u00%02hhx"
    if (t.bool) return this.buf[off] !== 0;
    if (![8, 16, 32, 64].includes(t.bits)) return this.intBits(t, bitOff, off);
    const v = readInt(this.buf, off, t.bits / 8, t.signed);
    return t.bits === 64 ? v : Number(v);
  }

  private intBits(t: BtfInt, bitOff: number, off: number): string {
    const total = bitOff + t.offset;
    return hexString(readBits(this.buf, off + (total >> 3), total & 7, t.bits));
  }

  private composite(t: BtfComposite<'struct' | 'union'>, off: number): JsonValue {
    // Members in order; an anonymous member gets the key "" (twice -> last wins).
    const obj: { [key: string]: JsonValue } = {};
    for (const m of t.members) {
      const dataOff = off + (m.bitOffset >> 3);
      const v = m.bitfieldSize
        ? hexString(readBits(this.buf, dataOff, m.bitOffset & 7, m.bitfieldSize))
        : this.value(m.type, m.bitOffset & 7, dataOff);
      setKey(obj, m.name, v);
    }
    return obj;
  }

  private array(t: BtfArray, off: number): JsonValue {
    const s = this.strArray(t, off);
    if (s !== undefined) return s;
    const elemSize = this.btf.sizeOf(t.elemType);
    return Array.from({ length: t.nelems }, (_, i) => this.value(t.elemType, 0, off + i * elemSize));
  }

  /**
   * is_str_array: elements are 1-byte ints named "char" (or CHAR-encoded),
   * through const/volatile/restrict/type_tag but NOT typedefs, and a NUL
   * comes before any byte outside 0x20..0x7e. Then jsonw_string() prints up
   * to the NUL, and bpftool 7.1 escapes '\' as "\n" (fixed upstream later),
   * so a backslash reads back as a newline.
   */
  private strArray(t: BtfArray, off: number): string | undefined {
    if (t.nelems === 0) return undefined;
    let elem = this.btf.type(t.elemType);
    for (let depth = 0; depth < MAX_RESOLVE && 'type' in elem &&
      ['volatile', 'const', 'restrict', 'type_tag'].includes(elem.kind); depth++) {
      elem = this.btf.type(elem.type);
    }
    if (elem.kind !== 'int' || elem.size !== 1) return undefined;
    if (!elem.char && elem.name !== 'char') return undefined;
    for (let i = 0; i < t.nelems; i++) {
      const b = this.buf[off + i];
      if (b === undefined) throw new Error(`BTF value: array at ${off} runs past the buffer`);
      if (b === 0) return this.buf.toString('latin1', off, off + i).replace(/\\/g, '\n');
      if (b <= 0x1f || b >= 0x7f) return undefined;
    }
    return undefined; // no NUL: printed as an array of numbers
  }

  /**
   * btf_dumper_enum: reads `size` bytes as SIGNED whatever kind_flag says
   * and compares with each enumerator as a signed 32-bit value; no match
   * prints that signed number. So an unsigned 1-byte enum holding 200
   * prints -56, and 0x80000000 prints -2147483648.
   */
  private enum32(t: BtfEnum, off: number): JsonValue {
    if (![1, 2, 4, 8].includes(t.size)) throw new Error(`BTF: enum ${t.id} has size ${t.size}`);
    const v = readInt(this.buf, off, t.size, true);
    const hit = t.values.find((e) => BigInt(e.value | 0) === v);
    if (hit) return hit.name;
    return t.size === 8 ? v : Number(v);
  }

  /** btf_dumper_enum64: matches all 64 bits; no match prints jsonw_int (signed). */
  private enum64(t: BtfEnum64, off: number): JsonValue {
    const v = readInt(this.buf, off, 8, false);
    const hit = t.values.find((e) => BigInt.asUintN(64, e.value) === v);
    return hit ? hit.name : BigInt.asIntN(64, v);
  }

  private float(size: number, off: number): number {
    if (size === 4) return this.buf.readFloatLE(off);
    if (size === 8) return this.buf.readDoubleLE(off);
    throw new Error(`BTF: cannot format a ${size}-byte float`);
  }
}
