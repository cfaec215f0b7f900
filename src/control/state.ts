// Everything the maps should hold for one effective config: the one place
// attach asks "what should be there", before diffing against what is.

import { checkConfig, Config, EffectiveConfig, L2_FLOWS_DEFAULT, L2_MAX_TUNNELS, throwFirst } from '../config';
import type { MapEntry } from './diff';
import { localEntry, LocalValue } from './local';
import { RuleEntry, ruleEntries } from './rules';
import { EMPTY_TUNNEL, RemoteEntry, TunnelEntry, tunnelEntries, TunnelValue } from './tunnels';

export interface DesiredState {
  local: LocalValue;
  tunnelIds: Map<string, number>;
  tunnels: TunnelEntry[];
  remotes: RemoteEntry[];
  rules: RuleEntry[];
  /** max_entries of l2_flows. */
  flowsSize: number;
  /**
   * The same, per map (names as in maps/l2bpf_maps.bpf.h), ready for diff().
   * Array maps list every slot, unused ones zeroed, since their keys
   * always exist: diffing then yields only upserts for them.
   */
  maps: {
    l2_local: MapEntry<number, LocalValue>[];
    l2_tunnels: MapEntry<number, TunnelValue>[];
    l2_tun_remote: MapEntry<string, number>[];
    l2_rules: RuleEntry[];
  };
}

const SECTIONS = ['local', 'flows', 'tunnels', 'rules'] as const;

function sections(config: EffectiveConfig): Config {
  return Object.fromEntries(SECTIONS.filter((k) => config[k] !== undefined).map((k) => [k, config[k]]));
}

/** `portMtu`: the L3 MTU the tunnels' outer packets leave through. */
export function desiredState(config: EffectiveConfig, portMtu: number): DesiredState {
  // Check the sections used here again, schema included: callers may have
  // built the config in code. Only these, so other effective-only fields
  // (added by attach) cannot trip the file schema.
  throwFirst(checkConfig(sections(config)));
  const local = localEntry(config.local);
  const { ids, entries, remotes } = tunnelEntries(config.tunnels, portMtu, config.local === undefined ? undefined : local.ipv4);
  const rules = ruleEntries(config.rules, ids);
  const slots = Array.from({ length: L2_MAX_TUNNELS }, (_, id) => ({ key: id, value: { ...EMPTY_TUNNEL } }));
  for (const t of entries) slots[t.id].value = t.value;
  return {
    local,
    tunnelIds: ids,
    tunnels: entries,
    remotes,
    rules,
    flowsSize: config.flows?.size ?? L2_FLOWS_DEFAULT,
    maps: { l2_local: [{ key: 0, value: local }], l2_tunnels: slots, l2_tun_remote: remotes, l2_rules: rules },
  };
}
