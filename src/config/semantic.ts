// Checks that a JSON schema cannot express nicely, run only after the schema
// has passed (so the config is well-typed here). Add one function per rule
// to semanticChecks; each returns its findings, the earliest in the file is
// reported. Address and rule checks live in network.ts and rules.ts, where
// the control plane (src/control) reuses them.

import { analyseLocal, analyseTunnels, tunnelsNeedLocal } from './network';
import { Problem, problem } from './problem';
import { analyseRules, planRules } from './rules';
import type { Config } from './schema';

export type SemanticCheck<T> = (config: T) => Problem[];

function portsDiffer(config: Config): Problem[] {
  const ports = config.ports;
  if (ports === undefined || ports[0] !== ports[1]) return [];
  return [problem(['ports', 1], `must differ from ports[0] (both are ${ports[0]})`)];
}

const local = (config: Config): Problem[] => analyseLocal(config.local).problems;
const tunnels = (config: Config): Problem[] =>
  analyseTunnels(config.tunnels, analyseLocal(config.local).value.ipv4).problems;

// Whether the rules fit the map is only worth asking of rules that are fine.
function rules(config: Config): Problem[] {
  const { value, problems } = analyseRules(config.rules, Object.keys(config.tunnels ?? {}));
  return problems.length > 0 ? problems : planRules(value).problems;
}

export const semanticChecks: SemanticCheck<Config>[] = [portsDiffer, local, tunnelsNeedLocal, tunnels, rules];
