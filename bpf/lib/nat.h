/* SPDX-License-Identifier: MIT */
/* Stage one of "NAT first, then route" (issue 10, seed 004): a connection
 * table in BPF in place of the kernel's conntrack (cilium's lib/nat.h
 * design: both directions in one LRU, the reply entry inserted first with
 * BPF_NOEXIST so two connections never share a translated tuple), SNAT and
 * masquerade with port allocation (the connection's own source port when
 * free, else RT_PORT_TRIES random ones, collisions and exhaustion counted),
 * DNAT (port forwarding); IPv4 TCP, UDP and ICMP echo (by id). TCP's flags
 * drive the timeouts as conntrack's states do: closing connections expire
 * fast. */
#ifndef L2BPF_NAT_H
#define L2BPF_NAT_H

#include <linux/in.h>
#include <linux/ip.h>
#include "include/ctx.h"
#include "include/csum_fold.h"
#include "router_maps.bpf.h"

#define RT_TCP_FIN 0x01
#define RT_TCP_SYN 0x02
#define RT_TCP_RST 0x04
#define RT_ICMP_ECHO_REPLY 0
#define RT_ICMP_ECHO 8

/* The tuple of an IPv4 packet (header at 14, 20 bytes) NAT can translate:
 * 0, or -1 (another protocol, an ICMP error, a fragment). */
static __always_inline int rt_parse4(l2_ctx *ctx, const struct iphdr *ip4, struct rt_pkt *p)
{
	__u8 b[14];

	__builtin_memset(p, 0, sizeof(*p));
	if (ip4->frag_off & bpf_htons(0x3fff))
		return -1;
	p->t.saddr = ip4->saddr;
	p->t.daddr = ip4->daddr;
	p->t.proto = ip4->protocol;
	p->l4 = 14 + 20;
	if (ip4->protocol == IPPROTO_TCP) {
		if (ctx_load(ctx, p->l4, b, 14))
			return -1;
		__builtin_memcpy(&p->t.sport, b, 2);
		__builtin_memcpy(&p->t.dport, b + 2, 2);
		p->tcp_flags = b[13];
		return 0;
	}
	if (ip4->protocol == IPPROTO_UDP)
		return ctx_load(ctx, p->l4, &p->t.sport, 4) ? -1 : 0;
	if (ip4->protocol == IPPROTO_ICMP) {
		if (ctx_load(ctx, p->l4, b, 8))
			return -1;
		p->icmp_type = b[0];
		if (b[0] == RT_ICMP_ECHO)
			__builtin_memcpy(&p->t.sport, b + 4, 2);
		else if (b[0] == RT_ICMP_ECHO_REPLY)
			__builtin_memcpy(&p->t.dport, b + 4, 2);
		else
			return -1; /* errors: translated with the connection they quote (to come) */
		return 0;
	}
	return -1;
}

#define RT_ICMP_QUOTE (14 + 20 + 8)   /* the quoted IPv4 header */

/* The tuple of the packet an ICMP error quotes (ICMP at 14 + 20), with the
 * quoted header's own length checked. 0, or -1 when it is none we track. */
static __always_inline int rt_parse_quote(l2_ctx *ctx, __u8 type, struct rt_tuple *q)
{
	struct iphdr qh;
	__u8 b[8];

	if (type != 3 && type != 11 && type != 12)
		return -1;
	if (ctx_load(ctx, RT_ICMP_QUOTE, &qh, sizeof(qh)) || qh.version != 4 || qh.ihl != 5 ||
	    ctx_load(ctx, RT_ICMP_QUOTE + 20, b, 8))
		return -1;
	__builtin_memset(q, 0, sizeof(*q));
	q->saddr = qh.saddr;
	q->daddr = qh.daddr;
	q->proto = qh.protocol;
	if (qh.protocol == IPPROTO_TCP || qh.protocol == IPPROTO_UDP) {
		__builtin_memcpy(&q->sport, b, 4);
	} else if (qh.protocol == IPPROTO_ICMP && b[0] == RT_ICMP_ECHO) {
		__builtin_memcpy(&q->sport, b + 4, 2);
	} else if (qh.protocol == IPPROTO_ICMP && b[0] == RT_ICMP_ECHO_REPLY) {
		__builtin_memcpy(&q->dport, b + 4, 2);
	} else {
		return -1;
	}
	return 0;
}

/* RFC 1624 for a 32-bit field. */
static __always_inline __u16 rt_csum_replace32(__u16 c, __be32 from, __be32 to)
{
	c = l2_csum_replace16(c, (__u16)from, (__u16)to);
	return l2_csum_replace16(c, (__u16)(from >> 16), (__u16)(to >> 16));
}

/* Rewrites an ICMP error for the connection it quotes: the outer
 * destination back to the real source, the quoted packet back to what that
 * source sent (addresses, ports or echo id, its IPv4 and TCP/UDP checksums),
 * the ICMP checksum along. Traceroute and PMTU discovery through the NAT. */
static __always_inline int rt_rewrite_err(l2_ctx *ctx, const struct iphdr *ip4, const struct rt_icmp_err *e)
{
	__u32 q = RT_ICMP_QUOTE, l4 = RT_ICMP_QUOTE + 20, coff = 0;
	__u16 ic, qc, lc = 0, nqc, nlc;
	__be16 sp = e->orig.sport, dp = e->orig.dport;
	int echo = e->quoted.proto == IPPROTO_ICMP;

	if (ctx_load(ctx, 14 + 20 + 2, &ic, 2) || ctx_load(ctx, q + 10, &qc, 2))
		return -1;
	if (e->l4_csum) {
		coff = l4 + (e->quoted.proto == IPPROTO_TCP ? 16 : 6);
		if (ctx_load(ctx, coff, &lc, 2))
			return -1;
	}
	/* the quoted header's checksum, and its TCP/UDP checksum (pseudo header + ports) */
	nqc = rt_csum_replace32(rt_csum_replace32(qc, e->quoted.saddr, e->orig.saddr), e->quoted.daddr, e->orig.daddr);
	nlc = lc;
	if (e->l4_csum) {
		nlc = rt_csum_replace32(rt_csum_replace32(lc, e->quoted.saddr, e->orig.saddr), e->quoted.daddr, e->orig.daddr);
		nlc = l2_csum_replace16(l2_csum_replace16(nlc, e->quoted.sport, sp), e->quoted.dport, dp);
	}
	/* the ICMP checksum covers every byte changed inside it */
	ic = rt_csum_replace32(rt_csum_replace32(ic, e->quoted.saddr, e->orig.saddr), e->quoted.daddr, e->orig.daddr);
	ic = l2_csum_replace16(ic, qc, nqc);
	if (echo) {
		ic = l2_csum_replace16(ic, e->quoted.sport | e->quoted.dport, sp | dp); /* the id: one of them is 0 */
	} else {
		ic = l2_csum_replace16(l2_csum_replace16(ic, e->quoted.sport, sp), e->quoted.dport, dp);
		ic = l2_csum_replace16(ic, lc, nlc);
	}
	if (ctx_store_raw(ctx, q + 12, &e->orig.saddr, 4) || ctx_store_raw(ctx, q + 16, &e->orig.daddr, 4) ||
	    ctx_store_raw(ctx, q + 10, &nqc, 2))
		return -1;
	if (echo) {
		sp |= dp;
		if (ctx_store_raw(ctx, l4 + 4, &sp, 2))
			return -1;
	} else if (ctx_store_raw(ctx, l4, &sp, 2) || ctx_store_raw(ctx, l4 + 2, &dp, 2) ||
		   (e->l4_csum && ctx_store_raw(ctx, coff, &nlc, 2))) {
		return -1;
	}
	if (ctx_store_raw(ctx, 14 + 20 + 2, &ic, 2))
		return -1;
	/* the outer destination: the real source */
	if (bpf_l3_csum_replace(ctx, 14 + 10, ip4->daddr, e->orig.saddr, 4))
		return -1;
	return ctx_store_raw(ctx, 14 + 16, &e->orig.saddr, 4) ? -1 : 0;
}

/* Where the L4 checksum sits, and whether it covers the addresses. */
static __always_inline __u32 rt_csum_off(__u8 proto)
{
	return proto == IPPROTO_TCP ? 16 : proto == IPPROTO_UDP ? 6 : 2;
}

static __always_inline int rt_set_addr(l2_ctx *ctx, const struct rt_pkt *p, __u32 off, l2_ipv4 from, l2_ipv4 to, __u64 l4flags)
{
	if (from == to)
		return 0;
	if (bpf_l3_csum_replace(ctx, 14 + 10, from, to, 4))
		return -1;
	if (p->t.proto != IPPROTO_ICMP && bpf_l4_csum_replace(ctx, p->l4 + rt_csum_off(p->t.proto), from, to, l4flags | BPF_F_PSEUDO_HDR | 4))
		return -1;
	return bpf_skb_store_bytes(ctx, off, &to, 4, 0) ? -1 : 0;
}

static __always_inline int rt_set_port(l2_ctx *ctx, const struct rt_pkt *p, __u32 off, __be16 from, __be16 to, __u64 l4flags)
{
	if (from == to)
		return 0;
	if (bpf_l4_csum_replace(ctx, p->l4 + rt_csum_off(p->t.proto), from, to, l4flags | 2))
		return -1;
	return bpf_skb_store_bytes(ctx, off, &to, 2, 0) ? -1 : 0;
}

/* Rewrites the packet from p->t to `to`: addresses, ports (ICMP: the echo
 * id), with the IPv4 and L4 checksums fixed incrementally. */
static __always_inline int rt_rewrite(l2_ctx *ctx, const struct rt_pkt *p, const struct rt_tuple *to)
{
	__u64 f = p->t.proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0; /* UDP without a checksum keeps none */

	if (rt_set_addr(ctx, p, 14 + 12, p->t.saddr, to->saddr, f) || rt_set_addr(ctx, p, 14 + 16, p->t.daddr, to->daddr, f))
		return -1;
	if (p->t.proto == IPPROTO_ICMP) {
		if (p->icmp_type == RT_ICMP_ECHO)
			return rt_set_port(ctx, p, p->l4 + 4, p->t.sport, to->sport, 0);
		return rt_set_port(ctx, p, p->l4 + 4, p->t.dport, to->dport, 0);
	}
	if (rt_set_port(ctx, p, p->l4, p->t.sport, to->sport, f))
		return -1;
	return rt_set_port(ctx, p, p->l4 + 2, p->t.dport, to->dport, f);
}

static __always_inline void rt_reverse(const struct rt_tuple *t, struct rt_tuple *r)
{
	r->saddr = t->daddr;
	r->daddr = t->saddr;
	r->sport = t->dport;
	r->dport = t->sport;
	r->proto = t->proto;
	r->pad[0] = r->pad[1] = r->pad[2] = 0;
}

/* Seconds a connection in this state lives without a packet. */
static __always_inline __u64 rt_timeout_ns(const struct rt_config *cfg, __u8 proto, __u8 state)
{
	__u32 s;

	if (proto == IPPROTO_TCP)
		s = state == RT_CT_CLOSING ? cfg->tcp_closing : state == RT_CT_ESTABLISHED ? cfg->tcp_established : cfg->tcp_syn;
	else if (proto == IPPROTO_UDP)
		s = cfg->udp_timeout;
	else
		s = cfg->icmp_timeout;
	return (__u64)s * 1000000000ULL;
}

static __always_inline int rt_in_ports(__u64 mask, __u32 index)
{
	return !mask || (index < 64 && (mask >> index) & 1);
}

/* The first DNAT rule for a new connection from port `index`: to_addr and
 * to_port into *t. 1 when one matched. */
static __always_inline int rt_match_dnat(const struct rt_config *cfg, __u32 index, struct rt_tuple *t)
{
	struct rt_dnat *r;
	__u32 key;

	for (__u32 i = 0; i < RT_NAT_RULES; i++) {
		if (i >= cfg->n_dnat)
			break;
		key = i; /* not &i: the loop's counter must stay a known number */
		r = bpf_map_lookup_elem(&rt_dnat, &key);
		if (!r || !rt_in_ports(r->in_ports, index) || (r->proto && r->proto != t->proto) || r->dst != t->daddr ||
		    (r->dport && r->dport != bpf_ntohs(t->dport)))
			continue;
		t->daddr = r->to_addr;
		if (r->to_port && t->proto != IPPROTO_ICMP)
			t->dport = bpf_htons(r->to_port);
		return 1;
	}
	return 0;
}

/* The first SNAT rule for a new connection from port `index` routed out of
 * `out`: its source address range into *lo, *hi (masquerade: the out port's
 * address). 1 when one matched, -1 for masquerade out of a port without one. */
static __always_inline int rt_match_snat(const struct rt_config *cfg, __u32 index, __u32 out, const struct rt_tuple *t,
					 l2_ipv4 *lo, l2_ipv4 *hi)
{
	struct rt_port *op;
	struct rt_snat *r;
	__u32 key;

	for (__u32 i = 0; i < RT_NAT_RULES; i++) {
		if (i >= cfg->n_snat)
			break;
		key = i;
		r = bpf_map_lookup_elem(&rt_snat, &key);
		if (!r || !rt_in_ports(r->in_ports, index) || (r->out && r->out != out) || (r->proto && r->proto != t->proto) ||
		    (t->saddr & r->src_mask) != r->src)
			continue;
		if (r->to_min) {
			*lo = r->to_min;
			*hi = r->to_max ? r->to_max : r->to_min;
			return 1;
		}
		op = bpf_map_lookup_elem(&rt_ports, &out);
		if (!op || !op->addr4)
			return -1;
		*lo = *hi = op->addr4;
		return 1;
	}
	return 0;
}

#endif /* L2BPF_NAT_H */
