// Checks that a JSON schema cannot express nicely, run only after the schema
// has passed (so the config is well-typed here). Add one function per rule
// to semanticChecks; each returns its findings, the earliest in the file is
// reported.

import type { Config } from './schema';
import { Problem, problem } from './problem';

export type SemanticCheck<T> = (config: T) => Problem[];

function portsDiffer(config: Config): Problem[] {
  const ports = config.ports;
  if (ports === undefined || ports[0] !== ports[1]) return [];
  return [problem(['ports', 1], `must differ from ports[0] (both are ${ports[0]})`)];
}

export const semanticChecks: SemanticCheck<Config>[] = [portsDiffer];
