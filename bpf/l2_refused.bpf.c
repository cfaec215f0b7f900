/* SPDX-License-Identifier: MIT */
/* Frames the kernel refuses after our XDP redirect: xdp_do_redirect fails
 * right after the program returned (a veth whose peer has no NAPI, a device
 * that is down, a frame over its MTU) and says so in the tracepoint
 * xdp:xdp_redirect_err, on the same CPU. Such a frame was counted as
 * forwarded; here it moves to dropped, reason refused. Attached (raw
 * tracepoint link) only while a port runs XDP. Frames dropped later, when
 * the target's ring is full, are not seen here. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "l2bpf_maps.bpf.h"

/* raw args: dev, xdp prog, target, err, map_type, map_id, index */
SEC("raw_tp/xdp_redirect_err")
int l2_xdp_refused(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 k = 0, map_id = (__u32)ctx->args[5], index = (__u32)ctx->args[6], reason = L2_DROP_REFUSED;
	struct l2_refused_cfg *cfg = bpf_map_lookup_elem(&l2_refused_cfg, &k);
	struct l2_last_fwd *lf = bpf_map_lookup_elem(&l2_last_fwd, &k);
	struct l2_port_stats *ps;
	struct l2_drop_stats *ds;

	/* our devmap is keyed by the ingress port: index is the port */
	if (!cfg || !lf || !cfg->devmap_id || map_id != cfg->devmap_id || lf->ifindex != index)
		return 0;
	ps = bpf_map_lookup_elem(&l2_port_stats, &index);
	ds = bpf_map_lookup_elem(&l2_drops, &reason);
	if (ps && ps->fwd_packets) {
		ps->fwd_packets--;
		ps->fwd_bytes -= lf->len;
		ps->drop_packets++;
		ps->drop_bytes += lf->len;
	}
	if (ds) {
		ds->packets++;
		ds->bytes += lf->len;
	}
	lf->ifindex = 0;
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
