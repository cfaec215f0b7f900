// What to write and what to remove so that a map holds the desired entries,
// leaving equal entries alone. Apply upserts before deletes: a prefix that
// moves to another entry is then never missing in between.

import { canonicalJson } from '../config';

export interface MapEntry<K = unknown, V = unknown> {
  key: K;
  value: V;
}

export interface MapDiff<K = unknown, V = unknown> {
  /** New keys and keys whose value changed, in desired order. */
  upserts: MapEntry<K, V>[];
  /** Keys no longer wanted, in current order. */
  deletes: K[];
}

// Maps read back may hold u64 values as bigints: 5n and 5 are one value.
// JSON cannot hold bigints at all, so they become numbers (or strings when too large).
function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

/** Object key order never matters; bigints equal numbers of the same value. */
export function canonical(value: unknown): string {
  return canonicalJson(plain(value));
}

/**
 * Keys and values are compared by canonical JSON, so `current` must be in
 * the same form as `desired` (text addresses, enum names, byte arrays).
 */
export function diff<K, V>(current: readonly MapEntry<K, V>[], desired: readonly MapEntry<K, V>[]): MapDiff<K, V> {
  const have = new Map<string, string>();
  for (const e of current) have.set(canonical(e.key), canonical(e.value));
  const want = new Set<string>();
  const upserts: MapEntry<K, V>[] = [];
  for (const e of desired) {
    const k = canonical(e.key);
    if (want.has(k)) throw new Error(`desired state lists key ${k} twice`);
    want.add(k);
    if (have.get(k) !== canonical(e.value)) upserts.push(e);
  }
  const deletes = current.filter((e) => !want.has(canonical(e.key))).map((e) => e.key);
  return { upserts, deletes };
}
