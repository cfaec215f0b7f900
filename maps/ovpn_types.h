/* SPDX-License-Identifier: MIT */
/* Map layouts of the OpenVPN data channel (`l2bpf openvpn`, issue 9): the
 * single source of truth, read by TypeScript from BTF. A peer is a client by
 * its peer-id; each peer has two key slots (the new key and the lame duck
 * during a renegotiation). Key bytes live only in ovpn_secrets, which no dump
 * shows and which is pinned 0600. */
#ifndef L2BPF_OVPN_TYPES_H
#define L2BPF_OVPN_TYPES_H

#include <linux/types.h>
#include "l2bpf_types.h"

enum ovpn_limits {
	OVPN_MAX_PEERS = 4096,
	OVPN_REPLAY_MAX = 1024,    /* --replay-window N at most (OpenVPN's default is 64); a power of 2 */
	OVPN_HEAD = 24,            /* op|kid, peer-id, packet id, tag */
};

/* What the data channel does in BPF; anything else goes to the daemon. */
enum ovpn_cipher {
	OVPN_CIPHER_NONE = 0,
	OVPN_AES_256_GCM = 1,      /* the daemon's (slow) path for now */
	OVPN_AES_128_GCM = 2,
	OVPN_CHACHA20_POLY1305 = 3,
};

/* Every packet the programs see ends in one of these (ovpn_counts). */
enum ovpn_count {
	OVPN_RX_DELIVERED = 0,     /* decrypted and delivered into the tun device */
	OVPN_RX_PING,              /* keepalive ping, consumed */
	OVPN_RX_TO_DAEMON,         /* not ours to decrypt: control, unknown peer or key, cipher not in BPF */
	OVPN_RX_BAD_TAG,           /* dropped: does not authenticate */
	OVPN_RX_REPLAY,            /* dropped: packet id seen, too old or 0 */
	OVPN_RX_REPLAY_RACED,      /* dropped: another CPU accepted the id while this one decrypted it */
	OVPN_RX_SPOOFED,           /* dropped: inner source is not the peer's VPN address */
	OVPN_RX_TRUNCATED,         /* dropped: shorter than a data header, or not an IP packet inside */
	OVPN_RX_FLOAT,             /* accepted from a new address: the peer moved */
	OVPN_TX_SENT,              /* encrypted and sent out of the uplink */
	OVPN_TX_SEGMENTER,         /* GSO or pending checksum: through the segmenter first */
	OVPN_TX_TO_DAEMON,         /* left to the daemon: key not in BPF, IPv6 peer address */
	OVPN_TX_NO_PEER,           /* no peer has the destination (the daemon counts and drops it) */
	OVPN_TX_FAILED,            /* dropped: could not build the datagram (no route, out of ids) */
	OVPN_COUNT__MAX,
};

struct ovpn_config {
	l2_ifindex tun;
	l2_ifindex seg_outer;      /* the segmenter pair (lib/ovpn.h), 0 = none */
	l2_ifindex seg_inner;
	__u16 port;                /* the server's UDP port, host order */
	__u16 pad;
};

struct ovpn_peer {
	l2_ipv4 remote4;           /* the client's address and port as last seen */
	l2_ipv4 local4;            /* ours, as the client sent to it (0: let the FIB choose) */
	__u16 rport;               /* host order */
	__u8 tx_slot;              /* which of the two key slots encrypts */
	__u8 family;               /* 4 or 6: which of the address pairs is the peer's */
	l2_ifindex uplink;         /* where the peer's datagrams came in (0: none yet) */
	__u8 data_v1;              /* no peer-id pushed: P_DATA_V1 both ways, found by address (ovpn_by_addr) */
	__u8 pad1[3];
	l2_ipv6 remote6;           /* IPv6 uplinks */
	l2_ipv6 local6;
	l2_ipv4 vpn4;
	l2_ipv6 vpn6;
	__u64 rx_packets, rx_bytes, tx_packets, tx_bytes;
	__u64 last_rx_ns, last_tx_ns;   /* CLOCK_MONOTONIC */
};

/* Replay state of one key (packet_id.c): the highest id, and bit id % 1024
 * of bits set once id is seen. */
struct ovpn_replay {
	__u64 bits[OVPN_REPLAY_MAX / 64];
	__u32 highest;
	__u32 window;              /* --replay-window N (at most OVPN_REPLAY_MAX) */
	__u64 backtrack_ns;        /* --replay-window N T: T in ns (0: no time limit) */
};

/* When the highest id jumped over each id it skipped, per id % 1024, in
 * units of 2^20 ns: OpenVPN refuses such a gap once that is more than T ago
 * (its reap marks it expired). Apart from ovpn_keys, so that a dump of the
 * keys stays short; written under the key's lock. */
struct ovpn_gaps {
	__u32 jumped[OVPN_REPLAY_MAX];
};

struct ovpn_key {
	struct bpf_spin_lock lock; /* over replay: two CPUs may take one peer's packets at once */
	__u8 key_id;
	__u8 cipher;               /* enum ovpn_cipher */
	__u8 pad[2];
	__u64 tx_pid;              /* next id to send, taken with an atomic add (BPF and daemon) */
	__u64 rx_packets;
	struct ovpn_replay replay;
};

/* GHASH's 4-bit table of H = AES_K(0^128), big-endian halves (AES-GCM keys only). */
struct ovpn_ghash {
	__u64 hh[16], hl[16];
};

struct ovpn_secret {
	__u8 rx_key[32], rx_iv[8];
	__u8 tx_key[32], tx_iv[8];
	struct ovpn_ghash rx_h, tx_h;  /* AES-GCM: the AES keys themselves sit in the kernel's cipher contexts (ovpn_aes) */
};

/* Where a P_DATA_V1 peer's datagrams come from (V1 carries no peer-id):
 * IPv4 as ::ffff:a.b.c.d. */
struct ovpn_addr {
	l2_ipv6 addr;
	__u16 port;                /* host order */
	__u16 pad;
};

/* Per-CPU working space of one packet: the programs' stack is too small
 * next to the AEAD's loop frames. */
struct ovpn_scratch {
	__u8 outer6[48];           /* outer IPv4 or IPv6 + UDP as read */
	__u8 outer[28];            /* outer IPv4 + UDP as built */
	__u8 head[8];              /* op|kid, peer-id, packet id (the AAD); follows outer */
	__u8 buf[16];              /* tag, then inner bytes looked at */
	__u8 nonce[12];
	__u8 pad[4];
	__u8 aad[16];              /* the AAD, zero-padded to one block */
	__u8 pseudo[40];           /* the IPv6 pseudo header of the UDP checksum */
	struct ovpn_addr v1key;    /* a P_DATA_V1 datagram's source, looked up in ovpn_by_addr */
};

/* What `l2bpf status` needs to know about the daemon (key 0): written once at start. */
struct ovpn_instance {
	__u64 started_at;          /* unix seconds */
	__u32 pid;
	l2_ifindex tun;
	__u16 port;
	__u16 pad;
	char netns[32];
	char tun_name[16];
	char config[128];
};

/* Per peer-id, what the control plane knows and BPF does not (status, dump peers). */
struct ovpn_client {
	char cn[64];               /* certificate common name */
	char real[48];             /* address:port as the control channel knows it */
	__u64 connected_at;        /* unix seconds */
	__u8 cipher;               /* enum ovpn_cipher */
	__u8 nkeys;
	__u8 key_ids[2];           /* live key ids, the tx key first */
	__u8 pad[4];
	/* the daemon's slow path (AES-GCM today, what BPF hands over), refreshed each second */
	__u64 slow_rx_packets, slow_rx_bytes, slow_tx_packets, slow_tx_bytes;
	__u64 slow_last_rx;        /* unix ms */
};

/* peer_id << 1 | slot */
typedef __u32 ovpn_slot;

#endif
