// A fingerprint of the effective config, stored with an attached instance so
// that re-running attach with an unchanged config can be a no-op.

import { createHash } from 'node:crypto';
import type { EffectiveConfig } from './effective';

/** JSON with object keys sorted at every level, so key order never matters. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const obj = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(obj).sort().map((k) => [k, obj[k]]));
  });
}

/** First 8 bytes (big-endian) of sha256(canonicalJson(effective)). */
export function configHash(effective: EffectiveConfig): bigint {
  return createHash('sha256').update(canonicalJson(effective)).digest().readBigUInt64BE(0);
}
