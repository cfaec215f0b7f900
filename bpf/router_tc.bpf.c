/* SPDX-License-Identifier: MIT */
/* TC ingress entry (tcx link) for every port of a routing instance (issue
 * 10): stage one (NAT, lib/nat.h) then stage two (the route, lib/route.h). */
#define L2_HOOK_TC
#include "lib/route.h"

SEC("tc")
int rt_tc_in(struct __sk_buff *ctx)
{
	return rt_route(ctx);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
