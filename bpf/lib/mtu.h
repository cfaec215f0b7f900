/* SPDX-License-Identifier: MIT */
/* Tunnel MTU: clamp the MSS of TCP SYN/SYN-ACK so TCP never needs more, and
 * answer anything too big with ICMP frag-needed / packet-too-big (rate
 * limited) built in place from the offending packet. Never a silent hole:
 * what cannot be answered is counted by reason. A GSO packet is too big
 * when one of the segments it will be cut into is. */
#ifndef L2BPF_MTU_H
#define L2BPF_MTU_H

#include "parse.h"
#include "csum.h"
#include "decision.h"
#include "l2hdr.h"

#define L2_ICMP_RATE   100ULL    /* errors per second per CPU */
#define L2_ICMP_BURST  100ULL

static __always_inline int l2_icmp_allowed(void)
{
	__u32 k = 0;
	struct l2_icmp_bucket *b = bpf_map_lookup_elem(&l2_icmp_rl, &k);
	__u64 now = bpf_ktime_get_ns(), add;

	if (!b)
		return 0;
	add = (now - b->last_ns) * L2_ICMP_RATE / 1000000000ULL;
	if (add) {
		b->tokens = b->tokens + add > L2_ICMP_BURST ? L2_ICMP_BURST : b->tokens + add;
		b->last_ns = now;
	}
	if (!b->tokens)
		return 0;
	b->tokens--;
	return 1;
}

/* Largest L3 packet this frame is or will be cut into: for GSO, one
 * segment's headers plus gso_size. */
static __always_inline __u32 l2_l3_seg_len(l2_ctx *ctx, const struct l2_pkt *p)
{
	__u32 gso = ctx_gso_size(ctx), hdrs, th_len = 0;
	__u8 doff;

	if (!gso || ctx_gso_segs(ctx) == 1)
		return p->l3_len;
	if (p->l4_proto == IPPROTO_TCP && p->l4_off && !ctx_load(ctx, (p->l4_off & 0x3ff) + 12, &doff, 1))
		th_len = (doff >> 4) * 4;
	else if (p->l4_proto == IPPROTO_UDP)
		th_len = 8;
	hdrs = (p->l4_off - p->l2_len) + th_len;
	return hdrs + gso;
}

struct l2_mss_walk {
	__u32 i;        /* option byte being looked at */
	__u32 len;      /* option bytes copied to scratch */
	__u32 at;       /* offset of the MSS value in the options, or ~0 */
};

/* One TCP option per step, read from the scratch copy of the options. */
static long l2_mss_step(__u32 n, struct l2_mss_walk *w)
{
	__u32 k = 0, i = w->i;
	struct l2_scratch *s = bpf_map_lookup_elem(&l2_scratch, &k);
	__u8 kind, olen;

	if (!s || i >= w->len || i > 39)
		return 1;
	kind = s->b[i & 63];
	if (kind == 0)
		return 1;
	if (kind == 1) { /* NOP */
		w->i = i + 1;
		return 0;
	}
	if (i + 1 >= w->len)
		return 1;
	olen = s->b[(i + 1) & 63];
	if (olen < 2)
		return 1;
	if (kind == 2 && olen == 4 && i + 4 <= w->len) {
		w->at = i + 2;
		return 1;
	}
	w->i = i + olen;
	return 0;
}

/* Lower the MSS option of a SYN (or SYN-ACK) to at most mss. Returns 1
 * when it was lowered. The checksum is fixed the way the packet's state
 * wants (nothing to do when it is still pending). */
static __always_inline int l2_clamp_mss(l2_ctx *ctx, const struct l2_pkt *p, __u16 mss)
{
	__u32 l4 = p->l4_off & 0x3ff, k = 0;
	struct l2_mss_walk w = { .at = ~0U };
	struct l2_scratch *s;
	__u8 doff;
	__u16 old, new;

	if (p->l4_proto != IPPROTO_TCP || !p->l4_off || p->frag || !(p->tcp_flags & 0x02 /* SYN */))
		return 0;
	if (ctx_load(ctx, l4 + 12, &doff, 1))
		return 0;
	w.len = ((doff >> 4) * 4 - 20) & 0x3f;
	s = bpf_map_lookup_elem(&l2_scratch, &k);
	if (!s || w.len < 4 || w.len > 40 || ctx_load(ctx, l4 + 20, s->b, w.len))
		return 0;
	bpf_loop(40, l2_mss_step, &w, 0);
	if (w.at > 38)
		return 0;
	if (ctx_load(ctx, l4 + 20 + w.at, &old, 2) || bpf_ntohs(old) <= mss)
		return 0;
	new = bpf_htons(mss);
	if (ctx_store_raw(ctx, l4 + 20 + w.at, &new, 2))
		return 0;
	if (w.at & 1) { /* odd offset: the value straddles two checksum words */
		old = (old >> 8) | (old << 8);
		new = (new >> 8) | (new << 8);
	}
	ctx_l4_csum_replace16(ctx, l4 + 16, old, new);
	return 1;
}

struct l2_icmp4_err {
	struct iphdr ip;
	__u8 type, code;
	__be16 csum;
	__be16 unused;
	__be16 mtu;
};
struct l2_icmp6_err {
	struct ipv6hdr ip6;
	__u8 type, code;
	__be16 csum;
	__be32 mtu;
};

/* A quoted TCP/UDP header whose checksum is still pending (TC,
 * CHECKSUM_PARTIAL) gets filled in by whoever transmits the frame, over
 * [start, end): that would change the bytes our ICMP checksum covers.
 * Writing the value that computation yields (F with ~(sum + F) = F, i.e.
 * F = half of ~sum in one's complement: a right rotation) makes the frame
 * the same whether or not anyone does it. */
static __always_inline int l2_fix_pending_csum(l2_ctx *ctx, __u32 total)
{
	__u32 start, field;
	__u16 zero = 0, f;
	int ok;

	if (ctx_csum_partial_at(ctx, &start, &field))
		return 0;
	if (field + 2 > total || start >= total)
		return -1;
	if (ctx_store_raw(ctx, field, &zero, 2))
		return -1;
	f = l2_csum_fold(l2_csum_range(ctx, start, total, 0, &ok));
	if (!ok)
		return -1;
	f = (__u16)((f >> 1) | (f << 15));
	return ctx_store_raw(ctx, field, &f, 2) ? -1 : 0;
}

/* Turns the frame into an ICMP error back to its sender, quoting the
 * offending header and 8 bytes (more when a pending checksum must stay in
 * the quote). Returns 0 on success, -1 when nothing was changed, -2 when
 * the frame was changed and is now unusable. */
static __always_inline int l2_icmp_too_big(l2_ctx *ctx, const struct l2_pkt *p, const struct l2_local *lc,
					   const __u8 *port_mac, __u32 mtu)
{
	__u32 l2 = p->l2_len & 0x1f, quote, hdr, total, start, field;
	struct l2_hdr h;
	int ok;

	if (p->family == 4)
		quote = (p->ihl & 0x3c) + 8, hdr = sizeof(struct l2_icmp4_err);
	else
		quote = 40 + 8, hdr = sizeof(struct l2_icmp6_err);
	if (!ctx_csum_partial_at(ctx, &start, &field) && field + 2 > l2 + quote)
		quote = field + 2 - l2;
	if (quote > (p->family == 4 ? 548 : 1232) || l2 + quote > ctx_len(ctx) || l2_hdr_save(ctx, p, &h))
		return -1;
	/* reply to the sender, from this port */
	__builtin_memcpy(h.b, h.b + 6, 6);
	__builtin_memcpy(h.b + 6, port_mac, 6);
	total = l2 + hdr + quote;
	if (ctx_set_len(ctx, l2 + quote))
		return -1;
	if (ctx_push_front(ctx, hdr))
		return -2;
	if (l2_hdr_put(ctx, l2_data_tags(p), &h, p->family == 4 ? ETH_P_IP : ETH_P_IPV6))
		return -2;
	if (l2_fix_pending_csum(ctx, total))
		return -2;
	if (p->family == 4) {
		struct l2_icmp4_err e = {};
		e.ip.version = 4;
		e.ip.ihl = 5;
		e.ip.tos = 0xc0;
		e.ip.tot_len = bpf_htons(hdr + quote);
		e.ip.ttl = 64;
		e.ip.protocol = IPPROTO_ICMP;
		e.ip.saddr = lc->ipv4;
		__builtin_memcpy(&e.ip.daddr, p->src + 12, 4);
		e.ip.check = l2_csum_fold(bpf_csum_diff(0, 0, (__be32 *)&e.ip, 20, 0));
		e.type = ICMP_DEST_UNREACH;
		e.code = ICMP_FRAG_NEEDED;
		e.mtu = bpf_htons(mtu);
		if (ctx_store(ctx, l2, &e, sizeof(e)))
			return -2;
		e.csum = l2_csum_fold(l2_csum_range(ctx, l2 + 20, total, 0, &ok));
		if (!ok || ctx_store(ctx, l2 + 22, &e.csum, 2))
			return -2;
	} else {
		struct l2_icmp6_err e = {};
		__u64 pseudo;
		e.ip6.version = 6;
		e.ip6.payload_len = bpf_htons(8 + quote);
		e.ip6.nexthdr = IPPROTO_ICMPV6;
		e.ip6.hop_limit = 64;
		__builtin_memcpy(&e.ip6.saddr, lc->ipv6, 16);
		__builtin_memcpy(&e.ip6.daddr, p->src, 16);
		e.type = ICMPV6_PKT_TOOBIG;
		e.mtu = bpf_htonl(mtu);
		if (ctx_store(ctx, l2, &e, sizeof(e)))
			return -2;
		pseudo = bpf_csum_diff(0, 0, (__be32 *)&e.ip6.saddr, 32, 0) + bpf_htonl(8 + quote) + bpf_htonl(IPPROTO_ICMPV6);
		e.csum = l2_csum_fold(l2_csum_range(ctx, l2 + 40, total, pseudo, &ok));
		if (!ok || ctx_store(ctx, l2 + 42, &e.csum, 2))
			return -2;
	}
	return 0;
}

/* Packet over the tunnel MTU: an ICMP error goes back out the port or the
 * packet is dropped; either way it is counted by reason. */
static __always_inline void l2_too_big(l2_ctx *ctx, const struct l2_pkt *p, const struct l2_local *lc,
				       struct l2_decision *d, __u32 tunnel, const __u8 *port_mac, __u32 mtu)
{
	int r;

	if ((p->family == 4 && !p->df) || (p->family == 6 && !lc->ipv6_plen))
		return l2_drop_for(d, L2_DROP_TOO_BIG_NOICMP, tunnel);
	if (!l2_icmp_allowed())
		return l2_drop_for(d, L2_DROP_ICMP_LIMIT, tunnel);
	r = l2_icmp_too_big(ctx, p, lc, port_mac, mtu);
	if (r == -1)
		return l2_drop_for(d, L2_DROP_TOO_BIG_NOICMP, tunnel);
	if (r)
		return l2_drop_for(d, L2_DROP_MALFORMED, tunnel);
	d->verdict = L2_V_ANSWER;
	d->reason = L2_DROP_TOO_BIG; /* an answer that stands for the dropped packet */
	d->tunnel = tunnel;
}

#endif /* L2BPF_MTU_H */
