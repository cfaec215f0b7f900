/* SPDX-License-Identifier: MIT */
/* XDP entry for every l2bpf port (native or generic): the wire of
 * lib/wire.h, before the kernel builds an skb. xdp.frags: frames larger
 * than a page (jumbo MTU) arrive as multi-buffer. */
#define L2_HOOK_XDP
#include "lib/wire.h"

SEC("xdp.frags")
int l2_xdp_in(struct xdp_md *ctx)
{
	return l2_wire(ctx);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
