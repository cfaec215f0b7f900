// Numbers shared with the BPF side, from the build's BTF (src/generated/bpf.ts,
// generated from enum l2_limits and enum l2_tun_flags: nothing copied by hand).
import { LIMITS, TUN_FLAGS } from '../generated/bpf';

export const L2_RULE_ALTS = LIMITS.L2_RULE_ALTS;
export const L2_MAX_TUNNELS = LIMITS.L2_MAX_TUNNELS;
export const L2_FLOWS_DEFAULT = LIMITS.L2_FLOWS_DEFAULT;
export const L2_RULES_MAX = LIMITS.L2_RULES_MAX;

export const L2_TUN_KEY = TUN_FLAGS.L2_TUN_KEY;
export const L2_TUN_CSUM = TUN_FLAGS.L2_TUN_CSUM;
export const L2_TUN_DF = TUN_FLAGS.L2_TUN_DF;

// Tunnel ids are array indexes 1..L2_MAX_TUNNELS-1; 0 means "no tunnel".
export const TUNNELS_MAX = L2_MAX_TUNNELS - 1;
// Policy of the control plane, not of the program: how small and how large a flow cache may be asked for.
export const FLOWS_MIN = 1024;
export const FLOWS_MAX = 16777216;
