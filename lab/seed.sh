#!/usr/bin/env bash
# shellcheck shell=bash disable=SC2034 # some SEED_* values are for callers
# lab/seed.sh: the end-to-end lab for seed 3 (transparent bridge with GRE
# toward a service point), with an independent GRE peer: Open vSwitch's
# user-space datapath in the POP namespace. Usable two ways:
#
#   bash lab/seed.sh <command> [options]     as a command line tool
#   . lab/seed.sh                            as a library (seed_* functions,
#                                            SEED_* variables; runs nothing)
#
#   PC --- gw1 ==transit== box(eth2 | eth3) ==transit== gw2 --- POP ~~GRE~~ server
#
#   PC      ns ${P}pc   pc0    192.0.2.10/26      2001:db8:10::10/64   (default via gw1)
#   gw1     ns ${P}gw1  gw1pc  192.0.2.1/26       2001:db8:10::1/64
#                       gw1tr  198.51.100.1/24    2001:db8:100::1/64   (faces box eth2)
#   box     ns ${P}box  eth2, eth3: no addresses, no routes. l2bpf owns
#                       local = 198.51.100.10/24 (and 2001:db8:100::10/64)
#   gw2     ns ${P}gw2  gw2tr  198.51.100.2/24    2001:db8:100::2/64   (faces box eth3)
#                       gw2pop 203.0.113.1/26     2001:db8:113::1/64
#   POP     ns ${P}pop  OVS br-phy (netdev): popgw2 + LOCAL 203.0.113.2/26, 2001:db8:113::2/64
#                       OVS br-int (netdev): popsrv + gre0 + LOCAL 203.0.113.129/26, 2001:db8:130::1/64
#   server  ns ${P}srv  srv0   203.0.113.130/26   2001:db8:130::130/64 (default via br-int)
#
# Commands (each takes --prefix P, default "l2seed-"; check defaults to "l2seedck-"):
#   up [--key N] [--csum] [--bridge] [--routed] [--mtu-underlay N] [--box-side-offloads]
#                  build the lab (tears down its own leftovers first);
#                  --box-side-offloads: PC, gw1 and gw2 keep tx checksum
#                  offload and TSO toward the box (for a TC box)
#   down           stop the POP's OVS by its pid files, delete the namespaces
#   check [--keep] self-test in a fresh lab of its own: open box blocks; routed
#                  path through a bridged box; GRE probes with and without key
#                  and checksum (end to end through the box: test/netns/gre.test.ts)
#   gre-probe [--key N|none] [--csum|--no-csum] [--bad-csum] [--inner 4|6]
#             [--size N] [--expect reply|none] [--src-mac MAC] [--count N]
#             [--pcap FILE] [--force]
#                  act as the box on eth3 (AF_PACKET, no address): send GRE to
#                  the POP, answer gw2's ARP for 198.51.100.10, check the reply
#   bridge on|off  make the box a plain Linux bridge br0, or an open circuit
#   pop-mode gre|routed   server->PC traffic into GRE (default) or plain routing
#   gre-config [--key N|none] [--csum|--no-csum]   change the POP's GRE port
#   ping [-6] [N]  ping server from PC;   iperf [SECONDS]  TCP PC -> server
#   warm           make sure OVS knows its tunnel next hop (gw2) again
#   status         addresses, box state, POP mode, OVS flows and counters
#   x NODE CMD...  run CMD in a node's namespace (pc gw1 box gw2 pop srv);
#                  on pop with the OVS environment (ovs-vsctl, ovs-ofctl work)
#
# Only documentation addresses (RFC 5737, RFC 3849) inside private namespaces;
# every traffic command is bounded by a count and a timeout. See
# lab/seed-README.md for the why of every setting.

# ---------------------------------------------------------------- knobs
: "${SEED_P:=l2seed-}"
: "${SEED_MTU_UNDERLAY:=1600}" # transit, gw2<->POP, br-phy: >= 1532 (1500 + 20 + 12)
: "${SEED_MTU_EDGE:=1500}"     # PC<->gw1, POP<->server, br-int
: "${SEED_PY:=/usr/bin/python3}"
SEED_LAB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) # lab/: its Python lives in lab/py/

# ---------------------------------------------------------------- addresses
SEED_PC_IP4=192.0.2.10 SEED_GW1_PC_IP4=192.0.2.1 SEED_PC_NET4=192.0.2.0/26
SEED_GW1_TR_IP4=198.51.100.1 SEED_GW2_TR_IP4=198.51.100.2 SEED_LOCAL_IP4=198.51.100.10
SEED_TR_NET4=198.51.100.0/24
SEED_GW2_POP_IP4=203.0.113.1 SEED_POP_IP4=203.0.113.2 SEED_POP_NET4=203.0.113.0/26
SEED_OVL_IP4=203.0.113.129 SEED_SRV_IP4=203.0.113.130 SEED_SRV_NET4=203.0.113.128/26
SEED_PC_IP6=2001:db8:10::10 SEED_GW1_PC_IP6=2001:db8:10::1 SEED_PC_NET6=2001:db8:10::/64
SEED_GW1_TR_IP6=2001:db8:100::1 SEED_GW2_TR_IP6=2001:db8:100::2 SEED_LOCAL_IP6=2001:db8:100::10
SEED_GW2_POP_IP6=2001:db8:113::1 SEED_POP_IP6=2001:db8:113::2
SEED_OVL_IP6=2001:db8:130::1 SEED_SRV_IP6=2001:db8:130::130 SEED_SRV_NET6=2001:db8:130::/64

# Fixed MACs: 02:00:5e:00:<3rd octet of the IPv4 subnet>:<host>, so a capture
# reads by itself. Ports without an address use a host byte >= 0xa0.
SEED_MAC_PC=02:00:5e:00:02:0a      # pc0
SEED_MAC_GW1_PC=02:00:5e:00:02:01  # gw1pc
SEED_MAC_GW1_TR=02:00:5e:00:64:01  # gw1tr   (198.51.100.1)
SEED_MAC_ETH2=02:00:5e:00:64:a2    # box eth2
SEED_MAC_ETH3=02:00:5e:00:64:a3    # box eth3
SEED_MAC_GW2_TR=02:00:5e:00:64:02  # gw2tr   (198.51.100.2)
SEED_MAC_GW2_POP=02:00:5e:00:71:01 # gw2pop  (203.0.113.1)
SEED_MAC_BR_PHY=02:00:5e:00:71:02  # br-phy  (203.0.113.2, the GRE endpoint)
SEED_MAC_POP_GW2=02:00:5e:00:71:a2 # popgw2  (veth in br-phy)
SEED_MAC_BR_INT=02:00:5e:00:71:81  # br-int  (203.0.113.129, server's gateway)
SEED_MAC_POP_SRV=02:00:5e:00:71:a1 # popsrv  (veth in br-int)
SEED_MAC_SRV=02:00:5e:00:71:82     # srv0    (203.0.113.130)

SEED_NODES="pc gw1 box gw2 pop srv"
SEED_GRE_PORT=gre0

# ---------------------------------------------------------------- helpers
seed_step() { printf '== %s\n' "$*"; }
seed_info() { printf '   %s\n' "$*"; }
seed_warn() { printf '!! %s\n' "$*" >&2; }

# Namespace of a node: seed_ns gw2 -> l2seed-gw2
seed_ns() { printf '%s%s\n' "$SEED_P" "$1"; }
# All state of this prefix (OVS database, sockets, logs, pid files).
seed_dir() { printf '/tmp/%sovs\n' "$SEED_P"; }

_seed_prefix_ok() {
	[[ $SEED_P =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,15}$ ]] || {
		seed_warn "bad prefix '$SEED_P' (letters, digits, _ . -; at most 16)"
		return 1
	}
}

# Run a command in a node's namespace: seed_x gw2 ip route
seed_x() {
	local node=$1
	shift
	if [ "$node" = pop ]; then
		seed_ovs "$@"
	else
		ip netns exec "$(seed_ns "$node")" "$@"
	fi
}

# In the POP namespace with the environment that points every OVS tool at
# this prefix's private daemons (never at a system-wide OVS).
seed_ovs() {
	local d
	d=$(seed_dir)
	OVS_RUNDIR=$d OVS_LOGDIR=$d OVS_DBDIR=$d OVS_SYSCONFDIR=$d \
		ip netns exec "$(seed_ns pop)" "$@"
}
seed_vsctl() { seed_ovs ovs-vsctl --db="unix:$(seed_dir)/db.sock" --timeout=10 "$@"; }
seed_ofctl() { seed_ovs ovs-ofctl "$@"; }
seed_appctl() { seed_ovs ovs-appctl -t "$(seed_dir)/ovs-vswitchd.ctl" "$@"; }

# Run, and say what failed.
_seed_do() {
	"$@" || {
		local rc=$?
		seed_warn "failed ($rc): $*"
		return "$rc"
	}
}

_seed_ns_exists() { ip netns list | awk '{print $1}' | grep -qxF "$1"; }
seed_is_up() { _seed_ns_exists "$(seed_ns pop)" && [ -S "$(seed_dir)/db.sock" ]; }

# ---------------------------------------------------------------- teardown
# Stop this prefix's processes and delete its namespaces. Only touches: the
# pids in our pid files (and only when they run inside our POP namespace),
# processes living in our own namespaces, namespaces named ${P}<node>, and
# the folder /tmp/${P}ovs.
seed_down() {
	_seed_prefix_ok || return 1
	local d node ns pid f pids
	d=$(seed_dir)
	# A caller that attached something to the box (l2bpf) can define
	# seed_pre_down_hook to undo it while the namespaces still exist.
	if declare -F seed_pre_down_hook >/dev/null; then
		seed_pre_down_hook || seed_warn "seed_pre_down_hook failed"
	fi
	for f in ovs-vswitchd ovsdb-server; do
		[ -f "$d/$f.pid" ] || continue
		pid=$(cat "$d/$f.pid" 2>/dev/null)
		[[ $pid =~ ^[0-9]+$ ]] || continue
		if [ -d "/proc/$pid" ] && [ "$(ip netns identify "$pid" 2>/dev/null)" = "$(seed_ns pop)" ]; then
			kill "$pid" 2>/dev/null
			for _ in $(seq 1 30); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
		fi
	done
	# Whatever still runs inside our namespaces (an iperf3 server, an OVS
	# whose pid file was lost) is ours: stop it by pid, or the namespace
	# outlives its name.
	for node in $SEED_NODES; do
		ns=$(seed_ns "$node")
		_seed_ns_exists "$ns" || continue
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] || continue
		# shellcheck disable=SC2086
		kill $pids 2>/dev/null
		sleep 0.3
		for pid in $pids; do [ -d "/proc/$pid" ] && kill -9 "$pid" 2>/dev/null; done
	done
	for node in $SEED_NODES; do
		ns=$(seed_ns "$node")
		_seed_ns_exists "$ns" && ip netns del "$ns" 2>/dev/null
	done
	[ -d "$d" ] && rm -rf -- "$d"
	return 0
}

# ---------------------------------------------------------------- build
_seed_ns_add() {
	local ns
	ns=$(seed_ns "$1")
	_seed_do ip netns add "$ns" || return 1
	ip -n "$ns" link set lo up
	# No DAD (addresses usable at once), no router advertisements.
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_ra=0 \
		net.ipv6.conf.default.accept_ra=0 >/dev/null
}

# veth between two nodes: _seed_veth nodeA devA macA nodeB devB macB mtu
# (an empty mac leaves the kernel's random one)
_seed_veth() {
	local na=$1 da=$2 ma=$3 nb=$4 db=$5 mb=$6 mtu=$7
	_seed_do ip link add "$da" netns "$(seed_ns "$na")" type veth \
		peer name "$db" netns "$(seed_ns "$nb")" || return 1
	ip -n "$(seed_ns "$na")" link set dev "$da" ${ma:+address "$ma"} mtu "$mtu" up &&
		ip -n "$(seed_ns "$nb")" link set dev "$db" ${mb:+address "$mb"} mtu "$mtu" up
}

# addr NODE DEV ADDR/PLEN...
_seed_addr() {
	local node=$1 dev=$2 a
	shift 2
	for a in "$@"; do
		case "$a" in
		*:*) _seed_do ip -n "$(seed_ns "$node")" addr add "$a" dev "$dev" nodad || return 1 ;;
		*) _seed_do ip -n "$(seed_ns "$node")" addr add "$a" dev "$dev" || return 1 ;;
		esac
	done
}

# Transmit checksum offload off (and with it TSO): see seed-README.md.
_seed_txoff() { seed_x "$1" ethtool -K "$2" tx off >/dev/null 2>&1 || seed_warn "ethtool -K $2 tx off failed in $1"; }

# _seed_gre_opt ARG [NEXT]: the GRE options three commands share (--key N,
# --key=N, --csum, --no-csum). Sets the caller's `key` / `csum` and returns
# how many arguments it took: 0 when ARG is none of them.
_seed_gre_opt() {
	case "$1" in
	--key) [ $# -ge 2 ] || { key=''; return 1; }; key=$2; return 2 ;; # no value: '' fails the key check
	--key=*) key=${1#--key=}; return 1 ;;
	--csum) csum=1; return 1 ;;
	--no-csum) csum=0; return 1 ;;
	esac
	return 0
}

seed_up() {
	local key=none csum=0 bridge=0 mode=gre box_side=off
	local took
	while [ $# -gt 0 ]; do
		_seed_gre_opt "$1" "${2:-}" && took=0 || took=$?
		if [ "$took" -gt 0 ]; then shift "$took"; continue; fi
		case "$1" in
		--bridge) bridge=1 ;;
		--routed) mode=routed ;;
		--box-side-offloads) box_side=on ;;
		--mtu-underlay) SEED_MTU_UNDERLAY=$2; shift ;;
		--mtu-underlay=*) SEED_MTU_UNDERLAY=${1#--mtu-underlay=} ;;
		*) seed_warn "seed_up: unknown option '$1'"; return 2 ;;
		esac
		shift
	done
	_seed_prefix_ok || return 2
	[[ $key == none || $key =~ ^[0-9]+$ ]] || { seed_warn "--key wants a number or 'none'"; return 2; }
	[[ $SEED_MTU_UNDERLAY =~ ^[0-9]+$ ]] || { seed_warn "--mtu-underlay wants a number"; return 2; }
	local t
	for t in ip ethtool ovsdb-tool ovsdb-server ovs-vswitchd ovs-vsctl ovs-ofctl nft "$SEED_PY"; do
		command -v "$t" >/dev/null || { seed_warn "$t is missing"; return 3; }
	done
	[ "$(id -u)" = 0 ] || { seed_warn "needs root (namespaces, OVS)"; return 3; }
	if [ "$SEED_MTU_UNDERLAY" -lt $((SEED_MTU_EDGE + 32)) ]; then
		seed_warn "underlay MTU $SEED_MTU_UNDERLAY < $((SEED_MTU_EDGE + 32)): a ${SEED_MTU_EDGE}-byte inner packet with key+csum does not fit; OVS drops it silently (no ICMP)"
	fi

	seed_step "removing leftovers of prefix $SEED_P"
	seed_down

	seed_step "namespaces: $(for n in $SEED_NODES; do printf '%s ' "$(seed_ns "$n")"; done)"
	local n
	# The box must not speak IPv6 by itself (no link-local, no MLD/ND).
	for n in $SEED_NODES; do _seed_ns_add "$n" || return 1; done
	seed_x box sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null

	seed_step "links (underlay MTU $SEED_MTU_UNDERLAY, edge MTU $SEED_MTU_EDGE)"
	_seed_veth pc pc0 "$SEED_MAC_PC" gw1 gw1pc "$SEED_MAC_GW1_PC" "$SEED_MTU_EDGE" || return 1
	_seed_veth gw1 gw1tr "$SEED_MAC_GW1_TR" box eth2 "$SEED_MAC_ETH2" "$SEED_MTU_UNDERLAY" || return 1
	_seed_veth box eth3 "$SEED_MAC_ETH3" gw2 gw2tr "$SEED_MAC_GW2_TR" "$SEED_MTU_UNDERLAY" || return 1
	_seed_veth gw2 gw2pop "$SEED_MAC_GW2_POP" pop popgw2 "$SEED_MAC_POP_GW2" "$SEED_MTU_UNDERLAY" || return 1
	_seed_veth pop popsrv "$SEED_MAC_POP_SRV" srv srv0 "$SEED_MAC_SRV" "$SEED_MTU_EDGE" || return 1

	seed_step "addresses and routes"
	_seed_addr pc pc0 "$SEED_PC_IP4/26" "$SEED_PC_IP6/64" || return 1
	seed_x pc ip route add default via "$SEED_GW1_PC_IP4"
	seed_x pc ip -6 route add default via "$SEED_GW1_PC_IP6"

	_seed_addr gw1 gw1pc "$SEED_GW1_PC_IP4/26" "$SEED_GW1_PC_IP6/64" || return 1
	_seed_addr gw1 gw1tr "$SEED_GW1_TR_IP4/24" "$SEED_GW1_TR_IP6/64" || return 1
	_seed_do seed_x gw1 ip route add "$SEED_SRV_NET4" via "$SEED_GW2_TR_IP4" || return 1
	_seed_do seed_x gw1 ip -6 route add "$SEED_SRV_NET6" via "$SEED_GW2_TR_IP6" || return 1

	_seed_addr gw2 gw2tr "$SEED_GW2_TR_IP4/24" "$SEED_GW2_TR_IP6/64" || return 1
	_seed_addr gw2 gw2pop "$SEED_GW2_POP_IP4/26" "$SEED_GW2_POP_IP6/64" || return 1
	_seed_do seed_x gw2 ip route add "$SEED_SRV_NET4" via "$SEED_POP_IP4" || return 1
	_seed_do seed_x gw2 ip -6 route add "$SEED_SRV_NET6" via "$SEED_POP_IP6" || return 1
	_seed_do seed_x gw2 ip route add "$SEED_PC_NET4" via "$SEED_GW1_TR_IP4" || return 1
	_seed_do seed_x gw2 ip -6 route add "$SEED_PC_NET6" via "$SEED_GW1_TR_IP6" || return 1

	_seed_addr srv srv0 "$SEED_SRV_IP4/26" "$SEED_SRV_IP6/64" || return 1
	seed_x srv ip route add default via "$SEED_OVL_IP4"
	seed_x srv ip -6 route add default via "$SEED_OVL_IP6"

	for n in gw1 gw2; do
		seed_x "$n" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 >/dev/null
	done

	seed_step "offloads"
	# Senders whose frames enter OVS through AF_PACKET must carry finished
	# checksums and MTU-sized frames; so must those crossing an XDP box.
	# --box-side-offloads keeps the kernel's defaults (tx checksum offload,
	# TSO) on the PC and on the routers' ports toward the box: a TC box
	# carries that as it is.
	local n txoff=("gw2 gw2pop" "srv srv0" "pop popgw2" "pop popsrv")
	[ "$box_side" = on ] || txoff=("pc pc0" "gw1 gw1tr" "gw2 gw2tr" "${txoff[@]}")
	for n in "${txoff[@]}"; do
		# shellcheck disable=SC2086
		_seed_txoff $n
	done
	seed_info "tx checksum offload (and TSO) off: ${txoff[*]}"
	# Frames the box XDP-redirects into eth2/eth3 are delivered only if the
	# peer veth has NAPI: GRO on gives it.
	seed_x gw1 ethtool -K gw1tr gro on >/dev/null
	seed_x gw2 ethtool -K gw2tr gro on >/dev/null
	seed_info "GRO on: gw1tr gw2tr (peers of the box ports: XDP redirect needs NAPI there)"
	# The seed's lesson: GRO on the POP merges packets past the MTU. Off.
	seed_x pop ethtool -K popgw2 gro off >/dev/null 2>&1
	seed_info "GRO off: popgw2 (POP underlay port)"

	seed_pop_start || return 1
	seed_pop_config "$key" "$csum" || return 1
	seed_pop_mode "$mode" || return 1

	if [ "$bridge" = 1 ]; then
		seed_box_bridge || return 1
	else
		seed_info "box: open circuit (eth2, eth3 up, nothing between them)"
	fi

	seed_step "warming up neighbours"
	seed_x srv ping -c 1 -W 2 -q "$SEED_OVL_IP4" >/dev/null 2>&1 ||
		seed_warn "server cannot ping its gateway $SEED_OVL_IP4"
	seed_x srv ping -6 -c 1 -W 2 -q "$SEED_OVL_IP6" >/dev/null 2>&1 || true
	seed_x pc ping -c 1 -W 2 -q "$SEED_GW1_PC_IP4" >/dev/null 2>&1 ||
		seed_warn "PC cannot ping gw1"
	seed_pop_warm
	seed_appctl tnl/neigh/show 2>/dev/null | sed -n '3,$p' | sed 's/^/   OVS neighbour: /'

	seed_step "lab $SEED_P up"
	seed_show_plan
}

# ---------------------------------------------------------------- POP (OVS)
seed_pop_start() {
	local d
	d=$(seed_dir)
	seed_step "POP: Open vSwitch user-space datapath in $(seed_ns pop), state in $d"
	mkdir -p "$d" && chmod 700 "$d" || return 1
	_seed_do ovsdb-tool create "$d/conf.db" /usr/share/openvswitch/vswitch.ovsschema >/dev/null || return 1
	_seed_do seed_ovs ovsdb-server "$d/conf.db" --remote="punix:$d/db.sock" \
		--pidfile="$d/ovsdb-server.pid" --unixctl="$d/ovsdb-server.ctl" \
		--log-file="$d/ovsdb-server.log" --no-chdir --detach 2>"$d/ovsdb-server.err" ||
		{ cat "$d/ovsdb-server.err" >&2; return 1; }
	_seed_do seed_vsctl --no-wait init || return 1
	_seed_do seed_ovs ovs-vswitchd "unix:$d/db.sock" --pidfile="$d/ovs-vswitchd.pid" \
		--unixctl="$d/ovs-vswitchd.ctl" --log-file="$d/ovs-vswitchd.log" \
		--no-chdir --detach 2>"$d/ovs-vswitchd.err" || { cat "$d/ovs-vswitchd.err" >&2; return 1; }
	seed_info "ovsdb-server pid $(cat "$d/ovsdb-server.pid"), ovs-vswitchd pid $(cat "$d/ovs-vswitchd.pid")"

	# The veths OVS takes over stay ordinary kernel interfaces: the POP's
	# kernel still receives every frame on them. It would answer ARP for
	# 203.0.113.2 on popgw2 (and for .129 on popsrv) with the veth's own MAC,
	# often before OVS's answer with the bridge MAC; gw2 keeps the first
	# answer and its GRE then misses OVS's tunnel termination (which wants
	# the br-phy MAC). So the kernel must not see them: nft ingress drops
	# everything there (OVS reads the frames with AF_PACKET before the
	# ingress hook), and no IPv6 on them (no link-local, no ND, no MLD).
	seed_x pop sysctl -qw net.ipv6.conf.popgw2.disable_ipv6=1 net.ipv6.conf.popsrv.disable_ipv6=1 >/dev/null
	seed_x pop nft -f - <<-EOF || { seed_warn "nft ingress isolation of the OVS ports failed"; return 1; }
		table netdev l2seed_ovsports {
			chain popgw2 {
				type filter hook ingress device "popgw2" priority 0; policy drop;
				counter comment "frames for OVS only, never for the POP kernel"
			}
			chain popsrv {
				type filter hook ingress device "popsrv" priority 0; policy drop;
				counter comment "frames for OVS only, never for the POP kernel"
			}
		}
	EOF

	# Underlay: br-phy holds the veth toward gw2; its LOCAL port (a tap in
	# the POP's kernel) carries the tunnel endpoint address.
	_seed_do seed_vsctl add-br br-phy -- set bridge br-phy datapath_type=netdev \
		other-config:hwaddr="\"$SEED_MAC_BR_PHY\"" \
		-- set interface br-phy mtu_request="$SEED_MTU_UNDERLAY" \
		-- add-port br-phy popgw2 -- set interface popgw2 ofport_request=1 || return 1
	# Overlay: br-int holds the veth toward the server and the GRE port.
	_seed_do seed_vsctl add-br br-int -- set bridge br-int datapath_type=netdev \
		other-config:hwaddr="\"$SEED_MAC_BR_INT\"" fail-mode=secure \
		-- set interface br-int mtu_request="$SEED_MTU_EDGE" \
		-- add-port br-int popsrv -- set interface popsrv ofport_request=1 \
		-- add-port br-int "$SEED_GRE_PORT" -- set interface "$SEED_GRE_PORT" type=gre \
		ofport_request=2 options:remote_ip="$SEED_LOCAL_IP4" \
		options:local_ip="$SEED_POP_IP4" options:packet_type=legacy_l3 || return 1
	for _ in $(seq 1 50); do
		seed_x pop ip link show br-phy >/dev/null 2>&1 && seed_x pop ip link show br-int >/dev/null 2>&1 && break
		sleep 0.1
	done
	seed_x pop ip link set br-phy up && seed_x pop ip link set br-int up || return 1
	_seed_addr pop br-phy "$SEED_POP_IP4/26" "$SEED_POP_IP6/64" || return 1
	_seed_addr pop br-int "$SEED_OVL_IP4/26" "$SEED_OVL_IP6/64" || return 1
	_seed_do seed_x pop ip route add default via "$SEED_GW2_POP_IP4" || return 1
	_seed_do seed_x pop ip -6 route add default via "$SEED_GW2_POP_IP6" || return 1
	# GRE that OVS does not terminate would reach the POP's kernel, which has
	# no GRE: it would answer with ICMP protocol-unreachable. Drop, counted.
	seed_x pop nft -f - <<-EOF || seed_warn "nft rule in POP failed"
		table inet l2seed {
			chain input {
				type filter hook input priority 0; policy accept;
				meta l4proto gre counter drop comment "GRE not terminated by OVS"
			}
		}
	EOF
	seed_info "br-phy $SEED_MAC_BR_PHY $SEED_POP_IP4/26 (tunnel endpoint), port popgw2"
	seed_info "br-int $SEED_MAC_BR_INT $SEED_OVL_IP4/26 (server gateway), ports popsrv, $SEED_GRE_PORT"
	seed_appctl tnl/neigh/aging 3600 >/dev/null || seed_warn "tnl/neigh/aging 3600 failed"
	seed_flows_base || return 1
}

# OVS sends GRE only when its own neighbour cache (tnl/neigh, separate from
# the kernel's) knows the next hop, gw2 (203.0.113.1); on a miss it sends an
# ARP request and DROPS that packet. It learns the entry by snooping ARP on
# br-phy (ARP replies only), and forgets it after an idle time (900 s by
# default; seed_up sets the maximum, 3600 s). It snoops only on upcalls: an
# ARP reply that matches a datapath flow still cached (10 s idle) teaches it
# nothing. So: purge the datapath flows, make the POP's kernel ARP for gw2,
# check. The traffic helpers here call this first; call it (bash
# lab/seed.sh warm) before your own traffic after a long pause.
seed_pop_warm() {
	local i
	for i in 1 2 3 4; do
		if seed_appctl tnl/neigh/show 2>/dev/null | grep -q "^$SEED_GW2_POP_IP4 "; then
			return 0
		fi
		seed_appctl revalidator/purge >/dev/null 2>&1
		seed_x pop ip neigh flush dev br-phy >/dev/null 2>&1
		seed_x pop ping -c 1 -W 1 -q "$SEED_GW2_POP_IP4" >/dev/null 2>&1
		seed_x pop ping -6 -c 1 -W 1 -q "$SEED_GW2_POP_IP6" >/dev/null 2>&1
		sleep 0.2
	done
	seed_warn "OVS has not learnt gw2 ($SEED_GW2_POP_IP4) in tnl/neigh: the first GRE packet will be lost"
	return 1
}

# Flows on br-int (cookie 0x1 = always, 0x2 = gre mode only). br-phy keeps
# its default NORMAL flow: a learning switch between popgw2 and LOCAL, where
# OVS terminates GRE addressed to 203.0.113.2 and snoops ARP for its
# tunnel neighbour cache.
seed_flows_base() {
	seed_ofctl del-flows br-int || return 1
	_seed_do seed_ofctl add-flows br-int - <<-EOF || return 1
		cookie=0x1,priority=0,actions=drop
		cookie=0x1,priority=10,in_port=LOCAL,actions=output:popsrv
		cookie=0x1,priority=10,in_port=popsrv,actions=LOCAL
		cookie=0x1,priority=100,in_port=$SEED_GRE_PORT,ip,nw_dst=$SEED_SRV_NET4,actions=mod_dl_src:$SEED_MAC_BR_INT,mod_dl_dst:$SEED_MAC_SRV,dec_ttl,output:popsrv
		cookie=0x1,priority=100,in_port=$SEED_GRE_PORT,ipv6,ipv6_dst=$SEED_SRV_NET6,actions=mod_dl_src:$SEED_MAC_BR_INT,mod_dl_dst:$SEED_MAC_SRV,dec_ttl,output:popsrv
	EOF
}

# gre:    server -> PC net goes into the GRE port; the POP kernel does not
#         forward, so plain (untunnelled) PC traffic is dropped at the POP.
# routed: no GRE flows; server -> PC net goes to LOCAL and the POP kernel
#         routes it back through gw2 (forwarding on): the plain routed path.
seed_pop_mode() {
	local mode=${1:-gre}
	case "$mode" in
	gre)
		seed_ofctl del-flows br-int cookie=0x2/-1 || return 1
		_seed_do seed_ofctl add-flows br-int - <<-EOF || return 1
			cookie=0x2,priority=100,in_port=popsrv,dl_dst=$SEED_MAC_BR_INT,ip,nw_dst=$SEED_PC_NET4,actions=dec_ttl,output:$SEED_GRE_PORT
			cookie=0x2,priority=100,in_port=popsrv,dl_dst=$SEED_MAC_BR_INT,ipv6,ipv6_dst=$SEED_PC_NET6,actions=dec_ttl,output:$SEED_GRE_PORT
		EOF
		seed_x pop sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0 >/dev/null
		;;
	routed)
		seed_ofctl del-flows br-int cookie=0x2/-1 || return 1
		seed_x pop sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 >/dev/null
		;;
	*) seed_warn "pop mode: gre or routed"; return 2 ;;
	esac
	seed_info "POP mode: $mode"
}

seed_pop_mode_get() {
	if seed_ofctl dump-flows br-int cookie=0x2/-1 2>/dev/null | grep -q 'cookie=0x2'; then
		echo gre
	else
		echo routed
	fi
}

# seed_pop_config KEY(none|N) CSUM(0|1): the GRE port's key and checksum.
seed_pop_config() {
	local key=${1:-none} csum=${2:-0} args=()
	if [ "$key" = none ]; then
		seed_vsctl remove interface "$SEED_GRE_PORT" options key >/dev/null 2>&1
	else
		args+=(options:key="$key")
	fi
	if [ "$csum" = 1 ]; then
		args+=(options:csum=true)
	else
		seed_vsctl remove interface "$SEED_GRE_PORT" options csum >/dev/null 2>&1
	fi
	if [ ${#args[@]} -gt 0 ]; then
		_seed_do seed_vsctl set interface "$SEED_GRE_PORT" "${args[@]}" || return 1
	fi
	seed_info "GRE port $SEED_GRE_PORT: $(seed_vsctl get interface "$SEED_GRE_PORT" options)"
}

# Prints "KEY CSUM" as configured in OVSDB: e.g. "none 0", "42 1".
seed_pop_config_get() {
	local o key csum=0
	o=$(seed_vsctl get interface "$SEED_GRE_PORT" options 2>/dev/null) || return 1
	key=$(grep -o 'key="\?[0-9]*' <<<"$o" | grep -o '[0-9]*$')
	grep -q 'csum="\?true' <<<"$o" && csum=1
	echo "${key:-none} $csum"
}

# ---------------------------------------------------------------- the box
# A plain Linux bridge between eth2 and eth3, to test the topology without
# l2bpf. STP off, no bridge netfilter, no addresses.
seed_box_bridge() {
	local b
	b=$(seed_ns box)
	if ip -n "$b" link show br0 >/dev/null 2>&1; then
		seed_info "box: br0 already there"
		return 0
	fi
	if ip -n "$b" link show eth2 2>/dev/null | grep -q 'prog/xdp'; then
		seed_warn "box: an XDP program is attached to eth2; detach l2bpf before bridging"
		return 1
	fi
	_seed_do ip -n "$b" link add br0 type bridge stp_state 0 forward_delay 0 ageing_time 30000 || return 1
	ip -n "$b" link set br0 type bridge nf_call_iptables 0 nf_call_ip6tables 0 nf_call_arptables 0 2>/dev/null
	ip -n "$b" link set br0 mtu "$SEED_MTU_UNDERLAY"
	ip -n "$b" link set eth2 master br0 && ip -n "$b" link set eth3 master br0 &&
		ip -n "$b" link set br0 up || return 1
	seed_info "box: Linux bridge br0 = eth2 + eth3 (no address)"
}

seed_box_unbridge() {
	local b
	b=$(seed_ns box)
	ip -n "$b" link show br0 >/dev/null 2>&1 || return 0
	ip -n "$b" link set eth2 nomaster
	ip -n "$b" link set eth3 nomaster
	ip -n "$b" link del br0
	ip -n "$b" link set eth2 up
	ip -n "$b" link set eth3 up
	seed_info "box: br0 removed, open circuit"
}

seed_box_state() {
	local b
	b=$(seed_ns box)
	if ip -n "$b" link show eth2 2>/dev/null | grep -q 'prog/xdp' ||
		ip -n "$b" link show eth3 2>/dev/null | grep -q 'prog/xdp'; then
		echo xdp
	elif ip -n "$b" link show br0 >/dev/null 2>&1; then
		echo bridge
	else
		echo open
	fi
}

# ---------------------------------------------------------------- traffic
# seed_ping [-6] [COUNT] [extra ping args]: PC -> server. Returns ping's status.
seed_ping() {
	local fam=4 dst=$SEED_SRV_IP4 count=3
	seed_pop_warm >/dev/null 2>&1
	[ "${1:-}" = -6 ] && { fam=6; dst=$SEED_SRV_IP6; shift; }
	[[ ${1:-} =~ ^[0-9]+$ ]] && { count=$1; shift; }
	seed_x pc timeout $((count * 2 + 5)) ping -"$fam" -c "$count" -W 2 -i 0.2 "$@" "$dst"
}

# seed_iperf [SECONDS] [extra iperf3 client args]: TCP PC -> server; prints
# the receiver's Mbit/s. The server is a one-shot iperf3 under a timeout.
seed_iperf() {
	local secs=${1:-3} pid json rc=0
	seed_pop_warm >/dev/null 2>&1
	[ $# -gt 0 ] && shift
	ip netns exec "$(seed_ns srv)" timeout $((secs + 20)) iperf3 -s -1 -B "$SEED_SRV_IP4" -p 5201 >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 1 50); do
		seed_x srv ss -ltn 2>/dev/null | grep -q "$SEED_SRV_IP4:5201" && break
		sleep 0.1
	done
	if json=$(seed_x pc timeout $((secs + 15)) iperf3 -c "$SEED_SRV_IP4" -p 5201 -t "$secs" -J "$@" 2>/dev/null); then
		"$SEED_PY" -c '
import json, sys
r = json.load(sys.stdin)
s = r["end"]["sum_received"]; t = r["end"]["sum_sent"]
print("%.0f Mbit/s received (%d bytes in %.1f s, %d retransmits)" % (
    s["bits_per_second"] / 1e6, s["bytes"], s["seconds"], t.get("retransmits", 0)))' <<<"$json" || rc=1
	else
		rc=1
		"$SEED_PY" -c 'import json,sys; print("iperf3: " + json.load(sys.stdin).get("error", "failed"))' <<<"${json:-"{}"}" 2>/dev/null
	fi
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return "$rc"
}

# ---------------------------------------------------------------- GRE probe
# Python, standard library only (struct, socket; no packet library): lab/py/gre_probe.py.

# seed_gre_probe [options]: see the header. Key and checksum default to what
# the POP's GRE port is configured with; the reply is expected to carry the
# POP's configuration.
seed_gre_probe() {
	local key csum cfg_key cfg_csum bad=0 inner=4 size='' expect=reply src_mac=$SEED_MAC_GW1_TR
	local count=3 pcap='' force=0 wait=1.5
	read -r cfg_key cfg_csum < <(seed_pop_config_get) || { seed_warn "POP not running (seed.sh up)"; return 3; }
	key=$cfg_key csum=$cfg_csum
	local took
	while [ $# -gt 0 ]; do
		_seed_gre_opt "$1" "${2:-}" && took=0 || took=$?
		if [ "$took" -gt 0 ]; then shift "$took"; continue; fi
		case "$1" in
		--bad-csum) csum=1 bad=1 ;;
		--inner) inner=$2; shift ;;
		-6) inner=6 ;;
		--size) size=$2; shift ;;
		--expect) expect=$2; shift ;;
		--src-mac) src_mac=$2; shift ;;
		--count) count=$2; shift ;;
		--wait) wait=$2; shift ;;
		--pcap) pcap=$2; shift ;;
		--force) force=1 ;;
		*) seed_warn "gre-probe: unknown option '$1'"; return 2 ;;
		esac
		shift
	done
	[ "$src_mac" = box ] && src_mac=$SEED_MAC_ETH3
	[[ $key == none || $key =~ ^[0-9]+$ ]] || { seed_warn "--key wants a number or 'none'"; return 2; }
	local isrc idst
	if [ "$inner" = 6 ]; then
		isrc=$SEED_PC_IP6 idst=$SEED_SRV_IP6 size=${size:-104}
	else
		isrc=$SEED_PC_IP4 idst=$SEED_SRV_IP4 size=${size:-84}
	fi
	if [ "$(seed_box_state)" = xdp ] && [ "$force" = 0 ]; then
		seed_warn "an XDP program is attached in the box: it would take the ARP and the GRE reply before the probe sees them (use --force to try anyway)"
		return 3
	fi
	seed_pop_warm
	# Forget gw2's neighbour entry for the box address, so the probe sees
	# (and answers) gw2's ARP, and leaves no trace afterwards.
	seed_x gw2 ip neigh del "$SEED_LOCAL_IP4" dev gw2tr 2>/dev/null
	local rc=0
	seed_x box timeout 30 "$SEED_PY" "$SEED_LAB/py/gre_probe.py" --dev eth3 \
		--src-mac "$src_mac" --dst-mac "$SEED_MAC_GW2_TR" --arp-mac "$SEED_MAC_ETH3" \
		--local "$SEED_LOCAL_IP4" --remote "$SEED_POP_IP4" --inner-src "$isrc" --inner-dst "$idst" \
		--key "$key" --csum "$csum" --bad-csum "$bad" --size "$size" --expect "$expect" \
		--expect-key "$cfg_key" --expect-csum "$cfg_csum" --count "$count" --wait "$wait" \
		${pcap:+--pcap "$pcap"} || rc=$?
	seed_x gw2 ip neigh del "$SEED_LOCAL_IP4" dev gw2tr 2>/dev/null
	if [ -n "$pcap" ] && [ -s "$pcap" ] && command -v tshark >/dev/null; then
		seed_info "tshark's view of $pcap:"
		timeout 20 tshark -r "$pcap" 2>/dev/null | sed 's/^/     /'
		timeout 20 tshark -r "$pcap" -Y gre -T fields -E header=y -e frame.number -e eth.src \
			-e eth.dst -e ip.ttl -e gre.flags_and_version -e gre.key -e gre.checksum \
			-e gre.checksum.status 2>/dev/null | sed 's/gre.checksum.status/csum.status(1=good)/; s/^/     /'
	fi
	return "$rc"
}

# ---------------------------------------------------------------- status
seed_show_plan() {
	local f='   %-6s %-13s %-7s %-17s  %s\n'
	# shellcheck disable=SC2059
	{
		printf "$f" node namespace iface MAC "addresses, routes"
		printf "$f" PC "$(seed_ns pc)" pc0 "$SEED_MAC_PC" "$SEED_PC_IP4/26 $SEED_PC_IP6/64, default via gw1"
		printf "$f" gw1 "$(seed_ns gw1)" gw1pc "$SEED_MAC_GW1_PC" "$SEED_GW1_PC_IP4/26 $SEED_GW1_PC_IP6/64"
		printf "$f" "" "" gw1tr "$SEED_MAC_GW1_TR" "$SEED_GW1_TR_IP4/24 $SEED_GW1_TR_IP6/64, faces box eth2"
		printf "$f" "" "" "" "" "$SEED_SRV_NET4 via $SEED_GW2_TR_IP4, $SEED_SRV_NET6 via $SEED_GW2_TR_IP6"
		printf "$f" box "$(seed_ns box)" eth2 "$SEED_MAC_ETH2" "no address, no route; l2bpf local = $SEED_LOCAL_IP4/24"
		printf "$f" "" "" eth3 "$SEED_MAC_ETH3" "no address, no route"
		printf "$f" gw2 "$(seed_ns gw2)" gw2tr "$SEED_MAC_GW2_TR" "$SEED_GW2_TR_IP4/24 $SEED_GW2_TR_IP6/64, faces box eth3"
		printf "$f" "" "" gw2pop "$SEED_MAC_GW2_POP" "$SEED_GW2_POP_IP4/26 $SEED_GW2_POP_IP6/64"
		printf "$f" "" "" "" "" "$SEED_SRV_NET4 via $SEED_POP_IP4, $SEED_PC_NET4 via $SEED_GW1_TR_IP4 (and IPv6 alike)"
		printf "$f" POP "$(seed_ns pop)" br-phy "$SEED_MAC_BR_PHY" "$SEED_POP_IP4/26 $SEED_POP_IP6/64 GRE endpoint, default via gw2"
		printf "$f" "" "" popgw2 "$SEED_MAC_POP_GW2" "OVS port of br-phy (hidden from the POP kernel)"
		printf "$f" "" "" br-int "$SEED_MAC_BR_INT" "$SEED_OVL_IP4/26 $SEED_OVL_IP6/64, the server's gateway"
		printf "$f" "" "" popsrv "$SEED_MAC_POP_SRV" "OVS port of br-int (hidden from the POP kernel)"
		printf "$f" "" "" "$SEED_GRE_PORT" "" "OVS GRE port of br-int: $SEED_POP_IP4 <-> $SEED_LOCAL_IP4"
		printf "$f" server "$(seed_ns srv)" srv0 "$SEED_MAC_SRV" "$SEED_SRV_IP4/26 $SEED_SRV_IP6/64, default via $SEED_OVL_IP4"
	}
}

seed_status() {
	seed_is_up || { seed_warn "lab $SEED_P is not up"; return 1; }
	seed_step "lab $SEED_P"
	seed_show_plan
	seed_step "box: $(seed_box_state); POP mode: $(seed_pop_mode_get); GRE (key csum): $(seed_pop_config_get)"
	seed_step "OVS br-int flows"
	seed_ofctl dump-flows br-int 2>/dev/null | grep -v NXST |
		sed -E 's/ (duration|idle_age|hard_age)=[^,]*,//g; s/ table=0,//; s/^ */   /'
	seed_step "ovs-vswitchd.log: tunnel warnings (last 3)"
	grep -E 'tunnel|tnl' "$(seed_dir)/ovs-vswitchd.log" 2>/dev/null | grep -i warn | tail -n 3 | cut -c1-220 | sed 's/^/   /'
	seed_step "ovs-appctl dpif/show"
	seed_appctl dpif/show 2>/dev/null | sed 's/^/   /'
	seed_step "ovs-appctl tnl/neigh/show"
	seed_appctl tnl/neigh/show 2>/dev/null | sed 's/^/   /'
	seed_step "ovs-appctl dpctl/dump-flows (datapath cache)"
	seed_appctl dpctl/dump-flows 2>/dev/null | sed 's/^/   /'
	seed_step "ovs-appctl coverage/show (drops, tunnels, neighbours)"
	seed_appctl coverage/show 2>/dev/null | grep -iE 'drop|tnl|neigh|tunnel|error' | sed 's/^/   /'
	seed_step "POP nft: GRE reaching the POP kernel"
	seed_x pop nft list chain inet l2seed input 2>/dev/null | grep counter | sed 's/^\s*/   /'
	seed_step "gw2 neighbours on gw2tr"
	seed_x gw2 ip neigh show dev gw2tr | sed 's/^/   /'
}

# ---------------------------------------------------------------- check
_SEED_PASS=0 _SEED_FAIL=0
_seed_ok() { _SEED_PASS=$((_SEED_PASS + 1)); printf 'ok   %s\n' "$*"; }
_seed_bad() { _SEED_FAIL=$((_SEED_FAIL + 1)); printf 'FAIL %s\n' "$*"; }

# _seed_expect LABEL yes|no CMD...: CMD must succeed (yes) or fail (no).
# Its output is shown indented (only the last lines of a ping).
_seed_expect() {
	local label=$1 want=$2 out rc=0
	shift 2
	out=$("$@" 2>&1) || rc=$?
	printf '%s\n' "$out" | grep -E 'probe:|packets transmitted|rtt|Mbit/s|iperf3:' | sed 's/^/     /'
	if { [ "$want" = yes ] && [ "$rc" = 0 ]; } || { [ "$want" = no ] && [ "$rc" != 0 ]; }; then
		_seed_ok "$label"
	else
		_seed_bad "$label (exit $rc)"
		printf '%s\n' "$out" | grep -vE 'probe:|packets transmitted|rtt' | tail -n 15 | sed 's/^/     | /'
	fi
}

seed_check() {
	_SEED_PASS=0 _SEED_FAIL=0
	seed_up || { seed_warn "setup failed"; return 3; }

	seed_step "1. the box is an open circuit: PC must not reach the server"
	_seed_expect "PC -> server blocked by the open box" no seed_ping 1

	seed_step "2. routed path: box = Linux bridge, POP routes plain IP (no GRE)"
	seed_box_bridge
	seed_pop_mode routed
	seed_x pc ip neigh flush dev pc0 >/dev/null 2>&1
	seed_x gw1 ip neigh flush dev gw1tr >/dev/null 2>&1
	_seed_expect "PC -> server IPv4 ping" yes seed_ping 3
	_seed_expect "PC -> server IPv6 ping" yes seed_ping -6 3
	_seed_expect "PC -> server 1500-byte IPv4 ping, DF" yes seed_ping 2 -M "do" -s $((SEED_MTU_EDGE - 28))
	_seed_expect "PC -> server TCP (iperf3, 2 s)" yes seed_iperf 2

	seed_step "3. POP in GRE mode, box still a plain bridge: the plain path must stop at the POP"
	seed_pop_mode gre
	_seed_expect "PC -> server blocked (the POP no longer routes plain IP)" no seed_ping 2

	seed_step "4. GRE probes from the box's eth3 (no address; the probe answers ARP for $SEED_LOCAL_IP4)"
	seed_info "-- POP GRE: no key, no checksum"
	seed_pop_config none 0
	_seed_expect "probe plain GRE -> reply, no key, no checksum" yes seed_gre_probe
	_seed_expect "probe IPv6 inner (GRE proto 0x86dd) -> reply" yes seed_gre_probe --inner 6
	_seed_expect "probe with key 7 -> no reply (POP has no key)" yes seed_gre_probe --key 7 --expect none --count 2
	seed_info "-- POP GRE: key 42"
	seed_pop_config 42 0
	_seed_expect "probe key 42 -> reply with key 42" yes seed_gre_probe
	_seed_expect "probe without key -> no reply" yes seed_gre_probe --key none --expect none --count 2
	_seed_expect "probe key 43 -> no reply" yes seed_gre_probe --key 43 --expect none --count 2
	seed_info "-- POP GRE: checksum on, no key"
	seed_pop_config none 1
	_seed_expect "probe with checksum -> reply with a checksum that verifies" yes seed_gre_probe
	_seed_expect "probe without checksum -> reply with checksum (POP accepts either)" yes seed_gre_probe --no-csum
	_seed_expect "probe with a wrong checksum -> no reply" yes seed_gre_probe --bad-csum --expect none --count 2
	seed_info "-- POP GRE: key 42 and checksum"
	seed_pop_config 42 1
	_seed_expect "probe key 42 + checksum -> reply key 42 + checksum" yes seed_gre_probe
	_seed_expect "probe key 42 + checksum, 1500-byte inner (outer 1532) -> reply" yes seed_gre_probe --size "$SEED_MTU_EDGE"
	_seed_expect "probe key 42 + checksum, IPv6 inner 1500 bytes -> reply" yes seed_gre_probe --inner 6 --size "$SEED_MTU_EDGE"
	_seed_expect "probe key 42 + checksum, outer source MAC = eth3 -> reply" yes seed_gre_probe --src-mac box
	if seed_x gw2 ip neigh show dev gw2tr | grep -q "$SEED_LOCAL_IP4"; then
		_seed_bad "gw2 kept a neighbour entry for $SEED_LOCAL_IP4"
	else
		_seed_ok "no neighbour entry for $SEED_LOCAL_IP4 left on gw2"
	fi
	if [ -z "$(ip -n "$(seed_ns box)" -o addr show scope global)" ] && [ -z "$(ip -n "$(seed_ns box)" route show)" ]; then
		_seed_ok "the box has no address and no route"
	else
		_seed_bad "the box has an address or a route"
	fi

	seed_step "5. OVS's view"
	seed_info "dpif/show:"
	seed_appctl dpif/show | sed 's/^/     /'
	seed_info "tnl/neigh/show (OVS's own neighbour cache for tunnel next hops):"
	seed_appctl tnl/neigh/show | sed 's/^/     /'
	seed_info "br-int flow counters:"
	seed_ofctl dump-flows br-int | grep -v NXST | sed -E 's/ (cookie|duration|idle_age|hard_age)=[^,]*,//g; s/^ */     /'
	seed_info "coverage (drops):"
	seed_appctl coverage/show | grep -iE 'drop' | sed 's/^/     /'
	seed_info "POP kernel: GRE not terminated by OVS: $(seed_x pop nft list chain inet l2seed input | grep -o 'packets [0-9]*')"

	seed_step "restoring: box open circuit, POP in GRE mode without key/checksum"
	seed_pop_config none 0
	seed_step "check: $_SEED_PASS passed, $_SEED_FAIL failed"
	[ "$_SEED_FAIL" = 0 ]
}

# ---------------------------------------------------------------- errexit
# Callers may source this file under `set -e`. The functions here expect
# some commands to fail (deleting a neighbour entry that is not there, a
# ping that must not get through) and check what matters themselves, so
# every seed_* function runs with errexit off and restores the caller's
# setting; its return status is still the caller's to act on.
_seed_noerrexit() {
	local rc=0
	case $- in
	*e*) set +e; "$@"; rc=$?; set -e ;;
	*) "$@"; rc=$? ;;
	esac
	return "$rc"
}
for _seed_f in $(declare -F | awk '$3 ~ /^seed_/ {print $3}'); do
	eval "_body_${_seed_f}() $(declare -f "$_seed_f" | tail -n +2)"
	eval "${_seed_f}() { _seed_noerrexit _body_${_seed_f} \"\$@\"; }"
done
unset _seed_f

# ---------------------------------------------------------------- CLI
_seed_usage() { sed -n '3,/seed-README.md for/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

seed_main() {
	local cmd=${1:-help} keep=0 args=() prefix_given=0
	[ $# -gt 0 ] && shift
	while [ $# -gt 0 ]; do
		case "$1" in
		--prefix) SEED_P=$2; prefix_given=1; shift ;;
		--prefix=*) SEED_P=${1#--prefix=}; prefix_given=1 ;;
		--keep) keep=1 ;;
		*) args+=("$1") ;;
		esac
		shift
	done
	_seed_prefix_ok || return 2
	case "$cmd" in
	up)
		trap 'seed_warn "interrupted: tearing down"; seed_down; exit 130' INT TERM
		seed_up "${args[@]}" || { local rc=$?; seed_warn "up failed: tearing down $SEED_P"; seed_down; return "$rc"; }
		trap - INT TERM
		seed_info "enter a node:  ip netns exec $(seed_ns pc) bash   (or: bash lab/seed.sh x pc CMD)"
		seed_info "remove it:     bash lab/seed.sh down --prefix $SEED_P"
		;;
	down)
		seed_step "tearing down lab $SEED_P"
		seed_down
		;;
	check)
		# A fresh lab of its own, so a lab someone works in is never touched.
		[ "$prefix_given" = 1 ] || SEED_P=l2seedck-
		if [ "$keep" = 1 ]; then
			trap 'seed_down; exit 130' INT TERM
		else
			trap 'rc=$?; seed_step "tearing down $SEED_P"; seed_down; exit $rc' EXIT
			trap 'exit 130' INT
			trap 'exit 143' TERM
		fi
		seed_check
		;;
	gre-probe)
		seed_gre_probe "${args[@]}"
		;;
	bridge)
		case "${args[0]:-}" in
		on) seed_box_bridge ;;
		off) seed_box_unbridge ;;
		*) seed_warn "bridge on|off"; return 2 ;;
		esac
		;;
	pop-mode) seed_pop_mode "${args[0]:-}" ;;
	gre-config)
		local key csum took
		read -r key csum < <(seed_pop_config_get) || { seed_warn "POP not running"; return 3; }
		set -- "${args[@]}"
		while [ $# -gt 0 ]; do
			_seed_gre_opt "$1" "${2:-}" && took=0 || took=$?
			[ "$took" -gt 0 ] || { seed_warn "gre-config: unknown option '$1'"; return 2; }
			shift "$took"
		done
		seed_pop_config "$key" "$csum"
		;;
	warm) seed_pop_warm && seed_info "OVS knows its tunnel next hop $SEED_GW2_POP_IP4" ;;
	ping) seed_ping "${args[@]}" ;;
	iperf) seed_iperf "${args[@]}" ;;
	status | show) seed_status ;;
	x)
		[ ${#args[@]} -ge 2 ] || { seed_warn "x NODE CMD..."; return 2; }
		seed_x "${args[@]}"
		;;
	help | -h | --help) _seed_usage ;;
	*) seed_warn "unknown command '$cmd'"; _seed_usage >&2; return 2 ;;
	esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -u -o pipefail
	seed_main "$@"
	exit $?
fi
