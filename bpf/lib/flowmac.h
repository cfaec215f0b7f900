/* SPDX-License-Identifier: MIT */
/* Flow MAC cache (seeds §1): per flow, remember who sent it onto the wire,
 * to which MAC, with which VLAN tags, on which port. Replies that come out
 * of the tunnel get their Ethernet header from here and leave by that port:
 * no route, no ARP. Also the neighbour table that closes the seed's gap:
 * when an address shows up with a new MAC, flows pointing at the old MAC
 * follow it (VRRP/HSRP fail-over). */
#ifndef L2BPF_FLOWMAC_H
#define L2BPF_FLOWMAC_H

#include "parse.h"
#include "l2bpf_maps.bpf.h"

#define L2_FLOW_REFRESH_NS 1000000000ULL  /* rewrite an unchanged entry at most once a second */

static __always_inline void l2_flow_key(const struct l2_pkt *p, struct l2_flow_key *k, int reverse)
{
	__builtin_memset(k, 0, sizeof(*k));
	__builtin_memcpy(k->src, reverse ? p->dst : p->src, 16);
	__builtin_memcpy(k->dst, reverse ? p->src : p->dst, 16);
	k->sport = reverse ? p->dport : p->sport;
	k->dport = reverse ? p->sport : p->dport;
	k->proto = p->l4_proto;
}

/* Record the flow of a frame crossing the wire (cheap when nothing changed).
 * Returns 1 when the entry was written: new, changed, or a refresh due.
 * The coarse clock (a tick's resolution) is plenty for "last seen" and costs
 * far less than bpf_ktime_get_ns() under a hypervisor. */
static __always_inline int l2_flow_learn(struct l2_pkt *p, struct ethhdr *eth, __u32 ifindex, __u32 tunnel)
{
	struct l2_flow_key k;
	struct l2_flow *f, v = {};
	__u64 now = bpf_ktime_get_coarse_ns();

	l2_flow_key(p, &k, 0);
	f = bpf_map_lookup_elem(&l2_flows, &k);
	if (f && f->ifindex == ifindex && f->tunnel == tunnel && f->vlan_tci[0] == p->tci[0] &&
	    f->vlan_tci[1] == p->tci[1] && !__builtin_memcmp(f->src_mac, eth->h_source, 6) &&
	    !__builtin_memcmp(f->dst_mac, eth->h_dest, 6)) {
		if (now - f->last_seen <= L2_FLOW_REFRESH_NS)
			return 0;
		f->last_seen = now;
		return 1;
	}
	__builtin_memcpy(v.src_mac, eth->h_source, 6);
	__builtin_memcpy(v.dst_mac, eth->h_dest, 6);
	v.vlan_tpid[0] = p->tpid[0];
	v.vlan_tpid[1] = p->tpid[1];
	v.vlan_tci[0] = p->tci[0];
	v.vlan_tci[1] = p->tci[1];
	v.ifindex = ifindex;
	v.tunnel = tunnel;
	v.last_seen = now;
	bpf_map_update_elem(&l2_flows, &k, &v, BPF_ANY);
	return 1;
}

/* An address was seen with this MAC: if it had another, remember the move. */
static __always_inline void l2_neigh_seen(const __u8 *addr, const __u8 *mac, __u32 ifindex)
{
	struct l2_neigh *n = bpf_map_lookup_elem(&l2_neigh, addr), v = {};
	struct l2_mac_key old = {}, new = {};
	struct l2_mac_move mv = {};

	if (mac[0] & 1) /* multicast/broadcast source: not a host */
		return;
	if (n && !__builtin_memcmp(n->mac, mac, 6) && n->ifindex == ifindex)
		return;
	if (n) {
		__builtin_memcpy(old.mac, n->mac, 6);
		__builtin_memcpy(new.mac, mac, 6);
		__builtin_memcpy(mv.mac, mac, 6);
		mv.ifindex = ifindex;
		bpf_map_update_elem(&l2_mac_moves, &old, &mv, BPF_ANY);
		bpf_map_delete_elem(&l2_mac_moves, &new); /* the new MAC is live again */
	}
	__builtin_memcpy(v.mac, mac, 6);
	v.ifindex = ifindex;
	v.last_seen = bpf_ktime_get_coarse_ns();
	bpf_map_update_elem(&l2_neigh, addr, &v, BPF_ANY);
}

/* Network-order mask of the bits of 32-bit word `word` that plen covers. */
static __always_inline __u32 l2_mask32(__u32 plen, __u32 word)
{
	__s32 bits = (__s32)plen - (__s32)(word * 32);

	if (bits <= 0)
		return 0;
	if (bits >= 32)
		return 0xffffffff;
	return bpf_htonl(0xffffffffU << (32 - bits));
}

/* Is a inside net/plen? n = address bytes (4 or 16, a constant). Word-wise
 * and without early exits: few branches for the verifier to walk. */
static __always_inline int l2_in_prefix_n(const __u8 *a, const __u8 *net, __u32 plen, const int n)
{
	__u32 diff = 0;

#pragma unroll
	for (int i = 0; i < n / 4; i++) {
		__u32 x, y;
		__builtin_memcpy(&x, a + 4 * i, 4);
		__builtin_memcpy(&y, net + 4 * i, 4);
		diff |= (x ^ y) & l2_mask32(plen, i);
	}
	return diff == 0;
}
#define l2_in_prefix4(a, net, plen) l2_in_prefix_n(a, net, plen, 4)
#define l2_in_prefix6(a, net, plen) l2_in_prefix_n(a, net, plen, 16)

/* Hosts on the local subnet are learned from any IP frame they send. */
static __always_inline void l2_neigh_learn_ip(struct l2_pkt *p, struct l2_local *lc, struct ethhdr *eth,
					      __u32 ifindex)
{
	if (!lc)
		return;
	if (p->family == 4 && lc->ipv4_plen) {
		__u8 net[4];
		__builtin_memcpy(net, &lc->ipv4, 4);
		if (l2_in_prefix4(p->src + 12, net, lc->ipv4_plen))
			l2_neigh_seen(p->src, eth->h_source, ifindex);
	} else if (p->family == 6 && lc->ipv6_plen && l2_in_prefix6(p->src, lc->ipv6, lc->ipv6_plen)) {
		l2_neigh_seen(p->src, eth->h_source, ifindex);
	}
}

/* Where does a flow's sender MAC live now? Follows up to two moves. */
static __always_inline void l2_follow_moves(struct l2_flow *f)
{
#pragma unroll
	for (int i = 0; i < 2; i++) {
		struct l2_mac_key k = {};
		struct l2_mac_move *mv;

		__builtin_memcpy(k.mac, f->src_mac, 6);
		mv = bpf_map_lookup_elem(&l2_mac_moves, &k);
		if (!mv)
			return;
		__builtin_memcpy(f->src_mac, mv->mac, 6);
		f->ifindex = mv->ifindex;
	}
}

#endif /* L2BPF_FLOWMAC_H */
