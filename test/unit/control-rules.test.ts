// Rule semantics: the map entries ruleEntries builds, looked up the way the
// BPF program does (lookup), must give what the definition says (decide).
// A seeded random search over both families, then hand-picked cases
// (the entries' exact layout: control-entries.test.ts).

import { ConfigError, RuleConfig } from '../../src/config';
import { decide, lookup, RuleEntry, ruleEntries } from '../../src/control';
import { prng } from '../helpers/rng';


const IDS = new Map([['a', 1], ['b', 2], ['c', 3]]);
const NAMES = new Map([...IDS].map(([n, id]) => [id, n]));

/** lookup's answer in decide's words. */
function viaMaps(entries: RuleEntry[], src: string, dst: string): string {
  const r = lookup(entries, src, dst);
  if (r.action === 'L2_ACT_TUNNEL') return `tunnel ${NAMES.get(r.tunnel)}`;
  return r.action === 'L2_ACT_DROP' ? 'drop' : 'pass';
}

describe('lookup over the map entries equals decide (random rule sets)', () => {
  const rand = prng(0x12b9f);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];

  // A small universe, so that random prefixes overlap and nest a lot.
  function address(family: 4 | 6): string {
    if (family === 4) return `10.${pick([0, 1, 128, 255])}.${pick([0, 1, 2, 200])}.${pick([0, 1, 77, 255])}`;
    const g = (): string => pick(['0', '1', '8000', 'ffff']);
    return `2001:db8:${g()}:${g()}::${g()}:${g()}`;
  }
  function prefix(family: 4 | 6): string {
    const bits = family === 4 ? 32 : 128;
    // Mostly lengths inside the varying part, now and then the extremes.
    const len = rand() < 0.1 ? pick([0, bits]) : family === 4 ? 8 + Math.floor(rand() * 25) : 32 + Math.floor(rand() * 97);
    return networkText(address(family), len, family);
  }
  function networkText(addr: string, len: number, family: 4 | 6): string {
    // Clear host bits with plain bit arithmetic, independent of src/config.
    const bits = family === 4 ? 32 : 128;
    let n = 0n;
    if (family === 4) for (const p of addr.split('.')) n = (n << 8n) | BigInt(p);
    else n = BigInt(`0x${expand6(addr)}`);
    const mask = len === 0 ? 0n : ((1n << BigInt(len)) - 1n) << BigInt(bits - len);
    n &= mask;
    if (family === 4) return `${[24n, 16n, 8n, 0n].map((s) => (n >> s) & 255n).join('.')}/${len}`;
    const hex = n.toString(16).padStart(32, '0');
    return `${hex.match(/.{4}/g)!.join(':')}/${len}`;
  }
  function expand6(addr: string): string {
    const [head, tail] = addr.split('::');
    const h = head.split(':').filter((x) => x !== '');
    const t = (tail ?? '').split(':').filter((x) => x !== '');
    return [...h, ...Array(8 - h.length - t.length).fill('0'), ...t].map((x) => x.padStart(4, '0')).join('');
  }

  test('1000 rule sets, 100 packets each', () => {
    let checked = 0;
    const wrong: unknown[] = [];
    let overflows = 0;
    const outcomes = new Map<string, number>();
    for (let round = 0; round < 1000; round++) {
      const rules: RuleConfig[] = [];
      const seen = new Set<string>();
      const count = 1 + Math.floor(rand() * 20);
      for (let i = 0; i < count; i++) {
        const family = rand() < 0.5 ? 4 : 6;
        const dst = prefix(family);
        const src = rand() < 0.35 ? undefined : prefix(family);
        // No src and a /0 src are the same rule; two rules for one pair are an error.
        const pair = `${dst} ${src === undefined || src.endsWith('/0') ? 'any' : src}`;
        if (seen.has(pair)) continue;
        seen.add(pair);
        const action = pick(['pass', 'drop', 'tunnel a', 'tunnel b', 'tunnel c']);
        rules.push(src === undefined ? { dst, action } : { dst, src, action });
      }
      let entries: RuleEntry[];
      try {
        entries = ruleEntries(rules, IDS);
      } catch (e) {
        // Too many alternatives is the one expected refusal; it must name a dst.
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as ConfigError).detail).toMatch(/^\S+\/\d+ needs \d+ source alternatives/);
        overflows++;
        continue;
      }
      for (let p = 0; p < 100; p++) {
        const family = rand() < 0.5 ? 4 : 6;
        const s = address(family);
        const d = address(family);
        const want = decide(rules, s, d);
        const got = viaMaps(entries, s, d);
        if (got !== want && wrong.length < 3) wrong.push({ rules, s, d, got, want });
        outcomes.set(want, (outcomes.get(want) ?? 0) + 1);
        checked++;
      }
    }
    expect(wrong).toEqual([]);
    // The search must not be vacuous: every kind of outcome, and few refusals.
    expect(checked).toBeGreaterThan(90000);
    expect(overflows).toBeLessThan(50);
    for (const o of ['pass', 'drop', 'tunnel a', 'tunnel b', 'tunnel c']) expect(outcomes.get(o) ?? 0).toBeGreaterThan(500);
  });
});

describe('hand-picked cases', () => {
  type Case = [string, RuleConfig[], Array<[src: string, dst: string, want: string]>];
  const cases: Case[] = [
    [
      'one dst, several srcs: the longest matching src wins',
      [
        { dst: '10.0.0.0/8', action: 'tunnel b' },
        { dst: '10.0.0.0/8', src: '192.168.0.0/16', action: 'tunnel a' },
        { dst: '10.0.0.0/8', src: '192.168.1.0/24', action: 'drop' },
      ],
      [['192.168.1.5', '10.9.9.9', 'drop'], ['192.168.2.5', '10.9.9.9', 'tunnel a'], ['1.1.1.1', '10.9.9.9', 'tunnel b'], ['1.1.1.1', '11.0.0.1', 'pass']],
    ],
    [
      'a more specific dst whose src rules do not match falls back to the covering prefix',
      [
        { dst: '10.0.0.0/8', action: 'tunnel a' },
        { dst: '10.1.0.0/16', src: '172.16.0.0/12', action: 'drop' },
      ],
      [['1.1.1.1', '10.1.2.3', 'tunnel a'], ['172.16.0.1', '10.1.2.3', 'drop'], ['172.16.0.1', '10.2.0.1', 'tunnel a']],
    ],
    [
      'a pass rule punches a hole in a tunneled prefix',
      [
        { dst: '203.0.113.0/24', action: 'tunnel a' },
        { dst: '203.0.113.128/25', action: 'pass' },
        { dst: '203.0.113.200/32', action: 'drop' },
      ],
      [['1.1.1.1', '203.0.113.5', 'tunnel a'], ['1.1.1.1', '203.0.113.129', 'pass'], ['1.1.1.1', '203.0.113.200', 'drop']],
    ],
    [
      'the longer dst beats a longer src',
      [
        { dst: '10.0.0.0/8', src: '192.168.1.0/24', action: 'drop' },
        { dst: '10.1.0.0/16', action: 'tunnel a' },
      ],
      [['192.168.1.1', '10.1.0.1', 'tunnel a'], ['192.168.1.1', '10.2.0.1', 'drop'], ['192.168.2.1', '10.2.0.1', 'pass']],
    ],
    [
      'IPv4 and IPv6 rules never see each other',
      [
        { dst: '0.0.0.0/0', action: 'tunnel a' },
        { dst: '::/0', action: 'drop' },
        { dst: '::ffff:0.0.0.0/96', action: 'pass' },
      ],
      [['1.1.1.1', '10.0.0.1', 'tunnel a'], ['::ffff:1.1.1.1', '::ffff:10.0.0.1', 'pass'], ['2001:db8::1', '2001:db8::2', 'drop']],
    ],
    [
      'only IPv6 rules: IPv4 passes',
      [{ dst: '::/0', action: 'drop' }],
      [['1.1.1.1', '10.0.0.1', 'pass'], ['::1', '::2', 'drop']],
    ],
    ['no rules: everything passes', [], [['1.1.1.1', '10.0.0.1', 'pass'], ['::1', '::2', 'pass']]],
  ];
  test.each(cases)('%s', (_name, rules, packets) => {
    const entries = ruleEntries(rules, IDS);
    for (const [s, d, want] of packets) {
      expect([s, d, decide(rules, s, d)]).toEqual([s, d, want]);
      expect([s, d, viaMaps(entries, s, d)]).toEqual([s, d, want]);
    }
  });
});
