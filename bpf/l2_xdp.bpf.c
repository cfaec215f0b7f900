/* SPDX-License-Identifier: MIT */
/* XDP entry for every l2bpf port: the wire, and what plugs into it.
 *
 *   count -> parse -> addressed to the one IP? (ARP/ND/ping answered, GRE
 *   unwrapped) -> learn flow and neighbour -> rule: pass / drop / tunnel
 *   (MTU, MSS, GRE) -> bridge to the peer port through the devmap.
 *
 * A frame that cannot be parsed is still bridged unchanged: it is a wire.
 * xdp.frags: frames larger than a page (jumbo MTU) arrive as multi-buffer. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include "counters.h"
#include "parse.h"
#include "lib/local.h"
#include "lib/flowmac.h"
#include "lib/rules.h"
#include "lib/mtu.h"
#include "lib/gre.h"

#define l2_drop(ps, len, why) l2_count_drop(ps, len, why, XDP_DROP)

static __always_inline int l2_bridge(struct l2_port_stats *ps, __u32 ifindex, __u64 len)
{
	/* XDP_PASS as the miss verdict lets us tell a missing peer apart. */
	long act = bpf_redirect_map(&l2_tx_ports, ifindex, XDP_PASS);

	if (act != XDP_REDIRECT)
		return l2_drop(ps, len, L2_DROP_NO_PEER);
	return l2_forwarded(ps, len, XDP_REDIRECT);
}

/* The features below are global functions: the verifier checks each once,
 * on its own, instead of once per path through the caller. They take the
 * parsed headers by pointer and look up the few maps they need themselves. */
#define L2_GLOBAL __attribute__((noinline))

/* Could this frame be for the box's own address? Cheap, inline: most frames
 * are not, and skip the call and its lookups. */
static __always_inline int l2_maybe_local(struct l2_pkt *p, struct l2_local *lc)
{
	if (p->proto == ETH_P_ARP)
		return 1;
	if (p->family == 4)
		return lc->ipv4 && !__builtin_memcmp(p->dst + 12, &lc->ipv4, 4);
	if (p->family == 6)
		return p->l4_proto == IPPROTO_ICMPV6 || l2_is_local6(lc, p->dst);
	return 0;
}

/* Frames for the box's own address. L2_LOCAL_NONE: not ours after all. */
L2_GLOBAL int l2_for_local(struct xdp_md *ctx, struct l2_pkt *p, struct l2_port_stats *ps, __u32 ifindex,
			   __u64 len)
{
	struct l2_local *lc = l2_local_cfg();
	struct l2_port *port;
	int v;

	if (!ctx || !p || !ps || !lc)
		return L2_LOCAL_NONE;
	if (p->family == 4 && p->l4_proto == IPPROTO_GRE && lc->ipv4 && !__builtin_memcmp(p->dst + 12, &lc->ipv4, 4))
		return l2_gre_decap(ctx, p, ps, ifindex, len); /* first: the busy path */
	port = bpf_map_lookup_elem(&l2_ports, &ifindex); /* answers come from the port's MAC */
	if (!port)
		return L2_LOCAL_NONE;
	if (p->proto == ETH_P_ARP) {
		v = l2_answer_arp(ctx, p, lc, port->mac);
		return v == L2_LOCAL_NONE ? v : l2_forwarded(ps, len, v == XDP_TX ? l2_back_out(ctx) : v);
	}
	if (p->family == 6) {
		v = l2_answer_icmp6(ctx, p, lc, port->mac);
		if (v != L2_LOCAL_NONE)
			return l2_forwarded(ps, len, v == XDP_TX ? l2_back_out(ctx) : v);
		return l2_is_local6(lc, p->dst) ? l2_drop(ps, len, L2_DROP_TO_LOCAL) : L2_LOCAL_NONE;
	}
	if (p->family != 4 || __builtin_memcmp(p->dst + 12, &lc->ipv4, 4) || !lc->ipv4)
		return L2_LOCAL_NONE;
	if (p->l4_proto == IPPROTO_ICMP && p->l4_off) {
		v = l2_answer_ping4(ctx, p);
		if (v != L2_LOCAL_NONE)
			return l2_forwarded(ps, len, v == XDP_TX ? l2_back_out(ctx) : v);
	}
	return l2_drop(ps, len, L2_DROP_TO_LOCAL);
}

/* A packet a rule sends into tunnel tid: MTU, MSS, GRE, then out the other port. */
L2_GLOBAL int l2_tunnel_out(struct xdp_md *ctx, struct l2_pkt *p, struct l2_port_stats *ps, __u32 tid, __u64 len)
{
	struct l2_tunnel *t = bpf_map_lookup_elem(&l2_tunnels, &tid);
	struct l2_local *lc = l2_local_cfg();
	struct l2_tunnel_stats *ts;
	__u32 ifindex;

	if (!ctx || !p || !ps || !lc)
		return XDP_DROP;
	ifindex = ctx->ingress_ifindex;
	if (!t || !t->remote || !lc->ipv4)
		return l2_tun_drop(ps, tid, len, L2_DROP_ENCAP, XDP_DROP);
	if (p->l3_len > t->mtu) {
		struct l2_port *port = bpf_map_lookup_elem(&l2_ports, &ifindex);
		if (!port)
			return l2_tun_drop(ps, tid, len, L2_DROP_TOO_BIG_NOICMP, XDP_DROP);
		return l2_too_big(ctx, p, lc, ps, tid, port->mac, t->mtu, len);
	}
	l2_clamp_mss(ctx, p, t->mtu - (p->family == 4 ? 40 : 60));
	if (l2_gre_encap(ctx, p, lc, t))
		return l2_tun_drop(ps, tid, len, L2_DROP_ENCAP, XDP_DROP);
	ts = l2_tun_stats_of(tid);
	if (ts) {
		ts->encap_packets++;
		ts->encap_bytes += p->l3_len;
	}
	return l2_bridge(ps, ifindex, len);
}

/* Learning from a frame crossing the wire, and the rule that applies to it. */
L2_GLOBAL int l2_learn_and_decide(struct xdp_md *ctx, struct l2_pkt *p, __u32 ifindex)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct l2_local *lc = l2_local_cfg();
	struct l2_decision d;

	if (!p || data + sizeof(struct ethhdr) > end)
		return L2_ACT_PASS;
	d = l2_rule_decide(p);
	/* A flow entry that did not change means its sender's MAC did not move:
	 * the neighbour table needs a look only when the entry was written. */
	if (l2_flow_learn(p, data, ifindex, d.action == L2_ACT_TUNNEL ? d.tunnel : 0))
		l2_neigh_learn_ip(p, lc, data, ifindex);
	return d.action == L2_ACT_TUNNEL ? (int)(L2_ACT_TUNNEL | (d.tunnel << 8)) : (int)d.action;
}

SEC("xdp.frags")
int l2_wire(struct xdp_md *ctx)
{
	__u32 ifindex = ctx->ingress_ifindex;
	__u64 len = bpf_xdp_get_buff_len(ctx);
	struct l2_port_stats *ps = l2_count_rx(ifindex, len);
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct l2_pkt p = {};
	struct l2_local *lc;
	int v;

	if (!ps)
		return l2_drop(ps, len, L2_DROP_UNKNOWN_PORT);
	/* Whole frame, not the linear part: a multi-buffer frame may split its
	 * headers, and the wire forwards it as it is. Linux's own Ethernet paths
	 * never deliver less than a header, other drivers might. */
	if (len < sizeof(struct ethhdr))
		return l2_drop(ps, len, L2_DROP_SHORT_FRAME);

	lc = l2_local_cfg();
	if (!lc || l2_parse(data, data_end, &p) || (!lc->ipv4 && !lc->ipv6_plen))
		return l2_bridge(ps, ifindex, len); /* a plain wire: nothing configured */

	if (p.proto == ETH_P_ARP) {
		struct l2_arp_eth *arp = data + (p.l2_len & 0xff);
		l2_ipv6 a;
		if ((void *)(arp + 1) <= data_end && arp->hlen == 6 && arp->plen == 4 && arp->spa) {
			l2_v4mapped(a, arp->spa);
			l2_neigh_seen(a, arp->sha, ifindex); /* gratuitous ARP moves MACs */
		}
	}
	if (l2_maybe_local(&p, lc)) {
		v = l2_for_local(ctx, &p, ps, ifindex, len);
		if (v != L2_LOCAL_NONE)
			return v;
	}
	if (!p.family)
		return l2_bridge(ps, ifindex, len);

	v = l2_learn_and_decide(ctx, &p, ifindex);
	if (v == L2_ACT_DROP)
		return l2_drop(ps, len, L2_DROP_RULE);
	if ((v & 0xff) == L2_ACT_TUNNEL)
		return l2_tunnel_out(ctx, &p, ps, (__u32)v >> 8, len);
	return l2_bridge(ps, ifindex, len);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
