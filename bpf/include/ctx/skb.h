/* SPDX-License-Identifier: MIT */
/* The neutral context on TC (struct __sk_buff). An skb here may be a GSO
 * super-packet and may still owe an L4 checksum (CHECKSUM_PARTIAL): the
 * helpers below keep both intact, which is why TC can forward 64 KB TCP at
 * full speed on veths while XDP cannot. The first 802.1Q/ad tag may live
 * in metadata (vlan_present) rather than in the data. */
#ifndef L2BPF_CTX_SKB_H
#define L2BPF_CTX_SKB_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>
#include "l2bpf_maps.bpf.h"

typedef struct __sk_buff l2_ctx;
#define L2_HOOK_IS_XDP 0
#define CTX_ACT_OK TC_ACT_OK
#define CTX_ACT_DROP TC_ACT_SHOT
#define CTX_ACT_REDIRECT TC_ACT_REDIRECT

/* Decap flags of bpf_skb_adjust_room (6.3+); Debian's uapi header predates them. */
#ifndef BPF_F_ADJ_ROOM_DECAP_L3_IPV4
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV4 (1ULL << 7)
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV6 (1ULL << 8)
#endif

/* The few sk_buff fields __sk_buff does not show, read through the
 * kernel's own skb (bpf_cast_to_kern_ctx); CO-RE finds them in vmlinux BTF. */
struct sk_buff {
	unsigned char *head;
	unsigned char *data;
	__u16 csum_start;
	__u16 csum_offset;
	__u8 ip_summed : 2;
	__u8 encapsulation : 1;
} __attribute__((preserve_access_index));
extern void *bpf_cast_to_kern_ctx(void *) __ksym;

static __always_inline void *ctx_data(l2_ctx *c) { return (void *)(long)c->data; }
static __always_inline void *ctx_data_end(l2_ctx *c) { return (void *)(long)c->data_end; }
static __always_inline __u32 ctx_len(l2_ctx *c) { return c->len; }
static __always_inline __u32 ctx_ifindex(l2_ctx *c) { return c->ingress_ifindex; }

static __always_inline long ctx_load(l2_ctx *c, __u32 off, void *to, __u32 len)
{
	return bpf_skb_load_bytes(c, off, to, len);
}
/* Bytes past the Ethernet header are in skb->csum on CHECKSUM_COMPLETE;
 * keep it right. Writes that keep every checksum valid by themselves
 * (incremental fix-ups) use ctx_store_raw. */
static __always_inline long ctx_store(l2_ctx *c, __u32 off, const void *from, __u32 len)
{
	return bpf_skb_store_bytes(c, off, from, len, off >= 14 ? BPF_F_RECOMPUTE_CSUM : 0);
}
static __always_inline long ctx_store_raw(l2_ctx *c, __u32 off, const void *from, __u32 len)
{
	return bpf_skb_store_bytes(c, off, from, len, 0);
}

/* Headers may sit in fragments (GRO, GSO from a host): make the first len
 * bytes linear, but only when they are not already. */
static __always_inline long ctx_pull(l2_ctx *c, __u32 len)
{
	__u32 want = len > c->len ? c->len : len;

	if (ctx_data(c) + want <= ctx_data_end(c))
		return 0;
	return bpf_skb_pull_data(c, want);
}

/* Resizing keeps the MAC header in place and moves what follows it; the
 * caller rewrites the whole L2 header afterwards, so for us that is the
 * same as adding or removing bytes at the front. */
static __always_inline long ctx_push_front(l2_ctx *c, __u32 n)
{
	return bpf_skb_change_head(c, n, 0); /* any protocol, tagged frames too */
}
static __always_inline long ctx_pull_front(l2_ctx *c, __u32 n)
{
	return bpf_skb_adjust_room(c, -(__s32)n, BPF_ADJ_ROOM_MAC, BPF_F_ADJ_ROOM_NO_CSUM_RESET);
}
/* Trims or extends; a GSO packet stops being one (skb_gso_reset). */
static __always_inline long ctx_set_len(l2_ctx *c, __u32 len) { return bpf_skb_change_tail(c, len, 0); }

/* Room for outer IPv4 + GRE: the kernel records the inner headers and
 * SKB_GSO_GRE, so a GSO packet is later cut into GRE segments that each
 * carry the outer headers; FIXED_GSO keeps gso_size (no linearising). */
static __always_inline long ctx_encap_room(l2_ctx *c, __u32 n, int inner_v6, __u32 data_tags, int gso)
{
	/* With a tag still in the data skb->protocol is 802.1Q, which
	 * adjust_room refuses: a plain push does for a single packet. */
	if (data_tags && !gso)
		return bpf_skb_change_head(c, n, 0);
	return bpf_skb_adjust_room(c, (__s32)n, BPF_ADJ_ROOM_MAC,
				   BPF_F_ADJ_ROOM_FIXED_GSO | BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 |
				   BPF_F_ADJ_ROOM_ENCAP_L4_GRE | BPF_F_ADJ_ROOM_NO_CSUM_RESET);
}
/* Removes outer IPv4 + GRE; skb->protocol follows the inner packet. */
static __always_inline long ctx_decap_room(l2_ctx *c, __u32 n, int inner_v6)
{
	return bpf_skb_adjust_room(c, -(__s32)n, BPF_ADJ_ROOM_MAC,
				   BPF_F_ADJ_ROOM_FIXED_GSO | BPF_F_ADJ_ROOM_NO_CSUM_RESET |
				   (inner_v6 ? BPF_F_ADJ_ROOM_DECAP_L3_IPV6 : BPF_F_ADJ_ROOM_DECAP_L3_IPV4));
}

static __always_inline __u32 ctx_gso_segs(l2_ctx *c) { return c->gso_segs; }
static __always_inline __u32 ctx_gso_size(l2_ctx *c) { return c->gso_size; }

static __always_inline int ctx_csum_state(l2_ctx *c)
{
	struct sk_buff *skb = bpf_cast_to_kern_ctx(c);

	return BPF_CORE_READ_BITFIELD(skb, ip_summed);
}
/* CHECKSUM_PARTIAL: where the pending checksum's range starts and where
 * its field is, as offsets into the data. 0 when partial, -1 otherwise. */
static __always_inline int ctx_csum_partial_at(l2_ctx *c, __u32 *start, __u32 *field)
{
	struct sk_buff *skb = bpf_cast_to_kern_ctx(c);
	long s;

	if (BPF_CORE_READ_BITFIELD(skb, ip_summed) != 3)
		return -1;
	s = (long)skb->csum_start - (long)(skb->data - skb->head);
	if (s < 0 || s > 0xffff)
		return -1;
	*start = s;
	*field = s + skb->csum_offset;
	return 0;
}
/* TCP/UDP checksum at off after a 16-bit word changed: the kernel knows
 * what to do for each checksum state (nothing for a pending checksum). */
static __always_inline void ctx_l4_csum_replace16(l2_ctx *c, __u32 off, __be16 from, __be16 to)
{
	bpf_l4_csum_replace(c, off, from, to, 2);
}

static __always_inline int ctx_hw_vlan(l2_ctx *c, __u16 *tpid, __u16 *tci)
{
	if (!c->vlan_present)
		return 0;
	*tpid = bpf_ntohs((__u16)c->vlan_proto);
	*tci = (__u16)c->vlan_tci;
	return 1;
}
/* Removes every VLAN tag, in metadata or in the data, before the L2
 * header is rebuilt in the data (adjust_room also refuses an skb whose
 * protocol is still 802.1Q/ad). Returns how many data bytes went:
 * bpf_skb_vlan_pop pops a tag of the data or clears the one in metadata,
 * then moves the next tag of the data into metadata. */
static __always_inline int ctx_vlan_strip(l2_ctx *c)
{
	__u32 before = c->len;

#pragma unroll
	for (int i = 0; i < 3; i++) {
		__u16 proto = bpf_ntohs((__u16)c->protocol);
		if (!c->vlan_present && proto != ETH_P_8021Q && proto != ETH_P_8021AD)
			return before - c->len;
		if (bpf_skb_vlan_pop(c))
			return -1;
	}
	return -1;
}

static __always_inline int ctx_redirect(l2_ctx *c, __u32 ifindex) { return bpf_redirect(ifindex, 0); }
/* Straight on to the peer port's egress: the skb keeps its GSO and
 * checksum state. TC_ACT_OK tells a port without a peer apart. */
static __always_inline int ctx_forward(l2_ctx *c, __u32 ingress)
{
	struct l2_port *port = bpf_map_lookup_elem(&l2_ports, &ingress);

	if (!port || !port->peer)
		return TC_ACT_OK;
	return bpf_redirect(port->peer, 0);
}
static __always_inline int ctx_back_out(l2_ctx *c) { return bpf_redirect(c->ingress_ifindex, 0); }

#endif /* L2BPF_CTX_SKB_H */
