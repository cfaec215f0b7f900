/* SPDX-License-Identifier: MIT */
/* The OpenVPN data channel's entries (lib/ovpn.h): tcx ingress on each
 * uplink, tcx egress on the tun device, tcx ingress on the segmenter's inner
 * end; and one syscall program through which the daemon takes tx packet ids
 * from the same atomic counter (a reused id is a nonce reuse). */
#define L2_HOOK_TC
#include "lib/ovpn.h"

SEC("tc")
int ovpn_uplink_in(struct __sk_buff *ctx) { return ovpn_rx(ctx); }

SEC("tc")
int ovpn_tun_out(struct __sk_buff *ctx) { return ovpn_from_tun(ctx); }

SEC("tc")
int ovpn_seg_in(struct __sk_buff *ctx) { return ovpn_from_segmenter(ctx); }

/* ctx: { u32 slot; u32 n; u64 first } — first = the first of n ids taken, 0 when there is no key. */
struct ovpn_take { __u32 slot; __u32 n; __u64 first; };

SEC("syscall")
int ovpn_take_pids(struct ovpn_take *t)
{
	ovpn_slot s = t->slot;
	struct ovpn_key *k = bpf_map_lookup_elem(&ovpn_keys, &s);

	t->first = k ? __sync_fetch_and_add(&k->tx_pid, t->n) : 0;
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
