/* SPDX-License-Identifier: MIT */
/* One context for every feature: maps a neutral `l2_ctx` and its helpers
 * onto the hook the object is built for (cilium's bpf/ctx/{xdp,skb}.h
 * idea). Each entry file defines L2_HOOK_XDP or L2_HOOK_TC first.
 *
 *   ctx_data / ctx_data_end   linear part, for direct access
 *   ctx_len                   whole frame (fragments too)
 *   ctx_load / ctx_store      bytes at an offset, fragments included
 *   ctx_push_front / ctx_pull_front / ctx_set_len   resize
 *   ctx_encap_room            room in front of L3 for outer headers (GRE)
 *   ctx_redirect / ctx_forward / ctx_back_out      verdicts that send
 *   ctx_gso_segs / ctx_gso_size                     GSO state (TC only)
 *   ctx_csum_*                checksum state and fix-ups
 *   ctx_hw_vlan / ctx_vlan_strip   an 802.1Q tag the kernel moved into metadata; drop all tags
 */
#ifndef L2BPF_CTX_H
#define L2BPF_CTX_H

#if defined(L2_HOOK_XDP)
#include "ctx/xdp.h"
#elif defined(L2_HOOK_TC)
#include "ctx/skb.h"
#else
#error "define L2_HOOK_XDP or L2_HOOK_TC before including ctx.h"
#endif

/* Checksum state of an skb: what the kernel will still do with it. */
#define L2_CSUM_NONE 0        /* nothing pending: the bytes are what goes out */
#define L2_CSUM_UNNECESSARY 1 /* a device verified L4 on receive */
#define L2_CSUM_COMPLETE 2    /* skb->csum holds the sum of the packet (receive) */
#define L2_CSUM_PARTIAL 3     /* an L4 checksum is still to be filled in at csum_start + csum_offset */

#endif /* L2BPF_CTX_H */
