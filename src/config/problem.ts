// A Problem is a validation finding before it has a file position: where in
// the data it is (path) and what is wrong. load.ts turns it into a
// ConfigError with line/column; the CLI merge uses it without a file.

import { ConfigError } from './errors';

export type Segment = string | number;

export interface Problem {
  /** Path to the offending value; for missing keys, the enclosing mapping. */
  path: Segment[];
  /** Point at the key (`colour:`) rather than at its value. */
  atKey: boolean;
  /** ajv keyword or 'semantic'; breaks ties between problems at one spot. */
  keyword: string;
  message: string;
}

export function problem(path: Segment[], message: string, atKey = false, keyword = 'semantic'): Problem {
  return { path, atKey, keyword, message };
}

/** `['tunnels', 'pop1', 'remote']` -> `tunnels.pop1.remote`, `['ports', 1]` -> `ports[1]`. */
export function fieldName(path: readonly Segment[]): string {
  if (path.length === 0) return '(top level)';
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`; // keys with dots or spaces stay unambiguous
  }
  return out;
}

/** For callers without a file (the control plane): the first problem, thrown. */
export function throwFirst(problems: readonly Problem[]): void {
  const p = problems[0];
  if (p !== undefined) throw new ConfigError({ field: fieldName(p.path) }, p.message);
}
