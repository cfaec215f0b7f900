// Configuration that is valid but does nothing: attach says so (a warning,
// not an error), since it is usually a typo or a forgotten line.
import { analyseLocal } from './network';
import { parseAction } from './rules';
import { Config } from './schema';

/** "<field>: <why it does nothing>" for each such part of the config. */
export function configWarnings(c: Config): string[] {
  const out: string[] = [];
  const used = new Set((c.rules ?? []).map((r) => parseAction(r.action).tunnel).filter((t): t is string => t !== undefined));
  for (const name of Object.keys(c.tunnels ?? {})) {
    if (!used.has(name)) out.push(`tunnels.${name}: no rule sends traffic into this tunnel (add {dst: PREFIX, action: tunnel ${name}})`);
  }
  const local = analyseLocal(c.local).value;
  if (c.flows !== undefined && c.local === undefined) {
    out.push('flows: the flow cache only learns when `local` is set (without it the box is a plain wire)');
  }
  // (IPv6 rules do work with only an IPv4 `local`: IPv6 rides in IPv4 GRE.)
  if ((c.rules ?? []).length && local.ipv4 === undefined && local.ipv6 === undefined) {
    out.push('rules: rules apply only when `local` is set (without it the box is a plain wire)');
  }
  return out;
}
