/* SPDX-License-Identifier: MIT */
/* GRE over IPv4 (RFC 2784, key per RFC 2890) toward the service point.
 * Encapsulation keeps the frame's own MAC addresses and VLAN tags, so the
 * next-hop router carries the tunnel packet on (seeds §3). Decapsulation
 * rebuilds the Ethernet header from the flow cache and sends the inner
 * packet out of the port its flow came in on. XDP sees every frame before
 * GRO, one MTU-sized packet at a time, so merged GRE super-packets never
 * reach this code and the far end needs no GRO tweak. */
#ifndef L2BPF_GRE_H
#define L2BPF_GRE_H

#include "parse.h"
#include "csum.h"
#include "counters.h"
#include "flowmac.h"
#include "l2hdr.h"

#define GRE_CSUM    0x8000
#define GRE_ROUTING 0x4000
#define GRE_KEY     0x2000
#define GRE_SEQ     0x1000
#define GRE_STRICT  0x0800
#define GRE_RECUR   0x0700
#define GRE_VERSION 0x0007

struct l2_grehdr { __be16 flags; __be16 proto; };

static __always_inline __u32 l2_gre_len(struct l2_tunnel *t)
{
	return 4 + ((t->flags & L2_TUN_CSUM) ? 4 : 0) + ((t->flags & L2_TUN_KEY) ? 4 : 0);
}

/* Wraps the IP packet of this frame in IPv4 + GRE. 0 on success. */
static __always_inline int l2_gre_encap(struct xdp_md *ctx, struct l2_pkt *p, struct l2_local *lc,
					struct l2_tunnel *t)
{
	__u32 l2 = p->l2_len & 0x1f, glen = l2_gre_len(t), outer = 20 + glen;
	__u32 inner = p->l3_len & 0xffff, frame;
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct l2_hdr h;
	struct iphdr *ip;
	struct l2_grehdr *gre;
	__be32 *opt;
	int ok;

	frame = bpf_xdp_get_buff_len(ctx) & 0xffff;
	if (data + frame > end) /* fragments: not here */
		return -1;
	if (l2 + inner > frame || inner < 20 || l2_hdr_save(ctx, p, &h))
		return -1;
	if (l2 + inner < frame && bpf_xdp_adjust_tail(ctx, (int)(l2 + inner) - (int)frame))
		return -1; /* Ethernet padding must not ride inside the tunnel */
	if (bpf_xdp_adjust_head(ctx, -(int)outer))
		return -1;
	if (l2_hdr_put(ctx, p->ntags, &h, ETH_P_IP))
		return -1;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	ip = data + l2;
	gre = data + l2 + 20;
	if ((void *)(gre + 1) > end || (void *)gre + glen > end)
		return -1;
	ip->version = 4;
	ip->ihl = 5;
	ip->tos = p->tos & 0xfc; /* DSCP carried over, ECN not */
	ip->tot_len = bpf_htons(outer + inner);
	ip->id = 0;
	ip->frag_off = (t->flags & L2_TUN_DF) ? bpf_htons(0x4000) : 0;
	ip->ttl = t->ttl;
	ip->protocol = IPPROTO_GRE;
	ip->check = 0;
	ip->saddr = lc->ipv4;
	ip->daddr = t->remote;
	ip->check = l2_csum_fold(bpf_csum_diff(0, 0, (__be32 *)ip, 20, 0));

	gre->flags = bpf_htons(((t->flags & L2_TUN_CSUM) ? GRE_CSUM : 0) | ((t->flags & L2_TUN_KEY) ? GRE_KEY : 0));
	gre->proto = bpf_htons(p->family == 6 ? ETH_P_IPV6 : ETH_P_IP);
	opt = (void *)(gre + 1);
	if (t->flags & L2_TUN_CSUM) {
		if ((void *)(opt + 1) > end)
			return -1;
		*opt++ = 0;
	}
	if (t->flags & L2_TUN_KEY) {
		if ((void *)(opt + 1) > end)
			return -1;
		*opt = bpf_htonl(t->key);
	}
	if (t->flags & L2_TUN_CSUM) {
		__u32 goff = l2 + 20;
		__u16 c = l2_csum_fold(l2_csum_range(ctx, goff, goff + glen + inner, 0, &ok));
		data = (void *)(long)ctx->data;
		end = (void *)(long)ctx->data_end;
		if (!ok || data + goff + 6 > end)
			return -1;
		*(__u16 *)(data + goff + 4) = c;
	}
	return 0;
}

/* A packet of a flow never seen (the far end opened it, as with two l2bpf
 * boxes as a GRE pair) may still go to a host the box has learned: its MAC
 * and port from the neighbour table, sent from the MAC that delivered the
 * tunnel packet (the router on this segment), with that frame's VLAN tags. */
static __always_inline int l2_flow_from_neigh(struct l2_pkt *in, struct l2_pkt *outer, struct ethhdr *eth,
					      struct l2_flow *fl)
{
	struct l2_neigh *n = bpf_map_lookup_elem(&l2_neigh, in->dst);

	if (!n)
		return 0;
	__builtin_memset(fl, 0, sizeof(*fl));
	__builtin_memcpy(fl->src_mac, n->mac, 6);
	__builtin_memcpy(fl->dst_mac, eth->h_source, 6);
	fl->vlan_tpid[0] = outer->tpid[0];
	fl->vlan_tpid[1] = outer->tpid[1];
	fl->vlan_tci[0] = outer->tci[0];
	fl->vlan_tci[1] = outer->tci[1];
	fl->ifindex = n->ifindex;
	return 1;
}

/* GRE addressed to local. Returns an XDP verdict (drops already counted). */
static __always_inline int l2_gre_decap(struct xdp_md *ctx, struct l2_pkt *p, struct l2_port_stats *ps,
					__u32 ifindex, __u64 len)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 off = p->l4_off & 0x7f, outer_end = (p->l2_len + p->l3_len) & 0xffff;
	struct l2_pkt in = {};
	struct l2_flow_key k;
	struct l2_flow *f, fl;
	struct l2_tunnel *t;
	struct l2_grehdr *gre;
	l2_ipv4 remote;
	__u32 *id, tid, gflags, hdr = 4, key = 0, new_l2, inner_len;
	__u16 proto;
	int ok, neigh = 0;

	if (p->frag)
		return l2_count_drop(ps, len, L2_DROP_OUTER_FRAG, XDP_DROP);
	__builtin_memcpy(&remote, p->src + 12, 4);
	id = bpf_map_lookup_elem(&l2_tun_remote, &remote);
	if (!id)
		return l2_count_drop(ps, len, L2_DROP_GRE_REMOTE, XDP_DROP);
	tid = *id;
	t = bpf_map_lookup_elem(&l2_tunnels, &tid);
	if (!t)
		return l2_count_drop(ps, len, L2_DROP_GRE_REMOTE, XDP_DROP);
	gre = data + off;
	if ((void *)(gre + 1) > end || outer_end > bpf_xdp_get_buff_len(ctx))
		return l2_tun_drop(ps, tid, len, L2_DROP_GRE_TRUNCATED, XDP_DROP);
	gflags = bpf_ntohs(gre->flags);
	proto = bpf_ntohs(gre->proto);
	if (gflags & GRE_VERSION)
		return l2_tun_drop(ps, tid, len, L2_DROP_GRE_VERSION, XDP_DROP);
	if (gflags & (GRE_ROUTING | GRE_STRICT | GRE_RECUR))
		return l2_tun_drop(ps, tid, len, L2_DROP_GRE_FLAGS, XDP_DROP);
	if (gflags & GRE_CSUM)
		hdr += 4;
	if (gflags & GRE_KEY) {
		__be32 *kp = (void *)gre + hdr;
		if ((void *)(kp + 1) > end)
			return l2_tun_drop(ps, tid, len, L2_DROP_GRE_TRUNCATED, XDP_DROP);
		key = bpf_ntohl(*kp);
		hdr += 4;
	}
	if (!!(gflags & GRE_KEY) != !!(t->flags & L2_TUN_KEY) || key != ((t->flags & L2_TUN_KEY) ? t->key : 0))
		return l2_tun_drop(ps, tid, len, L2_DROP_GRE_KEY, XDP_DROP);
	if (gflags & GRE_SEQ)
		hdr += 4; /* sequence numbers are not enforced (RFC 2890 allows it) */
	if (proto != ETH_P_IP && proto != ETH_P_IPV6)
		return l2_tun_drop(ps, tid, len, L2_DROP_GRE_PROTO, XDP_DROP);
	if (gflags & GRE_CSUM) {
		if (l2_csum_fold(l2_csum_range(ctx, off, outer_end, 0, &ok)) != 0 || !ok)
			return l2_tun_drop(ps, tid, len, L2_DROP_GRE_CSUM, XDP_DROP);
		data = (void *)(long)ctx->data;
		end = (void *)(long)ctx->data_end;
	}

	/* the inner packet, parsed as if it started the frame's L3 */
	in.l2_len = (off + hdr) & 0xff;
	if ((proto == ETH_P_IP ? l2_parse_ipv4(data, end, &in) : l2_parse_ipv6(data, end, &in)) ||
	    in.l2_len + in.l3_len > outer_end)
		return l2_tun_drop(ps, tid, len, L2_DROP_GRE_TRUNCATED, XDP_DROP);
	l2_flow_key(&in, &k, 1);
	f = bpf_map_lookup_elem(&l2_flows, &k);
	if (f) {
		l2_follow_moves(f);
		fl = *f;
	} else if (data + sizeof(struct ethhdr) <= end && l2_flow_from_neigh(&in, p, data, &fl)) {
		neigh = 1;
	} else {
		return l2_tun_drop(ps, tid, len, L2_DROP_FLOW_MISS, XDP_DROP);
	}

	/* strip: [old l2][outer ip][gre] -> [l2 from the flow], drop outer padding */
	new_l2 = 14 + 4 * (fl.vlan_tpid[0] ? 1 : 0) + 4 * (fl.vlan_tpid[1] ? 1 : 0);
	inner_len = in.l3_len & 0xffff;
	if (in.l2_len + inner_len < bpf_xdp_get_buff_len(ctx) &&
	    bpf_xdp_adjust_tail(ctx, (int)(in.l2_len + inner_len) - (int)bpf_xdp_get_buff_len(ctx)))
		return l2_tun_drop(ps, tid, len, L2_DROP_GRE_TRUNCATED, XDP_DROP);
	if (bpf_xdp_adjust_head(ctx, (int)in.l2_len - (int)new_l2))
		return l2_tun_drop(ps, tid, len, L2_DROP_GRE_TRUNCATED, XDP_DROP);
	{
		struct l2_hdr h = {};
		__be16 tag[4] = { bpf_htons(fl.vlan_tpid[0]), bpf_htons(fl.vlan_tci[0]),
				  bpf_htons(fl.vlan_tpid[1]), bpf_htons(fl.vlan_tci[1]) };
		__builtin_memcpy(h.b, fl.src_mac, 6);     /* back to whoever sent the flow */
		__builtin_memcpy(h.b + 6, fl.dst_mac, 6); /* from the MAC it was sent to */
		__builtin_memcpy(h.b + 12, tag, 8);
		if (l2_hdr_put(ctx, (fl.vlan_tpid[0] ? 1 : 0) + (fl.vlan_tpid[1] ? 1 : 0), &h, proto))
			return l2_tun_drop(ps, tid, len, L2_DROP_GRE_TRUNCATED, XDP_DROP);
	}
	{
		struct l2_tunnel_stats *ts = l2_tun_stats_of(tid);
		if (ts) {
			ts->decap_packets++;
			ts->decap_bytes += inner_len;
			ts->decap_neigh += neigh;
		}
	}
	if (fl.ifindex == ifindex)
		return l2_forwarded(ps, len, l2_back_out(ctx));
	return l2_forwarded(ps, len, bpf_redirect_map(&l2_tx_ports, ifindex, XDP_DROP));
}

#endif /* L2BPF_GRE_H */
