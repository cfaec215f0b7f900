// Btf.parse and its lookups, on the clang-built fixture (types.btf) and on
// hand-built BTF for what clang does not emit.
import { Btf, BtfType, BtfTypeOf, BtfKind } from '../../src/btf';
import { BtfBuilder } from '../fixtures/btf/builder';
import { loadFixtureBtf } from '../fixtures/btf/samples';

const btf = loadFixtureBtf();

function byName<K extends BtfKind>(kind: K, name: string): BtfTypeOf<K> {
  const t = btf.findByName(kind, name);
  if (!t) throw new Error(`fixture has no ${kind} ${name}`);
  return t;
}

function member(struct: string, name: string) {
  const m = byName('struct', struct).members.find((x) => x.name === name);
  if (!m) throw new Error(`no member ${name}`);
  return { ...m, t: btf.type(m.type) };
}

describe('Btf.parse on the clang fixture', () => {
  test('header and void', () => {
    expect(btf.header).toMatchObject({ version: 1, flags: 0, hdrLen: 24 });
    expect(btf.type(0)).toEqual({ id: 0, kind: 'void', name: '' });
    expect(() => btf.type(btf.count)).toThrow(/no type with id/);
  });

  test('the fixture holds every kind', () => {
    const kinds = new Set<string>();
    for (let id = 0; id < btf.count; id++) kinds.add(btf.type(id).kind);
    expect([...kinds].sort()).toEqual(['array', 'const', 'datasec', 'decl_tag', 'enum', 'enum64', 'float',
      'func', 'func_proto', 'fwd', 'int', 'ptr', 'restrict', 'struct', 'type_tag', 'typedef', 'union', 'var',
      'void', 'volatile']);
  });

  test('ints: size, bits and encoding', () => {
    expect(byName('int', 'unsigned long long')).toMatchObject({ size: 8, bits: 64, offset: 0, signed: false, char: false, bool: false });
    expect(byName('int', 'short')).toMatchObject({ size: 2, bits: 16, signed: true });
    expect(byName('int', 'char')).toMatchObject({ size: 1, bits: 8, signed: true, char: false });
    expect(byName('int', '_Bool')).toMatchObject({ size: 1, bits: 8, bool: true, signed: false });
  });

  test('struct members, bitfields (kind_flag) and nesting', () => {
    const v = byName('struct', 'l2t_value');
    expect(v.size).toBe(248);
    expect(v.members.map((m) => m.name).slice(0, 4)).toEqual(['u8v', 'u16v', 'u32v', 'u64v']);
    expect(member('l2t_value', 'u64v')).toMatchObject({ bitOffset: 64, bitfieldSize: 0 });
    expect(member('l2t_value', 'bf1')).toMatchObject({ bitOffset: 1088, bitfieldSize: 3 });
    expect(member('l2t_value', 'bf2')).toMatchObject({ bitOffset: 1091, bitfieldSize: 5 });
    expect(member('l2t_value', 'bf64')).toMatchObject({ bitfieldSize: 40 });
    expect(member('l2t_value', 'in').t).toMatchObject({ kind: 'struct', name: 'l2t_inner', size: 8 });
    expect(member('l2t_value', 'un').t).toMatchObject({ kind: 'union', name: 'l2t_word', size: 4 });
    expect(member('l2t_value', '').t).toMatchObject({ kind: 'union', name: '' });
  });

  test('arrays, including 2-D', () => {
    const names = member('l2t_value', 'names').t as BtfTypeOf<'array'>;
    expect(names.nelems).toBe(2);
    const row = btf.type(names.elemType) as BtfTypeOf<'array'>;
    expect(row).toMatchObject({ kind: 'array', nelems: 8 });
    expect(btf.type(row.elemType).name).toBe('char');
    expect(btf.type(row.indexType)).toMatchObject({ kind: 'int', name: '__ARRAY_SIZE_TYPE__' });
  });

  test('enums: signedness from kind_flag, enum64 values as bigint', () => {
    expect(byName('enum', 'l2t_color')).toMatchObject({ size: 4, signed: true });
    expect(byName('enum', 'l2t_color').values).toContainEqual({ name: 'L2T_NEG', value: -1 });
    expect(byName('enum', 'l2t_flag')).toMatchObject({ signed: false });
    expect(byName('enum', 'l2t_flag').values).toContainEqual({ name: 'L2T_F_HIGH', value: 0x80000000 });
    expect(byName('enum', 'l2t_small')).toMatchObject({ size: 1, signed: false });
    expect(byName('enum64', 'l2t_big')).toMatchObject({ size: 8, signed: false, values: [
      { name: 'L2T_BIG_A', value: 1n << 32n }, { name: 'L2T_BIG_MAX', value: (1n << 64n) - 1n }] });
  });

  test('qualifiers, pointers, functions, tags, vars and sections', () => {
    const cv = member('l2t_value', 'cv').t;
    expect(cv.kind).toBe('const');
    expect(btf.type((cv as BtfTypeOf<'const'>).type).kind).toBe('volatile');
    expect(member('l2t_value', 'rp').t.kind).toBe('restrict');
    const tp = member('l2t_value', 'tp').t as BtfTypeOf<'ptr'>;
    expect(btf.type(tp.type)).toMatchObject({ kind: 'type_tag', name: 'l2t_user' });
    const fn = member('l2t_value', 'fn').t as BtfTypeOf<'ptr'>;
    const proto = btf.type(fn.type) as BtfTypeOf<'func_proto'>;
    expect(proto).toMatchObject({ kind: 'func_proto', params: [{ name: '' }] });
    expect(btf.type(proto.returnType).name).toBe('int');
    expect(byName('func', 'l2t_pass').linkage).toBe('global');
    expect(byName('var', 'l2t_gcount')).toMatchObject({ linkage: 'global' });
    expect(byName('datasec', '.data').vars.map((v) => btf.type(v.type).name)).toEqual(['l2t_gcount', 'l2t_gname']);
    expect(byName('float', 'double').size).toBe(8);
    expect(byName('float', 'float').size).toBe(4);
    const opaque = member('l2t_value', 'opaque').t as BtfTypeOf<'ptr'>;
    expect(btf.type(opaque.type)).toMatchObject({ kind: 'fwd', name: 'l2t_opaque', union: false });
    expect(byName('decl_tag', 'l2t_struct').componentIdx).toBe(-1);
    expect(byName('decl_tag', 'l2t_member')).toMatchObject({ type: byName('struct', 'l2t_value').id, componentIdx: 41 });
  });
});

describe('lookups', () => {
  const id = (s: string, m: string) => member(s, m).type;

  test('resolve skips typedef/const/volatile/restrict/type_tag only', () => {
    expect(btf.type(btf.resolve(id('l2t_value', 'peer')))).toMatchObject({ kind: 'int', name: 'unsigned int' });
    expect(btf.type(btf.resolve(id('l2t_value', 'cv'))).name).toBe('unsigned int');
    expect(btf.type(btf.resolve(id('l2t_value', 'mac'))).kind).toBe('array');
    expect(btf.resolve(id('l2t_value', 'ptr'))).toBe(id('l2t_value', 'ptr')); // a pointer is not skipped
  });

  test('typedefChain lists typedef names outermost first', () => {
    expect(btf.typedefChain(id('l2t_value', 'peer'))).toEqual(['l2_port_ref', 'l2_ifindex', '__u32']);
    expect(btf.typedefChain(id('l2t_value', 'ip4'))).toEqual(['l2_ipv4', '__be32', '__u32']);
    expect(btf.typedefChain(id('l2t_value', 'cv'))).toEqual(['__u32']);
    expect(btf.typedefChain(id('l2t_value', 'name'))).toEqual([]);
  });

  test('sizeOf follows arrays and qualifiers', () => {
    expect(btf.sizeOf(byName('struct', 'l2t_value').id)).toBe(248);
    expect(btf.sizeOf(id('l2t_value', 'names'))).toBe(16);
    expect(btf.sizeOf(id('l2t_value', 'mac'))).toBe(6);
    expect(btf.sizeOf(id('l2t_value', 'ptr'))).toBe(8);
    expect(btf.sizeOf(byName('var', 'l2t_gname').id)).toBe(8);
    expect(() => btf.sizeOf(byName('func', 'l2t_pass').id)).toThrow(/has no size/);
    expect(() => btf.sizeOf(0)).toThrow(/has no size/);
  });

  test('findByName and enumNames', () => {
    expect(btf.findByName('struct', 'nope')).toBeUndefined();
    expect(btf.findByName('typedef', 'l2_mac')?.kind).toBe('typedef');
    expect(btf.enumNames('l2t_color')).toEqual(new Map<number | bigint, string>([
      [0, 'L2T_RED'], [1, 'L2T_GREEN'], [2, 'L2T_BLUE'], [-1, 'L2T_NEG']]));
    expect(btf.enumNames('l2t_big').get((1n << 64n) - 1n)).toBe('L2T_BIG_MAX');
    expect(() => btf.enumNames('nope')).toThrow(/no enum named nope/);
  });
});

describe('hand-built BTF', () => {
  test('fwd, kind_flag=0 members, int offsets', () => {
    const b = new BtfBuilder();
    const u32 = b.int('u32', 4, 32);
    b.add('fwd', 'later', 0, true, 0);
    b.composite('struct', 'old', 4, [{ name: 'x', type: u32, bitOffset: 3 }]);
    b.int('odd', 4, 5, { signed: true }, 2);
    const p = Btf.parse(b.build());
    expect(p.type(2)).toEqual({ id: 2, kind: 'fwd', name: 'later', union: true });
    expect((p.type(3) as BtfTypeOf<'struct'>).members[0]).toEqual({ name: 'x', type: 1, bitOffset: 3, bitfieldSize: 0 });
    expect(p.type(4)).toMatchObject({ bits: 5, offset: 2, signed: true });
  });

  test('signed enum64 and a datasec', () => {
    const b = new BtfBuilder();
    b.enum64('e', [['NEG', -5n]], true);
    const v = b.add('var', 'v', 0, false, 1, [1]);
    b.datasec('.data', 16, [{ type: v, offset: 8, size: 8 }]);
    const p = Btf.parse(b.build());
    expect((p.type(1) as BtfTypeOf<'enum64'>).values).toEqual([{ name: 'NEG', value: -5n }]);
    expect(p.type(3)).toEqual({ id: 3, kind: 'datasec', name: '.data', size: 16, vars: [{ type: 2, offset: 8, size: 8 }] });
  });

  const good = (): Buffer => {
    const b = new BtfBuilder();
    b.int('int', 4, 32, { signed: true });
    return b.build();
  };

  test.each<[string, (raw: Buffer) => Buffer, RegExp]>([
    ['short buffer', (r) => r.subarray(0, 10), /shorter than the 24-byte header/],
    ['bad magic', (r) => { r.writeUInt16LE(0x1234, 0); return r; }, /bad magic 0x1234/],
    ['big-endian', (r) => { r.writeUInt16LE(0x9feb, 0); return r; }, /big-endian/],
    ['version', (r) => { r.writeUInt8(2, 2); return r; }, /unsupported version 2/],
    ['truncated sections', (r) => r.subarray(0, r.length - 1), /string section .* runs past/],
    ['truncated type', (r) => { r.writeUInt32LE(10, 12); r.writeUInt32LE(10, 16); return r; }, /type 1 truncated/],
    ['unknown kind', (r) => { r.writeUInt8(0x1f, 24 + 7); return r; }, /unknown kind 31/],
    ['string offset', (r) => { r.writeUInt32LE(999, 24); return r; }, /string offset 999/],
  ])('rejects %s', (_what, breakIt, message) => {
    expect(() => Btf.parse(breakIt(Buffer.from(good())))).toThrow(message);
  });

  test('a well-formed minimal blob parses', () => {
    const t: BtfType = Btf.parse(good()).type(1);
    expect(t).toMatchObject({ kind: 'int', name: 'int', signed: true });
  });
});
