#!/usr/bin/env bash
# lab/bench.sh (`make bench`): how fast is the l2bpf wire, beside the Linux
# equivalent at its best and beside the least a program on the same hook can
# do? One run builds the two-host lab once per row, side by side, and
# measures every row the same way:
#
#   ceiling  A a0 <-------------------------------> b0 B   (one veth pair, no box)
#   bridge   A a0 <-> eth2 [ br0 in the box ] eth3 <-> b0 B
#   min_tc   ... [ tcx ingress: bpf_redirect to the other port ] ...
#   auto     ... [ l2bpf attach, --mode auto (TC on veths) ] ...
#   tc       ... [ l2bpf attach, --mode tc ] ...
#   generic  ... [ l2bpf attach, --mode generic ] ...        hosts: tx csum off
#   min_xdp  ... [ native XDP: devmap redirect ] ...          hosts: GRO on, tx csum off
#   native   ... [ l2bpf attach, --mode native ] ...          hosts: GRO on, tx csum off
#
# Hosts keep the kernel's veth defaults (GRO off, tx checksum offload and TSO
# on) unless the row says otherwise: native XDP into a veth needs NAPI at the
# peer (GRO on) and an XDP redirect loses a pending checksum (tx csum off,
# which also turns TSO off); generic XDP needs the latter. The minimal
# programs are bpf/bench_min.bpf.c, put in place by lab/bench-min.ts through
# the same links l2bpf uses (tcx, XDP links).
#
# Namespaces: l2bench-<row>-{a,box,b}. Measurements, per row:
# - TCP throughput A->B with iperf3, 1 stream and 4 streams (-P 4), reported
#   from the receiver side of `iperf3 -J` (end.sum_received).
# - Packet rate: 60-byte frames (64 on a real wire with the FCS; 14 Ethernet
#   + 20 IPv4 + 8 UDP + 18 payload), one UDP/IPv4 flow 198.51.100.1:4000 ->
#   198.51.100.2:9 to B's MAC, sent by trafgen from A as fast as it can,
#   counted by host B's own stack (IPv4 packets received in its namespace;
#   a bound, never-read UDP socket on port 9 takes them). The rate is the
#   counter's delta over a fixed window after a warm-up; a0's tx counter
#   gives the offered rate.
#
# Where the work runs (2 cores): trafgen is pinned to one CPU (GEN_CPU,
# default 1) through its packet config (`cpu(N):`). veth delivers a
# transmitted frame to the peer on the *sending* CPU, so generator, box and
# B's stack all run on GEN_CPU: the packet rate is the cost of the whole path.
# Each round's per-CPU load is printed ("cpu busy/softirq %", /proc/stat); a
# round during which another CPU was more than 50% busy is marked noisy and
# left out of the median when a clean round exists. iperf3 client and server
# float over both cores (IPERF_PIN=1 pins them to CPU 0 and 1).
#
# Rows are interleaved (every row, then again) for ROUNDS rounds and the
# median is reported with the ratios the aims are stated in.
#
# Usage: bash lab/bench.sh [--quick] [--rounds N] [--out FILE] [--only LIST]
#   --quick        2 s TCP runs, 2 s packet window, 1 round (about 1 minute)
#   (default)      5 s TCP runs, 5 s packet window, 3 rounds (about 9 minutes)
#   --out FILE     where the JSON summary goes (default build/bench-results.json);
#                  it is also printed as the last line, prefixed "BENCH_JSON ".
#   --only LIST    comma-separated subset of the rows above
# Environment: L2BPF (CLI command, default "node <repo>/dist/src/cli/main.js"),
#   BENCH_MIN (default "node <repo>/dist/lab/bench-min.js"), GEN_CPU,
#   IPERF_PIN, MTU.
#
# Safety: only 198.51.100.0/24 inside private namespaces; every traffic command
# is bounded by a count and by `timeout`; everything this script created is
# removed on exit, interrupted or not.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lab/common.sh
. "$REPO/lab/common.sh"
L2BPF=${L2BPF:-"node $REPO/dist/src/cli/main.js"}
BENCH_MIN=${BENCH_MIN:-"node $REPO/dist/lab/bench-min.js"}
OUT=${OUT:-$REPO/build/bench-results.json}
GEN_CPU=${GEN_CPU:-1}
IPERF_PIN=${IPERF_PIN:-0}
QUICK=0
ROUNDS=
ALL=ceiling,bridge,min_tc,auto,tc,generic,min_xdp,native
ONLY=$ALL

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=1 ;;
	--rounds) ROUNDS=$2; shift ;;
	--rounds=*) ROUNDS=${1#--rounds=} ;;
	--out) OUT=$2; shift ;;
	--out=*) OUT=${1#--out=} ;;
	--only) ONLY=$2; shift ;;
	--only=*) ONLY=${1#--only=} ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
	shift
done

if [ "$QUICK" = 1 ]; then
	T_TCP=2; WARM=0.5; WIN=2; ROUNDS=${ROUNDS:-1}
else
	T_TCP=5; WARM=1; WIN=5; ROUNDS=${ROUNDS:-3}
fi

CONFIGS=()
IFS=, read -ra all <<<"$ALL"
for c in "${all[@]}"; do
	case ",$ONLY," in *",$c,"*) CONFIGS+=("$c") ;; esac
done
for c in ${ONLY//,/ }; do
	case ",$ALL," in *",$c,"*) ;; *) echo "bench.sh: --only: unknown row '$c' (rows: $ALL)" >&2; exit 2 ;; esac
done
[ ${#CONFIGS[@]} -gt 0 ] || { echo "bench.sh: --only selects nothing" >&2; exit 2; }

# shellcheck source=lab/netns.sh
. "$REPO/lab/netns.sh"
# shellcheck source=lab/bench-lib.sh
. "$REPO/lab/bench-lib.sh"

bmin() {
	# shellcheck disable=SC2086
	$BENCH_MIN "$@"
}

# Per row: what sits in the box, how the hosts are set, and its label.
box_of() { case "$1" in ceiling) echo none ;; bridge) echo bridge ;; min_tc | min_xdp) echo min ;; *) echo l2bpf ;; esac; }
hosts_of() { case "$1" in min_xdp | native) echo xdp ;; generic) echo txoff ;; *) echo default ;; esac; }
label_of() {
	case "$1" in
	ceiling) echo "ceiling (veth pair)" ;;
	bridge) echo "Linux bridge" ;;
	min_tc) echo "minimal TC redirect" ;;
	auto) echo "l2bpf auto" ;;
	tc) echo "l2bpf tc" ;;
	generic) echo "l2bpf generic [hosts: tx csum off]" ;;
	min_xdp) echo "minimal XDP devmap [hosts: GRO on, tx csum off]" ;;
	native) echo "l2bpf native [hosts: GRO on, tx csum off]" ;;
	esac
}
prefix_of() { echo "l2bench-$1-"; }
instance_of() { echo "l2bench-$1"; }
minpin_of() { echo "/sys/fs/bpf/l2bench-min-$1"; }

TMP=

# track/stop_tracked (lab/bench-lib.sh) stop the trafgen/iperf3 runs on exit.
cleanup() {
	local rc=$? c
	trap - EXIT INT TERM
	set +e
	stop_tracked
	for c in "${all[@]}"; do
		if [ -e "/sys/fs/bpf/l2bpf/$(instance_of "$c")" ]; then
			l2 detach --name "$(instance_of "$c")" >/dev/null 2>&1 ||
				warn "could not detach l2bpf instance $(instance_of "$c")"
		fi
		[ -e "$(minpin_of "$c")" ] && bmin detach "$(minpin_of "$c")"
		P=$(prefix_of "$c") netns_teardown
	done
	[ -n "$TMP" ] && rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- checks
NCPU=$(nproc)
bench_checks bench.sh || exit 2
for f in dist/src/cli/main.js dist/lab/bench-min.js dist/lab/bench-report.js build/bench_min.bpf.o; do
	[ -f "$REPO/$f" ] || { warn "$f is missing: run make"; exit 2; }
done
TMP=$(mktemp -d /tmp/l2bench.XXXXXX)

# ---------------------------------------------------------------- build
# Remove what an interrupted earlier run may have left (ours only).
for c in "${all[@]}"; do
	[ -e "/sys/fs/bpf/l2bpf/$(instance_of "$c")" ] && { l2 detach --name "$(instance_of "$c")" >/dev/null 2>&1 || true; }
	[ -e "$(minpin_of "$c")" ] && bmin detach "$(minpin_of "$c")"
	P=$(prefix_of "$c") netns_teardown
done

say "building ${CONFIGS[*]} (MTU $MTU)"
for c in "${CONFIGS[@]}"; do
	export P HOST_TX_CSUM HOST_GRO
	P=$(prefix_of "$c")
	case "$(hosts_of "$c")" in
	default) HOST_TX_CSUM=on HOST_GRO=off ;;
	txoff) HOST_TX_CSUM=off HOST_GRO=off ;;
	xdp) HOST_TX_CSUM=off HOST_GRO=on ;;
	esac
	case "$(box_of "$c")" in
	none) netns_build_direct ;;
	bridge) netns_build_bridge ;;
	min)
		netns_build_wire
		bmin attach "${c#min_}" "${P}box" eth2 eth3 "$(minpin_of "$c")" || { warn "$c: could not attach the minimal program"; exit 1; }
		;;
	l2bpf)
		netns_build_wire
		if ! out=$(l2 attach eth2 eth3 --netns "${P}box" --mode "$c" --name "$(instance_of "$c")" 2>&1); then
			warn "$c: l2bpf attach failed:"
			printf '%s\n' "$out" >&2
			exit 1
		fi
		info "$c: $(grep -m1 'eth2:' <<<"$out" | sed 's/^ *//')"
		;;
	esac
	netns_wait_ready || { warn "$c: interfaces did not come up"; exit 1; }
	if ! nsx a ping -c 3 -i 0.2 -W 2 -q "$B_IP4" >/dev/null; then
		warn "$c: A cannot ping B"
		exit 1
	fi
	info "$c: ${P}a -> ${P}b ping ok ($(label_of "$c"))"
done
unset P

# ---------------------------------------------------------------- TCP
declare -A TCP1 TCP4 PPS OFFERED CPUUSE
say "TCP A->B, iperf3 -t $T_TCP, $ROUNDS round(s) (Gbit/s, receiver side)"
for r in $(seq 1 "$ROUNDS"); do
	for c in "${CONFIGS[@]}"; do
		P=$(prefix_of "$c")
		v1=$(iperf_gbps "${P}b" "$B_IP4" "${P}a" 1 "$T_TCP")
		v4=$(iperf_gbps "${P}b" "$B_IP4" "${P}a" 4 "$T_TCP")
		TCP1[$c]="${TCP1[$c]:-} $v1"
		TCP4[$c]="${TCP4[$c]:-} $v4"
		info "round $r  $(printf '%-8s' "$c") 1 stream $(printf '%7s' "$v1")   4 streams $(printf '%7s' "$v4")"
	done
done
unset P

# ---------------------------------------------------------------- packets
say "60-byte packets A->B: trafgen on CPU $GEN_CPU, ${WARM}s warm-up + ${WIN}s window, $ROUNDS round(s), counted by B's stack"
trafgen_cfg "$TMP/pkt.cfg" "$B_MAC" "$A_MAC" "$A_IP4" "$B_IP4"
hold=$(node -e "console.log(Math.ceil($ROUNDS * ${#CONFIGS[@]} * ($WARM + $WIN + 6) + 10))")
for c in "${CONFIGS[@]}"; do udp_hold "$(prefix_of "$c")b" "$B_IP4" 9 "$hold"; done
sleep 0.5
for r in $(seq 1 "$ROUNDS"); do
	for c in "${CONFIGS[@]}"; do
		P=$(prefix_of "$c")
		read -r d o u < <(pps_window "${P}a" a0 "$TMP/pkt.cfg" "${P}b" "$WARM" "$WIN")
		PPS[$c]="${PPS[$c]:-} $d"
		OFFERED[$c]="${OFFERED[$c]:-} $o"
		CPUUSE[$c]="${CPUUSE[$c]:-} $u"
		note=
		IFS=, read -ra per_cpu <<<"$u"
		for k in "${!per_cpu[@]}"; do
			[ "$k" = "$GEN_CPU" ] && continue
			[ "${per_cpu[$k]%%/*}" -gt 50 ] 2>/dev/null && note="  [noisy: CPU $k busy]"
		done
		info "round $r  $(printf '%-8s' "$c") delivered $(printf '%9s' "$d") pps   (a0 sent $o; cpu busy/softirq % $u)$note"
	done
done
unset P
for c in "${CONFIGS[@]}"; do
	case "$(box_of "$c")" in l2bpf)
		say "l2bpf stats, row $c"
		l2 stats --name "$(instance_of "$c")" | sed 's/^/   /' ;;
	esac
done

# ---------------------------------------------------------------- report
mkdir -p "$(dirname "$OUT")"
args=()
for c in "${CONFIGS[@]}"; do
	args+=("$c" "$(label_of "$c")" "$(hosts_of "$c")" "${TCP1[$c]}" "${TCP4[$c]}" "${PPS[$c]}" "${OFFERED[$c]}" "${CPUUSE[$c]}")
done
node "$REPO/dist/lab/bench-report.js" wire "$OUT" "$QUICK" "$ROUNDS" "$T_TCP" "$WIN" "$GEN_CPU" "$MTU" "$(uname -r)" "$NCPU" "${args[@]}"
