/* SPDX-License-Identifier: MIT */
/* The one counting path: every frame is counted on arrival, and leaves either
 * through l2_forwarded() or l2_drop(), which counts it per port and per
 * reason. Never return a drop verdict without going through here. */
#ifndef L2BPF_COUNTERS_H
#define L2BPF_COUNTERS_H

#include "l2bpf_maps.bpf.h"

/* Anchors enum l2_drop_reason in BTF, so user space can name the reasons
 * (an enum used only as constants would not be emitted). */
const volatile enum l2_drop_reason l2_drop_reason_btf = L2_DROP_NONE;

static __always_inline struct l2_port_stats *l2_count_rx(__u32 ifindex, __u64 len)
{
	struct l2_port_stats *ps = bpf_map_lookup_elem(&l2_port_stats, &ifindex);

	if (ps) {
		ps->rx_packets++;
		ps->rx_bytes += len;
	}
	return ps;
}

static __always_inline int l2_forwarded(struct l2_port_stats *ps, __u64 len, int verdict)
{
	if (ps) {
		ps->fwd_packets++;
		ps->fwd_bytes += len;
	}
	return verdict;
}

static __always_inline int l2_count_drop(struct l2_port_stats *ps, __u64 len,
					 __u32 reason, int verdict)
{
	struct l2_drop_stats *ds = bpf_map_lookup_elem(&l2_drops, &reason);

	if (ds) {
		ds->packets++;
		ds->bytes += len;
	}
	if (ps) {
		ps->drop_packets++;
		ps->drop_bytes += len;
	}
	return verdict;
}

/* Send the frame back out of the port it came in on. Not XDP_TX: on veth
 * (kernel 6.18) an XDP_TX frame never reaches the peer while a redirect to
 * the same device does; on real NICs both cost the same. */
static __always_inline int l2_back_out(struct xdp_md *ctx)
{
	return bpf_redirect(ctx->ingress_ifindex, 0);
}

/* Per-tunnel counters; a drop tied to a tunnel counts there too. */
static __always_inline struct l2_tunnel_stats *l2_tun_stats_of(__u32 tunnel)
{
	return tunnel ? bpf_map_lookup_elem(&l2_tun_stats, &tunnel) : 0;
}

static __always_inline int l2_tun_drop(struct l2_port_stats *ps, __u32 tunnel, __u64 len,
				       __u32 reason, int verdict)
{
	struct l2_tunnel_stats *ts = l2_tun_stats_of(tunnel);

	if (ts && reason < L2_DROP__MAX)
		ts->drops[reason]++;
	return l2_count_drop(ps, len, reason, verdict);
}

#endif /* L2BPF_COUNTERS_H */
