/* SPDX-License-Identifier: MIT */
/* Map layouts of the routing instance (issue 10, seed 004: NAT first, then
 * route, the original input interface kept). Stage one: a connection table
 * in place of the kernel's conntrack, SNAT/masquerade and DNAT (IPv4: TCP,
 * UDP, ICMP echo). Stage two: a FIB lookup for the translated packet with
 * the port it came in on as the lookup's input (so `ip rule iif` applies),
 * policy by that port, and the port carried on in skb->mark when asked.
 * Same conventions as l2bpf_types.h: fixed widths, explicit padding, enums
 * for BTF. */
#ifndef L2BPF_ROUTER_TYPES_H
#define L2BPF_ROUTER_TYPES_H

#include <linux/types.h>
#include "l2bpf_types.h"

enum rt_limits {
	RT_MAX_PORTS = 64,
	RT_POLICY_MAX = 4096,
	RT_NAT_RULES = 32,         /* SNAT rules, and DNAT rules, each */
	RT_CT_DEFAULT = 262144,    /* connection table entries (two per connection) */
	RT_PORT_TRIES = 8,         /* random source ports tried after the original is taken */
};

/* What the router did with a packet; every packet counts once. "to kernel"
 * rows are packets the kernel handles as a router would: it answers, or
 * sends the ICMP error (no route, TTL exceeded, fragmentation needed). */
enum rt_count {
	RT_FORWARDED = 0,          /* routed out of a port, neighbour known */
	RT_FORWARDED_NEIGH,        /* routed out, the kernel resolves the neighbour (bpf_redirect_neigh) */
	RT_FORWARDED_KERNEL,       /* mark_iif: translated, marked, routed on by the kernel (netfilter sees it) */
	RT_TO_KERNEL_LOCAL,        /* for the box itself, or not IP */
	RT_TO_KERNEL_NO_ROUTE,     /* no route (unreachable, blackhole, prohibit): the kernel answers */
	RT_TO_KERNEL_TTL,          /* TTL / hop limit would expire: the kernel sends time exceeded */
	RT_TO_KERNEL_FRAG,         /* bigger than the output MTU: the kernel sends frag-needed / too big */
	RT_TO_KERNEL_OTHER,        /* forwarding off, an option or extension the fast path leaves alone */
	RT_DROP_POLICY,            /* a policy rule on the original input port says drop */
	RT_DROP_MALFORMED,         /* a header claims more bytes than the packet has */
	RT_NAT_NEW_SNAT,           /* a connection source-translated (masquerade or address) */
	RT_NAT_NEW_DNAT,           /* a connection destination-translated (port forward) */
	RT_NAT_XLATE,              /* a packet translated (a connection's first too) */
	RT_NAT_PORT_KEPT,          /* SNAT kept the connection's own source port */
	RT_NAT_PORT_COLLISION,     /* SNAT's port was taken: another one tried */
	RT_DROP_NAT_EXHAUSTED,     /* SNAT found no free port in RT_PORT_TRIES tries */
	RT_DROP_NAT_NO_ADDR,       /* masquerade out of a port with no IPv4 address */
	RT_NAT_EXPIRED,            /* a connection found past its timeout: started again */
	RT_NAT_ICMP_ERROR,         /* an ICMP error translated back with the connection it quotes */
	RT_NAT_HAIRPIN,            /* a port-forwarded connection from the server's side, masqueraded to come back */
	RT_NAT_EVICTED,            /* a live connection missing one half (a full table evicted it): the half put back */
	RT_NAT_EVICTED_ENTRIES,    /* entries (two per connection) a full table evicted for new ones: not packets */
	RT_COUNT__MAX,
};

enum rt_flags {
	RT_F_MARK_IIF = 1,         /* original input ifindex in skb->mark; the kernel forwards */
};

/* Key 0: the instance's settings. */
struct rt_config {
	__u32 flags;               /* enum rt_flags */
	__u16 port_min, port_max;  /* SNAT source ports (host order) */
	__u32 n_snat, n_dnat;      /* rules in rt_snat / rt_dnat, in order */
	__u32 udp_timeout;         /* seconds, as conntrack's */
	__u32 tcp_established;
	__u32 tcp_closing;         /* after FIN or RST */
	__u32 tcp_syn;             /* before the reply */
	__u32 icmp_timeout;
	__u32 ct_size;             /* rt_conns' max_entries, for status */
};

/* One per port of the instance, by ifindex. */
struct rt_port {
	__u32 index;               /* position in the config's ports list: bit index of in_ports */
	l2_ipv4 addr4;             /* the port's address: masquerade's out of it, hairpin's (0: none) */
};

/* A SNAT rule: connections from in_ports (bit per port index; all bits:
 * any) routed out of `out` (0: any) whose source is in src/src_mask get
 * source to_min..to_max, or the out port's address (masquerade, to_min 0). */
struct rt_snat {
	__u64 in_ports;
	l2_ifindex out;
	l2_ipv4 src, src_mask;
	l2_ipv4 to_min, to_max;    /* network order; 0: masquerade */
	__u8 proto;                /* 0: any */
	__u8 pad[3];
};

/* A DNAT rule (port forward): connections from in_ports to dst (and
 * dport, 0: any) of proto (0: any) go to to_addr (and to_port, 0: same). */
struct rt_dnat {
	__u64 in_ports;
	l2_ipv4 dst;
	l2_ipv4 to_addr;
	__u16 dport, to_port;      /* host order */
	__u8 proto;
	__u8 pad[3];
};

/* A connection as packets carry it. ICMP echo: request (id, 0), reply (0, id). */
struct rt_tuple {
	l2_ipv4 saddr, daddr;
	__be16 sport, dport;
	__u8 proto;
	__u8 pad[3];
};

enum rt_ct_state {
	RT_CT_NEW = 0,             /* seen one way */
	RT_CT_ESTABLISHED = 1,     /* seen both ways */
	RT_CT_CLOSING = 2,         /* TCP FIN or RST seen */
};

/* Per direction of a connection: what its packets become. */
struct rt_ct {
	struct rt_tuple to;        /* the tuple after translation */
	l2_ifindex iif;            /* the port the connection's first packet came in on */
	__u8 reply;                /* 1: this is the reply direction */
	__u8 state;                /* enum rt_ct_state, kept on both entries */
	__u8 nat;                  /* bit 0: SNAT, bit 1: DNAT */
	__u8 pad;
	__u64 last_ns;             /* CLOCK_MONOTONIC of the last packet, either way */
	__u64 packets, bytes;      /* this direction */
};

/* A policy rule: traffic that came in on `in` and is routed out of `out`
 * (0: any port). Looked up exact first, then with out = 0. */
struct rt_policy_key {
	l2_ifindex in;
	l2_ifindex out;
};

enum rt_action {
	RT_ACCEPT = 0,
	RT_DROP = 1,
};

struct rt_policy {
	__u32 action;              /* enum rt_action */
	__u32 pad;
};

/* A packet's connection and where its L4 header is. */
struct rt_pkt {
	struct rt_tuple t;
	__u32 l4;
	__u8 tcp_flags;
	__u8 icmp_type;
	__u16 pad;
};

/* An ICMP error (unreachable, time exceeded, parameter problem) quoting a
 * packet of a translated connection: what the quoted packet was before the
 * translation, and where things sit. */
struct rt_icmp_err {
	struct rt_tuple quoted;    /* the quoted packet's tuple as it is */
	struct rt_tuple orig;      /* ... and as it was sent, before NAT */
	__u8 l4_csum;              /* the quoted TCP/UDP checksum is there to fix */
	__u8 pad[3];
};

/* What attach changed on a port, so detach puts it back. */
enum rt_port_flags {
	RT_PORT_FORWARDING_SET = 1,   /* IPv4 forwarding was off: attach turned it on */
	RT_PORT_ACCEPT_LOCAL_SET = 2, /* mark_iif: accept_local was off */
};

struct rt_instance_port {
	l2_ifindex ifindex;        /* in the instance's network namespace */
	__u32 flags;               /* enum rt_port_flags */
	__s32 rp_filter_was;       /* mark_iif made a strict rp_filter loose (2): the port's old value; -1: untouched */
	char ifname[16];
};

/* Key 0 of rt_instance: the attach that made this routing instance. */
struct rt_instance {
	__u64 attached_at;         /* unix seconds, first attach */
	__u64 updated_at;          /* unix seconds, last attach that changed state */
	__u64 config_hash;         /* 64 bits of sha256 over the config */
	char netns[64];            /* "" = the caller's namespace */
	__u32 count;               /* ports in use */
	__u32 pad;
	struct rt_instance_port port[RT_MAX_PORTS];
};

/* Per-CPU working space of one packet (the stack is too small for it). */
struct rt_scratch {
	struct rt_pkt p;           /* as it came */
	struct rt_tuple to;        /* what stage one makes of it */
	struct rt_icmp_err err;    /* an ICMP error's quoted connection */
	struct rt_ct nct;          /* a new connection's entry */
};

#endif
