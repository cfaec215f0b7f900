# shellcheck shell=bash
# lab/netns.sh: shared helpers that build the l2bpf test topology from
# network namespaces and veth pairs. Sourced by lab/lab.sh and lab/bench.sh;
# it defines functions and variables only and runs nothing by itself.
#
#   host A  (ns ${P}a)    a0  198.51.100.1/24  2001:db8:100::1/64
#     |  veth
#   box     (ns ${P}box)  eth2 ... eth3        no addresses: the box is a wire
#     |  veth
#   host B  (ns ${P}b)    b0  198.51.100.2/24  2001:db8:100::2/64
#
# Both hosts are in the same subnet, so whatever sits in the box (the l2bpf
# XDP wire, a Linux bridge, or nothing at all) must carry Ethernet frames
# unchanged, ARP and neighbour discovery included.
#
# Variants:
#   netns_build_wire    A - box(eth2, eth3, nothing in it) - B
#   netns_build_bridge  as above, with br0 in the box enslaving eth2 and eth3
#   netns_build_direct  no box: a0 paired straight with b0 (the ceiling)
#   netns_teardown      deletes exactly ${P}a, ${P}box and ${P}b
#
# Knobs (environment, read when a build function runs):
#   P        namespace prefix (default "l2lab-"); the bench uses "l2bench-".
#   MTU      MTU for every interface of the topology (default 1500).
#   A_MAC    MAC of a0 (fixed, so packet generators know where to send).
#   B_MAC    MAC of b0.
#   HOST_TX_CSUM  "off" (default) or "on": transmit checksum offload of a0/b0.
#   HOST_GRO      "on" (default) or "off" (the kernel's veth default): GRO on a0/b0.
#                 XDP on the box needs both the defaults; TC needs neither.
#
# Only documentation addresses (RFC 5737 / RFC 3849) are used, and every
# namespace is private: nothing here can reach a real network.

: "${P:=l2lab-}"
: "${MTU:=1500}"
: "${A_MAC:=02:00:5e:10:00:0a}"
: "${B_MAC:=02:00:5e:10:00:0b}"
: "${HOST_TX_CSUM:=off}"
: "${HOST_GRO:=on}"

A_IP4=198.51.100.1
B_IP4=198.51.100.2
A_IP6=2001:db8:100::1
B_IP6=2001:db8:100::2
NETNS_PREFIXLEN4=24
NETNS_PREFIXLEN6=64

netns_names() { echo "${P}a ${P}box ${P}b"; }
NS_A() { echo "${P}a"; }
NS_BOX() { echo "${P}box"; }
NS_B() { echo "${P}b"; }

# Run a command inside one of our namespaces: nsx a|box|b cmd...
nsx() {
	local which=$1
	shift
	ip netns exec "${P}${which}" "$@"
}

netns_log() { printf '%s\n' "$*" >&2; }

# Delete exactly the namespaces of this prefix (and nothing else). Safe to
# call when some or all of them do not exist. Deleting a namespace destroys
# the veth ends inside it and, with them, their peers in the other ones.
netns_teardown() {
	local ns list
	list=$(ip netns list | awk '{print $1}')
	for ns in $(netns_names); do
		# Interface names live inside a namespace, so a rebuild right after
		# this never collides with devices the kernel is still freeing.
		# Stop processes running in a namespace first: it outlives its
		# name for as long as they run.
		if grep -qxF "$ns" <<<"$list"; then
			ip netns del "$ns" 2>/dev/null || true
		fi
	done
	return 0
}

_netns_add() {
	ip netns add "$1"
	ip -n "$1" link set lo up
}

# Common per-host setup: addresses, MAC, MTU, IPv6 without DAD delays.
_netns_host() {
	local ns=$1 dev=$2 mac=$3 ip4=$4 ip6=$5
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 \
		>/dev/null
	ip -n "$ns" link set dev "$dev" address "$mac" mtu "$MTU"
	ip -n "$ns" addr add "$ip4/$NETNS_PREFIXLEN4" dev "$dev"
	ip -n "$ns" addr add "$ip6/$NETNS_PREFIXLEN6" dev "$dev" nodad
	ip -n "$ns" link set dev "$dev" up
	# Checksum offload: a veth never computes a checksum, it passes
	# CHECKSUM_PARTIAL skbs along and the receiving stack trusts them. An
	# XDP redirect turns the skb into a bare frame and that promise is
	# lost, so host B would see TCP/UDP segments with a pseudo-header-only
	# checksum and drop them (ping works, TCP never gets past the SYN).
	# Real NICs fill the checksum in before the wire; on veth hosts must do
	# it in software: tx checksumming off (which also turns TSO off, so
	# every host sends MTU-sized frames, as on a real cable). Applied in
	# every variant so the ceiling and the bridge are measured the same way.
	if [ "$HOST_TX_CSUM" = off ]; then
		ip netns exec "$ns" ethtool -K "$dev" tx off >/dev/null
	fi
}

# A frame XDP-redirected into a veth (by the box's XDP program on eth2/eth3)
# is only delivered if the *peer* of that veth has NAPI enabled: an XDP
# program attached, or GRO on. The peers of eth2/eth3 are a0 and b0, so turn
# GRO on there; without it the redirected frames are dropped silently
# (counted as xdp_xmit errors on the sending side).
netns_enable_gro() {
	[ "$HOST_GRO" = on ] || return 0
	ip -n "${P}a" link show a0 >/dev/null 2>&1 &&
		ip netns exec "${P}a" ethtool -K a0 gro on >/dev/null
	ip -n "${P}b" link show b0 >/dev/null 2>&1 &&
		ip netns exec "${P}b" ethtool -K b0 gro on >/dev/null
	return 0
}

# A - box - B, the box holding two unaddressed ports eth2 and eth3 (up).
netns_build_wire() {
	netns_teardown
	_netns_add "${P}a"
	_netns_add "${P}box"
	_netns_add "${P}b"
	ip link add a0 netns "${P}a" type veth peer name eth2 netns "${P}box"
	ip link add b0 netns "${P}b" type veth peer name eth3 netns "${P}box"
	# The box must not answer or originate anything on the wire.
	ip netns exec "${P}box" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 >/dev/null
	local d
	for d in eth2 eth3; do
		ip -n "${P}box" link set dev "$d" mtu "$MTU" up
	done
	_netns_host "${P}a" a0 "$A_MAC" "$A_IP4" "$A_IP6"
	_netns_host "${P}b" b0 "$B_MAC" "$B_IP4" "$B_IP6"
	netns_enable_gro
}

# As netns_build_wire, plus a Linux bridge br0 in the box with eth2 and eth3
# enslaved: the kernel's own answer to "forward frames between two ports".
netns_build_bridge() {
	netns_build_wire
	local box="${P}box"
	# STP off (a two-port bridge with no loop needs none, and STP would
	# hold the ports in listening/learning for 2x forward_delay), ageing
	# at 300 s so it learns A and B once and then forwards without
	# flooding.
	ip -n "$box" link add br0 type bridge stp_state 0 ageing_time 30000 \
		forward_delay 0
	# Bridge netfilter (br_netfilter) would send bridged frames through
	# iptables; turn those calls off when the options exist (they only do
	# when br_netfilter is built in).
	ip -n "$box" link set br0 type bridge nf_call_iptables 0 \
		nf_call_ip6tables 0 nf_call_arptables 0 2>/dev/null || true
	ip -n "$box" link set dev br0 mtu "$MTU"
	ip -n "$box" link set dev eth2 master br0
	ip -n "$box" link set dev eth3 master br0
	ip -n "$box" link set dev br0 up
}

# The ceiling: no box at all, a0 paired straight with b0. ${P}box is not
# created.
netns_build_direct() {
	netns_teardown
	_netns_add "${P}a"
	_netns_add "${P}b"
	ip link add a0 netns "${P}a" type veth peer name b0 netns "${P}b"
	_netns_host "${P}a" a0 "$A_MAC" "$A_IP4" "$A_IP6"
	_netns_host "${P}b" b0 "$B_MAC" "$B_IP4" "$B_IP6"
	netns_enable_gro
}

# Wait until A's and B's IPv6 addresses are usable (not tentative) and the
# links are up; returns non-zero after ~5 s.
netns_wait_ready() {
	for _ in $(seq 1 50); do
		if ! ip -n "${P}a" -6 addr show dev a0 tentative | grep -q inet6 &&
			! ip -n "${P}b" -6 addr show dev b0 tentative | grep -q inet6 &&
			ip -n "${P}a" link show a0 | grep -q 'state UP' &&
			ip -n "${P}b" link show b0 | grep -q 'state UP'; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}
