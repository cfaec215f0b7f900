#!/usr/bin/env bash
# lab/lab.sh (`make lab`): build the two-host lab, put the l2bpf wire in the
# box, send real traffic across it and show what l2bpf counted.
#
#   host A (ns l2lab-a, a0) -- box (ns l2lab-box, eth2 | eth3) -- host B (ns l2lab-b, b0)
#
# Steps: build the lab; check that A cannot reach B while the box is empty
# (the box is an open circuit, so whatever works afterwards is l2bpf's doing);
# `l2bpf attach eth2 eth3 --netns l2lab-box` from the host; ping A->B and
# B->A over IPv4 and IPv6, plus a full-MTU IPv4 ping with DF set; a 3 s
# iperf3 TCP run A->B; `l2bpf stats`, `l2bpf dump`, `l2bpf status`; detach
# and tear down.
#
# Usage: bash lab/lab.sh [--keep] [--mtu N] [--mode native|generic] [--down]
#   --keep / KEEP=1   leave the lab up and l2bpf attached at the end (and say
#                     how to enter it); `bash lab/lab.sh --down` removes it.
#   --mtu N / MTU=N   MTU of every lab interface (default 1500).
#   --mode M / MODE=M hook passed to `l2bpf attach` (default auto: TC on these veths,
#                     the hosts keep kernel-default offloads; native/generic set
#                     the two host settings XDP on veths needs).
#   --down            only remove what a previous run left, then exit.
# Environment: L2BPF (the CLI command, default "node <repo>/dist/src/cli/main.js"),
#   P (namespace prefix, default "l2lab-"), INSTANCE (l2bpf instance name,
#   default "l2lab").
# Exit status: 0 when every ping and the TCP run crossed the wire, 1 when a
# ping failed, 2 when only the TCP run failed, 3 when setup failed.
#
# Only documentation addresses (198.51.100.0/24, 2001:db8::/32) inside private
# namespaces are used; every traffic command is bounded in count and time.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lab/common.sh
. "$REPO/lab/common.sh"
L2BPF=${L2BPF:-"node $REPO/dist/src/cli/main.js"}
P=${P:-l2lab-}
INSTANCE=${INSTANCE:-l2lab}
KEEP=${KEEP:-0}
MTU=${MTU:-1500}
MODE=${MODE:-auto}
DOWN_ONLY=0

while [ $# -gt 0 ]; do
	case "$1" in
	--keep) KEEP=1 ;;
	--mtu) MTU=$2; shift ;;
	--mtu=*) MTU=${1#--mtu=} ;;
	--mode) MODE=$2; shift ;;
	--mode=*) MODE=${1#--mode=} ;;
	--down) DOWN_ONLY=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "lab.sh: unknown argument '$1' (try --help)" >&2; exit 3 ;;
	esac
	shift
done

# XDP between veths needs GRO (NAPI) and finished checksums at the hosts;
# TC (auto on veths) needs nothing: the hosts keep the kernel's defaults.
if [ "$MODE" = native ] || [ "$MODE" = generic ]; then
	HOST_TX_CSUM=off HOST_GRO=on
else
	HOST_TX_CSUM=on HOST_GRO=off
fi
# shellcheck source=lab/netns.sh
. "$REPO/lab/netns.sh"

step() { say "$@"; }

IPERF_PID=
ATTACHED=0

# Remove what this lab (prefix $P, instance $INSTANCE) may have left: detach
# l2bpf from the box while its namespace still exists, then delete exactly
# our namespaces. Never touches anything else.
remove_leftovers() {
	if ip netns list | awk '{print $1}' | grep -qxF "${P}box"; then
		if ip -n "${P}box" link show eth2 2>/dev/null | grep -q 'prog/xdp' ||
			ip -n "${P}box" link show eth3 2>/dev/null | grep -q 'prog/xdp' ||
			[ -e "/sys/fs/bpf/l2bpf/$INSTANCE" ]; then
			l2 detach eth2 eth3 --netns "${P}box" >/dev/null 2>&1 || true
		fi
	fi
	# Pins of our instance whose namespace is already gone.
	if [ -e "/sys/fs/bpf/l2bpf/$INSTANCE" ]; then
		l2 detach --name "$INSTANCE" >/dev/null 2>&1 || true
	fi
	netns_teardown
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	if [ -n "$IPERF_PID" ]; then
		kill "$IPERF_PID" 2>/dev/null || true
		wait "$IPERF_PID" 2>/dev/null || true
	fi
	if [ "$KEEP" = 1 ] && [ "$DOWN_ONLY" = 0 ]; then
		step "keeping the lab (KEEP=1): namespaces ${P}a ${P}box ${P}b"
		info "enter a host:   ip netns exec ${P}a bash"
		info "remove it all:  bash lab/lab.sh --down"
	else
		if [ "$ATTACHED" = 1 ]; then
			step "detaching l2bpf"
			l2 detach eth2 eth3 --netns "${P}box" || {
				warn "detach failed"
				[ "$rc" = 0 ] && rc=3
			}
		fi
		step "tearing down"
		remove_leftovers
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "$DOWN_ONLY" = 1 ]; then
	step "removing the lab (${P}a ${P}box ${P}b, instance $INSTANCE)"
	exit 0 # cleanup() does the work
fi

for tool in ip ping iperf3 ethtool; do
	command -v "$tool" >/dev/null || { warn "$tool is missing (make deps)"; exit 3; }
done
case "$L2BPF" in
"node $REPO/dist/src/cli/main.js")
	[ -f "$REPO/dist/src/cli/main.js" ] || {
		warn "dist/src/cli/main.js is missing: run make first"
		exit 3
	}
	;;
esac
[ "$(id -u)" = 0 ] || { warn "lab.sh needs root (namespaces, XDP)"; exit 3; }

step "removing leftovers of a previous run"
remove_leftovers

step "building lab: A (${P}a, a0) -- box (${P}box, eth2|eth3) -- B (${P}b, b0), MTU $MTU"
netns_build_wire
netns_wait_ready || { warn "interfaces did not come up"; exit 3; }
info "A: a0 $A_MAC $A_IP4/24 $A_IP6/64"
info "B: b0 $B_MAC $B_IP4/24 $B_IP6/64"
if [ "$HOST_GRO" = on ]; then
	info "GRO on a0 and b0: frames XDP-redirected into a veth need NAPI on its peer"
	info "tx checksum offload off on a0 and b0: an XDP redirect loses CHECKSUM_PARTIAL (see lab/netns.sh)"
else
	info "a0 and b0 keep kernel-default offloads (GRO off, tx checksum offload and TSO on)"
fi

step "before attach: the box is an open circuit, A must not reach B"
if nsx a ping -c 1 -W 1 -q "$B_IP4" >/dev/null 2>&1; then
	warn "A reaches B with nothing in the box: the lab is wrong"
	exit 3
fi
info "no path (as expected)"
# Forget the failed ARP attempt so the first ping below does not wait for it.
ip -n "${P}a" neigh flush dev a0 2>/dev/null || true

step "attaching l2bpf: $L2BPF attach eth2 eth3 --netns ${P}box --mode $MODE --name $INSTANCE"
l2 attach eth2 eth3 --netns "${P}box" --mode "$MODE" --name "$INSTANCE" || {
	warn "attach failed"
	exit 3
}
ATTACHED=1
ip -n "${P}box" link show eth2 | grep -o 'prog/xdp[^ ]* id [0-9]*' | sed 's/^/   eth2: /' || true
ip -n "${P}box" link show eth3 | grep -o 'prog/xdp[^ ]* id [0-9]*' | sed 's/^/   eth3: /' || true

PING_FAIL=0
do_ping() { # label ns target [extra ping args]
	local label=$1 ns=$2 dst=$3 out
	shift 3
	local got rtt
	if out=$(nsx "$ns" timeout 15 ping -c 3 -W 2 -i 0.2 "$@" "$dst" 2>&1); then
		got=$(grep -o '[0-9]* received' <<<"$out")
		rtt=$(grep -o 'rtt [^=]*= [^ ]*' <<<"$out" | sed 's/.*= //')
		info "$label: ok ($got of 3, rtt min/avg/max/mdev $rtt ms)"
	else
		warn "$label: FAILED"
		printf '     %s\n' "${out//$'\n'/$'\n'     }" >&2
		PING_FAIL=$((PING_FAIL + 1))
	fi
}

step "ping across the wire (3 each)"
do_ping "A->B IPv4 $A_IP4 -> $B_IP4" a "$B_IP4"
do_ping "B->A IPv4 $B_IP4 -> $A_IP4" b "$A_IP4"
do_ping "A->B IPv6 $A_IP6 -> $B_IP6" a "$B_IP6"
do_ping "B->A IPv6 $B_IP6 -> $A_IP6" b "$A_IP6"
do_ping "A->B IPv4 full MTU ($MTU bytes, DF)" a "$B_IP4" -M "do" -s $((MTU - 28))

TCP_FAIL=0
step "iperf3 TCP A->B, 3 s"
# ip netns exec execs iperf3, so $! is the server's own PID.
ip netns exec "${P}b" timeout 30 iperf3 -s -1 -B "$B_IP4" -p 5201 >/dev/null 2>&1 &
IPERF_PID=$!
for _ in $(seq 1 50); do
	nsx b ss -ltn 2>/dev/null | grep -q "$B_IP4:5201" && break
	sleep 0.1
done
if json=$(nsx a timeout 20 iperf3 -c "$B_IP4" -p 5201 -t 3 -J 2>/dev/null); then
	gbps=$(node -e '
		const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
		const s = r.end && r.end.sum_received;
		if (!s || !s.bits_per_second) process.exit(1);
		console.log((s.bits_per_second / 1e9).toFixed(2));' <<<"$json") || gbps=
	if [ -n "$gbps" ]; then
		info "A->B TCP: $gbps Gbit/s (receiver side)"
	else
		warn "iperf3 gave no result"
		TCP_FAIL=1
	fi
else
	warn "iperf3 TCP run FAILED"
	node -e 'try{const r=JSON.parse(require("fs").readFileSync(0,"utf8"));if(r.error)console.error("     "+r.error)}catch(e){}' <<<"${json:-}" || true
	TCP_FAIL=1
fi
# The server exits by itself after one test (-1); if the test failed it may
# still wait for a client, so stop it.
kill "$IPERF_PID" 2>/dev/null || true
wait "$IPERF_PID" 2>/dev/null || true
IPERF_PID=

step "l2bpf stats"
l2 stats --name "$INSTANCE" || warn "stats failed"
step "l2bpf dump"
l2 dump --name "$INSTANCE" || warn "dump failed"
step "l2bpf status"
l2 status || warn "status failed"

step "box interface counters (eth2/eth3: frames seen by the veth, XDP included)"
for d in eth2 eth3; do
	nsx box ethtool -S "$d" 2>/dev/null |
		awk -v d="$d" '/xdp_packets|xdp_redirect|xdp_drops|xdp_xmit/ && $2 != 0 {printf "   %s %s %s\n", d, $1, $2}'
done

if [ "$PING_FAIL" -gt 0 ]; then
	step "FAILED: $PING_FAIL ping check(s) did not cross the wire"
	exit 1
fi
if [ "$TCP_FAIL" -gt 0 ]; then
	step "FAILED: TCP did not cross the wire (pings did)"
	exit 2
fi
step "lab OK: IPv4, IPv6 and TCP crossed the l2bpf wire both ways"
