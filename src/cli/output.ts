// Printing results: text for people, --json for scripts (bigints exact).
import { AttachError, BpfError, ConfigError, JsonValue, stringifyJson, UsageError } from '../index';

export function printJson(v: unknown): void {
  process.stdout.write(`${stringifyJson(toJson(v), 2)}\n`);
}

/** Plain objects with bigints -> JsonValue (undefined fields dropped). */
function toJson(v: unknown): JsonValue {
  if (v === null || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map(toJson);
  if (typeof v === 'object') {
    const out: { [k: string]: JsonValue } = {};
    for (const [k, x] of Object.entries(v as object)) if (x !== undefined) out[k] = toJson(x);
    return out;
  }
  return null;
}

/** One clear line (plus hint / verifier log) and the exit code. */
export function reportError(e: unknown, json: boolean): number {
  const err = e as Error;
  const code = e instanceof UsageError || e instanceof ConfigError ? 2 : 1;
  const hint = e instanceof UsageError ? e.hint : undefined;
  const cause = e instanceof AttachError ? e.cause : e;
  const vlog = cause instanceof BpfError ? cause.log ?? [] : [];
  if (json) {
    printJson({ error: err.message, hint, log: vlog.length ? vlog : undefined });
    return code;
  }
  process.stderr.write(`l2bpf: ${err.message}\n`);
  if (hint) process.stderr.write(`hint: ${hint}\n`);
  if (vlog.length) process.stderr.write(`libbpf said:\n${vlog.slice(-60).map((l) => `  ${l}`).join('\n')}\n`);
  if (!(e instanceof UsageError || e instanceof ConfigError || e instanceof BpfError || e instanceof AttachError)) {
    if (process.env.L2BPF_LOG === 'debug') process.stderr.write(`${err.stack}\n`);
  }
  return code;
}

export function table(rows: string[][]): string {
  const w = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((x, c) => (c === 0 ? x.padEnd(w[c]) : x.padStart(w[c]))).join('  ')).join('\n');
}
