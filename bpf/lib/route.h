/* SPDX-License-Identifier: MIT */
/* Stage two of "NAT first, then route" (issue 10, seed 004): a plain routing
 * decision in BPF for a packet that came in on one of the router's ports.
 *
 *   - the FIB is asked with the ORIGINAL input port as the lookup's input,
 *     so `ip rule iif PORT` policy routing applies as it would in the kernel;
 *   - policy rules match that input port (and the output port the FIB chose);
 *   - TTL / hop limit is decremented, IPv4's header checksum fixed;
 *   - out of the port with the neighbour the kernel knows, or through
 *     bpf_redirect_neigh when it must resolve it;
 *   - with RT_F_MARK_IIF the input ifindex goes into skb->mark and the
 *     translated packet is handed to the kernel's forwarding (TC_ACT_OK)
 *     instead of redirected: packets BPF redirects pass no netfilter hook,
 *     so only this way can an nftables postrouting rule match `meta mark`.
 *     The kernel then routes (with the same input port), decrements TTL and
 *     resolves the neighbour; the loader sets accept_local on the ports (a
 *     masqueraded source is the box's own address) and loose rp_filter.
 *
 * Whatever a router must answer (no route, TTL exceeded, too big for the
 * output MTU) or the box itself receives goes to the kernel (TC_ACT_OK),
 * which sends the ICMP error a router sends; each such case is counted. */
#ifndef L2BPF_ROUTE_H
#define L2BPF_ROUTE_H

#include <linux/in.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include "include/ctx.h"
#include "include/csum_fold.h"
#include "router_maps.bpf.h"
#include "lib/nat.h"

#define RT_IP_DF 0x4000 /* IPv4 "don't fragment" */
#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

static __always_inline void rt_count(__u32 what)
{
	__u64 *n = bpf_map_lookup_elem(&rt_counts, &what);

	if (n)
		*n += 1;
}

static __always_inline void rt_count_n(__u32 what, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&rt_counts, &what);

	if (c)
		*c += n;
}

/* The verdict for a packet the kernel takes over, counted as `why`. */
static __always_inline int rt_to_kernel(__u32 why)
{
	rt_count(why);
	return TC_ACT_OK;
}

/* Ports of TCP and UDP feed the FIB's rules (ip rule sport/dport). */
static __always_inline void rt_ports_of(l2_ctx *ctx, __u32 l4, __u8 proto, struct bpf_fib_lookup *fib)
{
	__be16 p[2];

	if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) && !ctx_load(ctx, l4, p, 4)) {
		fib->sport = p[0];
		fib->dport = p[1];
	}
}

/* The output port the FIB gives a new connection (after DNAT), for SNAT's
 * `out`; 0 when it has none (stage two answers for it then). */
static __always_inline __u32 rt_out_port(l2_ctx *ctx, __u32 in, const struct iphdr *ip4, const struct rt_tuple *t)
{
	struct bpf_fib_lookup fib = {};
	long rc;

	fib.family = AF_INET;
	fib.tos = ip4->tos;
	fib.l4_protocol = t->proto;
	fib.ipv4_src = t->saddr;
	fib.ipv4_dst = t->daddr;
	if (t->proto != IPPROTO_ICMP) {
		fib.sport = t->sport;
		fib.dport = t->dport;
	}
	fib.ifindex = in;
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), BPF_FIB_LOOKUP_SKIP_NEIGH);
	/* too big for it (tot_len 0: the helper checks the skb) still names the port */
	return rc == BPF_FIB_LKUP_RET_SUCCESS || rc == BPF_FIB_LKUP_RET_NO_NEIGH || rc == BPF_FIB_LKUP_RET_FRAG_NEEDED ? fib.ifindex : 0;
}

/* A source port (ICMP: echo id) for SNAT's next try, in the configured range. */
static __always_inline __be16 rt_pick_port(const struct rt_config *cfg)
{
	__u32 lo = cfg->port_min ? cfg->port_min : 1024, hi = cfg->port_max >= lo ? cfg->port_max : 65535;

	return bpf_htons(lo + bpf_get_prandom_u32() % (hi - lo + 1));
}

/* The kernel's map (only its name matters: libbpf matches a struct against
 * the kernel's by name; a forward declaration it would refuse). */
struct bpf_map {
	__u32 opaque;
};
/* Entries in a hash map, summed over CPUs (Linux 6.6+, any program type). */
extern __s64 bpf_map_sum_elem_count(const struct bpf_map *map) __ksym;

/* A full table (LRU) may have evicted one half of a live connection: its
 * packets one way would still be translated, the other way not. Put the
 * missing half back from the one found (`key` is the packet's tuple). */
static __always_inline void rt_mend(const struct rt_ct *ct, const struct rt_tuple *key, struct rt_ct *nct)
{
	struct rt_tuple r;
	__s64 held;

	rt_reverse(&ct->to, &r);
	if (bpf_map_lookup_elem(&rt_conns, &r))
		return;
	__builtin_memcpy(nct, ct, sizeof(*nct));
	rt_reverse(key, &nct->to);
	nct->reply = !ct->reply;
	nct->packets = 0;
	nct->bytes = 0;
	held = bpf_map_sum_elem_count((const struct bpf_map *)&rt_conns);
	if (bpf_map_update_elem(&rt_conns, &r, nct, BPF_NOEXIST))
		return;
	rt_count(RT_NAT_EVICTED);
	held = held + 1 - bpf_map_sum_elem_count((const struct bpf_map *)&rt_conns);
	if (held > 0)
		rt_count_n(RT_NAT_EVICTED_ENTRIES, held); /* the half put back made room too */
}

/* Stage one for an IPv4 packet: find its connection, or make one when a
 * rule says so; *to is what the packet is to become (1 returned in *xlate),
 * applied by rt_nat_apply once the route says it leaves: what goes to the
 * kernel instead (TTL, no route, frag-needed) goes untranslated, so the
 * kernel's ICMP error reaches the real source (traceroute and PMTU discovery
 * through the NAT). 0: go on to the route; else the verdict (a drop). */
static __always_inline int rt_nat4(l2_ctx *ctx, const struct rt_config *cfg, const struct rt_port *port, __u32 in,
				   const struct iphdr *ip4, struct rt_scratch *sc, int *xlate, int *fresh)
{
	struct rt_tuple *to = &sc->to, t, r;
	struct rt_icmp_err *err = &sc->err;
	struct rt_ct *ct, *peer, *nct = &sc->nct;
	struct rt_pkt *p = &sc->p;
	__u64 now = bpf_ktime_get_ns(), tmo;
	l2_ipv4 lo = 0, hi = 0;
	__s64 held;
	int dnat, snat;
	__u32 i, out;
	__u16 tmp16;
	__u8 st;

	*xlate = 0;
	if (ip4->protocol == IPPROTO_ICMP && !(ip4->frag_off & bpf_htons(0x3fff)) && !ctx_load(ctx, 14 + 20, &st, 1) &&
	    !rt_parse_quote(ctx, st, &err->quoted)) {
		/* an error about a packet that left translated: the connection is found by its answer's tuple */
		rt_reverse(&err->quoted, &r);
		ct = bpf_map_lookup_elem(&rt_conns, &r);
		if (!ct)
			return 0; /* about nothing translated: routed as it is */
		rt_reverse(&ct->to, &err->orig);
		err->l4_csum = 0;
		if (err->quoted.proto == IPPROTO_UDP)
			err->l4_csum = !ctx_load(ctx, RT_ICMP_QUOTE + 20 + 6, &tmp16, 2) && tmp16;
		else if (err->quoted.proto == IPPROTO_TCP)
			err->l4_csum = ctx_len(ctx) >= RT_ICMP_QUOTE + 20 + 18;
		__builtin_memset(to, 0, sizeof(*to));
		to->saddr = ip4->saddr;
		to->daddr = err->orig.saddr;
		to->proto = IPPROTO_ICMP;
		*xlate = 2;
		return 0;
	}
	if (rt_parse4(ctx, ip4, p))
		return 0;
	ct = bpf_map_lookup_elem(&rt_conns, &p->t);
	if (ct) {
		tmo = rt_timeout_ns(cfg, p->t.proto, ct->state);
		/* signed: another CPU may have stamped it after this one read the clock */
		if ((__s64)(now - ct->last_ns) > (__s64)tmo) {
			/* the other direction may have kept it alive */
			rt_reverse(&ct->to, &r);
			peer = bpf_map_lookup_elem(&rt_conns, &r);
			if (!peer || (__s64)(now - peer->last_ns) > (__s64)tmo) {
				bpf_map_delete_elem(&rt_conns, &p->t);
				bpf_map_delete_elem(&rt_conns, &r);
				rt_count(RT_NAT_EXPIRED);
				ct = 0;
			}
		}
	}
	if (ct) {
		if ((now >> 30) != (ct->last_ns >> 30)) /* about once a second of traffic: both halves still there? */
			rt_mend(ct, &p->t, nct);
		st = ct->state;
		if (p->t.proto == IPPROTO_TCP && (p->tcp_flags & (RT_TCP_FIN | RT_TCP_RST)))
			st = RT_CT_CLOSING;
		else if (st == RT_CT_NEW && ct->reply)
			st = RT_CT_ESTABLISHED;
		if (st != ct->state) {
			ct->state = st;
			rt_reverse(&ct->to, &r);
			peer = bpf_map_lookup_elem(&rt_conns, &r);
			if (peer)
				peer->state = st;
		}
		ct->last_ns = now;
		__sync_fetch_and_add(&ct->packets, 1);
		__sync_fetch_and_add(&ct->bytes, ctx_len(ctx));
		*to = ct->to;
		*xlate = 1;
		return 0;
	}

	/* a new connection: DNAT on its way in, then SNAT by where it is routed */
	t = p->t;
	dnat = rt_match_dnat(cfg, port->index, &t);
	out = rt_out_port(ctx, in, ip4, &t);
	snat = out ? rt_match_snat(cfg, port->index, out, &t, &lo, &hi) : 0;
	if (snat < 0) {
		rt_count(RT_DROP_NAT_NO_ADDR);
		return TC_ACT_SHOT;
	}
	if (dnat && !snat && out) {
		/* hairpin: a host reaching a forwarded address from the server's own side would get the
		 * answer straight from the server; masquerade it behind that port's address so it comes back */
		rt_reverse(&t, &r);
		r.daddr = p->t.saddr;
		if (rt_out_port(ctx, out, ip4, &r) == out) {
			struct rt_port *op = bpf_map_lookup_elem(&rt_ports, &out);

			if (op && op->addr4) {
				lo = hi = op->addr4;
				snat = 1;
				rt_count(RT_NAT_HAIRPIN);
			}
		}
	}
	if (!dnat && !snat)
		return 0; /* plain routing: no connection kept */
	__builtin_memset(nct, 0, sizeof(*nct));
	if (snat)
		t.saddr = lo == hi ? lo : bpf_htonl(bpf_ntohl(lo) + bpf_ntohl(p->t.saddr) % (bpf_ntohl(hi) - bpf_ntohl(lo) + 1));
	nct->iif = in;
	nct->nat = (snat ? 1 : 0) | (dnat ? 2 : 0);
	nct->last_ns = now;
	nct->state = RT_CT_NEW;
	/* a full table makes room by evicting the least recently used, in batches: the entries it
	 * lost are what the two inserts did not add (another CPU's inserts at the same time blur it) */
	held = bpf_map_sum_elem_count((const struct bpf_map *)&rt_conns);
	/* the reply direction first: its tuple must be free (BPF_NOEXIST), or SNAT picks another port */
	rt_reverse(&p->t, &nct->to);
	nct->reply = 1;
	for (i = 0; i <= RT_PORT_TRIES; i++) {
		if (i > 0)
			t.sport = rt_pick_port(cfg); /* ICMP: the echo id */
		rt_reverse(&t, &r);
		if (!bpf_map_update_elem(&rt_conns, &r, nct, snat ? BPF_NOEXIST : BPF_ANY))
			break;
		if (!snat)
			i = RT_PORT_TRIES + 1; /* DNAT alone and the map refused: nothing else to try */
		else
			rt_count(RT_NAT_PORT_COLLISION);
	}
	if (i > RT_PORT_TRIES) {
		rt_count(RT_DROP_NAT_EXHAUSTED);
		return TC_ACT_SHOT;
	}
	if (snat && i == 0)
		rt_count(RT_NAT_PORT_KEPT);
	nct->to = t;
	nct->reply = 0;
	nct->packets = 1;
	nct->bytes = ctx_len(ctx);
	if (bpf_map_update_elem(&rt_conns, &p->t, nct, BPF_ANY)) {
		bpf_map_delete_elem(&rt_conns, &r);
		rt_count(RT_DROP_NAT_EXHAUSTED);
		return TC_ACT_SHOT;
	}
	held = held + 2 - bpf_map_sum_elem_count((const struct bpf_map *)&rt_conns);
	if (held > 0)
		rt_count_n(RT_NAT_EVICTED_ENTRIES, held);
	rt_count(snat ? RT_NAT_NEW_SNAT : RT_NAT_NEW_DNAT);
	if (snat && dnat)
		rt_count(RT_NAT_NEW_DNAT);
	*to = t;
	*xlate = 1;
	*fresh = 1;
	return 0;
}

/* Rewrites the packet as stage one decided (xlate 2: an ICMP error) and reads its header again. */
static __always_inline int rt_nat_apply(l2_ctx *ctx, int xlate, const struct rt_pkt *p, const struct rt_tuple *to,
					const struct rt_icmp_err *err, struct iphdr *ip4)
{
	if ((xlate == 2 ? rt_rewrite_err(ctx, ip4, err) : rt_rewrite(ctx, p, to)) || ctx_load(ctx, 14, ip4, sizeof(*ip4))) {
		rt_count(RT_DROP_MALFORMED);
		return TC_ACT_SHOT;
	}
	rt_count(xlate == 2 ? RT_NAT_ICMP_ERROR : RT_NAT_XLATE);
	return 0;
}

static __always_inline int rt_route(l2_ctx *ctx)
{
	__u32 k = 0, in = ctx_ifindex(ctx), len = ctx_len(ctx), mtu = 0;
	struct rt_config *cfg = bpf_map_lookup_elem(&rt_config, &k);
	struct bpf_fib_lookup fib = {};
	struct rt_policy_key pk;
	struct rt_policy *pol;
	struct bpf_redir_neigh nh = {};
	struct ipv6hdr ip6;
	struct iphdr ip4;
	__be16 proto, old, new;
	__u8 ttl;
	long rc;
	int v6;

	struct rt_port *port = bpf_map_lookup_elem(&rt_ports, &in);
	struct rt_scratch *sc = bpf_map_lookup_elem(&rt_scratch, &k);
	struct rt_tuple rv;
	int r, xlate = 0, fresh = 0;

	if (!cfg || !port || !sc)
		return TC_ACT_OK; /* not a port of this router */
	if (ctx_load(ctx, 12, &proto, 2))
		return rt_to_kernel(RT_TO_KERNEL_LOCAL);
	v6 = proto == bpf_htons(ETH_P_IPV6);
	if (proto == bpf_htons(ETH_P_IP)) {
		if (ctx_load(ctx, 14, &ip4, sizeof(ip4)) || ip4.version != 4 || ip4.ihl < 5 ||
		    bpf_ntohs(ip4.tot_len) < 20 || 14 + bpf_ntohs(ip4.tot_len) > len) {
			rt_count(RT_DROP_MALFORMED);
			return TC_ACT_SHOT;
		}
		if (ip4.ihl != 5)
			return rt_to_kernel(RT_TO_KERNEL_OTHER); /* options: the kernel's (record route and the like) */
		r = rt_nat4(ctx, cfg, port, in, &ip4, sc, &xlate, &fresh); /* stage one; the route is for what it makes */
		if (r)
			return r;
		fib.family = AF_INET;
		fib.tos = ip4.tos;
		fib.l4_protocol = ip4.protocol;
		fib.tot_len = bpf_ntohs(ip4.tot_len);
		fib.ipv4_src = xlate ? sc->to.saddr : ip4.saddr;
		fib.ipv4_dst = xlate ? sc->to.daddr : ip4.daddr;
		if (xlate == 1 && sc->to.proto != IPPROTO_ICMP) {
			fib.sport = sc->to.sport;
			fib.dport = sc->to.dport;
		} else if (!xlate && !(ip4.frag_off & bpf_htons(0x1fff))) {
			rt_ports_of(ctx, 14 + 20, ip4.protocol, &fib);
		}
		ttl = ip4.ttl;
	} else if (v6) {
		if (ctx_load(ctx, 14, &ip6, sizeof(ip6)) || ip6.version != 6 || 14 + 40 + bpf_ntohs(ip6.payload_len) > len) {
			rt_count(RT_DROP_MALFORMED);
			return TC_ACT_SHOT;
		}
		fib.family = AF_INET6;
		fib.flowinfo = *(__be32 *)&ip6 & bpf_htonl(0x0fffffff);
		fib.l4_protocol = ip6.nexthdr;
		fib.tot_len = 40 + bpf_ntohs(ip6.payload_len);
		__builtin_memcpy(fib.ipv6_src, &ip6.saddr, 16);
		__builtin_memcpy(fib.ipv6_dst, &ip6.daddr, 16);
		rt_ports_of(ctx, 14 + 40, ip6.nexthdr, &fib);
		ttl = ip6.hop_limit;
	} else {
		return rt_to_kernel(RT_TO_KERNEL_LOCAL); /* ARP and the like */
	}
	if (ctx_gso_size(ctx))
		fib.tot_len = 0; /* each segment is checked below, not the whole */
	fib.ifindex = in; /* the original input: `ip rule iif` sees it */
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS:
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		break;
	case BPF_FIB_LKUP_RET_BLACKHOLE:
	case BPF_FIB_LKUP_RET_UNREACHABLE:
	case BPF_FIB_LKUP_RET_PROHIBIT:
		return rt_to_kernel(RT_TO_KERNEL_NO_ROUTE);
	case BPF_FIB_LKUP_RET_NOT_FWDED:
		return rt_to_kernel(RT_TO_KERNEL_LOCAL); /* for the box itself */
	case BPF_FIB_LKUP_RET_FRAG_NEEDED:
		/* with DF the kernel's frag-needed goes to the real source; without, the kernel fragments what NAT made */
		if (xlate && !(ip4.frag_off & bpf_htons(RT_IP_DF)) && rt_nat_apply(ctx, xlate, &sc->p, &sc->to, &sc->err, &ip4))
			return TC_ACT_SHOT;
		return rt_to_kernel(RT_TO_KERNEL_FRAG);
	default:
		return rt_to_kernel(RT_TO_KERNEL_OTHER); /* forwarding off on the port, LWT, ... */
	}
	if (ttl <= 1)
		return rt_to_kernel(RT_TO_KERNEL_TTL);
	if (ctx_gso_size(ctx) && bpf_check_mtu(ctx, fib.ifindex, &mtu, 0, BPF_MTU_CHK_SEGS))
		return rt_to_kernel(RT_TO_KERNEL_FRAG);

	pk.in = in;
	pk.out = fib.ifindex;
	pol = bpf_map_lookup_elem(&rt_policy, &pk);
	if (!pol) {
		pk.out = 0;
		pol = bpf_map_lookup_elem(&rt_policy, &pk);
	}
	if (pol && pol->action == RT_DROP) {
		if (fresh) { /* a connection this packet made: it will never be, so it takes no room */
			bpf_map_delete_elem(&rt_conns, &sc->p.t);
			rt_reverse(&sc->to, &rv);
			bpf_map_delete_elem(&rt_conns, &rv);
		}
		rt_count(RT_DROP_POLICY);
		return TC_ACT_SHOT;
	}
	if (xlate && rt_nat_apply(ctx, xlate, &sc->p, &sc->to, &sc->err, &ip4))
		return TC_ACT_SHOT;
	if (cfg->flags & RT_F_MARK_IIF) {
		ctx->mark = in; /* the kernel routes on: POSTROUTING sees the original port */
		return rt_to_kernel(RT_FORWARDED_KERNEL);
	}

	if (v6) {
		ttl--;
		if (ctx_store(ctx, 14 + 7, &ttl, 1)) /* no header checksum; skb->csum kept right */
			return TC_ACT_SHOT;
	} else {
		/* TTL and the header checksum change together: the header's sum, and skb->csum, stay */
		old = *(__be16 *)&ip4.ttl;
		ip4.ttl--;
		new = *(__be16 *)&ip4.ttl;
		ip4.check = l2_csum_replace16(ip4.check, old, new);
		if (ctx_store_raw(ctx, 14 + 8, &ip4.ttl, 1) || ctx_store_raw(ctx, 14 + 10, &ip4.check, 2))
			return TC_ACT_SHOT;
	}
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		rt_count(RT_FORWARDED_NEIGH);
		if (v6) {
			nh.nh_family = AF_INET6;
			__builtin_memcpy(nh.ipv6_nh, fib.ipv6_dst, 16);
		} else {
			nh.nh_family = AF_INET;
			nh.ipv4_nh = fib.ipv4_dst;
		}
		return bpf_redirect_neigh(fib.ifindex, &nh, sizeof(nh), 0);
	}
	if (ctx_store_raw(ctx, 0, fib.dmac, 6) || ctx_store_raw(ctx, 6, fib.smac, 6))
		return TC_ACT_SHOT;
	rt_count(RT_FORWARDED);
	return bpf_redirect(fib.ifindex, 0);
}

#endif /* L2BPF_ROUTE_H */
