// Typed view of BTF records (see /usr/include/linux/btf.h). One interface per
// kind so callers can switch on `kind` and get the right fields.

export type Linkage = 'static' | 'global' | 'extern';

interface Base<K extends string> {
  readonly id: number;
  readonly kind: K;
  readonly name: string; // '' for anonymous types
}

/** Type id 0: nothing is stored for it, BTF reserves it for void. */
export type BtfVoid = Base<'void'>;

export interface BtfInt extends Base<'int'> {
  readonly size: number; // bytes
  readonly bits: number; // BTF_INT_BITS: used bits
  readonly offset: number; // BTF_INT_OFFSET: bit offset of those bits
  readonly signed: boolean;
  readonly char: boolean;
  readonly bool: boolean;
}

export interface BtfRef<K extends string> extends Base<K> {
  readonly type: number; // the referenced type id
}
export type BtfPtr = BtfRef<'ptr'>;
export type BtfTypedef = BtfRef<'typedef'>;
export type BtfVolatile = BtfRef<'volatile'>;
export type BtfConst = BtfRef<'const'>;
export type BtfRestrict = BtfRef<'restrict'>;
export type BtfTypeTag = BtfRef<'type_tag'>;

export interface BtfArray extends Base<'array'> {
  readonly elemType: number;
  readonly indexType: number;
  readonly nelems: number;
}

export interface BtfMember {
  readonly name: string;
  readonly type: number;
  readonly bitOffset: number;
  readonly bitfieldSize: number; // 0 unless the member is a bitfield
}

export interface BtfComposite<K extends string> extends Base<K> {
  readonly size: number;
  readonly members: readonly BtfMember[];
}
export type BtfStruct = BtfComposite<'struct'>;
export type BtfUnion = BtfComposite<'union'>;

export interface BtfEnumValue<V> {
  readonly name: string;
  readonly value: V;
}

export interface BtfEnum extends Base<'enum'> {
  readonly size: number;
  readonly signed: boolean; // kind_flag
  readonly values: readonly BtfEnumValue<number>[];
}

export interface BtfEnum64 extends Base<'enum64'> {
  readonly size: number;
  readonly signed: boolean;
  readonly values: readonly BtfEnumValue<bigint>[];
}

export interface BtfFwd extends Base<'fwd'> {
  readonly union: boolean; // kind_flag: forward of a union, not a struct
}

export interface BtfFunc extends BtfRef<'func'> {
  readonly linkage: Linkage;
}

export interface BtfParam {
  readonly name: string;
  readonly type: number; // 0 on the last param means "..."
}

export interface BtfFuncProto extends Base<'func_proto'> {
  readonly returnType: number;
  readonly params: readonly BtfParam[];
}

export interface BtfVar extends BtfRef<'var'> {
  readonly linkage: Linkage;
}

export interface BtfVarSecinfo {
  readonly type: number;
  readonly offset: number;
  readonly size: number;
}

export interface BtfDatasec extends Base<'datasec'> {
  readonly size: number;
  readonly vars: readonly BtfVarSecinfo[];
}

export interface BtfFloat extends Base<'float'> {
  readonly size: number;
}

export interface BtfDeclTag extends BtfRef<'decl_tag'> {
  readonly componentIdx: number; // -1: the tag is on the type itself
}

export type BtfType =
  | BtfVoid | BtfInt | BtfPtr | BtfArray | BtfStruct | BtfUnion | BtfEnum
  | BtfFwd | BtfTypedef | BtfVolatile | BtfConst | BtfRestrict | BtfFunc
  | BtfFuncProto | BtfVar | BtfDatasec | BtfFloat | BtfDeclTag | BtfTypeTag
  | BtfEnum64;

export type BtfKind = BtfType['kind'];
export type BtfTypeOf<K extends BtfKind> = Extract<BtfType, { kind: K }>;

/** Kind numbers as in the kernel's enum (index = BTF_KIND_*). */
export const KIND_NAMES: readonly BtfKind[] = [
  'void', 'int', 'ptr', 'array', 'struct', 'union', 'enum', 'fwd', 'typedef',
  'volatile', 'const', 'restrict', 'func', 'func_proto', 'var', 'datasec',
  'float', 'decl_tag', 'type_tag', 'enum64',
];

/** Kinds that only qualify another type (what resolve() skips). */
export const QUALIFIER_KINDS: ReadonlySet<BtfKind> = new Set<BtfKind>([
  'typedef', 'volatile', 'const', 'restrict', 'type_tag',
]);
