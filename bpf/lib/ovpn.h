/* SPDX-License-Identifier: MIT */
/* OpenVPN's data channel (P_DATA_V2 and V1, openvpn-wire.md section 7) on TC:
 *
 *   uplink ingress   UDP to our port, P_DATA_V2 for a peer and key BPF
 *                    holds (V1: the peer found by its address): authenticate,
 *                    replay check, decrypt in place, strip outer IP + UDP +
 *                    24 bytes (V1: 21), redirect into the
 *                    tun device's ingress (as if the tun had received it).
 *   tun egress       an IP packet for a peer's VPN address: prepend outer
 *                    headers, encrypt in place, redirect out of the uplink
 *                    the FIB names. GSO packets and pending checksums go
 *                    through the segmenter pair first (the kernel cuts and
 *                    checksums them there), then the same on its inner end.
 *
 * Whatever BPF does not handle is left to the daemon unchanged (TC_ACT_OK:
 * to its UDP socket, or to its tun fd) and counted. */
#ifndef L2BPF_OVPN_H
#define L2BPF_OVPN_H

#include <linux/in.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include "include/ctx.h"
#include "include/csum.h"
#include "include/csum_fold.h"
#include "lib/chacha20poly1305.h"
#include "lib/aes_gcm.h"
#include "ovpn_maps.bpf.h"

#define OVPN_P_DATA_V1 6
#define OVPN_P_DATA_V2 9
#define OVPN_HEAD_V1 (OVPN_HEAD - 3)          /* V1 has no peer-id */
#define OVPN_CRYPT_TX 1                      /* ovpn_crypt's flags */
#define OVPN_CRYPT_V1 2
#define OVPN_OUTER4 (20 + 8)                 /* outer IPv4 + UDP */
#define OVPN_ENCAP (OVPN_OUTER4 + OVPN_HEAD)  /* what a datagram adds to the packet */
#define OVPN_OUTER6 (40 + 8)
#define OVPN_ENCAP6 (OVPN_OUTER6 + OVPN_HEAD)
#define OVPN_ENCAP_MAX OVPN_ENCAP6
#ifndef AF_INET6
#define AF_INET6 10
#endif

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef BPF_FIB_LOOKUP_SRC
#define BPF_FIB_LOOKUP_SRC (1U << 4)
#endif

/* The keepalive ping's plaintext (ping.c). */
static const __u8 ovpn_ping[16] = { 0x2a, 0x18, 0x7b, 0xf3, 0x64, 0x1e, 0xb4, 0xcb,
				    0x07, 0xed, 0x2d, 0x0a, 0x98, 0x1f, 0xc7, 0x48 };

static __always_inline void ovpn_count(__u32 what)
{
	__u64 *n = bpf_map_lookup_elem(&ovpn_counts, &what);

	if (n)
		*n += 1;
}

static __always_inline struct ovpn_config *ovpn_cfg(void)
{
	__u32 k = 0;

	return bpf_map_lookup_elem(&ovpn_config, &k);
}

static __always_inline struct ovpn_scratch *ovpn_scratch_get(void)
{
	__u32 k = 0;

	return bpf_map_lookup_elem(&ovpn_scratch, &k);
}

#define OVPN_RP_MASK (OVPN_REPLAY_MAX - 1)

/* OpenVPN's replay rule (packet_id.c) for key `slot`, which must still
 * carry key id kid (a renegotiation may have put another key there since
 * the packet was decrypted), under the key's lock; commit records the id.
 * Exact, also for T: a gap is taken until the jump over it is T old. 0 =
 * fresh, 1 = refused, -1 = no such key. Global: its loops are walked once,
 * not at every caller. */
__noinline int ovpn_replay(__u32 slot, __u32 kid, __u32 id, __u64 now, __u32 commit)
{
	ovpn_slot s = slot;
	struct ovpn_key *k = bpf_map_lookup_elem(&ovpn_keys, &s);
	struct ovpn_gaps *g = bpf_map_lookup_elem(&ovpn_gaps, &s);
	__u32 t = now >> 20, n, i, b;
	struct ovpn_replay *r;
	int bad = 0;

	if (!k || k->key_id != kid)
		return -1;
	if (id == 0)
		return 1;
	r = &k->replay;
	bpf_spin_lock(&k->lock);
	if (k->key_id != kid) {
		bad = 1; /* replaced while we waited */
	} else if (id > r->highest) {
		if (commit) {
			/* the ids jumped over (all of the window when it jumps further) are gaps from now */
			n = id - r->highest;
			for (i = 1; i <= OVPN_REPLAY_MAX; i++) {
				if (i > n)
					break;
				b = (r->highest + i) & OVPN_RP_MASK;
				r->bits[b >> 6] &= ~(1ULL << (b & 63));
				if (g)
					g->jumped[b] = t;
			}
			r->highest = id;
		}
	} else if (r->highest - id >= r->window || r->highest - id >= OVPN_REPLAY_MAX) {
		bad = 1; /* too old */
	} else if (r->bits[(id & OVPN_RP_MASK) >> 6] & (1ULL << (id & 63))) {
		bad = 1; /* seen */
	} else if (r->backtrack_ns && (!g || (__s32)(t - g->jumped[id & OVPN_RP_MASK]) > (__s32)(r->backtrack_ns >> 20))) {
		/* signed: another CPU may have jumped over it after this one read the clock */
		bad = 1; /* the gap is older than T */
	}
	if (!bad && commit)
		r->bits[(id & OVPN_RP_MASK) >> 6] |= 1ULL << (id & 63);
	bpf_spin_unlock(&k->lock);
	return bad;
}

/* The slot of peer `id` whose key carries key_id kid. */
static __always_inline int ovpn_find_key(__u32 id, __u8 kid, ovpn_slot *slot, struct ovpn_key **key)
{
	ovpn_slot s;
	struct ovpn_key *k;

#pragma unroll
	for (int i = 0; i < 2; i++) {
		s = id << 1 | i;
		k = bpf_map_lookup_elem(&ovpn_keys, &s);
		if (k && k->key_id == kid && k->cipher != OVPN_CIPHER_NONE) {
			*slot = s;
			*key = k;
			return 0;
		}
	}
	return -1;
}

/* Whether BPF runs this key's AEAD for len bytes in direction tx: AES-GCM
 * needs its kernel context and at most L2_GCM_MAX_BLOCKS blocks. */
static __always_inline int ovpn_can(struct ovpn_key *key, ovpn_slot slot, int tx, __u32 len)
{
	struct ovpn_aes_ctx *a;
	__u32 idx = slot << 1 | (tx ? 1 : 0);

	if (key->cipher == OVPN_CHACHA20_POLY1305)
		return 1;
	if (key->cipher != OVPN_AES_256_GCM && key->cipher != OVPN_AES_128_GCM)
		return 0;
	if (len > L2_GCM_MAX_BLOCKS * 16)
		return 0;
	a = bpf_map_lookup_elem(&ovpn_aes, &idx);
	return a && a->ctx;
}

/* The key's AEAD over [off, off + len): ChaCha20-Poly1305 here, AES-GCM with
 * the kernel's AES. Same results as l2_chacha20poly1305. */
static __always_inline int ovpn_aead(l2_ctx *ctx, struct ovpn_key *key, struct ovpn_secret *sec, ovpn_slot slot, int tx,
				     const __u8 *nonce, const __u8 *aad, __u32 aad_len, __u32 off, __u32 len, __u8 *tag)
{
	struct ovpn_aes_ctx *a;
	__u32 idx = slot << 1 | (tx ? 1 : 0);

	if (key->cipher == OVPN_CHACHA20_POLY1305)
		return l2_chacha20poly1305(ctx, tx ? sec->tx_key : sec->rx_key, nonce, aad, aad_len, off, len, !tx, tag);
	a = bpf_map_lookup_elem(&ovpn_aes, &idx);
	if (!a || !a->ctx)
		return -1;
	return l2_aes_gcm(ctx, a->ctx, tx ? &sec->tx_h : &sec->rx_h, nonce, aad, aad_len, off, len, !tx, tag);
}

/* The AEAD of the key in `slot` for the datagram whose header is at
 * head_off: V2's 8 bytes are the AAD, V1's (flags & OVPN_CRYPT_V1) 5 bytes
 * have the packet id alone as AAD; the tag follows the header, then len
 * bytes of data. OVPN_CRYPT_TX: encrypt, write the tag; else check the tag,
 * then decrypt. A global function, so the verifier walks the ciphers once,
 * not once per path of every caller. 0, -1 (cannot), -2 (bad tag). */
__noinline int ovpn_crypt(struct __sk_buff *ctx, __u32 slot, __u32 head_off, __u32 len, __u32 flags)
{
	struct ovpn_scratch *sc = ovpn_scratch_get();
	__u32 hl = flags & OVPN_CRYPT_V1 ? 5 : 8, tx = flags & OVPN_CRYPT_TX;
	struct ovpn_secret *sec;
	struct ovpn_key *key;
	ovpn_slot s = slot;
	int r;

	key = bpf_map_lookup_elem(&ovpn_keys, &s);
	sec = bpf_map_lookup_elem(&ovpn_secrets, &s);
	if (!sc || !key || !sec || head_off > 0xffff || len > 0xffff)
		return -1;
	/* the whole 8 bytes either way: V1's header is followed by its tag */
	if (ctx_load(ctx, head_off, sc->head, 8) || (!tx && ctx_load(ctx, head_off + hl, sc->buf, 16)))
		return -1;
	__builtin_memcpy(sc->nonce, sc->head + hl - 4, 4);
	__builtin_memcpy(sc->nonce + 4, tx ? sec->tx_iv : sec->rx_iv, 8);
	/* the AAD as one zero-padded block: the ciphers take aad_len for the lengths alone */
	__builtin_memset(sc->aad, 0, 16);
	if (hl == 5)
		__builtin_memcpy(sc->aad, sc->head + 1, 4);
	else
		__builtin_memcpy(sc->aad, sc->head, 8);
	r = ovpn_aead(ctx, key, sec, s, tx, sc->nonce, sc->aad, hl == 5 ? 4 : 8, head_off + hl + 16, len, sc->buf);
	if (!r && tx && ctx_store_raw(ctx, head_off + hl, sc->buf, 16))
		return -1;
	return r;
}

/* Removes the first n bytes after the Ethernet header. Two steps: the
 * kernel resets a pending (CHECKSUM_PARTIAL) state only when a pull finds
 * csum_start already behind the data, and the outer UDP header it points
 * at is gone after the first; the inner packet's own checksums are whole. */
static __always_inline long ovpn_strip(l2_ctx *ctx, __u32 n, int inner_v6)
{
	__u64 flags = BPF_F_ADJ_ROOM_NO_CSUM_RESET | (inner_v6 ? BPF_F_ADJ_ROOM_DECAP_L3_IPV6 : BPF_F_ADJ_ROOM_DECAP_L3_IPV4);

	if (bpf_skb_adjust_room(ctx, -(__s32)(n - 1), BPF_ADJ_ROOM_MAC, BPF_F_ADJ_ROOM_NO_CSUM_RESET))
		return -1;
	return bpf_skb_adjust_room(ctx, -1, BPF_ADJ_ROOM_MAC, flags);
}

/* The P_DATA_V1 peer whose datagrams come from the outer source in o
 * (IPv4 or IPv6 as read) and port sport (host order). */
static __always_inline __u32 *ovpn_v1_peer(struct ovpn_scratch *sc, const __u8 *o, int out6, __u16 sport)
{
	struct ovpn_addr *a = &sc->v1key;

	__builtin_memset(a, 0, sizeof(*a));
	if (out6) {
		__builtin_memcpy(a->addr, o + 8, 16);
	} else {
		a->addr[10] = 0xff;
		a->addr[11] = 0xff;
		__builtin_memcpy(a->addr + 12, o + 12, 4);
	}
	a->port = sport;
	return bpf_map_lookup_elem(&ovpn_by_addr, a);
}

/* The header length of data opcode op: 8 (V2), 5 (V1). Global, so the
 * verifier sees one number in a range, not a path per opcode through all
 * that follows. */
__noinline int ovpn_head_len(__u32 op)
{
	return op == OVPN_P_DATA_V1 ? 5 : 8;
}

/* ---- receive: the uplink's ingress */
static __always_inline int ovpn_rx(l2_ctx *ctx)
{
	struct ovpn_config *cfg = ovpn_cfg();
	struct ovpn_scratch *sc = ovpn_scratch_get();
	struct udphdr *udpp;
	struct iphdr *ip4;
	__u8 *head, *buf, *o;
	struct ovpn_secret *sec;
	struct ovpn_peer *peer;
	struct ovpn_key *key;
	ovpn_slot slot;
	__u32 id, pid, len, off, dlen, src4, l3, encap, iplen, hl, op, *idp;
	__be16 proto;
	__u64 now;
	int v6, r, out6;

	if (!cfg || !sc || ctx_load(ctx, 12, &proto, 2))
		return TC_ACT_OK;
	o = sc->outer6;
	ip4 = (struct iphdr *)o;
	head = sc->head; buf = sc->buf;
	if (proto == bpf_htons(ETH_P_IP)) {
		if (ctx_load(ctx, 14, o, 28) || ip4->ihl != 5 || ip4->protocol != IPPROTO_UDP || (ip4->frag_off & bpf_htons(0x3fff)))
			return TC_ACT_OK;
		out6 = 0;
		l3 = 20;
		iplen = bpf_ntohs(ip4->tot_len);
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		/* UDP right after the fixed header: extension headers (fragments too) are the daemon's */
		if (ctx_load(ctx, 14, o, 48) || o[6] != IPPROTO_UDP)
			return TC_ACT_OK;
		out6 = 1;
		l3 = 40;
		iplen = 40 + ((__u32)o[4] << 8 | o[5]);
	} else {
		return TC_ACT_OK;
	}
	udpp = (struct udphdr *)(o + (l3 & 0x3f));
	if (udpp->dest != bpf_htons(cfg->port))
		return TC_ACT_OK;
	len = ctx_len(ctx);
	if (len < 14 + l3 + 8 + 8 || ctx_load(ctx, 14 + l3 + 8, head, 8))
		return TC_ACT_OK;
	op = head[0] >> 3;
	if (op != OVPN_P_DATA_V1 && op != OVPN_P_DATA_V2)
		return TC_ACT_OK; /* control packets: the daemon's */
	hl = ovpn_head_len(op);
	if (hl > 8)
		return TC_ACT_OK;
	encap = l3 + 8 + hl + 16;
	if (len < 14 + encap)
		return TC_ACT_OK;
	if (iplen + 14 > len || bpf_ntohs(udpp->len) + 14 + l3 > len) {
		ovpn_count(OVPN_RX_TRUNCATED);
		return TC_ACT_SHOT;
	}
	len = 14 + l3 + bpf_ntohs(udpp->len); /* Ethernet padding is not ciphertext */
	if (len < 14 + encap)
		return TC_ACT_OK;
	if (op == OVPN_P_DATA_V1) {
		idp = ovpn_v1_peer(sc, o, out6, bpf_ntohs(udpp->source));
		id = idp ? *idp : 0xffffffff;
	} else {
		id = (__u32)head[1] << 16 | (__u32)head[2] << 8 | head[3];
	}
	peer = bpf_map_lookup_elem(&ovpn_peers, &id);
	if (!peer || (op == OVPN_P_DATA_V1 && !peer->data_v1) || ovpn_find_key(id, head[0] & 7, &slot, &key) || !ovpn_can(key, slot, 0, len - 14 - encap)) {
		ovpn_count(OVPN_RX_TO_DAEMON);
		return TC_ACT_OK;
	}
	sec = bpf_map_lookup_elem(&ovpn_secrets, &slot);
	if (!sec) {
		ovpn_count(OVPN_RX_TO_DAEMON);
		return TC_ACT_OK;
	}
	pid = op == OVPN_P_DATA_V1 ? (__u32)head[1] << 24 | (__u32)head[2] << 16 | (__u32)head[3] << 8 | head[4]
		 : (__u32)head[4] << 24 | (__u32)head[5] << 16 | (__u32)head[6] << 8 | head[7];
	now = bpf_ktime_get_ns();
	if (ovpn_replay(slot, head[0] & 7, pid, now, 0)) { /* cheap refusal before the crypto; checked again after */
		ovpn_count(OVPN_RX_REPLAY);
		return TC_ACT_SHOT;
	}
	off = 14 + encap;
	dlen = len - off;
	r = ovpn_crypt(ctx, slot, 14 + l3 + 8, dlen, op == OVPN_P_DATA_V1 ? OVPN_CRYPT_V1 : 0);
	if (r == -2) {
		ovpn_count(OVPN_RX_BAD_TAG);
		return TC_ACT_SHOT;
	}
	if (r) {
		ovpn_count(OVPN_RX_TRUNCATED);
		return TC_ACT_SHOT;
	}
	if (ovpn_replay(slot, head[0] & 7, pid, now, 1)) {
		ovpn_count(OVPN_RX_REPLAY_RACED);
		return TC_ACT_SHOT;
	}
	__sync_fetch_and_add(&key->rx_packets, 1);
	__sync_fetch_and_add(&peer->rx_packets, 1);
	__sync_fetch_and_add(&peer->rx_bytes, len - 14);
	peer->last_rx_ns = now;
	/* float, as a 2.6 server does for a packet that authenticates */
	if (out6) {
		if (peer->family != 6 || __builtin_memcmp(peer->remote6, o + 8, 16) || peer->rport != bpf_ntohs(udpp->source)) {
			__builtin_memcpy(peer->remote6, o + 8, 16);
			__builtin_memcpy(peer->local6, o + 24, 16);
			peer->family = 6;
			peer->rport = bpf_ntohs(udpp->source);
			ovpn_count(OVPN_RX_FLOAT);
		}
	} else if (peer->family != 4 || peer->remote4 != ip4->saddr || peer->rport != bpf_ntohs(udpp->source)) {
		peer->remote4 = ip4->saddr;
		peer->family = 4;
		peer->rport = bpf_ntohs(udpp->source);
		ovpn_count(OVPN_RX_FLOAT);
	}
	if (!out6 && !peer->local4)
		peer->local4 = ip4->daddr;
	if (out6 && !peer->local6[0])
		__builtin_memcpy(peer->local6, o + 24, 16); /* ours, as the client sent to it */
	if (peer->uplink != ctx->ingress_ifindex)
		peer->uplink = ctx->ingress_ifindex;
	if (dlen == 16) {
		if (ctx_load(ctx, off, buf, 16))
			return TC_ACT_SHOT;
		if (!__builtin_memcmp(buf, ovpn_ping, 16)) {
			ovpn_count(OVPN_RX_PING);
			return TC_ACT_SHOT;
		}
	}
	if (dlen < 20 || ctx_load(ctx, off, buf, 1)) {
		ovpn_count(OVPN_RX_TRUNCATED);
		return TC_ACT_SHOT;
	}
	v6 = buf[0] >> 4 == 6;
	if (v6) {
		if (dlen < 40 || ctx_load(ctx, off + 8, buf, 16) || __builtin_memcmp(buf, peer->vpn6, 16)) {
			ovpn_count(dlen < 40 ? OVPN_RX_TRUNCATED : OVPN_RX_SPOOFED);
			return TC_ACT_SHOT;
		}
	} else if (buf[0] >> 4 != 4) {
		ovpn_count(OVPN_RX_TRUNCATED);
		return TC_ACT_SHOT;
	} else if (ctx_load(ctx, off + 12, &src4, 4) || src4 != peer->vpn4) {
		ovpn_count(OVPN_RX_SPOOFED);
		return TC_ACT_SHOT;
	}
	if (len < ctx_len(ctx) && ctx_set_len(ctx, len))
		return TC_ACT_SHOT;
	if (ovpn_strip(ctx, encap, v6)) {
		ovpn_count(OVPN_RX_TRUNCATED);
		return TC_ACT_SHOT;
	}
	ovpn_count(OVPN_RX_DELIVERED);
	return bpf_redirect(cfg->tun, BPF_F_INGRESS);
}

/* ---- send: an IP packet behind an Ethernet header (ours), at l2 = 14 */

/* The peer an inner packet goes to, by its destination. */
static __always_inline __u32 *ovpn_route(l2_ctx *ctx, __u32 l3, int *v6)
{
	__u8 ver;
	l2_ipv4 d4;
	l2_ipv6 d6;

	if (ctx_load(ctx, l3, &ver, 1))
		return 0;
	*v6 = ver >> 4 == 6;
	if (ver >> 4 == 4)
		return ctx_load(ctx, l3 + 16, &d4, 4) ? 0 : bpf_map_lookup_elem(&ovpn_route4, &d4);
	if (ver >> 4 == 6)
		return ctx_load(ctx, l3 + 24, d6, 16) ? 0 : bpf_map_lookup_elem(&ovpn_route6, d6);
	return 0;
}

/* Whether the datagram for an inner packet of n bytes fits the peer's
 * uplink unfragmented; BPF cannot fragment, the daemon's socket does. */
static __always_inline int ovpn_fits(l2_ctx *ctx, struct ovpn_peer *peer, __u32 n)
{
	__u32 len = n + (peer->family == 6 ? OVPN_ENCAP6 : OVPN_ENCAP);

	return peer->uplink && bpf_check_mtu(ctx, peer->uplink, &len, 0, 0) == BPF_MTU_CHK_RET_SUCCESS;
}

/* IPv6 wants the UDP checksum: the pseudo header, then the datagram as it
 * now is (IPv6 header at 14, then ulen bytes of UDP). Global: walked once. */
__noinline int ovpn_udp6_csum(struct __sk_buff *ctx, __u32 ulen)
{
	struct ovpn_scratch *sc = ovpn_scratch_get();
	__u8 *p;
	__u64 sum;
	__u16 csum;
	int ok;

	if (!sc || ulen > 0xffff || ctx_load(ctx, 14 + 8, sc->pseudo, 32))
		return -1;
	p = sc->pseudo;
	p[32] = 0; p[33] = 0; p[34] = ulen >> 8; p[35] = ulen;
	p[36] = 0; p[37] = 0; p[38] = 0; p[39] = IPPROTO_UDP;
	sum = bpf_csum_diff(0, 0, (__be32 *)p, 40, 0);
	sum = l2_csum_range(ctx, 14 + 40, 14 + 40 + ulen, sum, &ok);
	csum = l2_csum_fold(sum);
	if (!ok)
		return -1;
	if (!csum)
		csum = 0xffff;
	return ctx_store_raw(ctx, 14 + 40 + 6, &csum, 2) ? -1 : 0;
}

struct ovpn_outer {
	struct iphdr ip;
	struct udphdr udp;
	__u8 head[8];
};

/* Wraps and encrypts the packet at 14 for peer id; the Ethernet header is
 * there already. Returns the verdict. */
static __always_inline int ovpn_tx(l2_ctx *ctx, struct ovpn_config *cfg, __u32 id, int v6)
{
	struct ovpn_peer *peer = bpf_map_lookup_elem(&ovpn_peers, &id);
	struct ovpn_scratch *sc = ovpn_scratch_get();
	struct bpf_fib_lookup fib = {};
	struct ovpn_outer *op;
	struct ovpn_secret *sec;
	struct ovpn_key *key;
	__u32 inner, iplen, flags = 0, encap, hl;
	__be16 proto;
	ovpn_slot slot;
	__u64 pid;
	__u16 tot;
	long rc;
	int o6;

	if (!peer || !sc)
		return TC_ACT_SHOT;
	o6 = peer->family == 6;
	hl = peer->data_v1 ? 5 : 8;
	encap = (o6 ? OVPN_OUTER6 : OVPN_OUTER4) + hl + 16;
	proto = bpf_htons(o6 ? ETH_P_IPV6 : ETH_P_IP);
	op = (struct ovpn_outer *)sc->outer; /* IPv4 outer, then head: the datagram's first 36 bytes */
	__builtin_memset(sc->outer6, 0, sizeof(sc->outer6) + 36);
#define o (*op)
	slot = id << 1 | (peer->tx_slot & 1);
	key = bpf_map_lookup_elem(&ovpn_keys, &slot);
	sec = bpf_map_lookup_elem(&ovpn_secrets, &slot);
	if (!key || !sec || !ovpn_can(key, slot, 1, ctx_len(ctx) - 14) || !peer->uplink || (o6 ? !peer->remote6[0] || !peer->local6[0] : !peer->remote4))
		return -1; /* the caller hands it to the daemon */
	if (v6) {
		if (ctx_load(ctx, 14 + 4, &tot, 2))
			return TC_ACT_SHOT;
		iplen = 40 + bpf_ntohs(tot);
	} else {
		if (ctx_load(ctx, 14 + 2, &tot, 2))
			return TC_ACT_SHOT;
		iplen = bpf_ntohs(tot);
	}
	inner = ctx_len(ctx) - 14;
	if (iplen < 20 || iplen > inner)
		goto fail;
	if (iplen < inner && ctx_set_len(ctx, 14 + iplen))
		goto fail;
	inner = iplen;
	if (inner + encap > 0xffff)
		goto fail;
	pid = __sync_fetch_and_add(&key->tx_pid, 1);
	if (pid == 0 || pid > 0xffffffffULL)
		goto fail; /* out of ids on this key: the daemon renegotiates before this */

	fib.ifindex = peer->uplink;
	fib.l4_protocol = IPPROTO_UDP;
	fib.tot_len = 0; /* the size was checked against the uplink already (ovpn_fits) */
	if (o6) {
		fib.family = AF_INET6;
		__builtin_memcpy(fib.ipv6_dst, peer->remote6, 16);
		__builtin_memcpy(fib.ipv6_src, peer->local6, 16);
	} else {
		fib.family = AF_INET;
		fib.ipv4_dst = peer->remote4;
		fib.ipv4_src = peer->local4;
		if (!peer->local4)
			flags |= BPF_FIB_LOOKUP_SRC;
	}
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), flags | BPF_FIB_LOOKUP_OUTPUT);
	/* The helper refuses when the uplink does not forward; a server that
	 * only talks to its clients need not: the neighbour path routes then. */
	if (rc == BPF_FIB_LKUP_RET_FWD_DISABLED && (o6 || peer->local4)) {
		rc = BPF_FIB_LKUP_RET_NO_NEIGH;
		fib.ifindex = peer->uplink;
	}
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		goto fail;

	if (bpf_skb_adjust_room(ctx, encap, BPF_ADJ_ROOM_MAC,
				(o6 ? BPF_F_ADJ_ROOM_ENCAP_L3_IPV6 : BPF_F_ADJ_ROOM_ENCAP_L3_IPV4) | BPF_F_ADJ_ROOM_ENCAP_L4_UDP))
		goto fail;
	if (hl == 5) {
		o.head[0] = OVPN_P_DATA_V1 << 3 | (key->key_id & 7);
		o.head[1] = pid >> 24; o.head[2] = pid >> 16; o.head[3] = pid >> 8; o.head[4] = pid;
	} else {
		o.head[0] = OVPN_P_DATA_V2 << 3 | (key->key_id & 7);
		o.head[1] = id >> 16; o.head[2] = id >> 8; o.head[3] = id;
		o.head[4] = pid >> 24; o.head[5] = pid >> 16; o.head[6] = pid >> 8; o.head[7] = pid;
	}
	if (o6) {
		struct udphdr *u = (struct udphdr *)(sc->outer6 + 40);

		sc->outer6[0] = 0x60;
		sc->outer6[4] = (inner + hl + 16 + 8) >> 8;
		sc->outer6[5] = inner + hl + 16 + 8;
		sc->outer6[6] = IPPROTO_UDP;
		sc->outer6[7] = 64;
		__builtin_memcpy(sc->outer6 + 8, peer->local6, 16);
		__builtin_memcpy(sc->outer6 + 24, peer->remote6, 16);
		u->source = bpf_htons(cfg->port);
		u->dest = bpf_htons(peer->rport);
		u->len = bpf_htons(inner + 8 + hl + 16);
		if (ctx_store_raw(ctx, 14, sc->outer6, 48) || ctx_store_raw(ctx, 14 + 48, o.head, 8))
			goto fail;
	} else {
		o.ip.version = 4;
		o.ip.ihl = 5;
		o.ip.ttl = 64;
		o.ip.protocol = IPPROTO_UDP;
		o.ip.tot_len = bpf_htons(inner + encap);
		o.ip.saddr = peer->local4 ? peer->local4 : fib.ipv4_src;
		o.ip.daddr = peer->remote4;
		o.ip.check = l2_csum_fold(bpf_csum_diff(0, 0, (__be32 *)sc->outer, 20, 0));
		o.udp.source = bpf_htons(cfg->port);
		o.udp.dest = bpf_htons(peer->rport);
		o.udp.len = bpf_htons(inner + 8 + hl + 16);
		if (ctx_store_raw(ctx, 14, sc->outer, 36))
			goto fail;
	}
	/* V1's 5-byte header went out with 3 bytes to spare: the tag overwrites them */
	if (ctx_store_raw(ctx, 12, &proto, 2) ||
	    ovpn_crypt(ctx, slot, 14 + encap - hl - 16, inner, OVPN_CRYPT_TX | (hl == 5 ? OVPN_CRYPT_V1 : 0)))
		goto fail;
	if (o6 && ovpn_udp6_csum(ctx, inner + 8 + hl + 16))
		goto fail;
	__sync_fetch_and_add(&peer->tx_packets, 1);
	__sync_fetch_and_add(&peer->tx_bytes, inner + encap);
	peer->last_tx_ns = bpf_ktime_get_ns();
	ovpn_count(OVPN_TX_SENT);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return bpf_redirect_neigh(fib.ifindex, 0, 0, 0);
	if (ctx_store_raw(ctx, 0, fib.dmac, 6) || ctx_store_raw(ctx, 6, fib.smac, 6))
		goto fail;
	return bpf_redirect(fib.ifindex, 0);
fail:
	ovpn_count(OVPN_TX_FAILED);
	return TC_ACT_SHOT;
#undef o
}

/* tun egress: a bare IP packet the kernel routed to the tun device. */
static __always_inline int ovpn_from_tun(l2_ctx *ctx)
{
	struct ovpn_config *cfg = ovpn_cfg();
	struct ovpn_peer *peer;
	struct ovpn_key *key;
	ovpn_slot slot;
	__be16 proto;
	__u32 *id, pid;
	int v6 = 0, r;

	if (!cfg)
		return TC_ACT_OK;
	id = ovpn_route(ctx, 0, &v6);
	if (!id) {
		ovpn_count(OVPN_TX_NO_PEER);
		return TC_ACT_OK;
	}
	pid = *id;
	peer = bpf_map_lookup_elem(&ovpn_peers, &pid);
	if (!peer)
		return TC_ACT_OK;
	slot = pid << 1 | (peer->tx_slot & 1);
	key = bpf_map_lookup_elem(&ovpn_keys, &slot);
	if (!key || !ovpn_can(key, slot, 1, ctx_gso_size(ctx) ? 1500 : ctx_len(ctx)) ||
	    (peer->family == 6 ? !peer->remote6[0] || !peer->local6[0] : !peer->remote4) ||
	    (!ctx_gso_size(ctx) && !ovpn_fits(ctx, peer, ctx_len(ctx)))) {
		ovpn_count(OVPN_TX_TO_DAEMON);
		return TC_ACT_OK; /* to the tun fd: the daemon encrypts it (and its socket fragments) */
	}
	proto = bpf_htons(v6 ? ETH_P_IPV6 : ETH_P_IP);
	if (ctx_push_front(ctx, 14) || ctx_store_raw(ctx, 12, &proto, 2))
		return TC_ACT_SHOT;
	if (ctx_gso_size(ctx) || ctx_csum_state(ctx) == L2_CSUM_PARTIAL) {
		if (!cfg->seg_outer) {
			ovpn_count(OVPN_TX_FAILED);
			return TC_ACT_SHOT;
		}
		ovpn_count(OVPN_TX_SEGMENTER);
		return bpf_redirect(cfg->seg_outer, 0);
	}
	r = ovpn_tx(ctx, cfg, pid, v6);
	if (r < 0)
		ovpn_count(OVPN_TX_FAILED); /* the key changed under it */
	return r < 0 ? TC_ACT_SHOT : r;
}

/* The segmenter's inner end: single packets with finished checksums. */
static __always_inline int ovpn_from_segmenter(l2_ctx *ctx)
{
	struct ovpn_config *cfg = ovpn_cfg();
	struct ovpn_peer *peer;
	__u32 *id;
	int v6 = 0, r;

	if (!cfg)
		return TC_ACT_SHOT;
	id = ovpn_route(ctx, 14, &v6);
	if (!id) {
		ovpn_count(OVPN_TX_NO_PEER);
		return TC_ACT_SHOT;
	}
	peer = bpf_map_lookup_elem(&ovpn_peers, id);
	if (peer && !ovpn_fits(ctx, peer, ctx_len(ctx) - 14))
		return bpf_redirect(cfg->tun, 0); /* a segment too big for one datagram: back to the tun, whose program leaves it to the daemon */
	r = ovpn_tx(ctx, cfg, *id, v6);
	if (r < 0) {
		ovpn_count(OVPN_TX_FAILED); /* the key changed under it */
		return TC_ACT_SHOT;
	}
	return r;
}

#endif /* L2BPF_OVPN_H */
