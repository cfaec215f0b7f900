#!/usr/bin/env bash
# lab/bench-gre.sh (part of `make bench`): what does GRE cost? Two boxes in
# a row between host A and host B, built three ways side by side in one run
# and measured the same way:
#
#   A a0 -- eth2 [box a] eth3 -- eth2 [box b] eth3 -- b0 B
#
#   wire   both boxes are plain l2bpf wires (`l2bpf attach eth2 eth3`,
#          auto mode: TC on veths); A 198.51.100.1/24 and B 198.51.100.2/24
#          share a subnet.
#   gre    both boxes are l2bpf (auto mode: TC) with one IP each (a
#          198.51.100.11, b .12), a tunnel to each other and one rule: a
#          sends B's traffic (198.51.100.2/32) over GRE to b, b sends A's
#          (198.51.100.1/32) to a; each unwraps what the other sent. Same
#          addresses as `wire`.
#   gre_native  the same pair in native XDP mode; hosts: GRO on, tx csum off
#          (what XDP on veths needs, see lab/bench.sh).
#   vxlan  the Linux equivalent: the boxes route, and carry A<->B over the
#          kernel's VXLAN between them (this kernel has no ip_gre). A
#          192.0.2.1/25 via box a 192.0.2.126; B 198.51.100.1/25 via box b
#          198.51.100.126; underlay 203.0.113.1/.2 on the box-to-box link;
#          vxlan0 203.0.113.129/.130; routes carry MTU 1450, as the GRE
#          boxes clamp TCP's MSS to their tunnel MTU.
#
# Hosts keep kernel-default offloads (GRO off, tx csum and TSO on) except in
# gre_native; the boxes' ports have GRO on in every row.
#
# Namespaces: l2bg-<config>-{a,boxa,boxb,b}. Measured per config, as in
# lab/bench.sh: iperf3 TCP A->B (1 and 4 streams, receiver side) and 60-byte
# UDP frames A->B from trafgen pinned to GEN_CPU, counted by B's own stack;
# in `gre` every such frame is encapsulated by box a and decapsulated by box
# b. Runs are interleaved for ROUNDS rounds and the median is reported with
# the ratios the aims are stated in (gre/vxlan).
#
# Where the work runs: a veth hands a frame to its peer on the sending CPU, so
# trafgen, both boxes and B's stack share GEN_CPU; the packet rate is the cost
# of the whole path, and the ratios compare paths, not boxes in isolation.
#
# Usage: bash lab/bench-gre.sh [--quick] [--rounds N] [--out FILE] [--only LIST]
#   --quick      2 s TCP runs, 2 s packet window, 1 round
#   --out FILE   JSON summary (default build/bench-gre-results.json), also
#                printed as the last line, prefixed "BENCH_GRE_JSON ".
#   --only LIST  comma-separated subset of wire,gre,gre_native,vxlan
# Environment: L2BPF, GEN_CPU (as lab/bench.sh).
#
# Safety: documentation addresses only, inside private namespaces; every
# traffic command is bounded by count and `timeout`; everything created here is
# removed on exit, interrupted or not.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lab/common.sh
. "$REPO/lab/common.sh"
L2BPF=${L2BPF:-"node $REPO/dist/src/cli/main.js"}
OUT=$REPO/build/bench-gre-results.json
GEN_CPU=${GEN_CPU:-1}
QUICK=0
ROUNDS=
ALL=wire,gre,gre_native,vxlan
ONLY=$ALL

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=1 ;;
	--rounds) ROUNDS=$2; shift ;;
	--out) OUT=$2; shift ;;
	--only) ONLY=$2; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench-gre.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
	shift
done
if [ "$QUICK" = 1 ]; then T_TCP=2; WARM=0.5; WIN=2; ROUNDS=${ROUNDS:-1}
else T_TCP=5; WARM=1; WIN=5; ROUNDS=${ROUNDS:-3}; fi
CONFIGS=()
for c in ${ALL//,/ }; do case ",$ONLY," in *",$c,"*) CONFIGS+=("$c") ;; esac; done
[ ${#CONFIGS[@]} -gt 0 ] || { echo "bench-gre.sh: --only selects nothing" >&2; exit 2; }

# shellcheck source=lab/bench-lib.sh
. "$REPO/lab/bench-lib.sh"


A_MAC=02:00:5e:10:01:0a
B_MAC=02:00:5e:10:01:0b
BOXA_IN_MAC=02:00:5e:10:01:a2 # box a's eth2: A's gateway in `vxlan`
NCPU=$(nproc)
TMP=

ns() { echo "l2bg-$1-$2"; } # ns <config> <node>
x() { local c=$1 n=$2; shift 2; ip netns exec "$(ns "$c" "$n")" "$@"; }

teardown() {
	local c n list
	list=$(ip netns list | awk '{print $1}')
	for c in ${ALL//,/ }; do
		for n in a b; do
			[ -e "/sys/fs/bpf/l2bpf/l2bg-$c-$n" ] && l2 detach --name "l2bg-$c-$n" >/dev/null 2>&1
		done
		for n in a boxa boxb b; do
			grep -qxF "$(ns "$c" "$n")" <<<"$list" && ip netns del "$(ns "$c" "$n")" 2>/dev/null
		done
	done
	return 0
}
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	stop_tracked
	teardown
	[ -n "$TMP" ] && rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bench_checks bench-gre.sh || exit 2
TMP=$(mktemp -d /tmp/l2bench-gre.XXXXXX)
teardown

# ---------------------------------------------------------------- build
# Four namespaces and three links; hosts at kernel defaults, except for
# native XDP (GRO on for NAPI at the peer, tx csum off: an XDP redirect
# drops CHECKSUM_PARTIAL).
build_links() {
	local c=$1 n
	for n in a boxa boxb b; do
		ip netns add "$(ns "$c" "$n")"
		ip -n "$(ns "$c" "$n")" link set lo up
	done
	ip link add a0 netns "$(ns "$c" a)" type veth peer name eth2 netns "$(ns "$c" boxa)"
	ip link add eth3 netns "$(ns "$c" boxa)" type veth peer name eth2 netns "$(ns "$c" boxb)"
	ip link add eth3 netns "$(ns "$c" boxb)" type veth peer name b0 netns "$(ns "$c" b)"
	ip -n "$(ns "$c" a)" link set a0 address "$A_MAC" up
	ip -n "$(ns "$c" b)" link set b0 address "$B_MAC" up
	ip -n "$(ns "$c" boxa)" link set eth2 address "$BOXA_IN_MAC"
	for n in boxa boxb; do
		x "$c" "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
		ip -n "$(ns "$c" "$n")" link set eth2 up
		ip -n "$(ns "$c" "$n")" link set eth3 up
		x "$c" "$n" ethtool -K eth2 gro on >/dev/null
		x "$c" "$n" ethtool -K eth3 gro on >/dev/null
	done
	if [ "$c" = gre_native ]; then
		x "$c" a ethtool -K a0 tx off gro on >/dev/null
		x "$c" b ethtool -K b0 tx off gro on >/dev/null
	fi
}

box_config() { # box_config <config> <box a|b> -> path of its l2bpf.yaml
	local c=$1 me=$2 f="$TMP/$1-$2.yaml" addr remote dst
	if [ "$me" = a ]; then addr=198.51.100.11; remote=198.51.100.12; dst=198.51.100.2/32
	else addr=198.51.100.12; remote=198.51.100.11; dst=198.51.100.1/32; fi
	cat >"$f" <<-EOF
	instance: l2bg-$c-$me
	ports: [eth2, eth3]
	netns: $(ns "$c" "box$me")
	mode: $([ "$c" = gre_native ] && echo native || echo auto)
	local: $addr/24
	tunnels:
	  peer: {remote: $remote}
	rules:
	  - {dst: $dst, action: tunnel peer}
	EOF
	echo "$f"
}

declare -A DST_IP SRC_IP DST_MAC SINK
build() {
	local c=$1 me out
	build_links "$c"
	case "$c" in
	wire | gre | gre_native)
		ip -n "$(ns "$c" a)" addr add 198.51.100.1/24 dev a0
		ip -n "$(ns "$c" b)" addr add 198.51.100.2/24 dev b0
		SRC_IP[$c]=198.51.100.1 DST_IP[$c]=198.51.100.2 DST_MAC[$c]=$B_MAC
		for me in a b; do
			if [ "$c" = wire ]; then
				out=$(l2 attach eth2 eth3 --netns "$(ns "$c" "box$me")" --name "l2bg-$c-$me" 2>&1)
			else
				out=$(l2 attach -c "$(box_config "$c" "$me")" 2>&1)
			fi || { warn "$c: l2bpf attach in box $me failed:"; printf '%s\n' "$out" >&2; exit 1; }
		done
		;;
	vxlan)
		ip -n "$(ns "$c" a)" addr add 192.0.2.1/25 dev a0
		ip -n "$(ns "$c" a)" route add 198.51.100.0/25 via 192.0.2.126 mtu 1450
		ip -n "$(ns "$c" b)" addr add 198.51.100.1/25 dev b0
		ip -n "$(ns "$c" b)" route add 192.0.2.0/25 via 198.51.100.126 mtu 1450
		SRC_IP[$c]=192.0.2.1 DST_IP[$c]=198.51.100.1 DST_MAC[$c]=$BOXA_IN_MAC
		vx_box "$c" boxa 192.0.2.126/25 eth2 eth3 203.0.113.1 203.0.113.2 203.0.113.129 203.0.113.130 198.51.100.0/25
		vx_box "$c" boxb 198.51.100.126/25 eth3 eth2 203.0.113.2 203.0.113.1 203.0.113.130 203.0.113.129 192.0.2.0/25
		# Static neighbours: a saturated core would otherwise lose an ARP
		# refresh and the run would measure neighbour resolution, not VXLAN.
		vx_neigh "$c" boxa 203.0.113.2 eth3 boxb eth2
		vx_neigh "$c" boxb 203.0.113.1 eth2 boxa eth3
		vx_neigh "$c" boxa 203.0.113.130 vxlan0 boxb vxlan0
		vx_neigh "$c" boxb 203.0.113.129 vxlan0 boxa vxlan0
		ip -n "$(ns "$c" boxb)" neigh replace 198.51.100.1 lladdr "$B_MAC" dev eth3 nud permanent
		ip -n "$(ns "$c" boxa)" neigh replace 192.0.2.1 lladdr "$A_MAC" dev eth2 nud permanent
		;;
	esac
}
# vx_neigh <config> <box> <ip> <dev> <other box> <its dev>: a permanent entry
vx_neigh() {
	local mac
	mac=$(ip -n "$(ns "$1" "$5")" -j link show "$6" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8"))[0].address)')
	ip -n "$(ns "$1" "$2")" neigh replace "$3" lladdr "$mac" dev "$4" nud permanent
}
# vx_box <config> <box> <host-side addr> <host dev> <underlay dev> <underlay me> <underlay peer> <vxlan me> <vxlan peer> <far prefix>
vx_box() {
	local n; n=$(ns "$1" "$2")
	ip netns exec "$n" sysctl -qw net.ipv4.ip_forward=1
	ip -n "$n" addr add "$3" dev "$4"
	ip -n "$n" addr add "$6/25" dev "$5"
	ip -n "$n" link add vxlan0 type vxlan id 42 local "$6" remote "$7" dstport 4789 dev "$5"
	ip -n "$n" addr add "$8/25" dev vxlan0
	ip -n "$n" link set vxlan0 up
	ip -n "$n" route add "${10}" via "$9" dev vxlan0
}

say "building ${CONFIGS[*]}: A - box a - box b - B"
for c in "${CONFIGS[@]}"; do
	build "$c"
	for _ in $(seq 1 30); do
		x "$c" a ping -c 1 -W 1 -q "${DST_IP[$c]}" >/dev/null 2>&1 && break
		sleep 0.2
	done
	x "$c" b ping -c 3 -i 0.2 -W 2 -q "${SRC_IP[$c]}" >/dev/null || { warn "$c: B cannot ping A"; exit 1; }
	x "$c" a ping -c 3 -i 0.2 -W 2 -q "${DST_IP[$c]}" >/dev/null || { warn "$c: A cannot ping B"; exit 1; }
	info "$c: A <-> B ping ok"
done

# ---------------------------------------------------------------- TCP
declare -A TCP1 TCP4 PPS OFFERED CPUUSE
say "TCP A->B, iperf3 -t $T_TCP, $ROUNDS round(s) (Gbit/s, receiver side)"
for r in $(seq 1 "$ROUNDS"); do
	for c in "${CONFIGS[@]}"; do
		v1=$(iperf_gbps "$(ns "$c" b)" "${DST_IP[$c]}" "$(ns "$c" a)" 1 "$T_TCP")
		v4=$(iperf_gbps "$(ns "$c" b)" "${DST_IP[$c]}" "$(ns "$c" a)" 4 "$T_TCP")
		TCP1[$c]="${TCP1[$c]:-} $v1"
		TCP4[$c]="${TCP4[$c]:-} $v4"
		info "round $r  $(printf '%-6s' "$c") 1 stream $(printf '%7s' "$v1")   4 streams $(printf '%7s' "$v4")"
	done
done

# ---------------------------------------------------------------- packets
say "60-byte UDP A->B: trafgen on CPU $GEN_CPU, ${WARM}s warm-up + ${WIN}s window, $ROUNDS round(s), counted by B's stack"
hold=$(node -e "console.log(Math.ceil($ROUNDS * ${#CONFIGS[@]} * ($WARM + $WIN + 6) + 10))")
for c in "${CONFIGS[@]}"; do
	trafgen_cfg "$TMP/$c.cfg" "${DST_MAC[$c]}" "$A_MAC" "${SRC_IP[$c]}" "${DST_IP[$c]}"
	udp_hold "$(ns "$c" b)" "${DST_IP[$c]}" 9 "$hold"
done
sleep 0.5
for r in $(seq 1 "$ROUNDS"); do
	for c in "${CONFIGS[@]}"; do
		read -r d o u < <(pps_window "$(ns "$c" a)" a0 "$TMP/$c.cfg" "$(ns "$c" b)" "$WARM" "$WIN")
		PPS[$c]="${PPS[$c]:-} $d"
		OFFERED[$c]="${OFFERED[$c]:-} $o"
		CPUUSE[$c]="${CPUUSE[$c]:-} $u"
		info "round $r  $(printf '%-10s' "$c") delivered $(printf '%9s' "$d") pps   (a0 sent $o pps; cpu busy/softirq % $u)"
	done
done
for c in "${CONFIGS[@]}"; do
	case "$c" in gre | gre_native)
		say "box a / box b counters ($c)"
		for me in a b; do l2 stats --name "l2bg-$c-$me" | sed 's/^/   /'; done ;;
	esac
done

# ---------------------------------------------------------------- report
mkdir -p "$(dirname "$OUT")"
label_of() {
	case "$1" in
	wire) echo "l2bpf wire pair (auto: TC)" ;;
	gre) echo "l2bpf GRE pair (auto: TC)" ;;
	gre_native) echo "l2bpf GRE pair native [hosts: GRO on, tx csum off]" ;;
	vxlan) echo "kernel VXLAN between routers" ;;
	esac
}
args=()
for c in "${CONFIGS[@]}"; do
	args+=("$c" "$(label_of "$c")" "$([ "$c" = gre_native ] && echo xdp || echo default)" "${TCP1[$c]}" "${TCP4[$c]}" "${PPS[$c]}" "${OFFERED[$c]}" "${CPUUSE[$c]}")
done
node "$REPO/dist/lab/bench-report.js" gre "$OUT" "$QUICK" "$ROUNDS" "$T_TCP" "$WIN" "$GEN_CPU" 1500 "$(uname -r)" "$NCPU" "${args[@]}"
