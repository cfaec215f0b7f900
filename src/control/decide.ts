// Two ways to answer "what happens to a packet from src to dst": decide() is
// the definition, a plain scan over the config's rules; lookup() does what
// the BPF program does with the map entries (longest dst, then the first
// alternative whose src matches). Tests hold them equal.

import { Address, maskBytes, parseAddress, parsePrefix, Prefix, prefixContains, RuleConfig, toBytes16 } from '../config';
import type { L2Action, RuleEntry } from './rules';

function address(text: string): Address {
  const a = parseAddress(text);
  if (a === undefined) throw new TypeError(`not an IP address: ${text}`);
  return a;
}

// Parsing dominates a scan over many rules; prefixes are immutable, so a
// small memo keeps decide() a plain loop yet fast enough for property tests.
const parsed = new Map<string, Prefix>();

function prefix(text: string): Prefix {
  let p = parsed.get(text);
  if (p === undefined) {
    const q = parsePrefix(text);
    if (typeof q === 'string') throw new TypeError(`not a prefix: ${text}`);
    if (parsed.size > 10000) parsed.clear();
    parsed.set(text, (p = q));
  }
  return p;
}

/**
 * The action of the rule with d in dst and s in src (no src: any) that has
 * the longest dst, then the longest src; no such rule: "pass". Returns the
 * action as written in the config ("pass", "drop", "tunnel NAME").
 */
export function decide(rules: readonly RuleConfig[], src: string, dst: string): string {
  const s = address(src);
  const d = address(dst);
  let best: { dst: number; src: number; action: string } | undefined;
  for (const r of rules) {
    const rd = prefix(r.dst);
    const rs = r.src === undefined ? undefined : prefix(r.src);
    if (!prefixContains(rd, d) || (rs !== undefined && !prefixContains(rs, s))) continue;
    const srcLen = rs?.len ?? 0;
    if (best === undefined || rd.len > best.dst || (rd.len === best.dst && srcLen > best.src)) {
      best = { dst: rd.len, src: srcLen, action: r.action };
    }
  }
  return best?.action ?? 'pass';
}

export interface Lookup {
  action: L2Action;
  tunnel: number;
}

interface TrieIndex {
  byKey: Map<string, RuleEntry>;
  /** Prefix lengths present per family, longest first. */
  lengths: Record<number, number[]>;
}

const indexes = new WeakMap<readonly RuleEntry[], TrieIndex>();
const trieKey = (family: number, len: number, bytes16: readonly number[]): string => `${family}/${len}/${maskBytes(bytes16, len).join('.')}`;

function indexOf(entries: readonly RuleEntry[]): TrieIndex {
  let index = indexes.get(entries);
  if (index === undefined) {
    index = { byKey: new Map(), lengths: { 4: [], 6: [] } };
    for (const e of entries) {
      const len = e.key.prefixlen - 8;
      index.byKey.set(trieKey(e.key.family, len, e.key.addr), e);
      if (!index.lengths[e.key.family].includes(len)) index.lengths[e.key.family].push(len);
    }
    for (const l of Object.values(index.lengths)) l.sort((a, b) => b - a);
    indexes.set(entries, index);
  }
  return index;
}

/** The BPF algorithm over map entries (for tests and `explain`-style tools). */
export function lookup(entries: readonly RuleEntry[], src: string, dst: string): Lookup {
  const s = address(src);
  const d = address(dst);
  if (s.family !== d.family) throw new TypeError(`${src} and ${dst} are of different families`);
  const index = indexOf(entries);
  const d16 = toBytes16(d);
  const s16 = toBytes16(s);
  for (const len of index.lengths[d.family]) {
    const entry = index.byKey.get(trieKey(d.family, len, d16));
    if (entry === undefined) continue;
    for (const alt of entry.value.alt.slice(0, entry.value.count)) {
      if (trieKey(0, alt.src_plen, s16) === trieKey(0, alt.src_plen, alt.src)) return { action: alt.action, tunnel: alt.tunnel };
    }
    break; // the longest dst entry decides, matched or not
  }
  return { action: 'L2_ACT_PASS', tunnel: 0 };
}
