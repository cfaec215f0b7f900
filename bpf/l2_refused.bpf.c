/* SPDX-License-Identifier: MIT */
/* Frames the kernel refuses after our redirect were counted as forwarded;
 * these programs move them to dropped, reason refused. Attached by the
 * loader only while a port runs the hook they watch.
 *
 *   l2_xdp_refused     xdp:xdp_redirect_err, right after an XDP program
 *                      returned, on the same CPU: a target that is down, whose
 *                      veth peer has no NAPI, or a frame over its MTU.
 *   l2_xdp_ring_drops  xdp:xdp_devmap_xmit, when a devmap bulk is flushed:
 *                      frames the target's driver did not take (ring full,
 *                      over the veth peer's MTU). It gives only a count, so
 *                      their bytes stay in fwd_bytes.
 *   l2_tc_refused      skb:kfree_skb (TC): a frame that entered at one of our
 *                      ports and is freed at another, still ours: dropped on
 *                      its way out (veth: peer gone or down, over the peer's
 *                      MTU). A frame handed on and dropped by the receiver
 *                      (a veth peer's full backlog) was delivered, as on a
 *                      cable. (This kernel has no fexit to read
 *                      skb_do_redirect's result.) */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "l2bpf_maps.bpf.h"

/* Just the kernel fields read here, relocated by CO-RE. */
struct ns_common { unsigned int inum; } __attribute__((preserve_access_index));
struct net { struct ns_common ns; } __attribute__((preserve_access_index));
typedef struct { struct net *net; } possible_net_t;
struct net_device {
	int ifindex;
	possible_net_t nd_net;
} __attribute__((preserve_access_index));
struct sk_buff {
	struct net_device *dev;
	int skb_iif;
	unsigned int len;
} __attribute__((preserve_access_index));

static __always_inline int l2_our_netns(const struct net_device *dev, const struct l2_refused_cfg *cfg)
{
	return BPF_CORE_READ(dev, nd_net.net, ns.inum) == cfg->netns_ino;
}

static __always_inline void l2_refuse(__u32 ifindex, __u64 packets, __u64 bytes)
{
	__u32 reason = L2_DROP_REFUSED;
	struct l2_port_stats *ps = bpf_map_lookup_elem(&l2_port_stats, &ifindex);
	struct l2_drop_stats *ds = bpf_map_lookup_elem(&l2_drops, &reason);

	/* all three run on the CPU that counted the frame as forwarded */
	if (ps && ps->fwd_packets >= packets) {
		ps->fwd_packets -= packets;
		ps->fwd_bytes -= bytes;
		ps->drop_packets += packets;
		ps->drop_bytes += bytes;
	}
	if (ds) {
		ds->packets += packets;
		ds->bytes += bytes;
	}
}

/* raw args: dev, xdp prog, target, err, map_type, map_id, index */
SEC("raw_tp/xdp_redirect_err")
int l2_xdp_refused(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 k = 0, map_id = (__u32)ctx->args[5], index = (__u32)ctx->args[6];
	struct l2_refused_cfg *cfg = bpf_map_lookup_elem(&l2_refused_cfg, &k);
	struct l2_last_fwd *lf = bpf_map_lookup_elem(&l2_last_fwd, &k);

	/* our devmap is keyed by the ingress port: index is the port */
	if (!cfg || !lf || !cfg->devmap_id || map_id != cfg->devmap_id || lf->ifindex != index)
		return 0;
	l2_refuse(index, 1, lf->len);
	lf->ifindex = 0;
	return 0;
}

/* raw args: from (the port the XDP program ran on), to, sent, drops, err */
SEC("raw_tp/xdp_devmap_xmit")
int l2_xdp_ring_drops(struct bpf_raw_tracepoint_args *ctx)
{
	const struct net_device *from = (const void *)ctx->args[0];
	int drops = (int)ctx->args[3];
	__u32 k = 0, ifindex;
	struct l2_refused_cfg *cfg = bpf_map_lookup_elem(&l2_refused_cfg, &k);

	if (!cfg || drops <= 0 || !from)
		return 0;
	/* ifindexes are per namespace: only ports of our namespace are ours */
	if (!l2_our_netns(from, cfg))
		return 0;
	ifindex = BPF_CORE_READ(from, ifindex);
	if (!bpf_map_lookup_elem(&l2_ports, &ifindex))
		return 0;
	l2_refuse(ifindex, drops, 0);
	return 0;
}

/* raw args: skb, location, reason, rx_sk */
SEC("raw_tp/kfree_skb")
int l2_tc_refused(struct bpf_raw_tracepoint_args *ctx)
{
	const struct sk_buff *skb = (const void *)ctx->args[0];
	const struct net_device *dev;
	__u32 k = 0, out, in;
	struct l2_refused_cfg *cfg = bpf_map_lookup_elem(&l2_refused_cfg, &k);
	struct l2_port *pin, *pout;

	if (!cfg || !skb)
		return 0;
	dev = BPF_CORE_READ(skb, dev);
	if (!dev || !l2_our_netns(dev, cfg))
		return 0;
	out = BPF_CORE_READ(dev, ifindex);
	in = BPF_CORE_READ(skb, skb_iif);
	if (in == out) /* answers go back out where they came in: not forwards */
		return 0;
	pout = bpf_map_lookup_elem(&l2_ports, &out);
	pin = bpf_map_lookup_elem(&l2_ports, &in);
	if (!pin || !pout || pin->kind != L2_PORT_WIRE || pout->kind != L2_PORT_WIRE)
		return 0;
	l2_refuse(in, 1, BPF_CORE_READ(skb, len));
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
