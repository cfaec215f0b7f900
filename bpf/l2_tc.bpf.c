/* SPDX-License-Identifier: MIT */
/* TC ingress entry (tcx link) for every l2bpf port: the wire of
 * lib/wire.h on the skb, after GRO. Redirects keep GSO and checksum
 * state, so 64 KB packets cross untouched. */
#define L2_HOOK_TC
#include "lib/wire.h"

SEC("tc")
int l2_tc_in(struct __sk_buff *ctx)
{
	return l2_wire(ctx);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
