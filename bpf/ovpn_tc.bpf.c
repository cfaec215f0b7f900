/* SPDX-License-Identifier: MIT */
/* The OpenVPN data channel's entries (lib/ovpn.h): tcx ingress on each
 * uplink, tcx egress on the tun device, tcx ingress on the segmenter's inner
 * end; and one syscall program through which the daemon takes tx packet ids
 * from the same atomic counter (a reused id is a nonce reuse). */
#define L2_HOOK_TC
#include "lib/ovpn.h"

SEC("tc")
int ovpn_uplink_in(struct __sk_buff *ctx) { return ovpn_rx(ctx); }

SEC("tc")
int ovpn_tun_out(struct __sk_buff *ctx) { return ovpn_from_tun(ctx); }

SEC("tc")
int ovpn_seg_in(struct __sk_buff *ctx) { return ovpn_from_segmenter(ctx); }

/* ctx: { u32 slot; u32 n; u64 first } — first = the first of n ids taken, 0 when there is no key. */
struct ovpn_take { __u32 slot; __u32 n; __u64 first; };

SEC("syscall")
int ovpn_take_pids(struct ovpn_take *t)
{
	ovpn_slot s = t->slot;
	struct ovpn_key *k = bpf_map_lookup_elem(&ovpn_keys, &s);

	t->first = k ? __sync_fetch_and_add(&k->tx_pid, t->n) : 0;
	return 0;
}

/* The replay window of a BPF key, for a datagram the daemon decrypted (one
 * BPF did not see whole, e.g. IP fragments): the same window, so an id is
 * accepted once whichever path sees it. ctx: { u32 slot; u32 pid; s32 fresh; u32 key_id } */
struct ovpn_replay_q { __u32 slot; __u32 pid; __s32 fresh; __u32 key_id; };

SEC("syscall")
int ovpn_replay_check(struct ovpn_replay_q *q)
{
	int r = ovpn_replay(q->slot, q->key_id, q->pid, bpf_ktime_get_ns(), 1);

	q->fresh = r < 0 ? -1 : r == 0;
	return 0;
}

/* The kernel's cipher context for an AES-GCM key (ovpn_aes[idx]); key_len 0 drops it. */
struct bpf_crypto_params {
	char type[14];
	__u8 reserved[2];
	char algo[128];
	__u8 key[256];
	__u32 key_len;
	__u32 authsize;
};
extern struct bpf_crypto_ctx *bpf_crypto_ctx_create(const struct bpf_crypto_params *params, __u32 params__sz, int *err) __ksym;
extern void bpf_crypto_ctx_release(struct bpf_crypto_ctx *ctx) __ksym;

struct ovpn_aes_key { __u32 idx; __u32 key_len; __u8 key[32]; __s32 err; __u32 pad; };

SEC("syscall")
int ovpn_aes_key(struct ovpn_aes_key *a)
{
	struct bpf_crypto_params p = { .type = "skcipher", .algo = "ecb(aes-generic)" };
	struct bpf_crypto_ctx *c = 0, *old;
	struct ovpn_aes_ctx *v;
	__u32 idx = a->idx;
	int err = 0;

	v = bpf_map_lookup_elem(&ovpn_aes, &idx);
	if (!v) {
		a->err = -2;
		return 0;
	}
	if (a->key_len == 16 || a->key_len == 32) {
		p.key_len = a->key_len;
		__builtin_memcpy(p.key, a->key, 32);
		c = bpf_crypto_ctx_create(&p, sizeof(p), &err);
		if (!c) {
			a->err = err ? err : -1;
			return 0;
		}
	}
	old = bpf_kptr_xchg(&v->ctx, c);
	if (old)
		bpf_crypto_ctx_release(old);
	a->err = 0;
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
