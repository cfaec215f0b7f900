/* SPDX-License-Identifier: MIT */
/* The routing instance's maps (layouts in router_types.h), pinned by name. */
#ifndef L2BPF_ROUTER_MAPS_H
#define L2BPF_ROUTER_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "router_types.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rt_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rt_config SEC(".maps");

/* The instance record (written by attach, read by status, stats, detach). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rt_instance);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rt_instance SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RT_MAX_PORTS);
	__type(key, l2_ifindex);
	__type(value, struct rt_port);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rt_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RT_POLICY_MAX);
	__type(key, struct rt_policy_key);
	__type(value, struct rt_policy);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rt_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RT_COUNT__MAX);
	__type(key, __u32);        /* enum rt_count */
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rt_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RT_NAT_RULES);
	__type(key, __u32);
	__type(value, struct rt_snat);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rt_snat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RT_NAT_RULES);
	__type(key, __u32);
	__type(value, struct rt_dnat);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rt_dnat SEC(".maps");

/* The connection table, both directions of each connection; LRU: a full
 * table evicts the least recently used, it never refuses. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, RT_CT_DEFAULT);
	__type(key, struct rt_tuple);
	__type(value, struct rt_ct);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rt_conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rt_scratch);
} rt_scratch SEC(".maps");

/* Anchors the enums in BTF for TypeScript. */
enum rt_limits rt_limits_btf;
enum rt_count rt_count_btf;
enum rt_flags rt_flags_btf;
enum rt_action rt_action_btf;
enum rt_ct_state rt_ct_state_btf;
enum rt_port_flags rt_port_flags_btf;

#endif
