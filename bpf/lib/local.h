/* SPDX-License-Identifier: MIT */
/* The box's one IP: answer ARP and IPv6 neighbour solicitation for `local`
 * on either port, and ping to it, straight back out the port it came in on
 * (the helpers rewrite the frame and return L2_LOCAL_ANSWER), so routers
 * can reach the tunnel endpoint without a host stack. */
#ifndef L2BPF_LOCAL_H
#define L2BPF_LOCAL_H

/* ARP opcodes (linux/if_arp.h drags in libc headers) */
#define ARPOP_REQUEST 1
#define ARPOP_REPLY 2
#include "parse.h"
#include "csum.h"
#include "l2bpf_maps.bpf.h"

#define L2_LOCAL_NONE (-1)   /* not for us: keep going */
#define L2_LOCAL_ANSWER 1    /* rewritten into the answer: send it back */
#define L2_LOCAL_BROKEN 2    /* a resize failed half-way: the frame is unusable */

struct l2_arp_eth {          /* the IPv4-over-Ethernet ARP body */
	__be16 htype, ptype;
	__u8 hlen, plen;
	__be16 op;
	__u8 sha[6];
	__be32 spa;
	__u8 tha[6];
	__be32 tpa;
} __attribute__((packed));

static __always_inline struct l2_local *l2_local_cfg(void)
{
	__u32 k = 0;
	return bpf_map_lookup_elem(&l2_local, &k);
}

static __always_inline int l2_is_local6(const struct l2_local *lc, const __u8 *a)
{
	return lc->ipv6_plen && !__builtin_memcmp(lc->ipv6, a, 16);
}

/* ARP request for local -> reply from the port's MAC. */
static __always_inline int l2_answer_arp(l2_ctx *ctx, struct l2_pkt *p, struct l2_local *lc,
					 const __u8 *port_mac)
{
	void *data = ctx_data(ctx), *end = ctx_data_end(ctx);
	struct ethhdr *eth = data;
	struct l2_arp_eth *arp;

	if (data + sizeof(*eth) > end)
		return L2_LOCAL_NONE;
	l2_barrier_var(data); /* keep both checks: the verifier needs each */
	arp = data + (p->l2_len & 0xff);
	if ((void *)(arp + 1) > end || !lc->ipv4 || arp->tpa != lc->ipv4 ||
	    arp->op != bpf_htons(ARPOP_REQUEST) || arp->hlen != 6 || arp->plen != 4)
		return L2_LOCAL_NONE;
	__builtin_memcpy(eth->h_dest, arp->sha, 6);
	__builtin_memcpy(eth->h_source, port_mac, 6);
	arp->op = bpf_htons(ARPOP_REPLY);
	__builtin_memcpy(arp->tha, arp->sha, 6);
	arp->tpa = arp->spa;
	__builtin_memcpy(arp->sha, port_mac, 6);
	arp->spa = lc->ipv4;
	return L2_LOCAL_ANSWER;
}

static __always_inline void l2_swap_macs(struct ethhdr *eth)
{
	__u8 t[6];

	__builtin_memcpy(t, eth->h_dest, 6);
	__builtin_memcpy(eth->h_dest, eth->h_source, 6);
	__builtin_memcpy(eth->h_source, t, 6);
}

/* ICMP echo request to local -> echo reply (type change fixed incrementally). */
static __always_inline int l2_answer_ping4(l2_ctx *ctx, struct l2_pkt *p)
{
	void *data = ctx_data(ctx), *end = ctx_data_end(ctx);
	struct iphdr *ip;
	struct icmphdr *ic;
	__be32 a;

	if (data + sizeof(struct ethhdr) > end)
		return L2_LOCAL_NONE;
	l2_barrier_var(data);
	ip = data + (p->l2_len & 0xff);
	ic = data + (p->l4_off & 0x3ff);
	if ((void *)(ip + 1) > end || (void *)(ic + 1) > end || ic->type != ICMP_ECHO || p->frag)
		return L2_LOCAL_NONE;
	l2_swap_macs(data);
	a = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = a;
	ip->ttl = 64;
	ip->check = 0;
	ip->check = l2_csum_fold(bpf_csum_diff(0, 0, (__be32 *)ip, sizeof(*ip), 0));
	ic->checksum = l2_csum_replace16(ic->checksum, bpf_htons(ICMP_ECHO << 8), bpf_htons(ICMP_ECHOREPLY << 8));
	ic->type = ICMP_ECHOREPLY;
	return L2_LOCAL_ANSWER;
}

/* Pseudo-header sum for ICMPv6 (upper-layer length and next header 58). */
static __always_inline __u64 l2_ip6_pseudo(struct ipv6hdr *ip6, __u32 len)
{
	__u64 s = bpf_csum_diff(0, 0, (__be32 *)&ip6->saddr, 32, 0);

	return s + bpf_htonl(len) + bpf_htonl(IPPROTO_ICMPV6);
}

struct l2_nd {                 /* NS / NA body with one link-layer option */
	__u8 type, code;
	__be16 csum;
	__be32 flags;
	__u8 target[16];
	__u8 opt_type, opt_len;
	__u8 lladdr[6];
} __attribute__((packed));

/* ICMPv6 echo request or neighbour solicitation for local6. */
static __always_inline int l2_answer_icmp6(l2_ctx *ctx, struct l2_pkt *p, struct l2_local *lc,
					   const __u8 *port_mac)
{
	void *data, *end;
	struct ipv6hdr *ip6;
	struct icmp6hdr *ic;
	int ok;

	if (p->family != 6 || p->l4_proto != IPPROTO_ICMPV6 || !p->l4_off || p->frag)
		return L2_LOCAL_NONE;
	if (p->icmp_type == ICMPV6_ECHO_REQUEST && l2_is_local6(lc, p->dst)) {
		data = ctx_data(ctx);
		end = ctx_data_end(ctx);
		if (data + sizeof(struct ethhdr) > end)
			return L2_LOCAL_NONE;
		l2_barrier_var(data);
		ip6 = data + (p->l2_len & 0xff);
		ic = data + (p->l4_off & 0x3ff);
		if ((void *)(ip6 + 1) > end || (void *)(ic + 1) > end)
			return L2_LOCAL_NONE;
		l2_swap_macs(data);
		ip6->daddr = ip6->saddr;
		__builtin_memcpy(&ip6->saddr, lc->ipv6, 16);
		ip6->hop_limit = 64;
		ic->icmp6_cksum = l2_csum_replace16(ic->icmp6_cksum, bpf_htons(ICMPV6_ECHO_REQUEST << 8),
						    bpf_htons(ICMPV6_ECHO_REPLY << 8));
		ic->icmp6_type = ICMPV6_ECHO_REPLY;
		return L2_LOCAL_ANSWER; /* addresses swapped: the pseudo-header sum is unchanged */
	}
	if (p->icmp_type != 135 /* NS */ || !lc->ipv6_plen)
		return L2_LOCAL_NONE;
	/* Make the packet exactly IPv6 + NA with a target link-layer option. */
	data = ctx_data(ctx);
	end = ctx_data_end(ctx);
	{
		struct l2_nd *ns = data + (p->l4_off & 0x3ff);
		if ((void *)(ns) + 24 > end || !l2_is_local6(lc, ns->target))
			return L2_LOCAL_NONE;
	}
	if (ctx_set_len(ctx, p->l4_off + sizeof(struct l2_nd)))
		return L2_LOCAL_NONE;
	data = ctx_data(ctx);
	end = ctx_data_end(ctx);
	if (data + sizeof(struct ethhdr) > end)
		return L2_LOCAL_BROKEN;
	l2_barrier_var(data);
	ip6 = data + (p->l2_len & 0xff);
	{
		struct l2_nd *na = data + (p->l4_off & 0x3ff);
		struct ethhdr *eth = ctx_data(ctx);
		int solicited;

		if ((void *)(eth + 1) > end || (void *)(ip6 + 1) > end || (void *)(na + 1) > end)
			return L2_LOCAL_BROKEN;
		solicited = !!(ip6->saddr.in6_u.u6_addr32[0] | ip6->saddr.in6_u.u6_addr32[1] |
			       ip6->saddr.in6_u.u6_addr32[2] | ip6->saddr.in6_u.u6_addr32[3]);
		if (solicited) {
			__builtin_memcpy(eth->h_dest, eth->h_source, 6);
			ip6->daddr = ip6->saddr;
		} else { /* DAD probe from :: -> all-nodes */
			__u8 all[16] = { 0xff, 0x02, [15] = 1 };
			__u8 mall[6] = { 0x33, 0x33, 0, 0, 0, 1 };
			__builtin_memcpy(eth->h_dest, mall, 6);
			__builtin_memcpy(&ip6->daddr, all, 16);
		}
		__builtin_memcpy(eth->h_source, port_mac, 6);
		__builtin_memcpy(&ip6->saddr, lc->ipv6, 16);
		ip6->payload_len = bpf_htons(sizeof(*na));
		ip6->hop_limit = 255;
		na->type = 136;
		na->code = 0;
		na->csum = 0;
		na->flags = bpf_htonl(solicited ? 0x60000000 : 0x20000000); /* S|O or O */
		na->opt_type = 2; /* target link-layer address */
		na->opt_len = 1;
		__builtin_memcpy(na->lladdr, port_mac, 6);
		na->csum = l2_csum_fold(l2_csum_range(ctx, p->l4_off, p->l4_off + sizeof(*na),
						      l2_ip6_pseudo(ip6, sizeof(*na)), &ok));
	}
	return L2_LOCAL_ANSWER;
}

#endif /* L2BPF_LOCAL_H */
