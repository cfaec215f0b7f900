/* SPDX-License-Identifier: MIT */
/* The least a wire can do on each hook, for `make bench` only (not part of
 * l2bpf): every frame entering one port leaves the other, nothing parsed,
 * nothing counted. lab/bench-min.ts loads it and fills bench_peer with
 * {ingress ifindex -> the other port's ifindex}.
 *   bench_min_xdp  XDP devmap redirect (DEVMAP_HASH keyed by ingress ifindex)
 *   bench_min_tc   tcx ingress, bpf_redirect to the other port's egress */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} bench_devmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} bench_peer SEC(".maps");

SEC("xdp")
int bench_min_xdp(struct xdp_md *ctx)
{
	return bpf_redirect_map(&bench_devmap, ctx->ingress_ifindex, XDP_DROP);
}

SEC("tc")
int bench_min_tc(struct __sk_buff *skb)
{
	__u32 key = skb->ingress_ifindex, *out = bpf_map_lookup_elem(&bench_peer, &key);

	return out ? bpf_redirect(*out, 0) : 2 /* TC_ACT_SHOT */;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
