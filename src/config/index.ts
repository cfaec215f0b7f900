// Public face of the config module; import from here, not from the parts.

export { ConfigError, formatConfigMessage } from './errors';
export type { ConfigErrorInfo } from './errors';
export {
  ACTION_PATTERN,
  configSchema,
  DEFAULT_MODE,
  IFNAME_PATTERN,
  INSTANCE_PATTERN,
  MODES,
  NETNS_PATTERN,
  TUNNEL_NAME_PATTERN,
} from './schema';
export type { Config, FlowsConfig, Mode, RuleConfig, TunnelConfig } from './schema';
export { loadConfig, parseConfig, parseYamlWith } from './load';
export { checkConfig, createAjv, makeChecker } from './validate';
export { semanticChecks } from './semantic';
export type { SemanticCheck } from './semantic';
export { fieldName, problem, throwFirst } from './problem';
export type { Problem, Segment } from './problem';
export { defaultInstance, mergeCliOverConfig } from './effective';
export type { CliOverrides, EffectiveConfig } from './effective';
export { canonicalJson, configHash } from './hash';
export * from '../net/address';
export * from './limits';
export { analyseLocal, analyseTunnels, tunnelsNeedLocal } from './network';
export type { LocalAddresses, ParsedTunnel } from './network';
export { analyseRules, anySource, parseAction, planRules, prefixKey } from './rules';
export type { DstPlan, ParsedRule, Verdict } from './rules';
