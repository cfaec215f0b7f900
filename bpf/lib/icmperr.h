/* SPDX-License-Identifier: MIT */
/* ICMP and ICMPv6 errors about a flow (unreachable, too big, time
 * exceeded, parameter problem) carry their own addresses, not the flow's:
 * they are matched to the flow by the header they quote. Out of the tunnel
 * that finds the flow's origin; on the wire it finds the tunnel the flow
 * came out of. Without this, traceroute and PMTU discovery past the
 * service point break. */
#ifndef L2BPF_ICMPERR_H
#define L2BPF_ICMPERR_H

#include "parse.h"

static __always_inline int l2_is_icmp_error(const struct l2_pkt *p)
{
	if (!p->l4_off || p->frag)
		return 0;
	if (p->family == 4 && p->l4_proto == IPPROTO_ICMP)
		return p->icmp_type == 3 || p->icmp_type == 11 || p->icmp_type == 12;
	if (p->family == 6 && p->l4_proto == IPPROTO_ICMPV6)
		return p->icmp_type >= 1 && p->icmp_type <= 4;
	return 0;
}

/* The packet an ICMP error quotes (its addresses, protocol and ports),
 * parsed into q. 0 when there is one; the quote's own ports are those of
 * the original packet, as sent. */
static __always_inline int l2_icmp_quote(l2_ctx *ctx, const struct l2_pkt *p, struct l2_pkt *q)
{
	void *data = ctx_data(ctx), *end = ctx_data_end(ctx);
	__u32 at = p->l4_off + 8;
	__u8 *v;

	if (!l2_is_icmp_error(p) || at > 200)
		return -1;
	v = data + (at & 0xff);
	if ((void *)(v + 1) > end)
		return -1;
	__builtin_memset(q, 0, sizeof(*q));
	q->l2_len = at;
	if ((*v >> 4) == 4 && p->family == 4) {
		if (l2_parse_ipv4(data, end, q))
			return -1;
	} else if ((*v >> 4) == 6 && p->family == 6) {
		if (l2_parse_ipv6(data, end, q))
			return -1;
	} else {
		return -1;
	}
	return q->family ? 0 : -1;
}

#endif /* L2BPF_ICMPERR_H */
