// stringifyJson / parseJsonExact: JSON where integers past 2^53 stay exact.
import { JsonValue, parseJsonExact, stringifyJson } from '../../src/btf';

describe('stringifyJson', () => {
  test('bigint prints as bare digits, everything else as JSON.stringify', () => {
    const v: JsonValue = { a: 18446744073709551615n, b: -9223372036854775808n, c: [1, 'x"y', true, null], d: {} };
    expect(stringifyJson(v)).toBe('{"a":18446744073709551615,"b":-9223372036854775808,"c":[1,"x\\"y",true,null],"d":{}}');
  });

  test('indentation matches JSON.stringify', () => {
    const v = { a: [1, { b: [] }], c: 'd' };
    expect(stringifyJson(v, 2)).toBe(JSON.stringify(v, null, 2));
    expect(stringifyJson(v, '\t')).toBe(JSON.stringify(v, null, '\t'));
  });

  test('non-finite numbers become null; __proto__ is an ordinary key', () => {
    expect(stringifyJson([NaN, Infinity])).toBe('[null,null]');
    expect(stringifyJson(parseJsonExact('{"__proto__":1}'))).toBe('{"__proto__":1}');
  });
});

describe('parseJsonExact', () => {
  test('small integers are numbers, large ones exact bigints', () => {
    expect(parseJsonExact('[9007199254740991, 9007199254740993, -9007199254740993, 18446744073709551615]'))
      .toEqual([9007199254740991, 9007199254740993n, -9007199254740993n, 18446744073709551615n]);
  });

  test('fractions and exponents stay floating point', () => {
    expect(parseJsonExact('[1.5, -2e3, 1E400, 0]')).toEqual([1.5, -2000, Infinity, 0]);
  });

  test('strings, escapes, nesting and literals', () => {
    const text = '{ "s": "a\\n\\t\\"\\\\\\/\\u00e9", "o": {"a": [true, false, null]}, "e": [], "f": {} }';
    expect(parseJsonExact(text)).toEqual({ s: 'a\n\t"\\/é', o: { a: [true, false, null] }, e: [], f: {} });
  });

  test("accepts \\' (bpftool 7.1 as released writes it)", () => {
    expect(parseJsonExact('"it\\\'s"')).toBe("it's");
  });

  test('round-trips through stringifyJson', () => {
    const text = '{"key":1,"value":{"u64":18446744073709551615,"s":"x","a":[-1,2.5]}}';
    expect(stringifyJson(parseJsonExact(text))).toBe(text);
  });

  test.each([
    ['', /unexpected end/], ['[1,]', /unexpected '\]'/], ['{"a" 1}', /expected ':'/], ['[1 2]', /expected ','/],
    ['"abc', /unterminated string/], ['"\\x"', /bad escape/], ['01', /trailing text/], ['[1] x', /trailing text/],
    ['-', /bad number/], ['nul', /unexpected 'n'/],
  ])('rejects %j', (text, message) => {
    expect(() => parseJsonExact(text)).toThrow(message);
  });
});
