# shellcheck shell=bash
# lab/bench-lib.sh: measuring helpers shared by lab/bench.sh (the wire) and
# lab/bench-gre.sh (the GRE pair). Sourced; defines functions only. The caller
# sets TMP (a private temp dir), GEN_CPU and NCPU before using them.
#
# Packets/s are counted by host B's own stack (IPv4 packets received in its
# namespace), as a user would see them: a frame that a box hands on but B's
# stack never gets is not counted.

# Background traffic processes record their PID in $TMP/pids; each is
# `timeout ... trafgen|iperf3`, which passes a signal on to its child. Only
# those, and only while they still are ours, are stopped.
track() { echo "$1" >>"$TMP/pids"; }
stop_tracked() {
	local pid sig
	[ -n "${TMP:-}" ] && [ -f "$TMP/pids" ] || return 0
	for sig in INT TERM; do
		while read -r pid; do
			grep -qa -e trafgen -e iperf3 "/proc/$pid/cmdline" 2>/dev/null &&
				kill "-$sig" "$pid" 2>/dev/null
		done <"$TMP/pids"
		sleep 0.2
	done
	return 0
}

now() { date +%s.%N; }

# What every bench needs before it builds anything: bench_checks <script name>
bench_checks() {
	local tool
	[ "$(id -u)" = 0 ] || { echo "!! $1 needs root" >&2; return 1; }
	for tool in ip iperf3 trafgen bpftool ethtool node; do
		command -v "$tool" >/dev/null || { echo "!! $tool is missing (make deps)" >&2; return 1; }
	done
	[ "$GEN_CPU" -lt "$NCPU" ] || { echo "!! GEN_CPU=$GEN_CPU but only $NCPU CPUs" >&2; return 1; }
	command -v python3 >/dev/null || { echo "!! python3 is missing (make deps)" >&2; return 1; }
}

# Per CPU "total busy softirq" jiffies from /proc/stat, flattened.
cpu_ticks() {
	awk '/^cpu[0-9]/ { tot = 0; for (i = 2; i <= NF; i++) tot += $i;
		printf "%d %d %d ", tot, tot - $5 - $6, $8 }' /proc/stat | sed 's/ *$//'
}

# IPv4 packets host B's own stack received (Ip InReceives in its
# namespace's /proc/net/snmp): stack_count <ns>
stack_count() {
	ip netns exec "$1" cat /proc/net/snmp | awk '/^Ip:/ { n++; if (n == 1) for (i = 1; i <= NF; i++) col[$i] = i; else print $col["InReceives"] }'
}

# A UDP socket that is bound and never read, so the bench's datagrams end
# at a socket (dropped there once its buffer is full), not in ICMP port
# unreachables: udp_hold <ns> <ip> <port> <seconds>. Tracked; bounded by time.
udp_hold() {
	ip netns exec "$1" timeout "$4" python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
time.sleep(float(sys.argv[3]))' "$2" "$3" "$4" &
	track $!
}

# Receiver-side Gbit/s of one iperf3 run (IPERF_PIN=1: client on CPU 0,
# server on CPU 1): iperf_gbps <server ns> <server ip> <client ns> <streams> <seconds>
iperf_gbps() {
	local sns=$1 sip=$2 cns=$3 n=$4 t=$5 port=5201 json pid cpin='' spin=''
	if [ "${IPERF_PIN:-0}" = 1 ]; then cpin="-A 0"; spin="-A 1"; fi
	# shellcheck disable=SC2086
	ip netns exec "$sns" timeout $((t + 15)) iperf3 -s -1 -B "$sip" -p $port $spin >/dev/null 2>&1 &
	pid=$!
	track "$pid"
	for _ in $(seq 1 50); do
		ip netns exec "$sns" ss -ltn 2>/dev/null | grep -q "$sip:$port" && break
		sleep 0.1
	done
	# shellcheck disable=SC2086
	json=$(ip netns exec "$cns" timeout $((t + 10)) iperf3 -c "$sip" -p $port -t "$t" -P "$n" $cpin -J 2>/dev/null) || true
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	node -e '
		let r; try { r = JSON.parse(require("fs").readFileSync(0, "utf8")); } catch (e) { r = {}; }
		const s = r.end && r.end.sum_received;
		console.log(s && s.bits_per_second ? (s.bits_per_second / 1e9).toFixed(3) : "NaN");
	' <<<"$json"
}

# A trafgen config for one 60-byte UDP/IPv4 frame (64 on a real wire with
# the FCS), pinned to GEN_CPU: trafgen_cfg <file> <dst mac> <src mac> <src ip> <dst ip>
trafgen_cfg() {
	local hex
	hex() { sed 's/^/0x/; s/:/, 0x/g' <<<"$1"; }
	cat >"$1" <<-EOF
	cpu($GEN_CPU): {
	  $(hex "$2"),
	  $(hex "$3"),
	  c16(0x0800),
	  0x45, 0x00, c16(46), c16(0), 0x40, 0x00, 64, 17, csumip(14, 33),
	  ${4//./, },  ${5//./, },
	  c16(4000), c16(9), c16(26), c16(0),
	  fill(0x00, 18)
	}
	EOF
}

# One packet-rate window: trafgen from <gen ns> <gen dev> with <cfg>, counted
# by the stack of <count ns> (stack_count). Prints
# "delivered_pps offered_pps cpu_busy/softirq,..."
#   pps_window <gen ns> <gen dev> <cfg> <count ns> <warm s> <window s>
pps_window() {
	local ns=$1 dev=$2 cfg=$3 cns=$4 warm=$5 win=$6 pid c0 c1 t0 t1 s0 s1 o0 o1 maxpkts
	# Bounded twice: by count (1.5 Mpps for the whole run is far above what
	# this machine reaches) and by time.
	maxpkts=$(node -e "console.log(Math.ceil(1.5e6 * ($warm + $win + 3)))")
	ip netns exec "$ns" timeout -s INT "$(node -e "console.log(Math.ceil($warm + $win + 3))")" \
		trafgen -o "$dev" -i "$cfg" -P "$NCPU" -n "$maxpkts" --no-sock-mem -Q -C >"$cfg.log" 2>&1 &
	pid=$!
	track "$pid"
	sleep "$warm"
	c0=$(stack_count "$cns"); t0=$(now); s0=$(cpu_ticks)
	o0=$(ip -n "$ns" -j -s link show "$dev" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8"))[0].stats64.tx.packets)')
	sleep "$win"
	c1=$(stack_count "$cns"); t1=$(now); s1=$(cpu_ticks)
	o1=$(ip -n "$ns" -j -s link show "$dev" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8"))[0].stats64.tx.packets)')
	kill -INT "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	node -e '
		const a = process.argv.slice(1);
		const [c0, c1, t0, t1, o0, o1] = a.slice(0, 6).map(Number);
		const s0 = a[6].split(" ").map(Number), s1 = a[7].split(" ").map(Number);
		const cpu = [];
		for (let i = 0; i < s0.length; i += 3) {
			const tot = s1[i] - s0[i], busy = s1[i + 1] - s0[i + 1], si = s1[i + 2] - s0[i + 2];
			cpu.push(`${Math.round(100 * busy / tot)}/${Math.round(100 * si / tot)}`);
		}
		console.log(((c1 - c0) / (t1 - t0)).toFixed(0), ((o1 - o0) / (t1 - t0)).toFixed(0), cpu.join(","));
	' "$c0" "$c1" "$t0" "$t1" "$o0" "$o1" "$s0" "$s1"
}
