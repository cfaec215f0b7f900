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
typedef __u32 l2_ipv4;      /* network byte order */
typedef __u8 l2_ipv6[16];   /* IPv6; IPv4 as ::ffff:a.b.c.d where both families share a field */

/* Sizes and limits, shared with user space: an enum, not #defines, so that
 * they reach BTF (anchored by l2_limits_btf in bpf/include/counters.h) and
 * src/generated/bpf.ts is generated from the build, not copied by hand. */
enum l2_limits {
	L2_MAX_PORTS = 64,
	L2_MAX_TUNNELS = 64,       /* tunnel ids 1..63; 0 = no tunnel */
	L2_MAX_ATTACH = 8,         /* attachment rows in the instance record */
	L2_RULE_ALTS = 8,          /* alternatives (by source) per destination prefix */
	L2_RULES_MAX = 16384,
	L2_FLOWS_DEFAULT = 262144,
	L2_NEIGH_MAX = 4096,
	L2_SCRATCH = 256,
};

/* Why a frame was dropped. Every drop in every program goes through
 * l2_drop() (bpf/include/counters.h) with one of these; names are read from
 * BTF by `l2bpf stats`, so renaming one here renames it everywhere. */
enum l2_drop_reason {
	L2_DROP_NONE = 0,          /* slot 0 unused: forwarded frames are not drops */
	L2_DROP_SHORT_FRAME = 1,   /* shorter than an Ethernet header (14 bytes) */
	L2_DROP_UNKNOWN_PORT = 2,  /* arrived on an interface this instance does not own */
	L2_DROP_NO_PEER = 3,       /* port has no peer in the redirect map */
	L2_DROP_RULE = 4,          /* a rule says drop */
	L2_DROP_TO_LOCAL = 5,      /* addressed to the box's one IP, nothing handles it */
	L2_DROP_GRE_TRUNCATED = 6, /* outer IPv4 or GRE header cut short */
	L2_DROP_GRE_VERSION = 7,   /* GRE version other than 0 (e.g. PPTP's 1) */
	L2_DROP_GRE_FLAGS = 8,     /* routing/strict-route/recursion bits set */
	L2_DROP_GRE_KEY = 9,       /* key missing, unexpected or wrong */
	L2_DROP_GRE_CSUM = 10,     /* GRE checksum does not verify */
	L2_DROP_GRE_PROTO = 11,    /* inner protocol neither IPv4 nor IPv6 */
	L2_DROP_GRE_REMOTE = 12,   /* GRE from an address that is no configured remote */
	L2_DROP_OUTER_FRAG = 13,   /* fragmented outer IPv4: not reassembled here */
	L2_DROP_FLOW_MISS = 14,    /* decapsulated packet of a flow never seen, to an address not learned: no MAC, no port */
	L2_DROP_TOO_BIG = 15,      /* over the tunnel MTU; ICMP frag-needed / packet-too-big sent */
	L2_DROP_TOO_BIG_NOICMP = 16, /* over the tunnel MTU, no ICMP possible: IPv4 without DF (not fragmented here), IPv6 without local6 */
	L2_DROP_ICMP_LIMIT = 17,   /* over the tunnel MTU; ICMP error suppressed by the rate limit */
	L2_DROP_ENCAP = 18,        /* could not make room for the outer headers */
	L2_DROP_REFUSED = 19,      /* redirected, then refused by the kernel (target cannot take it: no NAPI on a veth peer, down, MTU, queue full) */
	L2_DROP_ICMP_NO_FLOW = 20, /* ICMP error out of the tunnel about a flow the box never saw */
	L2_DROP_MALFORMED = 21,    /* a header claims more bytes than the frame has, or a helper failed on it */
	L2_DROP_SEGMENT = 22,      /* a GSO packet for a checksum tunnel could not be handed to the segmenter */
	L2_DROP__MAX,
};

/* Per-port counters (per-CPU hash keyed by ingress l2_ifindex). Every
 * frame received is counted once more in exactly one of fwd (sent on
 * toward another port, wrapped or unwrapped), answer (the box answered it
 * itself: ARP, ND, ping, ICMP errors) or drop. A redirect the kernel
 * refuses afterwards moves from fwd to drop (reason refused). */
struct l2_port_stats {
	__u64 rx_packets;
	__u64 rx_bytes;
	__u64 fwd_packets;
	__u64 fwd_bytes;
	__u64 drop_packets;
	__u64 drop_bytes;
	__u64 answer_packets;
	__u64 answer_bytes;
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
enum l2_port_kind {
	L2_PORT_WIRE = 0,       /* a port of the wire */
	L2_PORT_SEGMENTER = 1,  /* the inner end of the segmenter pair (see bpf/lib/gre.h) */
};
struct l2_port {
	l2_ifindex peer;   /* frames arriving here leave by this port */
	__u32 slot;        /* 0 = first port given to attach, 1 = second */
	l2_mac mac;        /* the port's own MAC: source of ARP/ND/ICMP answers */
	__u16 mtu;         /* the port's MTU (L3), for tunnel MTU defaults */
	enum l2_port_kind kind;
	l2_ifindex segmenter; /* TC: where GSO packets for checksum tunnels are segmented (0: none) */
};

/* The hook a port's frames are handled on. */
enum l2_attach_mode {
	L2_MODE_NATIVE = 0,   /* XDP in the driver (XDP_FLAGS_DRV_MODE) */
	L2_MODE_GENERIC = 1,  /* XDP on the skb path (XDP_FLAGS_SKB_MODE) */
	L2_MODE_TC = 2,       /* TC ingress through a tcx link */
};
/* What was asked for; auto picks a hook per port. */
enum l2_mode_request {
	L2_REQ_AUTO = 0,
	L2_REQ_NATIVE = 1,
	L2_REQ_GENERIC = 2,
	L2_REQ_TC = 3,
};

/* One row of the attachment table: a program on a device's hook. */
enum l2_att_flags {
	L2_ATT_PROMISC_WAS_ON = 1 << 0, /* the port was promiscuous before attach */
	L2_ATT_SEGMENTER      = 1 << 1, /* a device l2bpf created (segmenter pair) */
	L2_ATT_FORCED         = 1 << 2, /* --force overrode a refusal for this port */
};
struct l2_attachment {
	l2_ifindex ifindex;       /* in the instance's network namespace */
	enum l2_attach_mode mode;
	__u32 flags;              /* L2_ATT_* */
	char ifname[16];
	char reason[64];          /* why this hook (auto), for status */
};

/* What `attach` set up, so that status, dump and detach need nothing but the
 * pin folder (array of one entry, key 0). Written only by user space. */
struct l2_instance {
	__u64 attached_at;        /* unix seconds, first attach */
	__u64 updated_at;         /* unix seconds, last attach that changed state */
	__u64 config_hash;        /* 64 bits of sha256 over the effective config */
	enum l2_mode_request requested;
	__u32 count;              /* rows used in att[]: the wire's ports first */
	char netns[64];           /* "" = the caller's namespace */
	struct l2_attachment att[L2_MAX_ATTACH];
};

/* ---- the one IP (map l2_local, key 0) */
struct l2_local {
	l2_ipv4 ipv4;          /* 0 = none configured */
	__u8 ipv4_plen;        /* on-link prefix: hosts here are learned for MAC moves */
	__u8 ipv6_plen;
	__u16 pad;
	l2_ipv6 ipv6;          /* all zero = none */
};

/* ---- flow MAC cache (LRU hash): what the seed kept in a conntrack extension */
struct l2_flow_key {
	l2_ipv6 src;           /* IPv4 as ::ffff:a.b.c.d */
	l2_ipv6 dst;
	__u16 sport;           /* TCP/UDP ports; ICMP echo id in both */
	__u16 dport;
	__u8 proto;
	__u8 pad[3];
};

struct l2_flow {
	l2_mac src_mac;        /* the MAC that sent the flow onto the wire */
	l2_mac dst_mac;        /* the MAC it was sent to */
	__u16 vlan_tci[2];     /* outermost first; tpid 0 = no tag */
	__u16 vlan_tpid[2];    /* 0x8100 / 0x88a8, host order */
	l2_ifindex ifindex;    /* port it came in on */
	__u32 tunnel;          /* tunnel id it went into (0: none) */
	__u64 last_seen;       /* bpf_ktime_get_coarse_ns() (CLOCK_MONOTONIC, a tick's resolution) */
};

/* ---- MAC moves: an address seen with a new MAC re-points old flows */
struct l2_neigh {
	l2_mac mac;
	__u16 pad;
	l2_ifindex ifindex;
	__u32 pad2;
	__u64 last_seen;
};
struct l2_mac_key {
	l2_mac mac;
	__u16 pad;
};
struct l2_mac_move {
	l2_mac mac;            /* where frames for the old MAC go now */
	__u16 pad;
	l2_ifindex ifindex;
	__u32 pad2;
};

/* ---- prefix rules (LPM trie): longest dst wins, then the listed alternatives
 * in order (control plane sorts them), first whose src contains the source. */
enum l2_action {
	L2_ACT_PASS = 0,
	L2_ACT_TUNNEL = 1,
	L2_ACT_DROP = 2,
};
struct l2_rule_key {
	__u32 prefixlen;       /* 8 (family) + prefix length */
	__u8 family;           /* 4 or 6 */
	l2_ipv6 addr;          /* IPv4: the first 4 bytes */
};
struct l2_rule_alt {
	l2_ipv6 src;           /* IPv4: the first 4 bytes */
	__u8 src_plen;         /* 0 = any source */
	__u8 pad;
	__u16 tunnel;          /* with L2_ACT_TUNNEL */
	enum l2_action action;
};
struct l2_rule {
	__u32 count;
	struct l2_rule_alt alt[L2_RULE_ALTS];
};

/* ---- GRE tunnels (array indexed by tunnel id, 1..L2_MAX_TUNNELS-1) */
enum l2_tun_flags {
	L2_TUN_KEY  = 1 << 0,  /* RFC 2890 key present */
	L2_TUN_CSUM = 1 << 1,  /* RFC 2784 checksum present */
	L2_TUN_DF   = 1 << 2,  /* set DF on the outer header */
};
struct l2_tunnel {
	l2_ipv4 remote;        /* 0 = slot unused */
	__u32 key;             /* host order */
	__u16 flags;           /* L2_TUN_* */
	__u8 ttl;
	__u8 pad;
	__u16 mtu;             /* largest inner IP packet sent without ICMP */
	__u16 pad2;
	char name[32];         /* the config's name, for stats and dump (user space only) */
};
struct l2_tunnel_stats {
	__u64 encap_packets;
	__u64 encap_bytes;
	__u64 decap_packets;
	__u64 decap_bytes;
	__u64 decap_neigh;     /* of those, flows never seen, sent to the inner destination's learned MAC */
	__u64 icmp_in;         /* ICMP errors out of the tunnel, delivered to the flow they quote */
	__u64 icmp_out;        /* ICMP errors about a tunneled flow, sent into its tunnel */
	__u64 gso_packets;     /* GSO packets wrapped whole (segmented later by the kernel) */
	__u64 gso_decap;       /* GRO-merged (or GSO) GRE packets unwrapped whole */
	__u64 segmented;       /* GSO packets sent through the segmenter first (checksum tunnels) */
	__u64 drops[L2_DROP__MAX];
};

/* ICMP errors (frag-needed / packet-too-big) token bucket, per CPU */
struct l2_icmp_bucket {
	__u64 tokens;
	__u64 last_ns;
};

/* The last frame this CPU redirected with XDP (per CPU, key 0): a
 * refusal the kernel reports right after (xdp_redirect_err) is that frame,
 * which moves from forwarded to dropped (bpf/l2_refused.bpf.c). */
struct l2_last_fwd {
	l2_ifindex ifindex;        /* the ingress port; 0 = consumed */
	__u32 len;
};
/* For the refusal programs: our devmap (its map id) and our network
 * namespace (its inode), since ifindexes are per namespace. */
struct l2_refused_cfg {
	__u32 devmap_id;
	__u32 netns_ino;
};

/* per-CPU scratch for checksums over frame bytes (not pinned: no state) */
struct l2_scratch {
	__u8 b[L2_SCRATCH] __attribute__((aligned(8)));
};



#endif /* L2BPF_TYPES_H */
