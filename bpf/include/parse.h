/* SPDX-License-Identifier: MIT */
/* Header parsing for the wire: Ethernet, up to two VLAN tags (802.1Q/ad),
 * IPv4 or IPv6 (extension headers skipped), then ports or the ICMP echo id.
 * Everything is read from the linear part; a frame whose headers do not fit
 * there is simply not parsed (the wire still bridges it). On TC the first
 * tag may be in skb metadata: it counts as tag 0 but takes no data bytes
 * (l2_len and l2_data_tags() count only the data). */
#ifndef L2BPF_PARSE_H
#define L2BPF_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmpv6.h>
#include <bpf/bpf_endian.h>
#include "l2bpf_types.h"
#include "ctx.h"

/* ICMP (linux/icmp.h pulls in libc headers that a BPF build cannot use) */
struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	union {
		struct { __be16 id; __be16 sequence; } echo;
		__be32 gateway;
	} un;
};
#define ICMP_ECHOREPLY    0
#define ICMP_DEST_UNREACH 3
#define ICMP_FRAG_NEEDED  4
#define ICMP_ECHO         8

#define L2_MAX_TAGS 2

/* Hides x's origin from the compiler so a bounds check it thinks redundant
 * stays in: the verifier tracks each packet pointer on its own. */
#define l2_barrier_var(x) asm volatile("" : "+r"(x))
#define L2_IP6_EXT_MAX 3

struct l2_vlan { __be16 tci; __be16 proto; };

struct l2_pkt {
	__u32 l2_len;          /* Ethernet + tags: where L3 starts */
	__u32 l4_off;          /* 0 when no L4 header was found */
	__u32 l3_len;          /* IP packet length from its header */
	__u16 proto;           /* innermost ethertype, host order */
	__u16 sport, dport;    /* host order; ICMP echo id in both */
	__u16 tpid[L2_MAX_TAGS];
	__u16 tci[L2_MAX_TAGS];
	__u8 ntags;            /* all tags, outermost first */
	__u8 hwtag;            /* tag 0 is in skb metadata, not in the data (TC) */
	__u8 family;           /* 4, 6, 0 = not IP */
	__u8 l4_proto;
	__u8 frag;             /* part of a fragmented datagram: no ports */
	__u8 df;               /* IPv4 DF (IPv6: always 1) */
	__u8 tos;
	__u8 icmp_type;
	__u8 ihl;              /* IPv4 header bytes */
	__u8 tcp_flags;        /* TCP: the flags byte */
	__u8 pad[3];
	l2_ipv6 src, dst;      /* IPv4 as ::ffff:a.b.c.d */
};

static __always_inline __u32 l2_data_tags(const struct l2_pkt *p) { return p->ntags - p->hwtag; }

static __always_inline void l2_v4mapped(l2_ipv6 out, __be32 a)
{
	__builtin_memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	__builtin_memcpy(out + 12, &a, 4);
}

static __always_inline void l2_parse_l4(void *data, void *end, struct l2_pkt *p)
{
	void *l4 = data + (p->l4_off & 0x3ff);

	if (p->frag)
		return;
	if (p->l4_proto == IPPROTO_TCP || p->l4_proto == IPPROTO_UDP) {
		struct udphdr *u = l4; /* ports sit at the same place in both */
		if ((void *)(u + 1) > end) { p->l4_off = 0; return; }
		p->sport = bpf_ntohs(u->source);
		p->dport = bpf_ntohs(u->dest);
		if (p->l4_proto == IPPROTO_TCP && l4 + 14 <= end)
			p->tcp_flags = ((__u8 *)l4)[13];
	} else if (p->l4_proto == IPPROTO_ICMP || p->l4_proto == IPPROTO_ICMPV6) {
		struct icmphdr *ic = l4; /* type, code, csum, id: same for ICMPv6 echo */
		if ((void *)(ic + 1) > end) { p->l4_off = 0; return; }
		p->icmp_type = ic->type;
		if (ic->type == ICMP_ECHO || ic->type == ICMP_ECHOREPLY ||
		    ic->type == ICMPV6_ECHO_REQUEST || ic->type == ICMPV6_ECHO_REPLY)
			p->sport = p->dport = bpf_ntohs(ic->un.echo.id);
	}
}

static __always_inline int l2_parse_ipv4(void *data, void *end, struct l2_pkt *p)
{
	struct iphdr *ip = data + (p->l2_len & 0xff);

	if ((void *)(ip + 1) > end || ip->ihl < 5 || ip->version != 4)
		return -1;
	p->family = 4;
	p->ihl = ip->ihl * 4;
	p->l4_off = (p->l2_len & 0xff) + p->ihl;
	p->l3_len = bpf_ntohs(ip->tot_len);
	p->l4_proto = ip->protocol;
	p->tos = ip->tos;
	p->df = !!(ip->frag_off & bpf_htons(0x4000));
	p->frag = !!(ip->frag_off & bpf_htons(0x3fff));
	l2_v4mapped(p->src, ip->saddr);
	l2_v4mapped(p->dst, ip->daddr);
	l2_parse_l4(data, end, p);
	return 0;
}

static __always_inline int l2_parse_ipv6(void *data, void *end, struct l2_pkt *p)
{
	struct ipv6hdr *ip6 = data + (p->l2_len & 0xff);
	__u32 off = (p->l2_len & 0xff) + sizeof(*ip6);
	__u8 nh;

	if ((void *)(ip6 + 1) > end || ip6->version != 6)
		return -1;
	p->family = 6;
	p->df = 1;
	p->l3_len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	p->tos = (ip6->priority << 4) | (ip6->flow_lbl[0] >> 4);
	__builtin_memcpy(p->src, &ip6->saddr, 16);
	__builtin_memcpy(p->dst, &ip6->daddr, 16);
	nh = ip6->nexthdr;
#pragma unroll
	for (int i = 0; i < L2_IP6_EXT_MAX; i++) {
		__u8 *ext = data + off;
		if (nh != IPPROTO_HOPOPTS && nh != IPPROTO_ROUTING && nh != IPPROTO_DSTOPTS &&
		    nh != IPPROTO_FRAGMENT)
			break;
		if ((void *)(ext + 8) > end)
			return 0;
		if (nh == IPPROTO_FRAGMENT) {
			p->frag = 1;
			off += 8;
		} else {
			off += (ext[1] + 1) * 8;
		}
		nh = ext[0];
		if (off > 512) /* keeps the offset bounded for the verifier */
			return 0;
	}
	p->l4_proto = nh;
	p->l4_off = off;
	l2_parse_l4(data, end, p);
	return 0;
}

/* Headers of anything we parse fit in this many bytes (TC makes them linear). */
#ifndef L2_PARSE_LINEAR
#define L2_PARSE_LINEAR 128
#endif

/* Returns -1 when there is not even an Ethernet header in the linear part. */
static __always_inline int l2_parse_frame(void *data, void *end, struct l2_pkt *p)
{
	struct ethhdr *eth = data;
	__u16 proto;

	if ((void *)(eth + 1) > end)
		return -1;
	proto = bpf_ntohs(eth->h_proto);
	p->l2_len = sizeof(*eth);
#pragma unroll
	for (int i = 0; i < L2_MAX_TAGS; i++) {
		struct l2_vlan *v = data + (p->l2_len & 0xff);
		if (proto != ETH_P_8021Q && proto != ETH_P_8021AD)
			break;
		if (p->ntags >= L2_MAX_TAGS)
			break;
		if ((void *)(v + 1) > end)
			return 0;
		p->tpid[p->ntags & 1] = proto;
		p->tci[p->ntags & 1] = bpf_ntohs(v->tci);
		proto = bpf_ntohs(v->proto);
		p->l2_len += sizeof(*v);
		p->ntags++;
	}
	p->proto = proto;
	if (proto == ETH_P_IP)
		l2_parse_ipv4(data, end, p);
	else if (proto == ETH_P_IPV6)
		l2_parse_ipv6(data, end, p);
	return 0;
}

/* The frame of ctx: a tag the kernel holds in metadata first, then the data. */
static __always_inline int l2_parse(l2_ctx *ctx, struct l2_pkt *p)
{
	__u16 tpid, tci;

	if (ctx_hw_vlan(ctx, &tpid, &tci)) {
		p->tpid[0] = tpid;
		p->tci[0] = tci;
		p->ntags = 1;
		p->hwtag = 1;
	}
	if (ctx_pull(ctx, L2_PARSE_LINEAR))
		return -1;
	return l2_parse_frame(ctx_data(ctx), ctx_data_end(ctx), p);
}

#endif /* L2BPF_PARSE_H */
