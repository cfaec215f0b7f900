// Numbers shared with the BPF side, copied from maps/l2bpf_types.h (#defines
// are not in BTF). test/unit/control-limits.test.ts checks them against the
// header so the two cannot drift apart.

export const L2_RULE_ALTS = 8;
export const L2_MAX_TUNNELS = 64;
export const L2_FLOWS_DEFAULT = 262144;
export const L2_RULES_MAX = 16384;

export const L2_TUN_KEY = 1 << 0;
export const L2_TUN_CSUM = 1 << 1;
export const L2_TUN_DF = 1 << 2;

// Tunnel ids are array indexes 1..L2_MAX_TUNNELS-1; 0 means "no tunnel".
export const TUNNELS_MAX = L2_MAX_TUNNELS - 1;
export const FLOWS_MIN = 1024;
export const FLOWS_MAX = 16777216;
