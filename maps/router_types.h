/* SPDX-License-Identifier: MIT */
/* Map layouts of the routing instance (issue 10, seed 004: NAT first, then
 * route, the original input interface kept). Stage two, the route, is here
 * so far: a FIB lookup for the packet with the port it came in on as the
 * lookup's input (so `ip rule iif` applies), policy by that port, and the
 * port carried on in skb->mark when asked. Same conventions as
 * l2bpf_types.h: fixed widths, explicit padding, enums for BTF. */
#ifndef L2BPF_ROUTER_TYPES_H
#define L2BPF_ROUTER_TYPES_H

#include <linux/types.h>
#include "l2bpf_types.h"

enum rt_limits {
	RT_MAX_PORTS = 64,
	RT_POLICY_MAX = 4096,
};

/* What the router did with a packet; every packet counts once. "to kernel"
 * rows are packets the kernel handles as a router would: it answers, or
 * sends the ICMP error (no route, TTL exceeded, fragmentation needed). */
enum rt_count {
	RT_FORWARDED = 0,          /* routed out of a port, neighbour known */
	RT_FORWARDED_NEIGH,        /* routed out, the kernel resolves the neighbour (bpf_redirect_neigh) */
	RT_TO_KERNEL_LOCAL,        /* for the box itself, or not IP */
	RT_TO_KERNEL_NO_ROUTE,     /* no route (unreachable, blackhole, prohibit): the kernel answers */
	RT_TO_KERNEL_TTL,          /* TTL / hop limit would expire: the kernel sends time exceeded */
	RT_TO_KERNEL_FRAG,         /* bigger than the output MTU: the kernel sends frag-needed / too big */
	RT_TO_KERNEL_OTHER,        /* forwarding off, an option or extension the fast path leaves alone */
	RT_DROP_POLICY,            /* a policy rule on the original input port says drop */
	RT_DROP_MALFORMED,         /* a header claims more bytes than the packet has */
	RT_COUNT__MAX,
};

enum rt_flags {
	RT_F_MARK_IIF = 1,         /* write the original input ifindex into skb->mark */
};

/* Key 0: the instance's settings. */
struct rt_config {
	__u32 flags;               /* enum rt_flags */
	__u32 pad;
};

/* One per port of the instance, by ifindex. */
struct rt_port {
	__u32 index;               /* position in the config's ports list */
	__u32 pad;
};

/* A policy rule: traffic that came in on `in` and is routed out of `out`
 * (0: any port). Looked up exact first, then with out = 0. */
struct rt_policy_key {
	l2_ifindex in;
	l2_ifindex out;
};

enum rt_action {
	RT_ACCEPT = 0,
	RT_DROP = 1,
};

struct rt_policy {
	__u32 action;              /* enum rt_action */
	__u32 pad;
};

#endif
