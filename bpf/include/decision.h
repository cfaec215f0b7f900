/* SPDX-License-Identifier: MIT */
/* What the features decide for a frame, handed to the one exit path
 * (counters.h: l2_exit) that turns it into the hook's verdict and counts
 * it. Features never return a hook verdict themselves. */
#ifndef L2BPF_DECISION_H
#define L2BPF_DECISION_H

#include <linux/types.h>

enum l2_verdict {
	L2_V_FORWARD = 0,  /* on to the peer port of the ingress port */
	L2_V_TO_PORT = 1,  /* to `ifindex` (a flow's port, the segmenter) */
	L2_V_ANSWER = 2,   /* back out of the ingress port, rewritten by the box */
	L2_V_DROP = 3,     /* dropped for `reason` */
};

struct l2_decision {
	__u32 verdict;     /* enum l2_verdict */
	__u32 reason;      /* enum l2_drop_reason: with DROP; with ANSWER when the
			    * answer stands for a dropped frame (ICMP too-big) */
	__u32 ifindex;     /* with TO_PORT; with FORWARD on TC, the peer if known */
	__u32 tunnel;      /* tunnel whose per-reason counters a drop also counts in */
};

static __always_inline void l2_drop_for(struct l2_decision *d, __u32 reason, __u32 tunnel)
{
	d->verdict = L2_V_DROP;
	d->reason = reason;
	d->tunnel = tunnel;
}
static __always_inline void l2_to_port(struct l2_decision *d, __u32 ifindex)
{
	d->verdict = L2_V_TO_PORT;
	d->ifindex = ifindex;
}
static __always_inline void l2_answer(struct l2_decision *d)
{
	d->verdict = L2_V_ANSWER;
	d->reason = 0;
}

#endif /* L2BPF_DECISION_H */
