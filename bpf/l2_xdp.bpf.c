/* SPDX-License-Identifier: MIT */
/* XDP entry for every l2bpf port: the wire.
 *
 * A frame arriving on one port leaves the other port unchanged, redirected
 * through a devmap so the kernel can bulk transmits. Later features (flow MAC
 * cache, GRE, VPN) plug in between "counted" and "bridged" and either consume
 * the frame or let it cross. xdp.frags: frames larger than a page (jumbo MTU)
 * arrive as multi-buffer and are forwarded whole. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include "counters.h"

#define l2_drop(ps, len, why) l2_count_drop(ps, len, why, XDP_DROP)

SEC("xdp.frags")
int l2_wire(struct xdp_md *ctx)
{
	__u32 ifindex = ctx->ingress_ifindex;
	__u64 len = bpf_xdp_get_buff_len(ctx);
	struct l2_port_stats *ps = l2_count_rx(ifindex, len);
	long act;

	if (!ps)
		return l2_drop(ps, len, L2_DROP_UNKNOWN_PORT);
	/* Whole frame, not the linear part: a multi-buffer frame may split its
	 * headers, and the wire forwards it as it is. Linux's own Ethernet paths
	 * never deliver less than a header, other drivers might. */
	if (len < sizeof(struct ethhdr))
		return l2_drop(ps, len, L2_DROP_SHORT_FRAME);

	/* XDP_PASS as the miss verdict lets us tell a missing peer apart. */
	act = bpf_redirect_map(&l2_tx_ports, ifindex, XDP_PASS);
	if (act != XDP_REDIRECT)
		return l2_drop(ps, len, L2_DROP_NO_PEER);
	return l2_forwarded(ps, len, XDP_REDIRECT);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
