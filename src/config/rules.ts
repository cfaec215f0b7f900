// Meaning of `rules`: prefixes that parse and have no host bits, src and dst
// of one family, tunnels that exist, and a rule set that fits the BPF maps.
//
// The decision for a packet (s, d) is the rule r with d in r.dst and s in
// r.src (no src: any source) that maximises (r.dst length, r.src length); no
// such rule means pass. planRules turns that into what the BPF side can do:
// one LPM entry per distinct dst, each with an ordered list of alternatives.

import { formatPrefix, hasHostBits, maskBytes, networkOf, parsePrefix, Prefix, prefixContains } from '../net/address';
import { L2_RULE_ALTS, L2_RULES_MAX } from './limits';
import { prefixMessage } from './network';
import { fieldName, Problem, problem } from './problem';
import type { Config } from './schema';

export type Verdict = 'pass' | 'drop' | 'tunnel';

export interface ParsedRule {
  /** Position in config.rules, for messages. */
  index: number;
  dst: Prefix;
  /** A rule without src has a zero-length src of the dst's family. */
  src: Prefix;
  action: Verdict;
  tunnel?: string;
}

/** One LPM entry: a distinct dst and the rules the BPF side scans in order. */
export interface DstPlan {
  dst: Prefix;
  /** Index of the first rule with this dst, where problems are reported. */
  first: number;
  alts: ParsedRule[];
}

const hex = (b: readonly number[]): string => b.map((x) => x.toString(16).padStart(2, '0')).join('');
export const prefixKey = (p: Prefix): string => `${p.family}/${p.len}/${hex(maskBytes(p.bytes, p.len))}`;

export function anySource(dst: Prefix): Prefix {
  return { family: dst.family, bytes: dst.bytes.map(() => 0), len: 0 };
}

/** `pass`, `drop` or `tunnel NAME` (the schema has checked the form). */
export function parseAction(text: string): { action: Verdict; tunnel?: string } {
  if (text.startsWith('tunnel ')) return { action: 'tunnel', tunnel: text.slice(7) };
  return { action: text === 'drop' ? 'drop' : 'pass' };
}

function readPrefix(text: string, path: (string | number)[], problems: Problem[]): Prefix | undefined {
  const p = parsePrefix(text);
  if (typeof p === 'string') {
    problems.push(problem(path, prefixMessage(p, '203.0.113.0/24 or 2001:db8::/32')));
    return undefined;
  }
  if (hasHostBits(p)) {
    problems.push(problem(path, `${formatPrefix(p)} has host bits set; did you mean ${formatPrefix(networkOf(p))}?`));
    return undefined;
  }
  return p;
}

/** `tunnels`: the names a `tunnel NAME` action may use. */
export function analyseRules(
  rules: Config['rules'],
  tunnels: readonly string[],
): { value: ParsedRule[]; problems: Problem[] } {
  const value: ParsedRule[] = [];
  const problems: Problem[] = [];
  const seen = new Map<string, number>();
  const dsts = new Set<string>();
  (rules ?? []).forEach((r, index) => {
    const dst = readPrefix(r.dst, ['rules', index, 'dst'], problems);
    const src = r.src === undefined ? undefined : readPrefix(r.src, ['rules', index, 'src'], problems);
    const { action, tunnel } = parseAction(r.action);
    if (tunnel !== undefined && !tunnels.includes(tunnel)) {
      const known = tunnels.length > 0 ? `configured: ${tunnels.join(', ')}` : 'no tunnels are configured';
      problems.push(problem(['rules', index, 'action'], `names tunnel ${tunnel}, which does not exist (${known})`));
    }
    if (dst === undefined || (r.src !== undefined && src === undefined)) return;
    if (src !== undefined && src.family !== dst.family) {
      problems.push(problem(['rules', index, 'src'], `is IPv${src.family} but dst is IPv${dst.family}; both must be of one family`));
      return;
    }
    const rule: ParsedRule = { index, dst, src: src ?? anySource(dst), action, ...(tunnel !== undefined ? { tunnel } : {}) };
    // Two rules for one (dst, src) leave the decision undefined.
    const pair = `${prefixKey(rule.dst)} ${prefixKey(rule.src)}`;
    const twin = seen.get(pair);
    if (twin !== undefined) {
      problems.push(problem(['rules', index], `has the same dst and src as ${fieldName(['rules', twin])}`));
      return;
    }
    seen.set(pair, index);
    dsts.add(prefixKey(dst));
    if (dsts.size === L2_RULES_MAX + 1) {
      problems.push(problem(['rules', index, 'dst'], `is distinct dst prefix number ${L2_RULES_MAX + 1}; the rules map holds at most ${L2_RULES_MAX}`));
    }
    value.push(rule);
  });
  return { value, problems };
}

// Longer dst first (it is the more specific rule), then longer src; the
// address only makes the order deterministic (equal-length srcs are disjoint).
function altOrder(a: ParsedRule, b: ParsedRule): number {
  const x = hex(a.src.bytes);
  const y = hex(b.src.bytes);
  return b.dst.len - a.dst.len || b.src.len - a.src.len || (x < y ? -1 : x > y ? 1 : 0);
}

/**
 * Every distinct dst, in order of first appearance, with the rules whose dst
 * covers it (itself included), sorted by altOrder. An alternative whose src
 * lies inside an earlier one's src can never be reached (the earlier one
 * matches first), so it is left out; that also drops every rule after one
 * without src. Lists longer than L2_RULE_ALTS are reported, never cut.
 */
export function planRules(rules: readonly ParsedRule[]): { plans: DstPlan[]; problems: Problem[] } {
  const byDst = new Map<string, ParsedRule[]>();
  const lengths: Record<number, Set<number>> = { 4: new Set(), 6: new Set() };
  for (const r of rules) {
    const k = prefixKey(r.dst);
    byDst.set(k, [...(byDst.get(k) ?? []), r]);
    lengths[r.dst.family].add(r.dst.len);
  }
  const plans: DstPlan[] = [];
  const problems: Problem[] = [];
  for (const own of byDst.values()) {
    const dst = own[0].dst;
    const candidates: ParsedRule[] = [];
    for (const len of lengths[dst.family]) {
      if (len > dst.len) continue;
      candidates.push(...(byDst.get(prefixKey({ ...dst, len })) ?? []));
    }
    const alts: ParsedRule[] = [];
    for (const c of candidates.sort(altOrder)) {
      if (!alts.some((a) => prefixContains(a.src, c.src))) alts.push(c);
    }
    const first = Math.min(...own.map((r) => r.index));
    if (alts.length > L2_RULE_ALTS) {
      problems.push(
        problem(
          ['rules', first, 'dst'],
          `${formatPrefix(dst)} needs ${alts.length} source alternatives, counting the rules of prefixes that cover it; ` +
            `at most ${L2_RULE_ALTS} fit (merge src prefixes, or add a rule for it without src)`,
        ),
      );
    }
    plans.push({ dst, first, alts });
  }
  return { plans, problems };
}
