// Schema validation (ajv) followed by the semantic checks. Produces every
// Problem found; the caller decides which one to report.

import Ajv, { SchemaObject, ValidateFunction } from 'ajv';
import { configSchema, Config } from './schema';
import { explainAjvError } from './messages';
import { Problem } from './problem';
import { SemanticCheck, semanticChecks } from './semantic';

export type Checker = (data: unknown) => Problem[];

export function createAjv(): Ajv {
  // allErrors so the caller can pick the first problem in file order rather
  // than the first in ajv's internal order; verbose for parentSchema/data.
  // allowUnionTypes: `local` is a string or a list, and a type list words
  // that better than anyOf would.
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true });
  // Annotation only: per-keyword wording, read by explainAjvError.
  ajv.addKeyword({ keyword: 'messages', schemaType: 'object' });
  return ajv;
}

/** Build a checker for a schema plus semantic checks; compiles on first use. */
export function makeChecker<T>(schema: SchemaObject, checks: SemanticCheck<T>[] = []): Checker {
  let validate: ValidateFunction | undefined;
  return (data: unknown): Problem[] => {
    validate ??= createAjv().compile(schema);
    if (!validate(data)) return (validate.errors ?? []).map((e) => explainAjvError(e, data));
    return checks.flatMap((check) => check(data as T));
  };
}

export const checkConfig: Checker = makeChecker<Config>(configSchema, semanticChecks);
