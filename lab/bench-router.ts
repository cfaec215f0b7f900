// `make bench`, the routing part (issue 10): LAN host h0 -- router r -- WAN
// server w (test/helpers/router.ts builds it), the router either the
// kernel's forwarding with nftables masquerade (conntrack) or l2bpf's BPF
// NAT + route (bpf/router_tc.bpf.c, attached as the tests attach it), side
// by side in one run:
//   - iperf3 TCP h0 -> w, 1 and 4 streams (receiver's figure);
//   - UDP packets/s: iperf3 -u with 18-byte payloads (64-byte frames), as
//     many as one iperf3 sender makes, the receiver's count;
//   - new TCP connections/s: a client opening and closing (RST) connections
//     to w for 3 s, each a new masqueraded connection.
// Hosts keep kernel-default offloads. A JSON line ends the report.
import { spawn } from 'child_process';
import { attachRouter, buildRouterLab, destroyRouterLab, inNs } from '../test/helpers/router';

const lab = buildRouterLab('rtb-');
interface Row { name: string; tcp1: number; tcp4: number; udpPps: number; connPerS: number }

const CONNECT = `
import socket, struct, sys, time
end = time.time() + float(sys.argv[2]); n = 0
while time.time() < end:
    s = socket.create_connection((sys.argv[1], 5301), timeout=2)
    # closed with RST (linger 0): no TIME_WAIT left on the client to slow the next row's port search
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    s.close(); n += 1
print(n / float(sys.argv[2]))`;
const ACCEPT = `
import socket, time
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(('0.0.0.0', 5301)); l.listen(512)
l.settimeout(8); print('ready', flush=True)
try:
    while True:
        c, _ = l.accept(); c.close()
except socket.timeout:
    pass`;

async function withServer<T>(args: string[], f: () => T): Promise<T> {
  const srv = spawn('ip', ['netns', 'exec', lab.w, 'timeout', '30', ...args]);
  await new Promise((r) => setTimeout(r, 500));
  try { return f(); } finally { await new Promise((r) => { if (srv.exitCode !== null) r(null); else srv.on('close', r); }); }
}
async function iperfTcp(streams: number): Promise<number> {
  const out = await withServer(['iperf3', '-s', '-1', '-p', '5201'], () => inNs(lab.h0, 'timeout', '30', 'iperf3', '-c', '203.0.113.2', '-p', '5201', '-t', '5', '-P', String(streams), '-J').out);
  const j = JSON.parse(out);
  if (!j.end?.sum_received) throw new Error(`iperf3 TCP: ${j.error ?? out.slice(0, 300)}`);
  return j.end.sum_received.bits_per_second / 1e9;
}
async function iperfUdpPps(): Promise<number> {
  const out = await withServer(['iperf3', '-s', '-1', '-p', '5202'], () => inNs(lab.h0, 'timeout', '30', 'iperf3', '-c', '203.0.113.2', '-p', '5202', '-u', '-b', '0', '-l', '18', '-t', '5', '-J').out);
  const j = JSON.parse(out), end = j.end;
  if (!end?.sum && !end?.sum_received) throw new Error(`iperf3 UDP: ${j.error ?? out.slice(0, 300)}`);
  const s = end.sum_received ?? end.sum;
  return (s.packets - (s.lost_packets ?? 0)) / s.seconds;
}
async function connPerS(): Promise<number> {
  const srv = spawn('ip', ['netns', 'exec', lab.w, 'timeout', '20', '/usr/bin/python3', '-c', ACCEPT]);
  let ready = '';
  srv.stdout.on('data', (d) => { ready += d; });
  for (let i = 0; i < 100 && !ready.includes('ready'); i++) await new Promise((r) => setTimeout(r, 50));
  const rate = Number(inNs(lab.h0, 'timeout', '20', '/usr/bin/python3', '-c', CONNECT, '203.0.113.2', '3').out.trim());
  srv.kill('SIGTERM');
  return rate;
}
async function measure(name: string): Promise<Row> {
  inNs(lab.h0, 'ping', '-c', '2', '-i', '0.2', '203.0.113.2');
  return { name, tcp1: await iperfTcp(1), tcp4: await iperfTcp(4), udpPps: await iperfUdpPps(), connPerS: await connPerS() };
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  try {
    const nft = 'table ip rbench {\n chain post {\n  type nat hook postrouting priority 100; policy accept\n  oifname "wan0" ip saddr 192.0.2.0/24 masquerade\n }\n}';
    if (inNs(lab.r, 'sh', '-c', `nft -f - <<'EOF'\n${nft}\nEOF`).code !== 0) throw new Error('nftables masquerade did not load');
    try { rows.push(await measure('kernel forwarding + nftables masquerade')); } finally { inNs(lab.r, 'nft', 'delete', 'table', 'ip', 'rbench'); }
    const router = attachRouter(lab);
    try { rows.push(await measure('l2bpf router, TC (BPF NAT + route)')); } finally { router.close(); }
  } finally {
    destroyRouterLab(lab);
  }
  const pad = (t: string, n: number) => t.padEnd(n);
  process.stdout.write('\nRouter with NAT (h0 -> r -> w, 2-core VM, kernel-default offloads)\n');
  process.stdout.write(`${pad('row', 44)} ${pad('TCP1 Gbit/s', 12)} ${pad('TCP4 Gbit/s', 12)} ${pad('UDP 64 B pps', 13)} new conns/s\n`);
  for (const r of rows) process.stdout.write(`${pad(r.name, 44)} ${pad(r.tcp1.toFixed(2), 12)} ${pad(r.tcp4.toFixed(2), 12)} ${pad(Math.round(r.udpPps).toString(), 13)} ${Math.round(r.connPerS)}\n`);
  const [k, b] = rows;
  const ratio = (x: number, y: number) => (y ? x / y : 0).toFixed(2);
  process.stdout.write(`l2bpf/nftables: TCP1 ${ratio(b.tcp1, k.tcp1)}x, TCP4 ${ratio(b.tcp4, k.tcp4)}x (aim >= 1.0x), UDP pps ${ratio(b.udpPps, k.udpPps)}x, new conns/s ${ratio(b.connPerS, k.connPerS)}x (aims >= 2x; one user-space sender on each, so both may be the sender's limit)\n`);
  process.stdout.write(`${JSON.stringify({ router: rows })}\n`);
}

void main().catch((e) => { process.stderr.write(`${(e as Error).stack}\n`); process.exitCode = 1; });
