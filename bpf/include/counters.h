/* SPDX-License-Identifier: MIT */
/* The one counting path: every frame is counted on arrival (l2_count_rx)
 * and leaves through l2_exit(), which turns the features' decision into
 * the hook's verdict and counts the frame as forwarded, answered or
 * dropped (per port, per reason, per tunnel). Nothing returns a verdict
 * any other way. */
#ifndef L2BPF_COUNTERS_H
#define L2BPF_COUNTERS_H

#include "ctx.h"
#include "decision.h"
#include "l2bpf_maps.bpf.h"

/* Anchors enum l2_drop_reason in BTF, so user space can name the reasons
 * (an enum used only as constants would not be emitted). */
const volatile enum l2_drop_reason l2_drop_reason_btf = L2_DROP_NONE;
/* The same for the limits and flag sets user space reads from BTF (src/generated/bpf.ts). */
const volatile enum l2_limits l2_limits_btf = L2_MAX_PORTS;
const volatile enum l2_tun_flags l2_tun_flags_btf = L2_TUN_KEY;
const volatile enum l2_att_flags l2_att_flags_btf = L2_ATT_FORCED;

static __always_inline struct l2_port_stats *l2_count_rx(__u32 ifindex, __u64 len)
{
	struct l2_port_stats *ps = bpf_map_lookup_elem(&l2_port_stats, &ifindex);

	if (ps) {
		ps->rx_packets++;
		ps->rx_bytes += len;
	}
	return ps;
}

/* Per-tunnel counters; a drop tied to a tunnel counts there too. */
static __always_inline struct l2_tunnel_stats *l2_tun_stats_of(__u32 tunnel)
{
	return tunnel ? bpf_map_lookup_elem(&l2_tun_stats, &tunnel) : 0;
}

static __always_inline void l2_count_drop(struct l2_port_stats *ps, __u64 len, __u32 reason, __u32 tunnel)
{
	struct l2_tunnel_stats *ts = l2_tun_stats_of(tunnel);
	struct l2_drop_stats *ds = bpf_map_lookup_elem(&l2_drops, &reason);

	if (ts && reason < L2_DROP__MAX)
		ts->drops[reason]++;
	if (ds) {
		ds->packets++;
		ds->bytes += len;
	}
	if (ps) {
		ps->drop_packets++;
		ps->drop_bytes += len;
	}
}

/* For bpf/l2_refused.bpf.c, should the kernel refuse the frame XDP
 * redirects (TC needs no note: the freed skb says where it came from). */
static __always_inline void l2_note_fwd(l2_ctx *ctx, __u32 len)
{
	__u32 k = 0;
	struct l2_last_fwd *lf;

	if (!L2_HOOK_IS_XDP)
		return;
	lf = bpf_map_lookup_elem(&l2_last_fwd, &k);
	if (lf) {
		lf->ifindex = ctx_ifindex(ctx);
		lf->len = len;
	}
}

static __always_inline int l2_exit(l2_ctx *ctx, struct l2_port_stats *ps, struct l2_decision *d, __u64 len)
{
	int v;

	switch (d->verdict) {
	case L2_V_FORWARD:
		/* TC with features on already looked the peer up (l2_decide) */
		v = !L2_HOOK_IS_XDP && d->ifindex ? ctx_redirect(ctx, d->ifindex) : ctx_forward(ctx, ctx_ifindex(ctx));
		if (v != CTX_ACT_REDIRECT) {
			l2_count_drop(ps, len, L2_DROP_NO_PEER, 0);
			return CTX_ACT_DROP;
		}
		l2_note_fwd(ctx, len);
		break;
	case L2_V_TO_PORT:
		v = ctx_redirect(ctx, d->ifindex);
		l2_note_fwd(ctx, len);
		break;
	case L2_V_ANSWER:
		v = ctx_back_out(ctx);
		if (d->reason) { /* an ICMP error standing in for a dropped frame */
			l2_count_drop(ps, len, d->reason, d->tunnel);
			return v;
		}
		if (ps) {
			ps->answer_packets++;
			ps->answer_bytes += len;
		}
		return v;
	default:
		l2_count_drop(ps, len, d->reason, d->tunnel);
		return CTX_ACT_DROP;
	}
	if (ps) {
		ps->fwd_packets++;
		ps->fwd_bytes += len;
	}
	return v;
}

#endif /* L2BPF_COUNTERS_H */
