// The inverse of formatJson: a JS value shaped like `bpftool -j` output
// (numbers or bigints, enum names, strings for char arrays, arrays, objects
// by member name) encoded into the bytes of a BTF type. Missing members are
// zero. Used by the loader to write map values from the map's own BTF.
import { Btf } from './parse';
import { writeBits } from './bits';
import { semanticOf } from './semantic';
import { isIP } from 'net';
import { parseAddress } from '../net/address';

export type JsInput = number | bigint | string | boolean | Buffer | JsInput[] | { [k: string]: JsInput } | null | undefined;

export function encodeValue(btf: Btf, typeId: number, v: JsInput): Buffer {
  const out = Buffer.alloc(btf.sizeOf(typeId));
  put(btf, typeId, v, out, 0, 0, 0, '');
  return out;
}

/** Text forms of the l2_* address typedefs (what formatText prints). */
function fromText(btf: Btf, id: number, v: string, where: string): Buffer | undefined {
  const sem = semanticOf(btf, id);
  if (sem === 'l2_mac') {
    if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(v)) fail(where, `${v} is not a MAC address`);
    return Buffer.from(v.split(':').map((x) => parseInt(x, 16)));
  }
  if (sem === 'l2_ipv4') {
    if (isIP(v) !== 4) fail(where, `${v} is not an IPv4 address`);
    return Buffer.from(v.split('.').map(Number));
  }
  if (sem === 'l2_ipv6') {
    const a = parseAddress(v);
    if (!a) fail(where, `${v} is not an IP address`);
    // IPv4 as ::ffff:a.b.c.d, the form the datapath keys flows and neighbours by
    return Buffer.from(a.family === 6 ? a.bytes : [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...a.bytes]);
  }
  return undefined;
}

/** bpftool prints bitfields as "0x.." strings; accept them back. */
const isHex = (v: unknown): v is string => typeof v === 'string' && /^0x[0-9a-f]+$/i.test(v);

function fail(where: string, what: string): never {
  throw new Error(`cannot encode ${where || 'value'}: ${what}`);
}

function put(btf: Btf, id: number, v: JsInput, out: Buffer, off: number, bitOff: number, bits: number, where: string): void {
  if (v === undefined || v === null) return;
  if (typeof v === 'string' && !bits) {
    const text = fromText(btf, id, v, where); // l2_mac / l2_ipv4 / l2_ipv6 given as text
    if (text) { text.copy(out, off); return; }
  }
  const t = btf.type(btf.resolve(id));
  switch (t.kind) {
    case 'int': {
      const n = typeof v === 'boolean' || typeof v === 'number' || typeof v === 'bigint' || isHex(v) ? BigInt(v) : fail(where, `expected an integer, got ${typeof v}`);
      writeBits(out, off, bitOff, bits || t.size * 8, BigInt.asUintN(bits || t.size * 8, n));
      return;
    }
    case 'enum': case 'enum64': {
      let n: bigint;
      if (typeof v === 'string') {
        const e = (t.values as ReadonlyArray<{ name: string; value: number | bigint }>).find((x) => x.name === v);
        n = e ? BigInt(e.value) : isHex(v) ? 0n : fail(where, `${v} is not a value of enum ${t.name}`);
        if (isHex(v)) n = BigInt(v); // bitfields: bpftool prints "0x.."
      } else if (typeof v === 'number' || typeof v === 'bigint') n = BigInt(v);
      else fail(where, `expected an enum name or number`);
      writeBits(out, off, bitOff, bits || t.size * 8, BigInt.asUintN(bits || t.size * 8, n));
      return;
    }
    case 'array': {
      const esize = btf.sizeOf(t.elemType);
      if (Buffer.isBuffer(v) || typeof v === 'string') {
        const b = Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8');
        // strings keep a terminating NUL, as C would
        if (b.length > t.nelems * esize - (typeof v === 'string' ? 1 : 0)) fail(where, `${b.length} bytes do not fit in ${t.nelems * esize}`);
        b.copy(out, off);
        return;
      }
      if (!Array.isArray(v)) fail(where, 'expected an array');
      if (v.length > t.nelems) fail(where, `${v.length} elements, room for ${t.nelems}`);
      v.forEach((e, i) => put(btf, t.elemType, e, out, off + i * esize, 0, 0, `${where}[${i}]`));
      return;
    }
    case 'struct': case 'union': {
      if (typeof v !== 'object' || Array.isArray(v) || Buffer.isBuffer(v)) fail(where, 'expected an object');
      const known = new Set(t.members.map((m) => m.name));
      for (const k of Object.keys(v)) if (!known.has(k)) fail(where, `no member ${k} in ${t.kind} ${t.name}`);
      for (const m of t.members) {
        const at = off + Math.floor(m.bitOffset / 8);
        put(btf, m.type, (v as Record<string, JsInput>)[m.name], out, at, m.bitOffset % 8, m.bitfieldSize, where ? `${where}.${m.name}` : m.name);
      }
      return;
    }
    case 'ptr': // bpftool prints pointers as their 64-bit value
      if (typeof v !== 'number' && typeof v !== 'bigint') fail(where, 'expected a pointer value');
      out.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)), off);
      return;
    case 'float':
      if (typeof v !== 'number') fail(where, 'expected a number');
      if (t.size === 4) out.writeFloatLE(v, off); else if (t.size === 8) out.writeDoubleLE(v, off); else fail(where, `float of ${t.size} bytes`);
      return;
    default:
      fail(where, `type kind ${t.kind} is not supported`);
  }
}
