#!/usr/bin/env bash
# lab/bench.sh (`make bench`): how fast is the l2bpf wire compared with no box
# at all and with a Linux bridge? One run builds the two-host lab three ways,
# side by side, and measures each the same way:
#
#   ceiling  A a0 <-------------------------------> b0 B   (one veth pair, no box)
#   bridge   A a0 <-> eth2 [ br0 in the box ] eth3 <-> b0 B
#   l2bpf    A a0 <-> eth2 [ l2bpf XDP wire ] eth3 <-> b0 B (`l2bpf attach`, native)
#
# Namespaces: l2bench-ceil-{a,b}, l2bench-br-{a,box,b}, l2bench-xdp-{a,box,b}.
#
# Measurements, per configuration:
# - TCP throughput A->B with iperf3, 1 stream and 4 streams (-P 4), reported
#   from the receiver side of `iperf3 -J` (end.sum_received).
# - Packet rate: 64-byte frames (60 bytes as the kernel sees them: 14 Ethernet
#   + 20 IPv4 + 8 UDP + 18 payload; the 4-byte FCS that makes 64 on a real
#   wire does not exist on veth), one UDP/IPv4 flow 198.51.100.1:4000 ->
#   198.51.100.2:9 to B's MAC, sent by trafgen from A as fast as it can.
#   What arrives at B is counted by a tiny XDP sink on b0
#   (bpf/bench_sink.bpf.c: count in a per-CPU array, XDP_DROP), so B's own
#   stack is not what limits the rate; dropped there = delivered to B. The
#   rate is the sink's counter delta over a fixed window after a warm-up,
#   divided by the elapsed time; b0's interface rx counter is read over the
#   same window as a cross-check, and a0's tx counter gives the offered rate.
#
# Where the work runs (2 cores): trafgen is pinned to one CPU (GEN_CPU,
# default 1) through its packet config (`cpu(N):`) -- trafgen pins its own
# workers, so taskset would not stick. veth delivers a transmitted frame to the
# peer's NAPI (or backlog) on the *sending* CPU: the box's XDP program (l2bpf)
# or bridge, and the sink on b0, all run in softirq on GEN_CPU, right behind
# trafgen's sendmsg. So one core does generator + box + sink, and the packet
# rate measures the cost of the whole path; the box's share shows as the
# difference with the ceiling (printed as extra ns per packet). The other
# core runs this script and the counter reads; its load during each window is
# printed ("cpu busy/softirq %" per CPU, from /proc/stat). iperf3 client and
# server float over both cores (IPERF_PIN=1 pins the client to CPU 0 and the
# server to CPU 1; on this VM that was noisier); iperf3 3.12 is
# single-threaded, so 4 streams share one core.
#
# Runs are interleaved (ceiling, bridge, l2bpf, then again) for ROUNDS rounds
# and the median is reported, so slow drifts of the VM hit all three alike. A
# packet-rate round during which another CPU was more than 50% busy (someone
# else's work on this 2-core machine slows the generator's core too) is
# marked "noisy" and left out of the median when a clean round exists.
#
# Usage: bash lab/bench.sh [--quick] [--rounds N] [--out FILE]
#   --quick        2 s TCP runs, 2 s packet window, 1 round (about 30 s)
#   (default)      5 s TCP runs, 5 s packet window, 2 rounds (about 2 min)
#   --out FILE     where the JSON summary goes (default build/bench-results.json);
#                  it is also printed as the last line, prefixed "BENCH_JSON ".
#   --only LIST    comma-separated subset of ceiling,bridge,l2bpf
# Environment: L2BPF (CLI command, default "node <repo>/dist/src/cli/main.js"),
#   SINK_OBJ (default build/bench_sink.bpf.o), GEN_CPU, IPERF_PIN, MTU.
#
# Safety: only 198.51.100.0/24 inside private namespaces; every traffic command
# is bounded by a count and by `timeout`; everything this script created is
# removed on exit, interrupted or not.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
L2BPF=${L2BPF:-"node $REPO/dist/src/cli/main.js"}
SINK_OBJ=${SINK_OBJ:-$REPO/build/bench_sink.bpf.o}
OUT=${OUT:-$REPO/build/bench-results.json}
GEN_CPU=${GEN_CPU:-1}
IPERF_PIN=${IPERF_PIN:-0}
INSTANCE=l2bench
QUICK=0
ROUNDS=
ONLY=ceiling,bridge,l2bpf

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=1 ;;
	--rounds) ROUNDS=$2; shift ;;
	--rounds=*) ROUNDS=${1#--rounds=} ;;
	--out) OUT=$2; shift ;;
	--out=*) OUT=${1#--out=} ;;
	--only) ONLY=$2; shift ;;
	--only=*) ONLY=${1#--only=} ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
	shift
done

if [ "$QUICK" = 1 ]; then
	T_TCP=2; WARM=0.5; WIN=2; ROUNDS=${ROUNDS:-1}
else
	T_TCP=5; WARM=1; WIN=5; ROUNDS=${ROUNDS:-2}
fi

CONFIGS=()
for c in ceiling bridge l2bpf; do
	case ",$ONLY," in *",$c,"*) CONFIGS+=("$c") ;; esac
done
[ ${#CONFIGS[@]} -gt 0 ] || { echo "bench.sh: --only selects nothing" >&2; exit 2; }

# shellcheck source=lab/netns.sh
. "$REPO/lab/netns.sh"
# shellcheck source=lab/bench-lib.sh
. "$REPO/lab/bench-lib.sh"

say() { printf '== %s\n' "$*"; }
info() { printf '   %s\n' "$*"; }
warn() { printf '!! %s\n' "$*" >&2; }
l2() {
	# shellcheck disable=SC2086
	$L2BPF "$@"
}

prefix_of() {
	case "$1" in
	ceiling) echo l2bench-ceil- ;;
	bridge) echo l2bench-br- ;;
	l2bpf) echo l2bench-xdp- ;;
	esac
}

TMP=
ATTACHED=0

# track/stop_tracked (lab/bench-lib.sh) stop the trafgen/iperf3 runs on exit.
cleanup() {
	local rc=$? c
	trap - EXIT INT TERM
	set +e
	stop_tracked
	if [ "$ATTACHED" = 1 ] || [ -e "/sys/fs/bpf/l2bpf/$INSTANCE" ]; then
		l2 detach --name "$INSTANCE" >/dev/null 2>&1
		[ -e "/sys/fs/bpf/l2bpf/$INSTANCE" ] &&
			warn "could not detach l2bpf instance $INSTANCE"
	fi
	for c in ceiling bridge l2bpf; do
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
case " ${CONFIGS[*]} " in *" l2bpf "*)
	case "$L2BPF" in "node $REPO/dist/src/cli/main.js")
		[ -f "$REPO/dist/src/cli/main.js" ] || { warn "dist/src/cli/main.js is missing: run make"; exit 2; } ;;
	esac ;;
esac
TMP=$(mktemp -d /tmp/l2bench.XXXXXX)

# ---------------------------------------------------------------- build
# Remove what an interrupted earlier run may have left (ours only).
if [ -e "/sys/fs/bpf/l2bpf/$INSTANCE" ]; then
	l2 detach --name "$INSTANCE" >/dev/null 2>&1 || true
fi
for c in ceiling bridge l2bpf; do P=$(prefix_of "$c") netns_teardown; done

say "building ${CONFIGS[*]} (MTU $MTU; hosts send with tx checksum offload off, GRO on)"
for c in "${CONFIGS[@]}"; do
	export P
	P=$(prefix_of "$c")
	case "$c" in
	ceiling) netns_build_direct ;;
	bridge) netns_build_bridge ;;
	l2bpf)
		netns_build_wire
		ATTACHED=1
		if ! out=$(l2 attach eth2 eth3 --netns "${P}box" --mode native --name "$INSTANCE" 2>&1); then
			warn "l2bpf attach failed:"
			printf '%s\n' "$out" >&2
			exit 1
		fi
		;;
	esac
	netns_wait_ready || { warn "$c: interfaces did not come up"; exit 1; }
	if ! nsx a ping -c 3 -i 0.2 -W 2 -q "$B_IP4" >/dev/null; then
		warn "$c: A cannot ping B"
		exit 1
	fi
	info "$c: ${P}a -> ${P}b ping ok"
done
unset P

# ---------------------------------------------------------------- helpers
# Receiver-side Gbit/s of one iperf3 run A -> B: tcp_run <cfg> <streams>
tcp_run() { local P; P=$(prefix_of "$1"); iperf_gbps "${P}b" "$B_IP4" "${P}a" "$2" "$T_TCP"; }

# "<b0 rx packets> <a0 tx packets> <a0 tx dropped>" for a config.
if_counts() {
	local P=$1 rx tx
	rx=$(ip -n "${P}b" -j -s link show b0)
	tx=$(ip -n "${P}a" -j -s link show a0)
	node -e '
		const [rx, tx] = process.argv.slice(1).map(s => JSON.parse(s)[0].stats64);
		console.log(rx.rx.packets, tx.tx.packets, tx.tx.dropped);' "$rx" "$tx"
}

declare -A SINK_MAP RX_BASE
attach_sink() {
	local c=$1 P
	P=$(prefix_of "$c")
	RX_BASE[$c]=$(if_counts "$P" | cut -d' ' -f1)
	SINK_MAP[$c]=$(sink_attach "${P}b" b0)
}

# One packet-rate window: prints "delivered_pps ifrx_pps offered_pps a0_txdrop"
pps_run() {
	local c=$1 P pid c0 c1 t0 t1 n0 n1 maxpkts
	P=$(prefix_of "$c")
	# Bounded twice: by count (1.5 Mpps for the whole run is far above what
	# this machine reaches) and by time.
	maxpkts=$(node -e "console.log(Math.ceil(1.5e6 * ($WARM + $WIN + 3)))")
	ip netns exec "${P}a" timeout -s INT "$(node -e "console.log(Math.ceil($WARM + $WIN + 3))")" \
		trafgen -o a0 -i "$TMP/pkt.cfg" -P "$NCPU" -n "$maxpkts" --no-sock-mem -Q -C \
		>"$TMP/trafgen.$c.log" 2>&1 &
	pid=$!
	track "$pid"
	sleep "$WARM"
	# Each counter gets its own timestamp, taken right after it is read.
	c0=$(sink_count "${SINK_MAP[$c]}"); t0=$(now)
	n0=$(if_counts "$P"); u0=$(now); s0=$(cpu_ticks)
	sleep "$WIN"
	c1=$(sink_count "${SINK_MAP[$c]}"); t1=$(now)
	n1=$(if_counts "$P"); u1=$(now); s1=$(cpu_ticks)
	kill -INT "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	node -e '
		const a = process.argv.slice(1);
		const [c0, c1, t0, t1, u0, u1] = a.slice(0, 6).map(Number);
		const n0 = a[6].split(" ").map(Number), n1 = a[7].split(" ").map(Number);
		const s0 = a[8].split(" ").map(Number), s1 = a[9].split(" ").map(Number);
		// per CPU: busy% and softirq% over the window, from /proc/stat
		const cpu = [];
		for (let i = 0; i < s0.length; i += 3) {
			const tot = s1[i] - s0[i], busy = s1[i + 1] - s0[i + 1], si = s1[i + 2] - s0[i + 2];
			cpu.push(`${Math.round(100 * busy / tot)}/${Math.round(100 * si / tot)}`);
		}
		console.log(((c1 - c0) / (t1 - t0)).toFixed(0), ((n1[0] - n0[0]) / (u1 - u0)).toFixed(0),
			((n1[1] - n0[1]) / (u1 - u0)).toFixed(0), n1[2] - n0[2], cpu.join(","));
	' "$c0" "$c1" "$t0" "$t1" "$u0" "$u1" "$n0" "$n1" "$s0" "$s1"
}

# ---------------------------------------------------------------- TCP
declare -A TCP1 TCP4 PPS IFRX OFFERED TXDROP CPUUSE
say "TCP A->B, iperf3 -t $T_TCP, $ROUNDS round(s) (Gbit/s, receiver side)"
for r in $(seq 1 "$ROUNDS"); do
	for c in "${CONFIGS[@]}"; do
		v1=$(tcp_run "$c" 1)
		v4=$(tcp_run "$c" 4)
		TCP1[$c]="${TCP1[$c]:-} $v1"
		TCP4[$c]="${TCP4[$c]:-} $v4"
		info "round $r  $(printf '%-8s' "$c") 1 stream $(printf '%7s' "$v1")   4 streams $(printf '%7s' "$v4")"
	done
done

# ---------------------------------------------------------------- packets
say "64-byte packets A->B: trafgen on CPU $GEN_CPU, ${WARM}s warm-up + ${WIN}s window, $ROUNDS round(s)"
trafgen_cfg "$TMP/pkt.cfg" "$B_MAC" "$A_MAC" "$A_IP4" "$B_IP4"
for c in "${CONFIGS[@]}"; do attach_sink "$c"; done
for r in $(seq 1 "$ROUNDS"); do
	for c in "${CONFIGS[@]}"; do
		read -r d i o x u < <(pps_run "$c")
		PPS[$c]="${PPS[$c]:-} $d"
		IFRX[$c]="${IFRX[$c]:-} $i"
		OFFERED[$c]="${OFFERED[$c]:-} $o"
		TXDROP[$c]="${TXDROP[$c]:-} $x"
		CPUUSE[$c]="${CPUUSE[$c]:-} $u"
		note=
		IFS=, read -ra per_cpu <<<"$u"
		for k in "${!per_cpu[@]}"; do
			[ "$k" = "$GEN_CPU" ] && continue
			[ "${per_cpu[$k]%%/*}" -gt 50 ] 2>/dev/null && note="  [noisy: CPU $k busy]"
		done
		info "round $r  $(printf '%-8s' "$c") delivered $(printf '%9s' "$d") pps   (b0 rx counter $i, a0 sent $o, a0 tx drops $x; cpu busy/softirq % $u)$note"
	done
done

# Totals since the sink was attached: the sink's counter and b0's rx counter
# must agree (both count every frame that reached B; a few ARP/ND frames
# aside). The per-window rates above come from separate reads, a few ms apart.
say "counter cross-check (totals since the sink was attached)"
for c in "${CONFIGS[@]}"; do
	P=$(prefix_of "$c")
	total=$(sink_count "${SINK_MAP[$c]}")
	rx=$(($(if_counts "$P" | cut -d' ' -f1) - RX_BASE[$c]))
	info "$(printf '%-8s' "$c") sink $total, b0 rx $rx, difference $((rx - total))"
done
unset P

# ---------------------------------------------------------------- report
mkdir -p "$(dirname "$OUT")"
args=()
for c in "${CONFIGS[@]}"; do
	args+=("$c" "${TCP1[$c]}" "${TCP4[$c]}" "${PPS[$c]}" "${IFRX[$c]}" "${OFFERED[$c]}" "${TXDROP[$c]}" "${CPUUSE[$c]}")
done
node - "$OUT" "$QUICK" "$ROUNDS" "$T_TCP" "$WIN" "$GEN_CPU" "$MTU" "$(uname -r)" "$NCPU" "${args[@]}" <<'EOF'
const [out, quick, rounds, tTcp, win, genCpu, mtu, kernel, ncpu, ...rest] = process.argv.slice(2);
const nums = s => s.trim().split(/\s+/).map(Number);
const median = a => {
	const v = a.filter(Number.isFinite).sort((x, y) => x - y);
	if (!v.length) return NaN;
	const m = v.length >> 1;
	return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
// Rounds whose non-generator CPUs stayed under 50% busy; all when none did.
const noisy = c => c.split(",").some((u, i) => i !== +genCpu && parseInt(u) > 50);
const clean = (vals, cpu) => {
	const marks = cpu.trim().split(/\s+/).map(noisy);
	const kept = vals.filter((_, i) => !marks[i]);
	return kept.length ? kept : vals;
};
const cfg = {};
for (let i = 0; i < rest.length; i += 8) {
	const [name, t1, t4, pps, ifrx, off, drop, cpu] = rest.slice(i, i + 8);
	cfg[name] = {
		tcp1_gbps: +median(nums(t1)).toFixed(3), tcp4_gbps: +median(nums(t4)).toFixed(3),
		pps: Math.round(median(clean(nums(pps), cpu))),
		b0_rx_counter_pps: Math.round(median(nums(ifrx))),
		offered_pps: Math.round(median(nums(off))),
		a0_tx_dropped: nums(drop).reduce((a, b) => a + b, 0),
		// per pps round: "busy%/softirq%" for each CPU, comma-separated
		cpu_busy_softirq_pct: cpu.trim().split(/\s+/),
		noisy_rounds: cpu.trim().split(/\s+/).map((c, i) => noisy(c) ? i + 1 : 0).filter(Boolean),
		runs: { tcp1_gbps: nums(t1), tcp4_gbps: nums(t4), pps: nums(pps) },
	};
}
const ratio = (a, b, k) => (cfg[a] && cfg[b] && cfg[b][k] > 0) ? +(cfg[a][k] / cfg[b][k]).toFixed(3) : null;
const ratios = {};
for (const [a, b] of [["bridge", "ceiling"], ["l2bpf", "ceiling"], ["l2bpf", "bridge"]])
	for (const k of ["pps", "tcp1_gbps", "tcp4_gbps"]) {
		const v = ratio(a, b, k);
		if (v !== null) (ratios[`${a}/${b}`] ??= {})[k.replace("_gbps", "")] = v;
	}
// Extra time per packet that the box adds to the one-core path.
const box_ns = {};
for (const b of ["bridge", "l2bpf"])
	if (cfg[b] && cfg.ceiling && cfg[b].pps > 0 && cfg.ceiling.pps > 0)
		box_ns[b] = +(1e9 / cfg[b].pps - 1e9 / cfg.ceiling.pps).toFixed(1);

const f = (v, d) => Number.isFinite(v) ? v.toFixed(d) : "n/a";
console.log("\n== results (median of " + rounds + " round(s))");
console.log("   config     TCP 1 stream   TCP 4 streams   64B pkt/s delivered   box ns/pkt");
for (const [n, c] of Object.entries(cfg))
	console.log(`   ${n.padEnd(9)} ${(f(c.tcp1_gbps, 2) + " Gbit/s").padStart(13)}  ${(f(c.tcp4_gbps, 2) + " Gbit/s").padStart(14)}  ${c.pps.toLocaleString("en-US").padStart(20)}   ${n in box_ns ? f(box_ns[n], 0).padStart(10) : "".padStart(10)}`);
if (Object.keys(ratios).length) {
	console.log("\n== ratios");
	console.log("   pair               pps     TCP 1   TCP 4");
	for (const [k, r] of Object.entries(ratios))
		console.log(`   ${k.padEnd(16)} ${f(r.pps, 2).padStart(5)}   ${f(r.tcp1, 2).padStart(5)}   ${f(r.tcp4, 2).padStart(5)}`);
}
for (const [n, c] of Object.entries(cfg)) {
	const d = Math.abs(c.pps - c.b0_rx_counter_pps) / Math.max(c.pps, 1);
	if (d > 0.02) console.log(`!! ${n}: sink counter and b0 rx counter rates differ by ${(d * 100).toFixed(1)}% (separate reads; the sink's is used)`);
	if (c.noisy_rounds.length) console.log(`!! ${n}: packet round(s) ${c.noisy_rounds.join(", ")} ran while another CPU was busy` +
		(c.noisy_rounds.length < c.runs.pps.length ? " (left out of the median)" : " (no clean round: numbers are pessimistic)"));
}
const summary = {
	bench: "l2bpf", date: new Date().toISOString(), kernel, cpus: +ncpu,
	mode: quick === "1" ? "quick" : "full", rounds: +rounds, tcp_seconds: +tTcp,
	pps_window_seconds: +win, generator_cpu: +genCpu, mtu: +mtu, frame_bytes: 60,
	configs: cfg, ratios, box_ns_per_packet: box_ns,
};
const line = JSON.stringify(summary);
require("fs").writeFileSync(out, line + "\n");
console.log("\n== JSON summary written to " + out);
console.log("BENCH_JSON " + line);
EOF
