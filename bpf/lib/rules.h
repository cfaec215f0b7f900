/* SPDX-License-Identifier: MIT */
/* Prefix rules: the longest destination prefix wins (LPM trie); its entry
 * lists the alternatives, most specific first (src/control/rules.ts builds
 * them), and the first whose source prefix contains the source decides. */
#ifndef L2BPF_RULES_H
#define L2BPF_RULES_H

#include "parse.h"
#include "flowmac.h"

struct l2_rule_hit { __u32 action; __u32 tunnel; };

static __always_inline int l2_src_in(const struct l2_pkt *p, struct l2_rule_alt *a)
{
	if (!a->src_plen)
		return 1;
	return p->family == 4 ? l2_in_prefix4(p->src + 12, a->src, a->src_plen)
			      : l2_in_prefix6(p->src, a->src, a->src_plen);
}

static __always_inline struct l2_rule_hit l2_rule_decide(const struct l2_pkt *p)
{
	struct l2_rule_hit d = { L2_ACT_PASS, 0 };
	struct l2_rule_key k = {};
	struct l2_rule *r;

	if (p->family == 4) {
		k.prefixlen = 8 + 32;
		__builtin_memcpy(k.addr, p->dst + 12, 4);
	} else {
		k.prefixlen = 8 + 128;
		__builtin_memcpy(k.addr, p->dst, 16);
	}
	k.family = p->family;
	r = bpf_map_lookup_elem(&l2_rules, &k);
	if (!r)
		return d;
#pragma unroll
	for (int i = 0; i < L2_RULE_ALTS; i++) {
		if (i >= r->count)
			break;
		if (l2_src_in(p, &r->alt[i])) {
			d.action = r->alt[i].action;
			d.tunnel = r->alt[i].tunnel;
			break;
		}
	}
	return d;
}

#endif /* L2BPF_RULES_H */
