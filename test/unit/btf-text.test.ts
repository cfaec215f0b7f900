// formatText (human rendering driven by l2_* typedefs) and sumValues
// (per-CPU folding), on the fixture types.
import { Btf, formatIpv6, formatJson, formatText, JsonValue, quoteCString, sumValues } from '../../src/btf';
import { BtfBuilder } from '../fixtures/btf/builder';
import { buildValue, loadFixtureBtf, structId, valueSamples } from '../fixtures/btf/samples';

const btf = loadFixtureBtf();
const valueId = structId(btf, 'l2t_value');
const countersId = structId(btf, 'l2t_counters');
const ifname = (i: number): string | undefined => ({ 1: 'eth0', 3: 'veth-a' } as Record<number, string>)[i];

/** "name: value" for one field out of the one-line rendering. */
function field(text: string, name: string): string {
  const m = new RegExp(`(?:^\\{|, )${name}: ((?:"(?:[^"\\\\]|\\\\.)*"|\\{[^}]*\\}|\\[[^\\]]*\\]|[^,}])+)`).exec(text);
  if (!m) throw new Error(`no field ${name} in ${text}`);
  return m[1];
}

describe('formatText', () => {
  const [zero, max, odd, mix] = valueSamples(btf).map((b) => formatText(btf, valueId, b, { ifname }));

  test('one line, fields in order', () => {
    expect(max.startsWith('{u8v: 255, u16v: 65535, u32v: 4294967295, u64v: 18446744073709551615, s8v: -128,')).toBe(true);
    expect(max).not.toContain('\n');
    expect(field(zero, 'u64v')).toBe('0');
  });

  test('l2_* typedefs: interface names, MAC, IPv4, IPv6', () => {
    expect([field(max, 'ifindex'), field(max, 'peer'), field(max, 'ports')]).toEqual(['eth0', '2', '[veth-a, 4]']);
    expect(field(max, 'mac')).toBe('aa:bb:cc:dd:ee:ff');
    expect([field(max, 'ip4'), field(mix, 'ip4')]).toEqual(['192.168.1.2', '10.0.0.1']);
    expect([field(max, 'ip6'), field(odd, 'ip6'), field(zero, 'ip6')]).toEqual(['2001:db8::1', '::ffff:10.0.0.1', '::']);
    expect(field(zero, 'ifindex')).toBe('0');
    expect(formatText(btf, valueId, valueSamples(btf)[1])).toContain('ifindex: 1, peer: 2, ports: [3, 4]');
  });

  test('char arrays quoted (escaped), other arrays as lists', () => {
    expect(field(max, 'name')).toBe('"hello, world!"');
    expect(field(odd, 'name')).toBe('"a\\\\b\\"c\'d"');
    expect(field(max, 'raw')).toBe('"AB\\x01C"');
    expect(field(max, 'names')).toBe('["eth0", "veth-1"]');
    expect(field(max, 'bytes')).toBe('[1, 2, 3, 4]');
  });

  test('enums by name, else the number as BTF signedness says', () => {
    expect([field(max, 'col'), field(max, 'col_unknown'), field(odd, 'col_unknown')]).toEqual(['L2T_BLUE', '7', '-7']);
    expect([field(max, 'small'), field(mix, 'small')]).toEqual(['L2T_S_BIG', '128']);
    expect([field(max, 'big'), field(odd, 'big')]).toEqual(['L2T_BIG_MAX', '9223372036854775808']);
  });

  test('bitfields in decimal, signed ones sign-extended, enum bitfields by name', () => {
    expect(['bf1', 'bf2', 'bfs', 'bfe', 'bf64'].map((f) => field(max, f))).toEqual(['7', '31', '-1', 'L2T_NEG', '1099511627775']);
  });

  test('bool, pointers, nested and anonymous members', () => {
    expect([field(max, 'flag'), field(zero, 'flag')]).toEqual(['true', 'false']);
    expect(field(max, 'ptr')).toBe('0xffff888812345678');
    expect(field(max, 'in')).toBe('{a: 48879, b: -5, tag: "abc"}');
    expect(max).toContain('pair: {x: 1, y: 2}, au: 305419896, ah: 22136, ptr:');
  });

  test('an ifname callback that knows nothing falls back to the number', () => {
    expect(formatText(btf, valueId, valueSamples(btf)[1], { ifname: () => undefined })).toContain('ifindex: 1,');
  });
});

describe('formatText helpers', () => {
  test.each([
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['0000:0000:0000:0000:0000:0000:0000:0000', '::'],
    ['0000:0000:0000:0000:0000:0000:0000:0001', '::1'],
    ['2001:0db8:0000:0001:0000:0000:0000:0001', '2001:db8:0:1::1'], // longest run wins
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'], // first of equal runs
    ['2001:0db8:0001:0000:0001:0001:0001:0001', '2001:db8:1:0:1:1:1:1'], // single zero stays
    ['fe80:0000:0000:0000:0000:0000:0000:0000', 'fe80::'],
    ['0000:0000:0000:0000:0000:ffff:c000:0201', '::ffff:192.0.2.1'],
  ])('formatIpv6 %s', (full, short) => {
    expect(formatIpv6(Buffer.from(full.replace(/:/g, ''), 'hex'))).toBe(short);
  });

  test('quoteCString stops at NUL and escapes', () => {
    expect(quoteCString(Buffer.from('a"\\\n\0junk'))).toBe('"a\\"\\\\\\x0a"');
    expect(quoteCString(Buffer.from('no-nul'))).toBe('"no-nul"');
  });
});

describe('sumValues', () => {
  const cpu = (fields: Parameters<typeof buildValue>[2]): Buffer => buildValue(btf, countersId, fields);
  const sum = (bufs: Buffer[]): Record<string, JsonValue> =>
    formatJson(btf, countersId, sumValues(btf, countersId, bufs)) as Record<string, JsonValue>;

  test('adds integers with wrap-around, keeps the rest from CPU 0', () => {
    const s = sum([
      cpu({ packets: (1n << 64n) - 1n, bytes: 10, small: 0xffffffff, delta: -3, tiny: 200, mac: [1, 2, 3, 4, 5, 6], name: 'first', col: 1 }),
      cpu({ packets: 2, bytes: 20, small: 2, delta: 1, tiny: 100, mac: [9, 9, 9, 9, 9, 9], name: 'second', col: 2 }),
    ]);
    expect(s).toEqual({ packets: 1n, bytes: 30n, small: 1, delta: -2, tiny: 44, mac: [1, 2, 3, 4, 5, 6], name: 'first', col: 'L2T_GREEN' });
  });

  test('one CPU is a copy; extra trailing bytes (8-byte rounding) are dropped', () => {
    const one = cpu({ packets: 5 });
    expect(sumValues(btf, countersId, [Buffer.concat([one, Buffer.alloc(8, 0xee)])])).toEqual(one);
  });

  test('walks nested structs and arrays, skips unions, bools, enums, l2_* and chars', () => {
    const a = buildValue(btf, valueId, { u8v: 250, 'in.a': 1, 'ins.1.a': 2, bytes: [1, 1, 1, 1], 'un.word': 1, flag: 1, col: 1, ifindex: 3, c: 1, bf1: 6, bfs: -2, ptr: 1 });
    const b = buildValue(btf, valueId, { u8v: 10, 'in.a': 1, 'ins.1.a': 2, bytes: [1, 2, 3, 4], 'un.word': 9, flag: 1, col: 2, ifindex: 4, c: 1, bf1: 3, bfs: 1, ptr: 7 });
    const s = formatText(btf, valueId, sumValues(btf, valueId, [a, b]));
    expect(s).toContain('u8v: 4,');
    expect(s).toContain('in: {a: 2,');
    expect(s).toContain('ins: [{a: 0, b: 0, tag: ""}, {a: 4,');
    expect(s).toContain('bytes: [2, 3, 4, 5]');
    expect(s).toContain('un: {word: 1,');
    expect(s).toContain('flag: true');
    expect(s).toContain('col: L2T_GREEN');
    expect(s).toContain('ifindex: 3,');
    expect(s).toContain('c: 1,');
    expect(s).toContain('bf1: 1, bf2: 0, bfs: -1,');
    expect(s).toContain('ptr: 0x1,');
  });

  test('datasec vars are summed too', () => {
    const bb = new BtfBuilder();
    const u32 = bb.int('unsigned int', 4, 32);
    const v = bb.add('var', 'hits', 0, false, u32, [1]);
    const sec = bb.datasec('.bss', 4, [{ type: v, offset: 0, size: 4 }]);
    const p = Btf.parse(bb.build());
    const n = (x: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(x); return b; };
    expect(sumValues(p, sec, [n(1), n(2), n(3)]).readUInt32LE(0)).toBe(6);
  });

  test('rejects no CPUs and short copies', () => {
    expect(() => sumValues(btf, countersId, [])).toThrow(/no per-CPU values/);
    expect(() => sumValues(btf, countersId, [Buffer.alloc(48), Buffer.alloc(4)])).toThrow(/CPU 1 value is 4 bytes/);
  });
});
