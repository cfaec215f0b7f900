/* SPDX-License-Identifier: MIT */
/* Tunnel MTU: clamp the MSS of TCP SYN/SYN-ACK so TCP never needs more, and
 * answer anything too big with ICMP frag-needed / packet-too-big (rate
 * limited) built in place from the offending packet. Never a silent hole:
 * what cannot be answered is counted by reason. */
#ifndef L2BPF_MTU_H
#define L2BPF_MTU_H

#include "parse.h"
#include "csum.h"
#include "counters.h"
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

/* Lower the MSS option of a SYN to at most mss. */
static __always_inline void l2_clamp_mss(struct xdp_md *ctx, struct l2_pkt *p, __u16 mss)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 l4 = p->l4_off & 0x3ff, k = 0;
	struct tcphdr *th = data + l4;
	struct l2_mss_walk w = { .at = ~0U };
	struct l2_scratch *s;
	__u16 old, new;

	if (p->l4_proto != IPPROTO_TCP || !p->l4_off || p->frag || (void *)(th + 1) > end || !th->syn)
		return;
	w.len = (th->doff * 4 - 20) & 0x3f;
	s = bpf_map_lookup_elem(&l2_scratch, &k);
	if (!s || w.len < 4 || w.len > 40 || bpf_xdp_load_bytes(ctx, l4 + 20, s->b, w.len))
		return;
	bpf_loop(40, l2_mss_step, &w, 0);
	if (w.at > 38)
		return;
	if (bpf_xdp_load_bytes(ctx, l4 + 20 + w.at, &old, 2) || bpf_ntohs(old) <= mss)
		return;
	new = bpf_htons(mss);
	if (bpf_xdp_store_bytes(ctx, l4 + 20 + w.at, &new, 2))
		return;
	if (w.at & 1) { /* odd offset: the value straddles two checksum words */
		old = (old >> 8) | (old << 8);
		new = (new >> 8) | (new << 8);
	}
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	th = data + l4;
	if ((void *)(th + 1) <= end)
		th->check = l2_csum_replace16(th->check, old, new);
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

/* Turns the frame into an ICMP error back to its sender, quoting
 * the offending header and 8 bytes. Returns 0 on success. */
static __always_inline int l2_icmp_too_big(struct xdp_md *ctx, struct l2_pkt *p, struct l2_local *lc,
					   const __u8 *port_mac, __u32 mtu)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 l2 = p->l2_len & 0x1f, quote, hdr, total;
	struct l2_hdr h;
	int ok;

	if (p->family == 4)
		quote = (p->ihl & 0x3c) + 8, hdr = sizeof(struct l2_icmp4_err);
	else
		quote = 40 + 8, hdr = sizeof(struct l2_icmp6_err);
	if (l2 + quote > bpf_xdp_get_buff_len(ctx) || l2_hdr_save(ctx, p, &h))
		return -1;
	/* reply to the sender, from this port */
	__builtin_memcpy(h.b, h.b + 6, 6);
	__builtin_memcpy(h.b + 6, port_mac, 6);
	total = l2 + hdr + quote;
	if (bpf_xdp_adjust_head(ctx, -(int)hdr))
		return -1;
	if (bpf_xdp_adjust_tail(ctx, (int)total - (int)bpf_xdp_get_buff_len(ctx)))
		return -1;
	if (l2_hdr_put(ctx, p->ntags, &h, p->family == 4 ? ETH_P_IP : ETH_P_IPV6))
		return -1;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (p->family == 4) {
		struct l2_icmp4_err *e = data + l2;
		if ((void *)(e + 1) > end)
			return -1;
		e->ip.version = 4;
		e->ip.ihl = 5;
		e->ip.tos = 0xc0;
		e->ip.tot_len = bpf_htons(hdr + quote);
		e->ip.id = 0;
		e->ip.frag_off = 0;
		e->ip.ttl = 64;
		e->ip.protocol = IPPROTO_ICMP;
		e->ip.check = 0;
		e->ip.saddr = lc->ipv4;
		__builtin_memcpy(&e->ip.daddr, p->src + 12, 4);
		e->ip.check = l2_csum_fold(bpf_csum_diff(0, 0, (__be32 *)&e->ip, 20, 0));
		e->type = ICMP_DEST_UNREACH;
		e->code = ICMP_FRAG_NEEDED;
		e->csum = 0;
		e->unused = 0;
		e->mtu = bpf_htons(mtu);
		e->csum = l2_csum_fold(l2_csum_range(ctx, l2 + 20, total, 0, &ok));
	} else {
		struct l2_icmp6_err *e = data + l2;
		__u64 pseudo;
		if ((void *)(e + 1) > end)
			return -1;
		e->ip6.version = 6;
		e->ip6.priority = 0;
		__builtin_memset(e->ip6.flow_lbl, 0, 3);
		e->ip6.payload_len = bpf_htons(8 + quote);
		e->ip6.nexthdr = IPPROTO_ICMPV6;
		e->ip6.hop_limit = 64;
		__builtin_memcpy(&e->ip6.saddr, lc->ipv6, 16);
		__builtin_memcpy(&e->ip6.daddr, p->src, 16);
		e->type = ICMPV6_PKT_TOOBIG;
		e->code = 0;
		e->csum = 0;
		e->mtu = bpf_htonl(mtu);
		pseudo = bpf_csum_diff(0, 0, (__be32 *)&e->ip6.saddr, 32, 0) + bpf_htonl(8 + quote) + bpf_htonl(IPPROTO_ICMPV6);
		e->csum = l2_csum_fold(l2_csum_range(ctx, l2 + 40, total, pseudo, &ok));
	}
	return ok ? 0 : -1;
}

/* Packet over the tunnel MTU: an ICMP error goes back out the port or the
 * packet is dropped; either way it is counted by reason. */
static __always_inline int l2_too_big(struct xdp_md *ctx, struct l2_pkt *p, struct l2_local *lc,
				      struct l2_port_stats *ps, __u32 tunnel, const __u8 *port_mac,
				      __u32 mtu, __u64 len)
{
	if ((p->family == 4 && !p->df) || (p->family == 6 && !lc->ipv6_plen))
		return l2_tun_drop(ps, tunnel, len, L2_DROP_TOO_BIG_NOICMP, XDP_DROP);
	if (!l2_icmp_allowed())
		return l2_tun_drop(ps, tunnel, len, L2_DROP_ICMP_LIMIT, XDP_DROP);
	if (l2_icmp_too_big(ctx, p, lc, port_mac, mtu))
		return l2_tun_drop(ps, tunnel, len, L2_DROP_TOO_BIG_NOICMP, XDP_DROP);
	return l2_tun_drop(ps, tunnel, len, L2_DROP_TOO_BIG, l2_back_out(ctx));
}

#endif /* L2BPF_MTU_H */
