/* SPDX-License-Identifier: MIT */
/* The neutral context on XDP (struct xdp_md). A frame here is what the
 * driver received: no GSO, no pending checksum, tags in the data. */
#ifndef L2BPF_CTX_XDP_H
#define L2BPF_CTX_XDP_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "l2bpf_maps.bpf.h"
#include "csum_fold.h"

typedef struct xdp_md l2_ctx;
#define L2_HOOK_IS_XDP 1
#define CTX_ACT_OK XDP_PASS
#define CTX_ACT_DROP XDP_DROP
#define CTX_ACT_REDIRECT XDP_REDIRECT

static __always_inline void *ctx_data(l2_ctx *c) { return (void *)(long)c->data; }
static __always_inline void *ctx_data_end(l2_ctx *c) { return (void *)(long)c->data_end; }
static __always_inline __u32 ctx_len(l2_ctx *c) { return bpf_xdp_get_buff_len(c); }
static __always_inline __u32 ctx_ifindex(l2_ctx *c) { return c->ingress_ifindex; }

static __always_inline long ctx_load(l2_ctx *c, __u32 off, void *to, __u32 len)
{
	return bpf_xdp_load_bytes(c, off, to, len);
}
static __always_inline long ctx_store(l2_ctx *c, __u32 off, const void *from, __u32 len)
{
	return bpf_xdp_store_bytes(c, off, (void *)from, len);
}
static __always_inline long ctx_store_raw(l2_ctx *c, __u32 off, const void *from, __u32 len)
{
	return bpf_xdp_store_bytes(c, off, (void *)from, len);
}

/* Headers are parsed from the linear part; nothing to pull on XDP. */
static __always_inline long ctx_pull(l2_ctx *c, __u32 len) { return 0; }

/* n more bytes at the front (the caller rewrites the header there). */
static __always_inline long ctx_push_front(l2_ctx *c, __u32 n) { return bpf_xdp_adjust_head(c, -(int)n); }
/* n fewer bytes at the front. */
static __always_inline long ctx_pull_front(l2_ctx *c, __u32 n) { return bpf_xdp_adjust_head(c, (int)n); }
static __always_inline long ctx_set_len(l2_ctx *c, __u32 len)
{
	return bpf_xdp_adjust_tail(c, (int)len - (int)bpf_xdp_get_buff_len(c));
}
/* Room for outer IPv4 + GRE in front of L3: XDP has no offload state to
 * keep, so growing the head is all it takes. */
static __always_inline long ctx_encap_room(l2_ctx *c, __u32 n, int inner_v6, __u32 data_tags, int gso)
{
	return ctx_push_front(c, n);
}
static __always_inline long ctx_decap_room(l2_ctx *c, __u32 n, int inner_v6) { return ctx_pull_front(c, n); }

static __always_inline __u32 ctx_gso_segs(l2_ctx *c) { return 0; }
static __always_inline __u32 ctx_gso_size(l2_ctx *c) { return 0; }
static __always_inline int ctx_csum_state(l2_ctx *c) { return 0; /* L2_CSUM_NONE */ }
static __always_inline int ctx_csum_partial_at(l2_ctx *c, __u32 *start, __u32 *field) { return -1; }
static __always_inline int ctx_hw_vlan(l2_ctx *c, __u16 *tpid, __u16 *tci) { return 0; }
static __always_inline int ctx_vlan_strip(l2_ctx *c) { return 0; /* tags go with the header */ }

static __always_inline int ctx_redirect(l2_ctx *c, __u32 ifindex) { return bpf_redirect(ifindex, 0); }
/* Straight on through the devmap (bulk transmit). XDP_PASS as the miss
 * verdict tells a port without a peer apart. */
static __always_inline int ctx_forward(l2_ctx *c, __u32 ingress)
{
	return bpf_redirect_map(&l2_tx_ports, ingress, XDP_PASS);
}
/* Back out of the port it came in on. Not XDP_TX: on veth (6.18) an
 * XDP_TX frame never reaches the peer while a redirect to the same device
 * does; on real NICs both cost the same. */
static __always_inline int ctx_back_out(l2_ctx *c) { return bpf_redirect(c->ingress_ifindex, 0); }

/* TCP/UDP checksum at off after a 16-bit word changed (RFC 1624). */
static __always_inline void ctx_l4_csum_replace16(l2_ctx *c, __u32 off, __be16 from, __be16 to)
{
	__u16 cs;

	if (bpf_xdp_load_bytes(c, off, &cs, 2))
		return;
	cs = l2_csum_replace16(cs, from, to);
	bpf_xdp_store_bytes(c, off, &cs, 2);
}

#endif /* L2BPF_CTX_XDP_H */
