/* SPDX-License-Identifier: MIT */
/* l2bpf map layouts: the single source of truth for every map key and value.
 *
 * Plain C with fixed-width types and explicit padding, so both the BPF
 * programs (bpf/) and a host compiler can include it. TypeScript never mirrors
 * these by hand: it reads them from the BTF the kernel holds for each map.
 *
 * Typedef names carry meaning for `l2bpf dump` (text mode): a field of type
 * l2_ifindex prints as an interface name, l2_mac as aa:bb:cc:dd:ee:ff.
 */
#ifndef L2BPF_TYPES_H
#define L2BPF_TYPES_H

#include <linux/types.h>

typedef __u32 l2_ifindex;
typedef __u8 l2_mac[6];

/* Why a frame was dropped. Every drop in every program goes through
 * l2_drop() (bpf/include/counters.h) with one of these; names are read from
 * BTF by `l2bpf stats`, so renaming one here renames it everywhere. */
enum l2_drop_reason {
	L2_DROP_NONE = 0,          /* slot 0 unused: forwarded frames are not drops */
	L2_DROP_SHORT_FRAME = 1,   /* shorter than an Ethernet header (14 bytes) */
	L2_DROP_UNKNOWN_PORT = 2,  /* arrived on an interface this instance does not own */
	L2_DROP_NO_PEER = 3,       /* port has no peer in the redirect map */
	L2_DROP__MAX,
};

/* Per-port counters (per-CPU hash keyed by ingress l2_ifindex). */
struct l2_port_stats {
	__u64 rx_packets;
	__u64 rx_bytes;
	__u64 fwd_packets;
	__u64 fwd_bytes;
	__u64 drop_packets;
	__u64 drop_bytes;
};

/* Per-reason drop counters (per-CPU array indexed by enum l2_drop_reason). */
struct l2_drop_stats {
	__u64 packets;
	__u64 bytes;
};

/* A port of the wire and where its frames go (hash keyed by l2_ifindex).
 * The XDP fast path redirects through l2_tx_ports (a devmap, which the
 * kernel will not let carry BTF); this map is the readable twin that the
 * loader writes from the same desired state. */
struct l2_port {
	l2_ifindex peer;   /* frames arriving here leave by this port */
	__u32 slot;        /* 0 = first port given to attach, 1 = second */
};

enum l2_attach_mode {
	L2_MODE_NATIVE = 0,   /* XDP in the driver (XDP_FLAGS_DRV_MODE) */
	L2_MODE_GENERIC = 1,  /* XDP on the skb path (XDP_FLAGS_SKB_MODE) */
};

/* What `attach` set up, so that status, dump and detach need nothing but the
 * pin folder (array of one entry, key 0). Written only by user space. */
struct l2_instance {
	__u64 attached_at;        /* unix seconds, first attach */
	__u64 updated_at;         /* unix seconds, last attach that changed state */
	__u64 config_hash;        /* 64 bits of sha256 over the effective config */
	l2_ifindex ports[2];      /* ifindex in the instance's network namespace */
	enum l2_attach_mode mode;
	__u32 promisc_was_on;     /* bit i: port i was promiscuous before attach */
	char netns[64];           /* "" = the caller's namespace */
	char ifname[2][16];
};

#define L2_MAX_PORTS 64

#endif /* L2BPF_TYPES_H */
