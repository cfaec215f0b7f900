// The exact l2_rules entries: keys, the order and pruning of alternatives,
// zero padding, and the refusals.

import { RuleConfig } from '../../src/config';
import { lookup, ruleEntries } from '../../src/control';

const IDS = new Map([['a', 1], ['b', 2], ['c', 3]]);

describe('entry layout', () => {
  const zero16 = Array(16).fill(0);
  const v4 = (...b: number[]): number[] => [...b, ...Array(16 - b.length).fill(0)];
  const emptyAlt = { src: zero16, src_plen: 0, pad: 0, tunnel: 0, action: 'L2_ACT_PASS' };

  test('keys, sorted alternatives and zero padding', () => {
    const entries = ruleEntries(
      [
        { dst: '10.0.0.0/8', action: 'tunnel b' },
        { dst: '10.1.0.0/16', src: '192.168.0.0/16', action: 'tunnel a' },
        { dst: '10.1.0.0/16', src: '192.168.1.0/24', action: 'drop' },
        { dst: '2001:db8::/32', action: 'drop' },
      ],
      IDS,
    );
    expect(entries).toEqual([
      { key: { prefixlen: 16, family: 4, addr: v4(10) }, value: { count: 1, alt: [{ src: zero16, src_plen: 0, pad: 0, tunnel: 2, action: 'L2_ACT_TUNNEL' }, ...Array(7).fill(emptyAlt)] } },
      {
        key: { prefixlen: 24, family: 4, addr: v4(10, 1) },
        value: {
          count: 3,
          alt: [
            { src: v4(192, 168, 1), src_plen: 24, pad: 0, tunnel: 0, action: 'L2_ACT_DROP' },
            { src: v4(192, 168), src_plen: 16, pad: 0, tunnel: 1, action: 'L2_ACT_TUNNEL' },
            { src: zero16, src_plen: 0, pad: 0, tunnel: 2, action: 'L2_ACT_TUNNEL' },
            ...Array(5).fill(emptyAlt),
          ],
        },
      },
      { key: { prefixlen: 40, family: 6, addr: [0x20, 0x01, 0x0d, 0xb8, ...Array(12).fill(0)] }, value: { count: 1, alt: [{ ...emptyAlt, action: 'L2_ACT_DROP' }, ...Array(7).fill(emptyAlt)] } },
    ]);
  });

  test('a covering rule with the same src is shadowed, and so is all after a rule without src', () => {
    const [, entry] = ruleEntries(
      [
        { dst: '10.0.0.0/8', src: '192.168.0.0/16', action: 'drop' },
        { dst: '10.0.0.0/8', action: 'tunnel b' },
        { dst: '10.1.0.0/16', src: '192.168.0.0/16', action: 'tunnel a' },
      ],
      IDS,
    );
    expect(entry.key.prefixlen).toBe(24);
    expect(entry.value.count).toBe(2);
    expect(entry.value.alt.slice(0, 2).map((a) => [a.src_plen, a.action, a.tunnel])).toEqual([[16, 'L2_ACT_TUNNEL', 1], [0, 'L2_ACT_TUNNEL', 2]]);
    const [, hole] = ruleEntries([{ dst: '10.0.0.0/8', src: '192.168.0.0/16', action: 'drop' }, { dst: '10.1.0.0/16', action: 'pass' }], IDS);
    expect(hole.value.count).toBe(1);
  });

  test('rule order in the config does not change the entries', () => {
    const rules: RuleConfig[] = [
      { dst: '10.0.0.0/8', src: '192.168.1.0/24', action: 'drop' },
      { dst: '10.0.0.0/8', src: '192.168.2.0/24', action: 'tunnel a' },
      { dst: '10.0.0.0/8', action: 'pass' },
    ];
    expect(ruleEntries([...rules].reverse(), IDS)).toEqual(ruleEntries(rules, IDS));
  });

  test('nine alternatives are refused, naming the dst', () => {
    const rules = Array.from({ length: 9 }, (_, i): RuleConfig => ({ dst: '10.0.0.0/8', src: `192.168.${i}.0/24`, action: 'drop' }));
    expect(() => ruleEntries(rules, IDS)).toThrow(
      'rules[0].dst: 10.0.0.0/8 needs 9 source alternatives, counting the rules of prefixes that cover it; at most 8 fit (merge src prefixes, or add a rule for it without src)',
    );
    expect(() => ruleEntries(rules.slice(0, 8), IDS)).not.toThrow();
  });

  test('config errors are thrown with the field', () => {
    expect(() => ruleEntries([{ dst: '10.0.0.0/8', action: 'tunnel z' }], IDS)).toThrow(
      'rules[0].action: names tunnel z, which does not exist (configured: a, b, c)',
    );
    expect(() => ruleEntries([{ dst: '10.0.0.1/8', action: 'drop' }], IDS)).toThrow('rules[0].dst: 10.0.0.1/8 has host bits set; did you mean 10.0.0.0/8?');
  });

  test('lookup refuses mixed families', () => {
    expect(() => lookup([], '1.1.1.1', '::1')).toThrow('different families');
  });
});
