// Rules as the l2_rules LPM trie holds them: one entry per distinct dst,
// whose value lists the alternatives the BPF side scans in order (the first
// whose src contains the packet's source decides). The ordering and pruning
// that make this equal to "most specific (dst, src) wins" is planRules, in
// src/config/rules.ts, so config checks and map contents cannot disagree.

import {
  analyseRules,
  ConfigError,
  fieldName,
  formatPrefix,
  L2_RULE_ALTS,
  ParsedRule,
  planRules,
  RuleConfig,
  throwFirst,
  toBytes16,
} from '../config';

export type L2Action = 'L2_ACT_PASS' | 'L2_ACT_TUNNEL' | 'L2_ACT_DROP';

/** struct l2_rule_key: prefixlen counts the family byte's 8 bits too. */
export interface RuleKey {
  prefixlen: number;
  family: 4 | 6;
  /** 16 bytes; IPv4 in the first 4 (not the ::ffff: form). */
  addr: number[];
}

/** struct l2_rule_alt */
export interface RuleAlt {
  src: number[];
  src_plen: number;
  pad: number;
  tunnel: number;
  action: L2Action;
}

/** struct l2_rule: alt always has L2_RULE_ALTS items, count of them valid. */
export interface RuleValue {
  count: number;
  alt: RuleAlt[];
}

export interface RuleEntry {
  key: RuleKey;
  value: RuleValue;
}

const ACTIONS: Record<ParsedRule['action'], L2Action> = {
  pass: 'L2_ACT_PASS',
  tunnel: 'L2_ACT_TUNNEL',
  drop: 'L2_ACT_DROP',
};

export const EMPTY_ALT: RuleAlt = { src: Array<number>(16).fill(0), src_plen: 0, pad: 0, tunnel: 0, action: 'L2_ACT_PASS' };

function altOf(r: ParsedRule, tunnelIds: ReadonlyMap<string, number>): RuleAlt {
  let tunnel = 0;
  if (r.tunnel !== undefined) {
    const id = tunnelIds.get(r.tunnel);
    // analyseRules has checked the name; the ids must come from the same config.
    if (id === undefined) throw new ConfigError({ field: fieldName(['rules', r.index, 'action']) }, `tunnel ${r.tunnel} has no id`);
    tunnel = id;
  }
  return { src: toBytes16(r.src), src_plen: r.src.len, pad: 0, tunnel, action: ACTIONS[r.action] };
}

/** One entry per distinct dst, in order of first appearance in `rules`. */
export function ruleEntries(rules: readonly RuleConfig[] | undefined, tunnelIds: ReadonlyMap<string, number>): RuleEntry[] {
  const analysed = analyseRules(rules === undefined ? undefined : [...rules], [...tunnelIds.keys()]);
  throwFirst(analysed.problems);
  const { plans, problems } = planRules(analysed.value);
  throwFirst(problems);
  return plans.map((plan) => {
    if (plan.alts.length > L2_RULE_ALTS) throw new Error(`${formatPrefix(plan.dst)}: too many alternatives`); // planRules reported it
    const alt = plan.alts.map((r) => altOf(r, tunnelIds));
    while (alt.length < L2_RULE_ALTS) alt.push({ ...EMPTY_ALT, src: [...EMPTY_ALT.src] });
    return {
      key: { prefixlen: 8 + plan.dst.len, family: plan.dst.family, addr: toBytes16(plan.dst) },
      value: { count: plan.alts.length, alt },
    };
  });
}
