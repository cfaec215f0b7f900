// Public face of the control plane: pure functions from an effective config
// to the contents of the BPF maps (field names as in maps/l2bpf_types.h),
// and the diff that turns those into map updates. No kernel access here.

export { decide, lookup } from './decide';
export type { Lookup } from './decide';
export { canonical, diff } from './diff';
export type { MapDiff, MapEntry } from './diff';
export { localEntry } from './local';
export type { LocalValue } from './local';
export { EMPTY_ALT, ruleEntries } from './rules';
export type { L2Action, RuleAlt, RuleEntry, RuleKey, RuleValue } from './rules';
export { desiredState } from './state';
export type { DesiredState } from './state';
export {
  DEFAULT_TTL,
  EMPTY_TUNNEL,
  MIN_TUNNEL_MTU,
  remoteIndex,
  tunnelEntries,
  tunnelFlags,
  tunnelOverhead,
} from './tunnels';
export type { RemoteEntry, TunnelEntry, TunnelValue } from './tunnels';
