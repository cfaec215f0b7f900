// Decodes one BTF type record (struct btf_type plus its kind-specific tail).
// Kept apart from the Btf class so parse.ts stays about lookups.
import { BtfType, KIND_NAMES, Linkage } from './types';

const COMMON_LEN = 12; // name_off, info, size/type

/** What a record decoder gets: little-endian reads within the type section. */
export interface RecordCursor {
  readonly data: Buffer;
  readonly start: number; // where the record starts
  readonly end: number; // end of the type section
  str(off: number): string;
}

/** Bytes each kind adds after the common part, given vlen. */
function tailLen(kind: number, vlen: number): number {
  switch (kind) {
    case 1: case 14: case 17: return 4; // int, var, decl_tag
    case 3: return 12; // array
    case 4: case 5: case 15: case 19: return 12 * vlen; // members, secinfos, enum64
    case 6: case 13: return 8 * vlen; // enum values, params
    default: return 0;
  }
}

function linkage(v: number): Linkage {
  if (v === 0) return 'static';
  if (v === 1) return 'global';
  if (v === 2) return 'extern';
  throw new Error(`BTF: unknown linkage ${v}`);
}

/** Decodes the record at c.start; returns the type and the record length. */
export function decodeRecord(c: RecordCursor, id: number): { type: BtfType; len: number } {
  const { data, start } = c;
  if (start + COMMON_LEN > c.end) throw new Error(`BTF: type ${id} truncated`);
  const name = c.str(data.readUInt32LE(start));
  const info = data.readUInt32LE(start + 4);
  const sizeOrType = data.readUInt32LE(start + 8);
  const vlen = info & 0xffff;
  const kindNum = (info >>> 24) & 0x1f;
  const kflag = (info >>> 31) === 1;
  if (kindNum === 0 || kindNum >= KIND_NAMES.length) {
    throw new Error(`BTF: type ${id} has unknown kind ${kindNum}`);
  }
  const len = COMMON_LEN + tailLen(kindNum, vlen);
  if (start + len > c.end) throw new Error(`BTF: type ${id} truncated`);
  const t = start + COMMON_LEN; // the tail
  const u32 = (o: number): number => data.readUInt32LE(t + o);
  const base = { id, name };
  const ref = { ...base, type: sizeOrType };
  let type: BtfType;
  switch (KIND_NAMES[kindNum]) {
    case 'int': {
      const v = u32(0);
      const enc = (v >>> 24) & 0x0f;
      type = { ...base, kind: 'int', size: sizeOrType, bits: v & 0xff, offset: (v >>> 16) & 0xff,
        signed: (enc & 1) !== 0, char: (enc & 2) !== 0, bool: (enc & 4) !== 0 };
      break;
    }
    case 'array':
      type = { ...base, kind: 'array', elemType: u32(0), indexType: u32(4), nelems: u32(8) };
      break;
    case 'struct': case 'union': {
      const members = Array.from({ length: vlen }, (_, i) => {
        const off = u32(12 * i + 8);
        // kind_flag: offset holds bitfield_size << 24 | bit_offset.
        return { name: c.str(u32(12 * i)), type: u32(12 * i + 4),
          bitOffset: kflag ? off & 0xffffff : off, bitfieldSize: kflag ? off >>> 24 : 0 };
      });
      type = { ...base, kind: kindNum === 4 ? 'struct' : 'union', size: sizeOrType, members };
      break;
    }
    case 'enum': {
      // Stored as 32 bits; kind_flag says how to read them.
      const values = Array.from({ length: vlen }, (_, i) => ({ name: c.str(u32(8 * i)),
        value: kflag ? data.readInt32LE(t + 8 * i + 4) : u32(8 * i + 4) }));
      type = { ...base, kind: 'enum', size: sizeOrType, signed: kflag, values };
      break;
    }
    case 'enum64': {
      const values = Array.from({ length: vlen }, (_, i) => {
        const raw = (BigInt(u32(12 * i + 8)) << 32n) | BigInt(u32(12 * i + 4));
        return { name: c.str(u32(12 * i)), value: kflag ? BigInt.asIntN(64, raw) : raw };
      });
      type = { ...base, kind: 'enum64', size: sizeOrType, signed: kflag, values };
      break;
    }
    case 'fwd': type = { ...base, kind: 'fwd', union: kflag }; break;
    case 'ptr': type = { ...ref, kind: 'ptr' }; break;
    case 'typedef': type = { ...ref, kind: 'typedef' }; break;
    case 'volatile': type = { ...ref, kind: 'volatile' }; break;
    case 'const': type = { ...ref, kind: 'const' }; break;
    case 'restrict': type = { ...ref, kind: 'restrict' }; break;
    case 'type_tag': type = { ...ref, kind: 'type_tag' }; break;
    case 'func': type = { ...ref, kind: 'func', linkage: linkage(vlen) }; break;
    case 'func_proto': {
      const params = Array.from({ length: vlen }, (_, i) =>
        ({ name: c.str(u32(8 * i)), type: u32(8 * i + 4) }));
      type = { ...base, kind: 'func_proto', returnType: sizeOrType, params };
      break;
    }
    case 'var': type = { ...ref, kind: 'var', linkage: linkage(u32(0)) }; break;
    case 'datasec': {
      const vars = Array.from({ length: vlen }, (_, i) =>
        ({ type: u32(12 * i), offset: u32(12 * i + 4), size: u32(12 * i + 8) }));
      type = { ...base, kind: 'datasec', size: sizeOrType, vars };
      break;
    }
    case 'float': type = { ...base, kind: 'float', size: sizeOrType }; break;
    case 'decl_tag':
      type = { ...ref, kind: 'decl_tag', componentIdx: data.readInt32LE(t) };
      break;
    default:
      throw new Error(`BTF: type ${id} has unknown kind ${kindNum}`);
  }
  return { type, len };
}
