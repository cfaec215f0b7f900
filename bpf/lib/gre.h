/* SPDX-License-Identifier: MIT */
/* GRE over IPv4 (RFC 2784, key per RFC 2890) toward the service point.
 * Encapsulation keeps the frame's own MAC addresses and VLAN tags, so the
 * next-hop router carries the tunnel packet on (seeds §3). Decapsulation
 * rebuilds the Ethernet header from the flow cache and sends the inner
 * packet out of the port its flow came in on.
 *
 * GSO (TC): a 64 KB packet is wrapped whole; the kernel cuts it into GRE
 * segments later, each with the outer headers (key included). A GRE
 * checksum cannot be produced that way, so GSO packets for a checksum
 * tunnel go through the segmenter first (lib/wire.h). A packet whose
 * inner TCP/UDP checksum is still pending gets the GRE checksum the
 * finished packet will have. A GRO-merged GRE packet is unwrapped whole
 * (its segments' checksums were verified by GRO). */
#ifndef L2BPF_GRE_H
#define L2BPF_GRE_H

#include "parse.h"
#include "csum.h"
#include "decision.h"
#include "counters.h"
#include "flowmac.h"
#include "l2hdr.h"
#include "icmperr.h"
#include "mtu.h"

#define GRE_CSUM    0x8000
#define GRE_ROUTING 0x4000
#define GRE_KEY     0x2000
#define GRE_SEQ     0x1000
#define GRE_STRICT  0x0800
#define GRE_RECUR   0x0700
#define GRE_VERSION 0x0007

struct l2_grehdr { __be16 flags; __be16 proto; };

static __always_inline __u32 l2_gre_len(const struct l2_tunnel *t)
{
	return 4 + ((t->flags & L2_TUN_CSUM) ? 4 : 0) + ((t->flags & L2_TUN_KEY) ? 4 : 0);
}

static __always_inline int l2_is_gso(l2_ctx *ctx) { return ctx_gso_size(ctx) != 0; }

/* The outer headers as they go on the wire. */
struct l2_gre_outer {
	struct iphdr ip;
	struct l2_grehdr gre;
	__be32 opt[2];          /* checksum word, key (each only when configured) */
};

/* GRE checksum over [from, end): the bytes as they are, or, when the inner
 * TCP/UDP checksum is still pending, as they will be once it is filled in
 * (then [csum_start, end) sums to the complement of the value waiting in
 * its field, whatever the data). */
static __always_inline int l2_gre_csum(l2_ctx *ctx, __u32 from, __u32 end, __u16 *out)
{
	__u32 start, field;
	__u16 pending;
	__u64 s;
	int ok;

	if (!ctx_csum_partial_at(ctx, &start, &field) && start > from && field + 2 <= end) {
		if (ctx_load(ctx, field, &pending, 2))
			return -1;
		s = l2_csum_range(ctx, from, start, (__u16)~pending, &ok);
	} else {
		s = l2_csum_range(ctx, from, end, 0, &ok);
	}
	*out = l2_csum_fold(s);
	return ok ? 0 : -1;
}

/* Wraps the IP packet of this frame in IPv4 + GRE. 0 on success. */
static __always_inline int l2_gre_encap(l2_ctx *ctx, const struct l2_pkt *p, const struct l2_local *lc,
					const struct l2_tunnel *t)
{
	__u32 l2 = p->l2_len & 0x1f, glen = l2_gre_len(t) & 0xc, outer = 20 + glen;
	__u32 frame = ctx_len(ctx), inner, tot;
	int gso = l2_is_gso(ctx);
	struct l2_gre_outer o = {};
	struct l2_hdr h;
	__be32 *opt = o.opt;
	__u16 c;

	inner = gso ? frame - l2 : p->l3_len & 0xffff;
	if (l2 + inner > frame || inner < 20 || l2_hdr_save(ctx, p, &h))
		return -1;
	if (!gso && l2 + inner < frame && ctx_set_len(ctx, l2 + inner))
		return -1; /* Ethernet padding must not ride inside the tunnel */
	if (ctx_encap_room(ctx, outer, p->family == 6, l2_data_tags(p), gso))
		return -1;
	if (l2_hdr_put(ctx, l2_data_tags(p), &h, ETH_P_IP))
		return -1;
	tot = outer + inner;
	o.ip.version = 4;
	o.ip.ihl = 5;
	o.ip.tos = p->tos & 0xfc; /* DSCP carried over, ECN not */
	o.ip.tot_len = bpf_htons(tot > 0xffff ? 0xffff : tot); /* GSO: each segment gets its own */
	o.ip.frag_off = (t->flags & L2_TUN_DF) ? bpf_htons(0x4000) : 0;
	o.ip.ttl = t->ttl;
	o.ip.protocol = IPPROTO_GRE;
	o.ip.saddr = lc->ipv4;
	o.ip.daddr = t->remote;
	o.ip.check = l2_csum_fold(bpf_csum_diff(0, 0, (__be32 *)&o.ip, 20, 0));
	o.gre.flags = bpf_htons(((t->flags & L2_TUN_CSUM) ? GRE_CSUM : 0) | ((t->flags & L2_TUN_KEY) ? GRE_KEY : 0));
	o.gre.proto = bpf_htons(p->family == 6 ? ETH_P_IPV6 : ETH_P_IP);
	if (t->flags & L2_TUN_CSUM)
		opt++; /* checksum word: 0 until computed */
	if (t->flags & L2_TUN_KEY)
		*opt = bpf_htonl(t->key);
	if (ctx_store(ctx, l2, &o, outer))
		return -1;
	if (t->flags & L2_TUN_CSUM) {
		if (l2_gre_csum(ctx, l2 + 20, l2 + outer + inner, &c) || ctx_store(ctx, l2 + 24, &c, 2))
			return -1;
	}
	return 0;
}

/* A packet of a flow never seen (the far end opened it, as with two l2bpf
 * boxes as a GRE pair) may still go to a host the box has learned: its MAC
 * and port from the neighbour table, sent from the MAC that delivered the
 * tunnel packet (the router on this segment), with that frame's VLAN tags. */
static __always_inline int l2_flow_from_neigh(const struct l2_pkt *in, const struct l2_pkt *outer,
					      const __u8 *from_mac, struct l2_flow *fl)
{
	struct l2_neigh *n = bpf_map_lookup_elem(&l2_neigh, in->dst);

	if (!n)
		return 0;
	__builtin_memset(fl, 0, sizeof(*fl));
	__builtin_memcpy(fl->src_mac, n->mac, 6);
	__builtin_memcpy(fl->dst_mac, from_mac, 6);
	fl->vlan_tpid[0] = outer->tpid[0];
	fl->vlan_tpid[1] = outer->tpid[1];
	fl->vlan_tci[0] = outer->tci[0];
	fl->vlan_tci[1] = outer->tci[1];
	fl->ifindex = n->ifindex;
	return 1;
}

#define L2_VIA_FLOW 0   /* a reply: the flow's origin */
#define L2_VIA_ICMP 1   /* an ICMP error: the origin of the flow it quotes */
#define L2_VIA_NEIGH 2  /* a flow never seen: a learned neighbour */

/* Where an unwrapped packet goes (*via says how it was found). Returns 0,
 * or the drop reason. */
static __always_inline int l2_decap_target(l2_ctx *ctx, const struct l2_pkt *in, const struct l2_pkt *p,
					   const __u8 *from_mac, struct l2_flow *fl, int *via)
{
	struct l2_flow_key k;
	struct l2_flow *f;
	struct l2_pkt q;

	*via = L2_VIA_FLOW;
	if (!l2_icmp_quote(ctx, in, &q)) {
		l2_flow_key(&q, &k, 0); /* the quote is the flow as its origin sent it */
		f = bpf_map_lookup_elem(&l2_flows, &k);
		if (!f)
			return L2_DROP_ICMP_NO_FLOW;
		*via = L2_VIA_ICMP;
	} else {
		l2_flow_key(in, &k, 1);
		f = bpf_map_lookup_elem(&l2_flows, &k);
	}
	if (f) {
		l2_follow_moves(f);
		*fl = *f;
		return 0;
	}
	if (l2_flow_from_neigh(in, p, from_mac, fl)) {
		*via = L2_VIA_NEIGH;
		return 0;
	}
	return L2_DROP_FLOW_MISS;
}

/* GRE addressed to local: unwrap and send on, or drop (counted). */
static __always_inline void l2_gre_decap(l2_ctx *ctx, struct l2_pkt *p, struct l2_decision *d)
{
	void *data, *end;
	__u32 off, outer_end, tid, gflags, hdr = 4, key = 0, new_l2, inner_len, strip, *id;
	struct l2_pkt in = {};
	struct l2_flow fl;
	struct l2_tunnel *t;
	struct l2_tunnel_stats *ts;
	struct l2_grehdr gre;
	__u8 from_mac[6];
	l2_ipv4 remote;
	int gso = l2_is_gso(ctx), moved, why, via;
	__u16 proto;

	if (p->frag)
		return l2_drop_for(d, L2_DROP_OUTER_FRAG, 0);
	__builtin_memcpy(&remote, p->src + 12, 4);
	id = bpf_map_lookup_elem(&l2_tun_remote, &remote);
	if (!id)
		return l2_drop_for(d, L2_DROP_GRE_REMOTE, 0);
	tid = *id;
	t = bpf_map_lookup_elem(&l2_tunnels, &tid);
	if (!t)
		return l2_drop_for(d, L2_DROP_GRE_REMOTE, 0);
	ts = l2_tun_stats_of(tid);
	/* TC: tags go first (one in metadata would be sent again); the
	 * flow's tags are rebuilt in the data below. */
	moved = ctx_vlan_strip(ctx);
	if (moved < 0)
		return l2_drop_for(d, L2_DROP_MALFORMED, tid);
	p->l2_len -= moved;
	p->l4_off -= moved;
	off = p->l4_off & 0x7f;
	outer_end = (p->l2_len + p->l3_len) & 0xffff;
	if (gso)
		outer_end = ctx_len(ctx);
	if (ctx_load(ctx, off, &gre, sizeof(gre)) || outer_end > ctx_len(ctx))
		return l2_drop_for(d, L2_DROP_GRE_TRUNCATED, tid);
	gflags = bpf_ntohs(gre.flags);
	proto = bpf_ntohs(gre.proto);
	if (gflags & GRE_VERSION)
		return l2_drop_for(d, L2_DROP_GRE_VERSION, tid);
	if (gflags & (GRE_ROUTING | GRE_STRICT | GRE_RECUR))
		return l2_drop_for(d, L2_DROP_GRE_FLAGS, tid);
	if (gflags & GRE_CSUM)
		hdr += 4;
	if (gflags & GRE_KEY) {
		__be32 kv;
		if (ctx_load(ctx, off + hdr, &kv, 4))
			return l2_drop_for(d, L2_DROP_GRE_TRUNCATED, tid);
		key = bpf_ntohl(kv);
		hdr += 4;
	}
	if (!!(gflags & GRE_KEY) != !!(t->flags & L2_TUN_KEY) || key != ((t->flags & L2_TUN_KEY) ? t->key : 0))
		return l2_drop_for(d, L2_DROP_GRE_KEY, tid);
	if (gflags & GRE_SEQ)
		hdr += 4; /* sequence numbers are not enforced (RFC 2890 allows it) */
	if (proto != ETH_P_IP && proto != ETH_P_IPV6)
		return l2_drop_for(d, L2_DROP_GRE_PROTO, tid);
	/* GRO verified each merged segment's checksum; a pending inner
	 * checksum means the packet was made on this host: like the kernel,
	 * trust both. */
	if ((gflags & GRE_CSUM) && !gso && ctx_csum_state(ctx) != L2_CSUM_PARTIAL) {
		int ok;
		if (l2_csum_fold(l2_csum_range(ctx, off, outer_end, 0, &ok)) != 0 || !ok)
			return l2_drop_for(d, L2_DROP_GRE_CSUM, tid);
	}
	if (ctx_load(ctx, 6, from_mac, 6))
		return l2_drop_for(d, L2_DROP_GRE_TRUNCATED, tid);

	/* the inner packet, parsed as if it started the frame's L3 */
	data = ctx_data(ctx);
	end = ctx_data_end(ctx);
	in.l2_len = (off + hdr) & 0xff;
	/* an inner length shorter than its own header is no packet (found by the fuzzer) */
	if ((proto == ETH_P_IP ? l2_parse_ipv4(data, end, &in) : l2_parse_ipv6(data, end, &in)) ||
	    (!gso && in.l2_len + in.l3_len > outer_end) ||
	    in.l3_len < (proto == ETH_P_IP ? in.ihl : 40))
		return l2_drop_for(d, L2_DROP_GRE_TRUNCATED, tid);
	why = l2_decap_target(ctx, &in, p, from_mac, &fl, &via);
	if (why)
		return l2_drop_for(d, why, tid);

	/* strip: [old l2][outer ip][gre] -> [l2 from the flow], drop outer padding */
	new_l2 = 14 + 4 * (fl.vlan_tpid[0] ? 1 : 0) + 4 * (fl.vlan_tpid[1] ? 1 : 0);
	inner_len = gso ? ctx_len(ctx) - in.l2_len : in.l3_len & 0xffff;
	if (!gso && in.l2_len + inner_len < ctx_len(ctx) && ctx_set_len(ctx, in.l2_len + inner_len))
		return l2_drop_for(d, L2_DROP_GRE_TRUNCATED, tid);
	strip = in.l2_len - new_l2;
	if (in.l2_len < new_l2 || ctx_decap_room(ctx, strip, proto == ETH_P_IPV6))
		return l2_drop_for(d, L2_DROP_GRE_TRUNCATED, tid);
	{
		struct l2_hdr h = {};
		__be16 tag[4] = { bpf_htons(fl.vlan_tpid[0]), bpf_htons(fl.vlan_tci[0]),
				  bpf_htons(fl.vlan_tpid[1]), bpf_htons(fl.vlan_tci[1]) };
		__builtin_memcpy(h.b, fl.src_mac, 6);     /* back to whoever sent the flow */
		__builtin_memcpy(h.b + 6, fl.dst_mac, 6); /* from the MAC it was sent to */
		__builtin_memcpy(h.b + 12, tag, 8);
		if (l2_hdr_put(ctx, (fl.vlan_tpid[0] ? 1 : 0) + (fl.vlan_tpid[1] ? 1 : 0), &h, proto))
			return l2_drop_for(d, L2_DROP_MALFORMED, tid);
	}
	/* a SYN-ACK coming back gets the same MSS limit as the SYN going in */
	in.l4_off = in.l4_off - strip;
	in.l2_len = new_l2;
	l2_clamp_mss(ctx, &in, t->mtu - (proto == ETH_P_IP ? 40 : 60));
	if (ts) {
		ts->decap_packets++;
		ts->decap_bytes += inner_len;
		ts->decap_neigh += via == L2_VIA_NEIGH;
		ts->icmp_in += via == L2_VIA_ICMP;
		ts->gso_decap += gso;
	}
	l2_to_port(d, fl.ifindex);
}

#endif /* L2BPF_GRE_H */
