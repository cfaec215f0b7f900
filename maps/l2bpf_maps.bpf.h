/* SPDX-License-Identifier: MIT */
/* Every l2bpf map, in one place. Included by each BPF object; all maps are
 * pinned by name under the instance's pin folder, so objects loaded for the
 * same instance share them. Names stay under 15 characters so the kernel's
 * name matches the pin. */
#ifndef L2BPF_MAPS_BPF_H
#define L2BPF_MAPS_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "l2bpf_types.h"

/* ingress ifindex -> egress port, for bpf_redirect_map (the fast path).
 * Pinned by the loader, not by libbpf: the kernel adds BPF_F_RDONLY_PROG to
 * every devmap but refuses it at creation, so libbpf's pin-reuse check can
 * never match (src/loader/attach.ts reuses the pinned fd itself). */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, L2_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} l2_tx_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, L2_MAX_PORTS);
	__type(key, l2_ifindex);
	__type(value, struct l2_port);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} l2_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, L2_MAX_PORTS);
	__type(key, l2_ifindex);
	__type(value, struct l2_port_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} l2_port_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, L2_DROP__MAX);
	__type(key, __u32);   /* enum l2_drop_reason; array keys must be plain ints */
	__type(value, struct l2_drop_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} l2_drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct l2_instance);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} l2_instance SEC(".maps");

/* ---- the one IP, rules, tunnels (written by the loader) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct l2_local);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} l2_local SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, L2_RULES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct l2_rule_key);
	__type(value, struct l2_rule);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} l2_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, L2_MAX_TUNNELS);
	__type(key, __u32);
	__type(value, struct l2_tunnel);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} l2_tunnels SEC(".maps");

/* remote address -> tunnel id, for decapsulation */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, L2_MAX_TUNNELS);
	__type(key, l2_ipv4);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} l2_tun_remote SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, L2_MAX_TUNNELS);
	__type(key, __u32);
	__type(value, struct l2_tunnel_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} l2_tun_stats SEC(".maps");

/* ---- learned state */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, L2_FLOWS_DEFAULT); /* the loader sets flows.size */
	__type(key, struct l2_flow_key);
	__type(value, struct l2_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} l2_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, L2_NEIGH_MAX);
	__type(key, l2_ipv6);
	__type(value, struct l2_neigh);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} l2_neigh SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, L2_NEIGH_MAX);
	__type(key, struct l2_mac_key);
	__type(value, struct l2_mac_move);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} l2_mac_moves SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct l2_icmp_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} l2_icmp_rl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct l2_scratch);
} l2_scratch SEC(".maps");

/* ---- kernel refusals after an XDP redirect (bpf/l2_refused.bpf.c) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct l2_last_fwd);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} l2_last_fwd SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct l2_refused_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} l2_refused_cfg SEC(".maps");

#endif /* L2BPF_MAPS_BPF_H */
