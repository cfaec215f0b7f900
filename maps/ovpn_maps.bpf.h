/* SPDX-License-Identifier: MIT */
/* The OpenVPN data channel's maps; the loader pins them under the
 * instance's folder (ovpn_secrets mode 0600). */
#ifndef L2BPF_OVPN_MAPS_BPF_H
#define L2BPF_OVPN_MAPS_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "ovpn_types.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ovpn_config);
} ovpn_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OVPN_MAX_PEERS);
	__type(key, __u32);        /* peer-id */
	__type(value, struct ovpn_peer);
} ovpn_peers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * OVPN_MAX_PEERS);
	__type(key, ovpn_slot);
	__type(value, struct ovpn_key);
} ovpn_keys SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * OVPN_MAX_PEERS);
	__type(key, ovpn_slot);
	__type(value, struct ovpn_secret);
} ovpn_secrets SEC(".maps");

/* VPN address -> peer-id, for packets routed into the tun device */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OVPN_MAX_PEERS);
	__type(key, l2_ipv4);
	__type(value, __u32);
} ovpn_route4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OVPN_MAX_PEERS);
	__type(key, l2_ipv6);
	__type(value, __u32);
} ovpn_route6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, OVPN_COUNT__MAX);
	__type(key, __u32);        /* enum ovpn_count */
	__type(value, __u64);
} ovpn_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ovpn_scratch);
} ovpn_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ovpn_instance);
} ovpn_instance SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OVPN_MAX_PEERS);
	__type(key, __u32);        /* peer-id */
	__type(value, struct ovpn_client);
} ovpn_clients SEC(".maps");

/* Per key slot, when each gap of its replay window opened (ovpn_gaps);
 * made when the key is. 4 KB each: allocated per key, not up front. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * OVPN_MAX_PEERS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, ovpn_slot);
	__type(value, struct ovpn_gaps);
} ovpn_gaps SEC(".maps");

/* P_DATA_V1 peers by their address (ovpn_peer.data_v1). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OVPN_MAX_PEERS);
	__type(key, struct ovpn_addr);
	__type(value, __u32);      /* peer-id */
} ovpn_by_addr SEC(".maps");

/* AES-GCM keys as the kernel's cipher contexts ("ecb(aes-generic)"), made by
 * the syscall program ovpn_aes_key: index slot << 1 | direction (0 rx, 1 tx). */
struct bpf_crypto_ctx {};
#ifndef __kptr
#define __kptr __attribute__((btf_type_tag("kptr")))
#endif
struct ovpn_aes_ctx {
	struct bpf_crypto_ctx __kptr *ctx;
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4 * OVPN_MAX_PEERS);
	__type(key, __u32);
	__type(value, struct ovpn_aes_ctx);
} ovpn_aes SEC(".maps");

/* Anchors the enums in BTF for TypeScript. */
enum ovpn_limits ovpn_limits_btf;
enum ovpn_cipher ovpn_cipher_btf;
enum ovpn_count ovpn_count_btf;

#endif
