/* SPDX-License-Identifier: MIT */
/* Saving and rewriting the Ethernet header plus the VLAN tags held in the
 * data (14, 18 or 22 bytes) around resizes, which move where the frame
 * starts. A tag in TC metadata stays there and is not part of this. */
#ifndef L2BPF_L2HDR_H
#define L2BPF_L2HDR_H

#include "parse.h"

struct l2_hdr { __u8 b[14 + 4 * L2_MAX_TAGS]; };

static __always_inline __u32 l2_hdr_len(__u32 data_tags) { return 14 + 4 * (data_tags > 2 ? 2 : data_tags); }

static __always_inline int l2_hdr_save(l2_ctx *ctx, const struct l2_pkt *p, struct l2_hdr *h)
{
	__builtin_memset(h, 0, sizeof(*h));
	return ctx_load(ctx, 0, h->b, l2_hdr_len(l2_data_tags(p))) ? -1 : 0;
}

/* Writes the saved header at the (new) start, `proto` as the innermost
 * ethertype. The MACs are outside every checksum; the tags are not (TC
 * keeps skb->csum right for them). */
static __always_inline int l2_hdr_put(l2_ctx *ctx, __u32 data_tags, struct l2_hdr *h, __u16 proto)
{
	__u32 n = l2_hdr_len(data_tags);
	__be16 pr = bpf_htons(proto);

	if (n == 14)
		__builtin_memcpy(h->b + 12, &pr, 2);
	else if (n == 18)
		__builtin_memcpy(h->b + 16, &pr, 2);
	else
		__builtin_memcpy(h->b + 20, &pr, 2);
	if (ctx_store_raw(ctx, 0, h->b, 14))
		return -1;
	if (n == 18 && ctx_store(ctx, 14, h->b + 14, 4))
		return -1;
	if (n == 22 && ctx_store(ctx, 14, h->b + 14, 8))
		return -1;
	return 0;
}

#endif /* L2BPF_L2HDR_H */
