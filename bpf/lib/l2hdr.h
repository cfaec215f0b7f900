/* SPDX-License-Identifier: MIT */
/* Saving and rewriting the Ethernet header plus its VLAN tags (14, 18 or 22
 * bytes) around bpf_xdp_adjust_head, which moves where the frame starts. */
#ifndef L2BPF_L2HDR_H
#define L2BPF_L2HDR_H

#include "parse.h"

struct l2_hdr { __u8 b[14 + 4 * L2_MAX_TAGS]; };

static __always_inline int l2_hdr_save(struct xdp_md *ctx, struct l2_pkt *p, struct l2_hdr *h)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;

	if (data + sizeof(h->b) <= end) {
		__builtin_memcpy(h->b, data, sizeof(h->b));
		return 0;
	}
	if (p->ntags == 0 && data + 14 <= end) {
		__builtin_memcpy(h->b, data, 14);
		return 0;
	}
	return -1;
}

/* Writes the saved header at the (new) start, with `proto` as the innermost ethertype. */
static __always_inline int l2_hdr_put(struct xdp_md *ctx, __u8 ntags, struct l2_hdr *h, __u16 proto)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__be16 pr = bpf_htons(proto);

	if (ntags == 0) {
		if (data + 14 > end)
			return -1;
		__builtin_memcpy(data, h->b, 12);
		__builtin_memcpy(data + 12, &pr, 2);
	} else if (ntags == 1) {
		if (data + 18 > end)
			return -1;
		__builtin_memcpy(data, h->b, 16);
		__builtin_memcpy(data + 16, &pr, 2);
	} else {
		if (data + 22 > end)
			return -1;
		__builtin_memcpy(data, h->b, 20);
		__builtin_memcpy(data + 20, &pr, 2);
	}
	return 0;
}

#endif /* L2BPF_L2HDR_H */
