/* SPDX-License-Identifier: MIT */
/* AES-GCM (NIST SP 800-38D) over packet bytes: the AES block cipher from the
 * kernel (the bpf_crypto kfuncs, "ecb(aes-generic)": no AEAD is there for BPF
 * on 6.18), the counter mode and GHASH here. The counter blocks of a packet
 * (J0, then one per 16 bytes of data) are encrypted in one kfunc call into a
 * keystream; GHASH is Shoup's 4-bit table method with the table of H, which
 * the daemon computes per key (H = AES_K(0^128) is key material: it lives in
 * ovpn_secrets). Per-packet state in a per-CPU map, as for ChaCha20. */
#ifndef L2BPF_AES_GCM_H
#define L2BPF_AES_GCM_H

#include "include/ctx.h"
#include "ovpn_maps.bpf.h"

#define L2_GCM_MAX_BLOCKS 127 /* data blocks: 2032 bytes; larger packets take the daemon's path */

struct bpf_crypto_ctx;
extern int bpf_crypto_encrypt(struct bpf_crypto_ctx *ctx, const struct bpf_dynptr *src, const struct bpf_dynptr *dst,
			      const struct bpf_dynptr *siv__nullable) __ksym;

struct l2_gcm_state {
	__u8 ctr[4096];           /* (L2_GCM_MAX_BLOCKS + 1) blocks used; sized for the verifier's 12-bit bound */
	__u8 ks[4096];
	__u64 buf[8];
	__u64 zh, zl;             /* the GHASH accumulator, big-endian halves */
	__u32 off, len, decrypt, err;
	struct ovpn_ghash h;      /* copied per packet: a pointer in a map value would not stay one */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct l2_gcm_state);
} l2_gcm_scratch SEC(".maps");

static const __u16 l2_gcm_last4[16] = { 0x0000, 0x1c20, 0x3840, 0x2460, 0x7080, 0x6ca0, 0x48c0, 0x54e0,
					0xe100, 0xfd20, 0xd940, 0xc560, 0x9180, 0x8da0, 0xa9c0, 0xb5e0 };

static __always_inline __u64 l2_be64(const __u8 *p)
{
	return (__u64)p[0] << 56 | (__u64)p[1] << 48 | (__u64)p[2] << 40 | (__u64)p[3] << 32 |
	       (__u64)p[4] << 24 | (__u64)p[5] << 16 | (__u64)p[6] << 8 | p[7];
}

/* Z = (Z ^ block) * H in GF(2^128): the 32 nibbles from the last byte's
 * low one up (Shoup; mbed TLS's gcm_mult), a word at a time. */
static __noinline void l2_ghash_block(struct l2_gcm_state *st, const __u8 *m)
{
	const struct ovpn_ghash *h = &st->h;
	__u64 w = st->zl ^ l2_be64(m + 8), next = st->zh ^ l2_be64(m), zh = 0, zl = 0;
	__u8 n, rem;
	int i;

	for (i = 0; i < 32; i++) {
		if (i == 16)
			w = next;
		n = w & 0xf;
		w >>= 4;
		if (i) {
			rem = zl & 0xf;
			zl = (zh << 60) | (zl >> 4);
			zh = (zh >> 4) ^ ((__u64)l2_gcm_last4[rem] << 48);
		}
		zh ^= h->hh[n];
		zl ^= h->hl[n];
	}
	st->zh = zh;
	st->zl = zl;
}

struct l2_gcm_cb { l2_ctx *ctx; };

/* The counter blocks through the kernel's AES, in one call. Its own frame:
 * the dynptrs' stack slots must not be reused for anything else. */
static __noinline int l2_gcm_keystream(struct l2_gcm_state *st, struct bpf_crypto_ctx *cc, __u32 total)
{
	struct bpf_dynptr src, dst;

	total &= 0xfff;
	if (bpf_dynptr_from_mem(st->ctr, total, 0, &src) || bpf_dynptr_from_mem(st->ks, total, 0, &dst))
		return -1;
	return bpf_crypto_encrypt(cc, &src, &dst, 0) ? -1 : 0;
}

/* One 64-byte step: GHASH over the ciphertext (before decrypting, after
 * encrypting), XOR with the keystream of counters 2 + 4i ... */
static long l2_gcm_step(__u64 i, void *vctx)
{
	l2_ctx *ctx = ((struct l2_gcm_cb *)vctx)->ctx;
	__u32 k = 0, n, done, j, b, at;
	struct l2_gcm_state *st = bpf_map_lookup_elem(&l2_gcm_scratch, &k);
	__u8 *bytes;

	if (!st || st->err)
		return 1;
	done = i * 64;
	if (done >= st->len)
		return 1;
	n = st->len - done;
	if (n > 64)
		n = 64;
	bytes = (__u8 *)st->buf;
	for (j = 0; j < 8; j++)
		st->buf[j] = 0;
	if (n == 64 ? ctx_load(ctx, st->off + done, bytes, 64) : ctx_load(ctx, st->off + done, bytes, ((n - 1) & 63) + 1))
		goto fail;
	if (st->decrypt == 1) { /* the MAC pass */
		for (b = 0; b < 4; b++)
			if (b * 16 < n)
				l2_ghash_block(st, bytes + b * 16);
		return 0;
	}
	at = (16 + done) & 0x7ff; /* keystream of this step: after J0's block */
	if (at + 64 > sizeof(st->ks))
		goto fail;
	for (j = 0; j < 8; j++)
		st->buf[j] ^= *(__u64 *)&st->ks[(at + j * 8) & 0x7ff];
	if (st->decrypt == 0) { /* encrypt: MAC the ciphertext, zero-padded */
		for (j = 0; j < 64; j++)
			if (j >= n)
				bytes[j] = 0;
		for (b = 0; b < 4; b++)
			if (b * 16 < n)
				l2_ghash_block(st, bytes + b * 16);
	}
	if (n == 64 ? ctx_store(ctx, st->off + done, bytes, 64) : ctx_store(ctx, st->off + done, bytes, ((n - 1) & 63) + 1))
		goto fail;
	return 0;
fail:
	st->err = 1;
	return 1;
}

/* Encrypts (or checks, then decrypts) [off, off + len) in place with the
 * kernel cipher ctx, the 12-byte IV and the AAD (aad_len bytes of one
 * zero-padded 16-byte block); the tag
 * goes to, or is compared with, `tag`. 0 on success; -1 when the packet
 * cannot be handled here; -2 on a bad tag, with the data untouched. */
static __always_inline int l2_aes_gcm(l2_ctx *ctx, struct bpf_crypto_ctx *cc, const struct ovpn_ghash *h, const __u8 *iv,
				      const __u8 *aad, __u32 aad_len, __u32 off, __u32 len, int decrypt, __u8 *tag)
{
	__u32 k = 0, i, nb = (len + 15) / 16, total;
	struct l2_gcm_state *st = bpf_map_lookup_elem(&l2_gcm_scratch, &k);
	struct l2_gcm_cb cb = { .ctx = ctx };
	__u8 *b, diff = 0;
	__u64 t;

	if (!st || !cc || aad_len > 16 || nb > L2_GCM_MAX_BLOCKS)
		return -1;
	for (i = 0; i <= L2_GCM_MAX_BLOCKS; i++) {
		if (i > nb)
			break;
		__builtin_memcpy(&st->ctr[i * 16], iv, 12);
		st->ctr[i * 16 + 12] = 0;
		st->ctr[i * 16 + 13] = 0;
		st->ctr[i * 16 + 14] = (i + 1) >> 8;
		st->ctr[i * 16 + 15] = (i + 1);
	}
	total = ((nb + 1) * 16) & 0xfff;
	if (l2_gcm_keystream(st, cc, total))
		return -1;
	__builtin_memcpy(&st->h, h, sizeof(st->h));
	st->zh = 0;
	st->zl = 0;
	st->off = off;
	st->len = len;
	st->err = 0;
	b = (__u8 *)st->buf;
	__builtin_memcpy(b, aad, 16); /* zero past aad_len: the caller's */
	l2_ghash_block(st, b);
	st->decrypt = decrypt ? 1 : 0;
	bpf_loop((len + 63) / 64, l2_gcm_step, &cb, 0);
	if (st->err)
		return -1;
	/* the lengths block: bits of AAD, bits of data */
	t = (__u64)aad_len * 8;
	for (i = 0; i < 8; i++)
		b[i] = t >> (56 - i * 8);
	t = (__u64)len * 8;
	for (i = 0; i < 8; i++)
		b[8 + i] = t >> (56 - i * 8);
	l2_ghash_block(st, b);
	for (i = 0; i < 8; i++) {
		b[i] = (st->zh >> (56 - i * 8)) ^ st->ks[i];
		b[8 + i] = (st->zl >> (56 - i * 8)) ^ st->ks[8 + i];
	}
	if (!decrypt) {
		__builtin_memcpy(tag, b, 16);
		return 0;
	}
	for (i = 0; i < 16; i++)
		diff |= b[i] ^ tag[i];
	if (diff)
		return -2;
	st->decrypt = 2;
	bpf_loop((len + 63) / 64, l2_gcm_step, &cb, 0);
	return st->err ? -1 : 0;
}

#endif /* L2BPF_AES_GCM_H */
