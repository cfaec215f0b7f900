// Reading a config: YAML text -> data -> schema + semantic checks -> Config.
// Any failure becomes a single ConfigError at the earliest spot in the file.

import { readFileSync } from 'node:fs';
import { Document, LineCounter, parseDocument, visit } from 'yaml';
import { ConfigError } from './errors';
import { locate, offsetToPosition, Position } from './locate';
import { keywordRank } from './messages';
import { fieldName } from './problem';
import type { Config } from './schema';
import { Checker, checkConfig } from './validate';

/** Parse and validate config text; `file` is only used in messages. */
export function parseConfig(text: string, file: string): Config {
  return parseYamlWith<Config>(text, file, checkConfig);
}

/** Read, parse and validate a config file. */
export function loadConfig(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError({ file: path }, `cannot read config file: ${readFailure(e)}`);
  }
  return parseConfig(text, path);
}

/** The `role:` a config file asks for (`wire` when it names none or cannot be read: the wire's loader then says why). */
export function configRole(path: string): string {
  try {
    const data = parseDocument(readFileSync(path, 'utf8')).toJS() as { role?: unknown } | null;
    return typeof data?.role === 'string' ? data.role : 'wire';
  } catch {
    return 'wire';
  }
}

function readFailure(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return e instanceof Error ? e.message : String(e);
}

/** The generic pipeline, exposed so sections can be tested with their own schema. */
export function parseYamlWith<T>(text: string, file: string, check: Checker): T {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });

  const syntax = [...doc.errors].sort((a, b) => a.pos[0] - b.pos[0])[0];
  if (syntax !== undefined) {
    const pos = offsetToPosition(lineCounter, syntax.pos[0]);
    throw new ConfigError({ file, ...pos }, `invalid YAML: ${syntax.message}`);
  }

  let data: unknown;
  try {
    data = doc.toJS(); // default maxAliasCount guards against alias bombs
  } catch (e) {
    const pos = firstAliasPosition(doc, lineCounter);
    throw new ConfigError({ file, ...pos }, `invalid YAML: ${e instanceof Error ? e.message : String(e)}`);
  }
  // An empty file (or only comments) is an empty config.
  if (data === null || data === undefined) data = {};

  const located = check(data).map((p) => ({ p, pos: locate(doc, lineCounter, p.path, p.atKey) }));
  if (located.length === 0) return data as T;

  // Report only the first: earliest in the file, then the most basic kind.
  located.sort(
    (x, y) =>
      x.pos.line - y.pos.line || x.pos.column - y.pos.column || keywordRank(x.p.keyword) - keywordRank(y.p.keyword),
  );
  const { p, pos } = located[0];
  throw new ConfigError({ file, ...pos, field: fieldName(p.path) }, p.message);
}

// toJS only fails on aliases (unknown anchor, too many expansions).
function firstAliasPosition(doc: Document, lineCounter: LineCounter): Position {
  let first: number | undefined;
  let unresolved: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      first ??= node.range?.[0];
      if (node.resolve(doc) === undefined) {
        unresolved = node.range?.[0];
        return visit.BREAK;
      }
    },
  });
  const offset = unresolved ?? first;
  return offset === undefined ? { line: 1, column: 1 } : offsetToPosition(lineCounter, offset);
}

/** Where a field such as `tunnels.pop.mtu` or `rules[2].dst` is in a config
 * file, for a problem found after loading (at attach); undefined if unknown. */
export function fieldPosition(path: string, field: string): Position | undefined {
  try {
    const lineCounter = new LineCounter();
    const doc = parseDocument(readFileSync(path, 'utf8'), { lineCounter, prettyErrors: false });
    const segs = field.split('.').flatMap((part) => {
      const m = part.match(/^([^[]*)((?:\[\d+\])*)$/);
      if (!m) return [part];
      return [...(m[1] ? [m[1]] : []), ...[...m[2].matchAll(/\[(\d+)\]/g)].map((x) => Number(x[1]))];
    });
    return locate(doc, lineCounter, segs, false);
  } catch {
    return undefined;
  }
}
