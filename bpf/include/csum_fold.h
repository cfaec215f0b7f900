/* SPDX-License-Identifier: MIT */
/* Internet checksum arithmetic on values (no packet access): fold, the
 * RFC 1624 incremental update, and the fixed point used when a quoted
 * TCP/UDP checksum is still pending (see lib/mtu.h). */
#ifndef L2BPF_CSUM_FOLD_H
#define L2BPF_CSUM_FOLD_H

#include <linux/types.h>

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

#endif /* L2BPF_CSUM_FOLD_H */
