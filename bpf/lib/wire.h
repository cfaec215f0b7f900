/* SPDX-License-Identifier: MIT */
/* The wire and what plugs into it, for either hook:
 *
 *   count -> parse -> addressed to the one IP? (ARP/ND/ping answered, GRE
 *   unwrapped) -> learn flow and neighbour -> rule: pass / drop / tunnel
 *   (MTU, MSS, GRE) -> on to the peer port.
 *
 * A frame that cannot be parsed is still bridged unchanged: it is a wire.
 * Features fill in a struct l2_decision; l2_exit() (counters.h) turns it
 * into the verdict and counts it. */
#ifndef L2BPF_WIRE_H
#define L2BPF_WIRE_H

#include <linux/if_ether.h>
#include "ctx.h"
#include "counters.h"
#include "decision.h"
#include "parse.h"
#include "local.h"
#include "flowmac.h"
#include "rules.h"
#include "mtu.h"
#include "gre.h"
#include "icmperr.h"

/* The features below are global functions: the verifier checks each once,
 * on its own, instead of once per path through the caller. They take the
 * parsed headers by pointer and look up the few maps they need themselves. */
#define L2_GLOBAL __attribute__((noinline))

/* Could this frame be for the box's own address? Cheap, inline: most frames
 * are not, and skip the call and its lookups. */
static __always_inline int l2_maybe_local(const struct l2_pkt *p, const struct l2_local *lc)
{
	if (p->proto == ETH_P_ARP)
		return 1;
	if (p->family == 4)
		return lc->ipv4 && !__builtin_memcmp(p->dst + 12, &lc->ipv4, 4);
	if (p->family == 6)
		return p->l4_proto == IPPROTO_ICMPV6 || l2_is_local6(lc, p->dst);
	return 0;
}

/* Frames for the box's own address. Returns 1 when d holds the decision,
 * 0 when the frame was not ours after all. */
L2_GLOBAL int l2_for_local(l2_ctx *ctx, struct l2_pkt *p, struct l2_decision *d)
{
	struct l2_local *lc = l2_local_cfg();
	__u32 ifindex = ctx_ifindex(ctx);
	struct l2_port *port;
	int v = L2_LOCAL_NONE;

	if (!ctx || !p || !d || !lc)
		return 0;
	if (p->proto == ETH_P_ARP) {
		void *data = ctx_data(ctx), *end = ctx_data_end(ctx);
		struct l2_arp_eth *arp = data + (p->l2_len & 0xff);
		l2_ipv6 a;
		if ((void *)(arp + 1) <= end && arp->hlen == 6 && arp->plen == 4 && arp->spa) {
			l2_v4mapped(a, arp->spa);
			l2_neigh_seen(a, arp->sha, ifindex); /* gratuitous ARP moves MACs */
		}
	}
	port = bpf_map_lookup_elem(&l2_ports, &ifindex); /* answers come from the port's MAC */
	if (!port)
		return 0;
	if (p->proto == ETH_P_ARP) {
		v = l2_answer_arp(ctx, p, lc, port->mac);
	} else if (p->family == 6) {
		v = l2_answer_icmp6(ctx, p, lc, port->mac);
		if (v == L2_LOCAL_NONE && l2_is_local6(lc, p->dst)) {
			l2_drop_for(d, L2_DROP_TO_LOCAL, 0);
			return 1;
		}
	} else if (p->family == 4 && lc->ipv4 && !__builtin_memcmp(p->dst + 12, &lc->ipv4, 4)) {
		if (p->l4_proto == IPPROTO_ICMP && p->l4_off)
			v = l2_answer_ping4(ctx, p);
		if (v == L2_LOCAL_NONE) {
			l2_drop_for(d, L2_DROP_TO_LOCAL, 0);
			return 1;
		}
	}
	if (v == L2_LOCAL_NONE)
		return 0;
	if (v == L2_LOCAL_BROKEN)
		l2_drop_for(d, L2_DROP_MALFORMED, 0);
	else
		l2_answer(d);
	return 1;
}

/* GRE addressed to local: the busy path of a tunnel endpoint. */
L2_GLOBAL int l2_gre_in(l2_ctx *ctx, struct l2_pkt *p, struct l2_decision *d)
{
	if (ctx && p && d)
		l2_gre_decap(ctx, p, d);
	return 0;
}

/* Where a packet for tunnel tid leaves: the peer of `from`. */
static __always_inline __u32 l2_peer_of(__u32 from)
{
	struct l2_port *port = bpf_map_lookup_elem(&l2_ports, &from);

	return port ? port->peer : 0;
}

/* A packet a rule (or the flow an ICMP error quotes) sends into tunnel
 * tid: MTU, MSS, GRE, then on out of `out` (0: the peer port). */
L2_GLOBAL int l2_tunnel_out(l2_ctx *ctx, struct l2_pkt *p, struct l2_decision *d, __u32 tid, __u32 out)
{
	struct l2_tunnel *t = bpf_map_lookup_elem(&l2_tunnels, &tid);
	struct l2_local *lc = l2_local_cfg();
	struct l2_tunnel_stats *ts;
	__u32 ifindex = ctx_ifindex(ctx), seg_len;
	int gso = l2_is_gso(ctx);

	if (!ctx || !p || !d)
		return 0;
	if (!t || !t->remote || !lc || !lc->ipv4) {
		l2_drop_for(d, L2_DROP_ENCAP, tid);
		return 0;
	}
	seg_len = l2_l3_seg_len(ctx, p);
	if (seg_len > t->mtu) {
		struct l2_port *port = bpf_map_lookup_elem(&l2_ports, &ifindex);
		if (!port)
			l2_drop_for(d, L2_DROP_TOO_BIG_NOICMP, tid);
		else
			l2_too_big(ctx, p, lc, d, tid, port->mac, t->mtu);
		return 0;
	}
	ts = l2_tun_stats_of(tid);
	if (gso && ((t->flags & L2_TUN_CSUM) || l2_data_tags(p))) {
		/* Each GRE packet needs its own checksum, or a tag in the data
		 * keeps adjust_room from wrapping it whole: let the kernel cut the
		 * packet into segments first (the segmenter pair), wrap them there. */
		struct l2_port *port = bpf_map_lookup_elem(&l2_ports, &ifindex);
		if (!port || !port->segmenter) {
			l2_drop_for(d, L2_DROP_SEGMENT, tid);
			return 0;
		}
		if (ts)
			ts->segmented++;
		l2_to_port(d, port->segmenter);
		return 0;
	}
	l2_clamp_mss(ctx, p, t->mtu - (p->family == 4 ? 40 : 60));
	if (l2_gre_encap(ctx, p, lc, t)) {
		l2_drop_for(d, L2_DROP_ENCAP, tid);
		return 0;
	}
	if (ts) {
		ts->encap_packets++;
		ts->encap_bytes += p->l3_len;
		ts->gso_packets += gso;
	}
	if (out)
		l2_to_port(d, out);
	return 0;
}

/* A frame crossing the wire: learn its flow and neighbour, and apply the
 * rule. An ICMP error follows the flow it quotes: into that flow's tunnel,
 * or by the rules as if it were that flow's reply. */
L2_GLOBAL int l2_learn_and_decide(l2_ctx *ctx, struct l2_pkt *p, struct l2_decision *d)
{
	void *data = ctx_data(ctx), *end = ctx_data_end(ctx);
	struct l2_local *lc = l2_local_cfg();
	__u32 ifindex = ctx_ifindex(ctx);
	struct l2_rule_hit r;
	struct l2_pkt q;

	if (!p || !d || data + sizeof(struct ethhdr) > end)
		return L2_ACT_PASS;
	if (!l2_icmp_quote(ctx, p, &q)) {
		struct l2_flow_key k;
		struct l2_flow *f;
		struct l2_pkt back = {};

		l2_flow_key(&q, &k, 1);
		f = bpf_map_lookup_elem(&l2_flows, &k);
		if (f && f->tunnel) {
			struct l2_tunnel_stats *ts = l2_tun_stats_of(f->tunnel);
			if (ts)
				ts->icmp_out++;
			d->tunnel = f->tunnel;
			return L2_ACT_TUNNEL;
		}
		back.family = q.family;
		__builtin_memcpy(back.src, q.dst, 16);
		__builtin_memcpy(back.dst, q.src, 16);
		r = l2_rule_decide(&back);
		d->tunnel = r.tunnel;
		return r.action;
	}
	r = l2_rule_decide(p);
	/* A flow entry that did not change means its sender's MAC did not move:
	 * the neighbour table needs a look only when the entry was written. */
	if (l2_flow_learn(p, data, ifindex, r.action == L2_ACT_TUNNEL ? r.tunnel : 0))
		l2_neigh_learn_ip(p, lc, data, ifindex);
	d->tunnel = r.tunnel;
	return r.action;
}

/* The segmenter's inner end: single segments of a GSO packet a checksum
 * tunnel wants; their flow (learned on the first pass) says which tunnel
 * and which port they came in on. */
L2_GLOBAL int l2_from_segmenter(l2_ctx *ctx, struct l2_pkt *p, struct l2_decision *d)
{
	struct l2_flow_key k;
	struct l2_flow *f;
	__u32 out;

	if (!ctx || !p || !d)
		return 0;
	l2_flow_key(p, &k, 0);
	f = bpf_map_lookup_elem(&l2_flows, &k);
	out = f ? l2_peer_of(f->ifindex) : 0;
	if (!f || !f->tunnel || !out || l2_is_gso(ctx)) {
		l2_drop_for(d, L2_DROP_SEGMENT, f ? f->tunnel : 0);
		return 0;
	}
	l2_tunnel_out(ctx, p, d, f->tunnel, out);
	return 0;
}

static __always_inline void l2_decide(l2_ctx *ctx, struct l2_decision *d)
{
	__u32 ifindex = ctx_ifindex(ctx);
	struct l2_pkt p = {};
	struct l2_local *lc;
	int act;

	lc = l2_local_cfg();
	if (!lc || (!lc->ipv4 && !lc->ipv6_plen))
		return; /* a plain wire: nothing configured, nothing to parse */
	if (l2_parse(ctx, &p))
		return;
	if (!L2_HOOK_IS_XDP) {
		struct l2_port *port = bpf_map_lookup_elem(&l2_ports, &ifindex);
		if (port && port->kind == L2_PORT_SEGMENTER) {
			l2_from_segmenter(ctx, &p, d);
			return;
		}
		if (port)
			d->ifindex = port->peer; /* l2_exit forwards there without a second lookup */
	}
	if (p.family == 4 && p.l4_proto == IPPROTO_GRE && lc->ipv4 && !__builtin_memcmp(p.dst + 12, &lc->ipv4, 4)) {
		l2_gre_in(ctx, &p, d);
		return;
	}
	if (l2_maybe_local(&p, lc) && l2_for_local(ctx, &p, d))
		return;
	if (!p.family)
		return;
	act = l2_learn_and_decide(ctx, &p, d);
	if (act == L2_ACT_DROP)
		l2_drop_for(d, L2_DROP_RULE, 0);
	else if (act == L2_ACT_TUNNEL)
		l2_tunnel_out(ctx, &p, d, d->tunnel, 0);
	else
		d->tunnel = 0;
}

/* The whole program of a port, either hook. */
static __always_inline int l2_wire(l2_ctx *ctx)
{
	__u32 ifindex = ctx_ifindex(ctx);
	__u64 len = ctx_len(ctx);
	struct l2_port_stats *ps = l2_count_rx(ifindex, len);
	struct l2_decision d = { .verdict = L2_V_FORWARD };

	if (!ps)
		l2_drop_for(&d, L2_DROP_UNKNOWN_PORT, 0);
	/* Whole frame, not the linear part: a multi-buffer frame may split its
	 * headers, and the wire forwards it as it is. Linux's own Ethernet paths
	 * never deliver less than a header, other drivers might. */
	else if (len < sizeof(struct ethhdr))
		l2_drop_for(&d, L2_DROP_SHORT_FRAME, 0);
	else
		l2_decide(ctx, &d);
	return l2_exit(ctx, ps, &d, len);
}

#endif /* L2BPF_WIRE_H */
