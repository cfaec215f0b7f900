// Turns ajv's errors into short human sentences and data paths. A schema can
// override the wording per keyword with `messages: {pattern: '...'}`.

import type { ErrorObject } from 'ajv';
import { fieldName, Problem, Segment } from './problem';

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  null: 'empty',
};

const COMPARISONS: Record<string, string> = {
  '>=': 'at least',
  '<=': 'at most',
  '>': 'greater than',
  '<': 'less than',
};

// When several problems sit at the same spot, the most basic one wins:
// a wrong type explains more than a failed pattern on the same value.
const KEYWORD_ORDER = ['type', 'oneOf', 'anyOf', 'required', 'additionalProperties', 'enum', 'const'];
const LAST = ['propertyNames']; // wrapper around a more specific error

export function keywordRank(keyword: string): number {
  const i = KEYWORD_ORDER.indexOf(keyword);
  if (i >= 0) return i;
  return LAST.includes(keyword) ? 1000 : 100;
}

/** Describe a value's kind without echoing it (it may be long). */
export function describeKind(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number') return Number.isInteger(value) ? 'a whole number' : 'a number';
  if (typeof value === 'boolean') return 'true or false';
  return `a ${typeof value}`;
}

/** JSON pointer (`/ports/1`) to path segments, with array indexes as numbers. */
export function pointerToPath(pointer: string, data: unknown): Segment[] {
  if (pointer === '') return [];
  const path: Segment[] = [];
  let cur: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const seg: Segment = Array.isArray(cur) ? Number(key) : key;
    path.push(seg);
    cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[key] : undefined;
  }
  return path;
}

function short(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Needs ajv's `verbose: true` for parentSchema and data. */
export function explainAjvError(err: ErrorObject, data: unknown): Problem {
  const path = pointerToPath(err.instancePath, data);
  const params = err.params as Record<string, any>;
  const hint: string | undefined = err.parentSchema?.messages?.[err.keyword];
  const at = (p: Segment[], message: string, atKey = false): Problem => ({
    path: p,
    atKey,
    keyword: err.keyword,
    message: hint ?? message,
  });

  // Errors from inside `propertyNames` are about a key, not a value.
  if (err.propertyName !== undefined) {
    return at([...path, err.propertyName], 'is not an allowed key name', true);
  }

  switch (err.keyword) {
    case 'additionalProperties': {
      const allowed = Object.keys(err.parentSchema?.properties ?? {});
      const list = allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : '';
      return at([...path, params.additionalProperty], `unknown key${list}`, true);
    }
    case 'required':
      return at(path, `missing required key '${params.missingProperty}'`, true);
    case 'dependentRequired':
    case 'dependencies':
      return at(path, `missing key '${params.missingProperty}', needed because '${params.property}' is set`, true);
    case 'propertyNames':
      return at([...path, params.propertyName], 'is not an allowed key name', true);
    case 'type': {
      const types: string[] = Array.isArray(params.type) ? params.type : String(params.type).split(',');
      const want = types.map((t) => TYPE_NAMES[t] ?? t).join(' or ');
      return at(path, `must be ${want}, not ${describeKind(err.data)}`);
    }
    case 'enum':
      return at(path, `must be one of ${(params.allowedValues as unknown[]).map(short).join(', ')}`);
    case 'const':
      return at(path, `must be ${short(params.allowedValue)}`);
    case 'pattern':
      return at(path, `must match the pattern ${params.pattern}`);
    case 'format':
      return at(path, `must be a valid ${params.format}`);
    case 'minLength':
      return at(path, `must be at least ${params.limit} characters long`);
    case 'maxLength':
      return at(path, `must be at most ${params.limit} characters long`);
    case 'minItems':
      return at(path, `must have at least ${params.limit} items`);
    case 'maxItems':
      return at(path, `must have at most ${params.limit} items`);
    case 'minProperties':
      return at(path, `must have at least ${params.limit} keys`);
    case 'maxProperties':
      return at(path, `must have at most ${params.limit} keys`);
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return at(path, `must be ${COMPARISONS[params.comparison] ?? params.comparison} ${params.limit}`);
    case 'multipleOf':
      return at(path, `must be a multiple of ${params.multipleOf}`);
    case 'uniqueItems': {
      // Point at the later copy; the earlier one is the "original".
      const later = Math.max(params.i, params.j);
      const earlier = Math.min(params.i, params.j);
      return at([...path, later], `is the same as ${fieldName([...path, earlier])}`);
    }
    case 'oneOf':
    case 'anyOf':
      return at(path, 'does not match any of the allowed forms');
    default:
      return at(path, err.message ?? 'is not valid');
  }
}
