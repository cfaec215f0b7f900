// Raw BTF (the kernel's type format, linux/btf.h) to a queryable Btf object.
// Pure TypeScript: the bytes come from a .BTF ELF section or the kernel.
import { decodeRecord } from './decode';
import { BtfKind, BtfType, BtfTypeOf, QUALIFIER_KINDS } from './types';

const BTF_MAGIC = 0xeb9f;
const HEADER_LEN = 24; // sizeof(struct btf_header)
const MAX_CHAIN = 32; // libbpf's MAX_RESOLVE_DEPTH: stops reference loops

export interface BtfHeader {
  readonly version: number;
  readonly flags: number;
  readonly hdrLen: number;
  readonly typeOff: number;
  readonly typeLen: number;
  readonly strOff: number;
  readonly strLen: number;
}

function readHeader(raw: Buffer): BtfHeader {
  if (raw.length < HEADER_LEN) {
    throw new Error(`BTF: ${raw.length} bytes is shorter than the ${HEADER_LEN}-byte header`);
  }
  const magic = raw.readUInt16LE(0);
  if (magic === 0x9feb) throw new Error('BTF: big-endian BTF is not supported');
  if (magic !== BTF_MAGIC) {
    throw new Error(`BTF: bad magic 0x${magic.toString(16)} (expected 0xeb9f)`);
  }
  const h = {
    version: raw.readUInt8(2), flags: raw.readUInt8(3), hdrLen: raw.readUInt32LE(4),
    typeOff: raw.readUInt32LE(8), typeLen: raw.readUInt32LE(12),
    strOff: raw.readUInt32LE(16), strLen: raw.readUInt32LE(20),
  };
  if (h.version !== 1) throw new Error(`BTF: unsupported version ${h.version}`);
  if (h.hdrLen < HEADER_LEN) throw new Error(`BTF: header length ${h.hdrLen} too small`);
  // Offsets count from the end of the header.
  for (const [what, off, len] of [['type', h.typeOff, h.typeLen], ['string', h.strOff, h.strLen]] as const) {
    if (h.hdrLen + off + len > raw.length) {
      throw new Error(`BTF: ${what} section (${off}+${len}) runs past the ${raw.length}-byte buffer`);
    }
  }
  return h;
}

export class Btf {
  private constructor(
    readonly header: BtfHeader,
    private readonly types: readonly BtfType[],
  ) {}

  /** Parses little-endian raw BTF; throws an Error saying what is wrong. */
  static parse(raw: Buffer): Btf {
    const h = readHeader(raw);
    const strStart = h.hdrLen + h.strOff;
    const strings = raw.subarray(strStart, strStart + h.strLen);
    const str = (off: number): string => {
      if (off >= strings.length) throw new Error(`BTF: string offset ${off} out of range`);
      const nul = strings.indexOf(0, off);
      if (nul < 0) throw new Error(`BTF: string at ${off} is not NUL-terminated`);
      return strings.toString('utf8', off, nul);
    };
    const types: BtfType[] = [{ id: 0, kind: 'void', name: '' }];
    const end = h.hdrLen + h.typeOff + h.typeLen;
    for (let pos = h.hdrLen + h.typeOff; pos < end;) {
      const { type, len } = decodeRecord({ data: raw, start: pos, end, str }, types.length);
      types.push(type);
      pos += len;
    }
    return new Btf(h, types);
  }

  /** Number of type ids, void included (valid ids are 0..count-1). */
  get count(): number {
    return this.types.length;
  }

  type(id: number): BtfType {
    const t = this.types[id];
    if (t === undefined) throw new Error(`BTF: no type with id ${id}`);
    return t;
  }

  /** Follows typedef/const/volatile/restrict/type_tag to the type underneath. */
  resolve(id: number): number {
    return this.walkQualifiers(id).id;
  }

  /** Names of the typedefs passed on the way to the resolved type, outermost first. */
  typedefChain(id: number): string[] {
    return this.walkQualifiers(id).typedefs;
  }

  /** Size in bytes of a value of this type, as libbpf's btf__resolve_size. */
  sizeOf(id: number): number {
    let count = 1;
    for (let depth = 0; depth < MAX_CHAIN; depth++) {
      const t = this.type(id);
      switch (t.kind) {
        case 'int': case 'struct': case 'union': case 'enum': case 'enum64':
        case 'datasec': case 'float':
          return count * t.size;
        case 'ptr':
          return count * 8; // BPF is a 64-bit target
        case 'array':
          count *= t.nelems;
          id = t.elemType;
          break;
        case 'typedef': case 'volatile': case 'const': case 'restrict':
        case 'type_tag': case 'var': case 'decl_tag':
          id = t.type;
          break;
        default:
          throw new Error(`BTF: type ${t.id} (${t.kind}) has no size`);
      }
    }
    throw new Error(`BTF: type ${id} nests too deeply`);
  }

  /** First type of that kind and name, or undefined. */
  findByName<K extends BtfKind>(kind: K, name: string): BtfTypeOf<K> | undefined {
    return this.types.find((t): t is BtfTypeOf<K> => t.kind === kind && t.name === name);
  }

  /** Enumerator value to name for `enum name` (enum or enum64). */
  enumNames(enumName: string): Map<number | bigint, string> {
    const t = this.findByName('enum', enumName) ?? this.findByName('enum64', enumName);
    if (!t) throw new Error(`BTF: no enum named ${enumName}`);
    const m = new Map<number | bigint, string>();
    for (const v of t.values) if (!m.has(v.value)) m.set(v.value, v.name);
    return m;
  }

  private walkQualifiers(id: number): { id: number; typedefs: string[] } {
    const typedefs: string[] = [];
    for (let depth = 0; depth < MAX_CHAIN; depth++) {
      const t = this.type(id);
      if (!QUALIFIER_KINDS.has(t.kind) || !('type' in t)) return { id, typedefs };
      if (t.kind === 'typedef') typedefs.push(t.name);
      id = t.type;
    }
    throw new Error(`BTF: type ${id} nests qualifiers too deeply`);
  }
}
