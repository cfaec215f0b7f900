/* SPDX-License-Identifier: MIT */
/* Internet checksums in XDP: fold, incremental update (RFC 1624), and a sum
 * over a frame range of any length, in 256-byte steps under bpf_loop so the
 * verifier sees one short body instead of an unrolled loop. */
#ifndef L2BPF_CSUM_H
#define L2BPF_CSUM_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "l2bpf_maps.bpf.h"

static __always_inline __u16 l2_csum_fold(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

/* RFC 1624: checksum after a 16-bit word changed from old to new (network order). */
static __always_inline __u16 l2_csum_replace16(__u16 csum, __u16 old, __u16 new)
{
	__u32 s = (__u16)~csum + (__u16)~old + new;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

struct l2_csum_walk {
	struct xdp_md *ctx;
	__u32 off;      /* next byte to add */
	__u32 end;      /* one past the last byte */
	__u64 sum;
};

/* One step: a 256-byte block, else a 4-byte word, else the 1-3 last bytes
 * (zero-padded, which is what the checksum of an odd tail means). Copied
 * out with bpf_xdp_load_bytes in constant sizes: fragments are covered too,
 * and the offset never has to be tracked precisely, so the verifier sees
 * the loop body converge instead of one state per iteration. */
static long l2_csum_step(__u32 i, struct l2_csum_walk *w)
{
	__u32 k = 0, off = w->off, left;
	struct l2_scratch *s = bpf_map_lookup_elem(&l2_scratch, &k);

	if (!s || off >= w->end)
		return 1;
	left = w->end - off;
	if (left >= L2_SCRATCH) {
		if (bpf_xdp_load_bytes(w->ctx, off, s->b, L2_SCRATCH))
			return 1;
		w->sum = bpf_csum_diff(0, 0, (__be32 *)s->b, L2_SCRATCH, w->sum);
		w->off = off + L2_SCRATCH;
		return 0;
	}
	if (left >= 4) {
		if (bpf_xdp_load_bytes(w->ctx, off, s->b, 4))
			return 1;
		w->sum = bpf_csum_diff(0, 0, (__be32 *)s->b, 4, w->sum);
		w->off = off + 4;
		return 0;
	}
	*(__u32 *)s->b = 0;
	if (bpf_xdp_load_bytes(w->ctx, off, s->b, 1) ||
	    (left >= 2 && bpf_xdp_load_bytes(w->ctx, off + 1, s->b + 1, 1)) ||
	    (left == 3 && bpf_xdp_load_bytes(w->ctx, off + 2, s->b + 2, 1)))
		return 1;
	w->sum = bpf_csum_diff(0, 0, (__be32 *)s->b, 4, w->sum);
	w->off = w->end;
	return 1;
}

/* Unfolded one's-complement sum of bytes [off, end) of the frame, plus
 * seed; *ok is cleared when the range could not be read whole. */
static __always_inline __u64 l2_csum_range(struct xdp_md *ctx, __u32 off, __u32 end, __u64 seed, int *ok)
{
	struct l2_csum_walk w = { .ctx = ctx, .off = off, .end = end, .sum = seed };

	bpf_loop(128, l2_csum_step, &w, 0); /* enough for any frame up to 16 KiB */
	*ok = w.off == w.end;
	return w.sum;
}

#endif /* L2BPF_CSUM_H */
