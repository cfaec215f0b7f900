/* SPDX-License-Identifier: MIT */
/* ChaCha20-Poly1305 (RFC 8439) over packet bytes, in plain BPF: the AEAD of
 * OpenVPN's CHACHA20-POLY1305 data channel (issue 9). No kernel AEAD is
 * there for BPF on 6.18, so the cipher is computed here.
 *
 * The per-packet state lives in a per-CPU map (struct l2_aead_state): the
 * main frame and the bpf_loop callback share 512 bytes of stack. Each loop
 * step takes one 64-byte ChaCha20 block of the data: Poly1305 over the
 * ciphertext (zero-padded to 16, as the AEAD pads), XOR with the keystream.
 * Poly1305 is poly1305-donna's 26-bit limbs with 64-bit products. */
#ifndef L2BPF_CHACHA20POLY1305_H
#define L2BPF_CHACHA20POLY1305_H

#include "ctx.h"

struct l2_aead_state {
	__u64 buf[8];        /* one block of data (8-byte words: XOR a word at a time) */
	__u32 ks[16];        /* one block of keystream */
	__u32 key[8];        /* ChaCha20 key, little-endian words */
	__u32 nonce[3];
	__u32 r[5], s[4];    /* Poly1305 key: r clamped (26-bit limbs), s */
	__u32 h[5];          /* Poly1305 accumulator */
	__u32 off, len;      /* where the data is in the packet, how long */
	__u32 decrypt;       /* L2_AEAD_* */
	__u32 err;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct l2_aead_state);
} l2_aead_scratch SEC(".maps");

#define L2_ROTL(v, n) (((v) << (n)) | ((v) >> (32 - (n))))
#define L2_QRV(a, b, c, d)                                  \
	do {                                                \
		a += b; d ^= a; d = L2_ROTL(d, 16);         \
		c += d; b ^= c; b = L2_ROTL(b, 12);         \
		a += b; d ^= a; d = L2_ROTL(d, 8);          \
		c += d; b ^= c; b = L2_ROTL(b, 7);          \
	} while (0)

/* One ChaCha20 block for `counter` into st->ks. The state is 16 scalars,
 * not an array in the map value: the compiler keeps what it can in
 * registers (BPF has 10) and spills the rest to this frame's stack. */
static __noinline void l2_chacha_block(struct l2_aead_state *st, __u32 counter)
{
	__u32 b[8];  /* rows 1 and 2 on the stack, rows 0 and 3 in registers */
	__u32 x0 = 0x61707865, x1 = 0x3320646e, x2 = 0x79622d32, x3 = 0x6b206574;
	__u32 x12 = counter, x13 = st->nonce[0], x14 = st->nonce[1], x15 = st->nonce[2];
	__u32 *o = st->ks;
	int i;

	for (i = 0; i < 8; i++)
		b[i] = st->key[i];
#pragma clang loop unroll(disable)
	for (i = 0; i < 10; i++) {
		L2_QRV(x0, b[0], b[4], x12); L2_QRV(x1, b[1], b[5], x13); L2_QRV(x2, b[2], b[6], x14); L2_QRV(x3, b[3], b[7], x15);
		L2_QRV(x0, b[1], b[6], x15); L2_QRV(x1, b[2], b[7], x12); L2_QRV(x2, b[3], b[4], x13); L2_QRV(x3, b[0], b[5], x14);
	}
	o[0] = x0 + 0x61707865; o[1] = x1 + 0x3320646e; o[2] = x2 + 0x79622d32; o[3] = x3 + 0x6b206574;
	for (i = 0; i < 8; i++)
		o[4 + i] = b[i] + st->key[i];
	o[12] = x12 + counter; o[13] = x13 + st->nonce[0]; o[14] = x14 + st->nonce[1]; o[15] = x15 + st->nonce[2];
}

static __always_inline __u32 l2_le32(const __u8 *p)
{
	return (__u32)p[0] | ((__u32)p[1] << 8) | ((__u32)p[2] << 16) | ((__u32)p[3] << 24);
}

/* Poly1305 over one full 16-byte block m (the AEAD only has full blocks). */
static __noinline void l2_poly_block(struct l2_aead_state *st, const __u8 *m)
{
	const __u32 M = 0x3ffffff;
	__u32 r0 = st->r[0], r1 = st->r[1], r2 = st->r[2], r3 = st->r[3], r4 = st->r[4];
	__u32 s1 = r1 * 5, s2 = r2 * 5, s3 = r3 * 5, s4 = r4 * 5;
	__u32 h0 = st->h[0], h1 = st->h[1], h2 = st->h[2], h3 = st->h[3], h4 = st->h[4];
	__u64 d0, d1, d2, d3, d4;
	__u32 c;

	h0 += l2_le32(m) & M;
	h1 += (l2_le32(m + 3) >> 2) & M;
	h2 += (l2_le32(m + 6) >> 4) & M;
	h3 += (l2_le32(m + 9) >> 6) & M;
	h4 += (l2_le32(m + 12) >> 8) | (1 << 24);
	d0 = (__u64)h0 * r0 + (__u64)h1 * s4 + (__u64)h2 * s3 + (__u64)h3 * s2 + (__u64)h4 * s1;
	d1 = (__u64)h0 * r1 + (__u64)h1 * r0 + (__u64)h2 * s4 + (__u64)h3 * s3 + (__u64)h4 * s2;
	d2 = (__u64)h0 * r2 + (__u64)h1 * r1 + (__u64)h2 * r0 + (__u64)h3 * s4 + (__u64)h4 * s3;
	d3 = (__u64)h0 * r3 + (__u64)h1 * r2 + (__u64)h2 * r1 + (__u64)h3 * r0 + (__u64)h4 * s4;
	d4 = (__u64)h0 * r4 + (__u64)h1 * r3 + (__u64)h2 * r2 + (__u64)h3 * r1 + (__u64)h4 * r0;
	c = d0 >> 26; h0 = d0 & M; d1 += c;
	c = d1 >> 26; h1 = d1 & M; d2 += c;
	c = d2 >> 26; h2 = d2 & M; d3 += c;
	c = d3 >> 26; h3 = d3 & M; d4 += c;
	c = d4 >> 26; h4 = d4 & M; h0 += c * 5;
	c = h0 >> 26; h0 &= M; h1 += c;
	st->h[0] = h0; st->h[1] = h1; st->h[2] = h2; st->h[3] = h3; st->h[4] = h4;
}

/* r and s from the first 32 bytes of block 0's keystream; h = 0. */
static __always_inline void l2_poly_init(struct l2_aead_state *st)
{
	const __u8 *k = (const __u8 *)st->ks;
	int i;

	l2_chacha_block(st, 0);
	st->r[0] = l2_le32(k) & 0x3ffffff;
	st->r[1] = (l2_le32(k + 3) >> 2) & 0x3ffff03;
	st->r[2] = (l2_le32(k + 6) >> 4) & 0x3ffc0ff;
	st->r[3] = (l2_le32(k + 9) >> 6) & 0x3f03fff;
	st->r[4] = (l2_le32(k + 12) >> 8) & 0x00fffff;
	for (i = 0; i < 4; i++)
		st->s[i] = st->ks[4 + i];
	for (i = 0; i < 5; i++)
		st->h[i] = 0;
}

/* The 16-byte tag, after the length block. */
static __always_inline void l2_poly_finish(struct l2_aead_state *st, __u64 aad_len, __u64 ct_len, __u8 *tag)
{
	const __u32 M = 0x3ffffff;
	__u32 h0, h1, h2, h3, h4, g0, g1, g2, g3, g4, c, mask;
	__u64 f;

	st->buf[0] = aad_len; /* little-endian, as BPF is here (x86) */
	st->buf[1] = ct_len;
	l2_poly_block(st, (__u8 *)st->buf);
	h0 = st->h[0]; h1 = st->h[1]; h2 = st->h[2]; h3 = st->h[3]; h4 = st->h[4];
	c = h1 >> 26; h1 &= M; h2 += c;
	c = h2 >> 26; h2 &= M; h3 += c;
	c = h3 >> 26; h3 &= M; h4 += c;
	c = h4 >> 26; h4 &= M; h0 += c * 5;
	c = h0 >> 26; h0 &= M; h1 += c;
	g0 = h0 + 5; c = g0 >> 26; g0 &= M;
	g1 = h1 + c; c = g1 >> 26; g1 &= M;
	g2 = h2 + c; c = g2 >> 26; g2 &= M;
	g3 = h3 + c; c = g3 >> 26; g3 &= M;
	g4 = h4 + c - (1 << 26);
	mask = (g4 >> 31) - 1; /* h >= p: take g */
	g0 &= mask; g1 &= mask; g2 &= mask; g3 &= mask; g4 &= mask;
	mask = ~mask;
	h0 = (h0 & mask) | g0; h1 = (h1 & mask) | g1; h2 = (h2 & mask) | g2; h3 = (h3 & mask) | g3; h4 = (h4 & mask) | g4;
	h0 = h0 | (h1 << 26);
	h1 = (h1 >> 6) | (h2 << 20);
	h2 = (h2 >> 12) | (h3 << 14);
	h3 = (h3 >> 18) | (h4 << 8);
	f = (__u64)h0 + st->s[0]; h0 = (__u32)f;
	f = (__u64)h1 + st->s[1] + (f >> 32); h1 = (__u32)f;
	f = (__u64)h2 + st->s[2] + (f >> 32); h2 = (__u32)f;
	f = (__u64)h3 + st->s[3] + (f >> 32); h3 = (__u32)f;
	__builtin_memcpy(tag, &h0, 4); __builtin_memcpy(tag + 4, &h1, 4);
	__builtin_memcpy(tag + 8, &h2, 4); __builtin_memcpy(tag + 12, &h3, 4);
}

#define L2_AEAD_ENCRYPT 0 /* XOR, then MAC the ciphertext, store */
#define L2_AEAD_MAC     1 /* MAC the ciphertext only: nothing is written */
#define L2_AEAD_DECRYPT 2 /* XOR and store (after the MAC held) */

/* bpf_loop hands the callback a stack pointer: the context travels in it. */
struct l2_aead_cb { l2_ctx *ctx; };

/* One 64-byte step of the data: block i (counter i + 1). */
static long l2_aead_step(__u64 i, void *vctx)
{
	l2_ctx *ctx = ((struct l2_aead_cb *)vctx)->ctx;
	__u32 k = 0, n, done, j, b;
	struct l2_aead_state *st = bpf_map_lookup_elem(&l2_aead_scratch, &k);

	if (!st || st->err)
		return 1;
	done = i * 64;
	if (done >= st->len)
		return 1;
	n = st->len - done;
	if (n > 64)
		n = 64;
	__u8 *bytes = (__u8 *)st->buf;
	__u64 *ks = (__u64 *)st->ks;

	if (n < 64)
		for (j = 0; j < 8; j++)
			st->buf[j] = 0;
	if (n == 64 ? ctx_load(ctx, st->off + done, bytes, 64) : ctx_load(ctx, st->off + done, bytes, ((n - 1) & 63) + 1))
		goto fail;
	if (st->decrypt == L2_AEAD_MAC) {
		for (b = 0; b < 4; b++)
			if (b * 16 < n)
				l2_poly_block(st, bytes + b * 16);
		return 0;
	}
	l2_chacha_block(st, (__u32)i + 1);
	for (j = 0; j < 8; j++)
		st->buf[j] ^= ks[j];
	if (st->decrypt == L2_AEAD_ENCRYPT) {
		if (n < 64) /* the MAC pads the ciphertext with zeros */
			for (j = 0; j < 64; j++)
				if (j >= n)
					bytes[j] = 0;
		for (b = 0; b < 4; b++)
			if (b * 16 < n)
				l2_poly_block(st, bytes + b * 16);
	}
	if (n == 64 ? ctx_store(ctx, st->off + done, bytes, 64) : ctx_store(ctx, st->off + done, bytes, ((n - 1) & 63) + 1))
		goto fail;
	return 0;
fail:
	st->err = 1;
	return 1;
}

/* Encrypts (or checks, then decrypts) [off, off + len) of the packet in
 * place with key, nonce and the AAD (aad_len bytes of one zero-padded
 * 16-byte block: OpenVPN uses 8, or 4 in P_DATA_V1); the
 * tag goes to, or is compared with, `tag`. 0 on success; -1 when the packet
 * cannot be read or written; -2 on a bad tag, with the data left untouched. */
static __always_inline int l2_chacha20poly1305(l2_ctx *ctx, const __u8 *key, const __u8 *nonce,
					       const __u8 *aad, __u32 aad_len, __u32 off, __u32 len,
					       int decrypt, __u8 *tag)
{
	__u32 k = 0, i, nblocks = (len + 63) / 64;
	struct l2_aead_state *st = bpf_map_lookup_elem(&l2_aead_scratch, &k);
	struct l2_aead_cb cb = { .ctx = ctx };
	__u8 diff = 0;

	if (!st || aad_len > 16 || len > 0xffff)
		return -1;
	__builtin_memcpy(st->key, key, 32);
	__builtin_memcpy(st->nonce, nonce, 12);
	st->off = off;
	st->len = len;
	st->err = 0;
	l2_poly_init(st);
	if (aad_len) {
		__u8 *b = (__u8 *)st->buf;
		__builtin_memcpy(b, aad, 16); /* zero past aad_len: the caller's */
		l2_poly_block(st, b);
	}
	st->decrypt = decrypt ? L2_AEAD_MAC : L2_AEAD_ENCRYPT;
	bpf_loop(nblocks, l2_aead_step, &cb, 0);
	if (st->err)
		return -1;
	if (!decrypt) {
		l2_poly_finish(st, aad_len, len, tag);
		return 0;
	}
	l2_poly_finish(st, aad_len, len, (__u8 *)st->buf + 16);
	for (i = 0; i < 16; i++) /* every byte compared: no early exit on the first difference */
		diff |= ((__u8 *)st->buf)[16 + i] ^ tag[i];
	if (diff)
		return -2;
	st->decrypt = L2_AEAD_DECRYPT;
	bpf_loop(nblocks, l2_aead_step, &cb, 0);
	return st->err ? -1 : 0;
}

#endif /* L2BPF_CHACHA20POLY1305_H */
