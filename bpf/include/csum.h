/* SPDX-License-Identifier: MIT */
/* Internet checksum over a range of the frame, of any length, in 256-byte
 * steps under bpf_loop so the verifier sees one short body instead of an
 * unrolled loop. Reads through ctx_load: fragments are covered too. */
#ifndef L2BPF_CSUM_H
#define L2BPF_CSUM_H

#include "ctx.h"
#include "csum_fold.h"
#include "l2bpf_maps.bpf.h"

struct l2_csum_walk {
	l2_ctx *ctx;
	__u32 off;      /* next byte to add */
	__u32 end;      /* one past the last byte */
	__u64 sum;
};

/* One step: a 256-byte block, else a 4-byte word, else the 1-3 last bytes
 * (zero-padded, which is what the checksum of an odd tail means). Copied
 * out in constant sizes, so the offset never has to be tracked precisely
 * and the verifier sees the loop body converge. */
static long l2_csum_step(__u32 i, struct l2_csum_walk *w)
{
	__u32 k = 0, off = w->off, left;
	struct l2_scratch *s = bpf_map_lookup_elem(&l2_scratch, &k);

	if (!s || off >= w->end)
		return 1;
	left = w->end - off;
	if (left >= L2_SCRATCH) {
		if (ctx_load(w->ctx, off, s->b, L2_SCRATCH))
			return 1;
		w->sum = bpf_csum_diff(0, 0, (__be32 *)s->b, L2_SCRATCH, w->sum);
		w->off = off + L2_SCRATCH;
		return 0;
	}
	if (left >= 4) {
		if (ctx_load(w->ctx, off, s->b, 4))
			return 1;
		w->sum = bpf_csum_diff(0, 0, (__be32 *)s->b, 4, w->sum);
		w->off = off + 4;
		return 0;
	}
	*(__u32 *)s->b = 0;
	if (ctx_load(w->ctx, off, s->b, 1) ||
	    (left >= 2 && ctx_load(w->ctx, off + 1, s->b + 1, 1)) ||
	    (left == 3 && ctx_load(w->ctx, off + 2, s->b + 2, 1)))
		return 1;
	w->sum = bpf_csum_diff(0, 0, (__be32 *)s->b, 4, w->sum);
	w->off = w->end;
	return 1;
}

/* Unfolded one's-complement sum of bytes [off, end) of the frame, plus
 * seed; *ok is cleared when the range could not be read whole. */
static __always_inline __u64 l2_csum_range(l2_ctx *ctx, __u32 off, __u32 end, __u64 seed, int *ok)
{
	struct l2_csum_walk w = { .ctx = ctx, .off = off, .end = end, .sum = seed };

	bpf_loop(300, l2_csum_step, &w, 0); /* any frame up to 64 KiB + headers */
	*ok = w.off == w.end;
	return w.sum;
}

#endif /* L2BPF_CSUM_H */
