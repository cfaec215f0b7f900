// formatJson: bpftool 7.1's "formatted" output. The goldens are real
// `bpftool -j map dump` output (refreshed by btf-bpftool.test.ts with
// L2BPF_BTF_GOLDEN=1); the explicit cases spell out each quirk.
import fs from 'fs';
import path from 'path';
import { Btf, formatJson, JsonValue, parseJsonExact, stringifyJson } from '../../src/btf';
import { BtfBuilder } from '../fixtures/btf/builder';
import { counterSamples, fixtureDir, loadFixtureBtf, structId, valueSamples } from '../fixtures/btf/samples';

const btf = loadFixtureBtf();
const valueId = structId(btf, 'l2t_value');
type Obj = Record<string, JsonValue>;
const fmt = (b: Buffer): Obj => formatJson(btf, valueId, b) as Obj;
const fromHex = (v: JsonValue): Buffer => Buffer.from((v as string[]).map((s) => parseInt(s, 16)));
const golden = (map: string): Obj[] =>
  parseJsonExact(fs.readFileSync(path.join(fixtureDir(), `bpftool-${map}.json`), 'utf8')) as Obj[];

describe('formatJson against recorded bpftool output', () => {
  test('l2t_values: same bytes as the samples, same formatted value', () => {
    const entries = golden('l2t_values');
    const samples = valueSamples(btf);
    expect(entries).toHaveLength(samples.length);
    entries.forEach((e, i) => {
      expect(fromHex(e.value)).toEqual(samples[i]);
      const formatted = e.formatted as Obj;
      expect(stringifyJson(fmt(fromHex(e.value)), 2)).toBe(stringifyJson(formatted.value, 2));
    });
  });

  test('l2t_percpu: every CPU copy', () => {
    const id = structId(btf, 'l2t_counters');
    const entries = golden('l2t_percpu');
    expect(entries).toHaveLength(counterSamples(btf).length);
    for (const e of entries) {
      const cpus = e.values as Obj[];
      const ours = cpus.map((c) => ({ cpu: c.cpu, value: formatJson(btf, id, fromHex(c.value)) }));
      expect(stringifyJson(ours)).toBe(stringifyJson((e.formatted as Obj).values));
    }
  });
});

describe('formatJson quirks, spelled out', () => {
  const [zero, max, odd, mix] = valueSamples(btf).map(fmt);

  test('integers: exact 64-bit bigints, signed where BTF says so, char is a number', () => {
    expect(max).toMatchObject({ u8v: 255, u16v: 65535, u32v: 4294967295, s8v: -128, s16v: -32768, s32v: -2147483648, c: -1, uc: 255 });
    expect(max.u64v).toBe((1n << 64n) - 1n);
    expect(max.s64v).toBe(-(1n << 63n));
    expect(odd.u64v).toBe((1n << 53n) + 1n);
    expect(zero.u64v).toBe(0n);
    expect(odd.c).toBe(65);
  });

  test('bool is any non-zero byte', () => {
    expect([zero.flag, max.flag, mix.flag]).toEqual([false, true, true]);
  });

  test('char arrays: a string only if NUL comes before any non-printable byte', () => {
    expect(max.name).toBe('hello, world!');
    expect(zero.name).toBe('');
    expect(max.raw).toEqual([65, 66, 1, 67, 0, 0, 0, 0]);
    expect(odd.raw).toEqual([...Buffer.from('full8chr')]); // no NUL at all
    expect(mix.name).toEqual([127, ...new Array(15).fill(0)]); // 0x7f is not printable
    expect(max.bytes).toEqual([1, 2, 3, 4]); // unsigned char never is a string
    expect(max.names).toEqual(['eth0', 'veth-1']);
    expect(max.mac).toEqual([170, 187, 204, 221, 238, 255]);
  });

  test('bpftool 7.1 escapes a backslash as \\n', () => {
    expect(odd.name).toBe('a\nb"c\'d');
  });

  test('enums: name on match, else the signed number read at the enum size', () => {
    expect([max.col, max.col_unknown, odd.col_unknown, mix.col]).toEqual(['L2T_BLUE', 7, -7, 'L2T_NEG']);
    expect(max.fl).toBe('L2T_F_HIGH'); // 0x80000000 matches as s32
    expect(odd.fl).toBe(5);
    expect([max.small, odd.small, mix.small]).toEqual([-56, 'L2T_S_ONE', -128]); // 200 read as s8
    expect([max.big, mix.big]).toEqual(['L2T_BIG_MAX', 'L2T_BIG_A']);
    expect(odd.big).toBe(-(1n << 63n)); // enum64 miss: printed signed
  });

  test('bitfields are quoted hex strings, never sign-extended', () => {
    expect(max).toMatchObject({ bf1: '0x7', bf2: '0x1f', bfs: '0xf', bfe: '0xf', bf64: '0xffffffffff' });
    expect(mix).toMatchObject({ bf1: '0x5', bf2: '0xa', bfs: '0x3', bfe: '0x2', bf64: '0x123456789a' });
  });

  test('pointers are unsigned 64-bit numbers; typedefs and qualifiers vanish', () => {
    expect(max.ptr).toBe(0xffff888812345678n);
    expect([max.ifindex, max.peer, max.ports, max.cv]).toEqual([1, 2, [3, 4], 3735928559]);
    expect(max.ip4).toBe(0x0201a8c0);
  });

  test('nested structs, unions and the anonymous member ""', () => {
    expect(max.in).toEqual({ a: 0xbeef, b: -5, tag: 'abc' });
    expect(max.un).toEqual({ word: 0x01020304, bytes: [4, 3, 2, 1] });
    expect(max['']).toEqual({ au: 0x12345678, ah: 0x5678 });
    expect(Object.keys(max).slice(0, 3)).toEqual(['u8v', 'u16v', 'u32v']);
  });
});

describe('formatJson on hand-built BTF', () => {
  const b = new BtfBuilder();
  const u32 = b.int('unsigned int', 4, 32);
  const i128 = b.int('__int128', 16, 128, { signed: true });
  const ch = b.int('xchar', 1, 8, { char: true });
  const narrow = b.int('u24', 4, 24);
  const shifted = b.int('odd', 4, 4, {}, 4);
  const old = b.composite('struct', 'old', 4, [{ name: 'lo', type: narrow, bitOffset: 0 }, { name: 'hi', type: shifted, bitOffset: 24 }]);
  const e8 = b.enum32('e8', 8, [['A', 1]]);
  const v1 = b.add('var', 'first', 0, false, u32, [1]);
  const v2 = b.add('var', 'second', 0, false, u32, [1]);
  const sec = b.datasec('.data', 12, [{ type: v1, offset: 0, size: 4 }, { type: v2, offset: 8, size: 4 }]);
  const flt = b.add('float', 'double', 0, false, 8);
  const fwd = b.add('fwd', 'later', 0, false, 0);
  const proto = b.add('func_proto', '', 0, false, 0);
  const p = Btf.parse(b.build());
  const hex = (s: string): Buffer => Buffer.from(s.replace(/ /g, ''), 'hex');

  test('128-bit ints print as hex strings', () => {
    expect(formatJson(p, i128, hex('0100000000000000 0200000000000000'))).toBe('0x20000000000000001');
    expect(formatJson(p, i128, Buffer.alloc(16))).toBe('0x0');
  });

  test('CHAR-encoded ints print as a one-character string', () => {
    expect(formatJson(p, ch, Buffer.from('A'))).toBe('A');
    expect(formatJson(p, ch, Buffer.from([7]))).toBe('\u0007');
  });

  test('odd widths and int offsets take the bitfield path', () => {
    expect(formatJson(p, narrow, hex('563412ff'))).toBe('0x123456');
    expect(formatJson(p, old, hex('000000a5'))).toEqual({ lo: '0x0', hi: '0xa' });
  });

  test('an 8-byte ENUM compares against s32 values and prints a bigint miss', () => {
    expect(formatJson(p, e8, hex('0100000000000000'))).toBe('A');
    expect(formatJson(p, e8, hex('0200000000000000'))).toBe(2n);
  });

  test('datasec: section name to a list of {var: value}', () => {
    expect(formatJson(p, sec, hex('07000000 00000000 09000000'))).toEqual({ '.data': [{ first: 7 }, { second: 9 }] });
    expect(formatJson(p, v2, hex('09000000'))).toEqual({ second: 9 });
  });

  test('float (bpftool 7.1 cannot) is a plain number', () => {
    const d = Buffer.alloc(8);
    d.writeDoubleLE(1.5);
    expect(formatJson(p, flt, d)).toBe(1.5);
  });

  test('kinds without a value are errors, as are short buffers', () => {
    expect(() => formatJson(p, fwd, Buffer.alloc(8))).toThrow(/kind fwd/);
    expect(() => formatJson(p, proto, Buffer.alloc(8))).toThrow(/kind func_proto/);
    expect(() => formatJson(p, 0, Buffer.alloc(8))).toThrow(/kind void/);
    expect(() => formatJson(p, u32, Buffer.alloc(2))).toThrow(/need 4 bytes at offset 0/);
  });
});
