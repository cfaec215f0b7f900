// Public face of the config module; import from here, not from the parts.

export { ConfigError, formatConfigMessage } from './errors';
export type { ConfigErrorInfo } from './errors';
export { configSchema, DEFAULT_MODE, IFNAME_PATTERN, INSTANCE_PATTERN, MODES, NETNS_PATTERN } from './schema';
export type { Config, Mode } from './schema';
export { loadConfig, parseConfig, parseYamlWith } from './load';
export { checkConfig, createAjv, makeChecker } from './validate';
export type { Checker } from './validate';
export { semanticChecks } from './semantic';
export type { SemanticCheck } from './semantic';
export { fieldName, problem } from './problem';
export type { Problem, Segment } from './problem';
export { defaultInstance, mergeCliOverConfig } from './effective';
export type { CliOverrides, EffectiveConfig } from './effective';
export { canonicalJson, configHash } from './hash';
