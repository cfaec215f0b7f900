// `make bench`, the routing part (issue 10): LAN host h0 -- router r -- WAN
// server w (test/helpers/router.ts builds it), the router either the
// kernel's forwarding with nftables masquerade (conntrack) or l2bpf's BPF
// NAT + route (bpf/router_tc.bpf.c, attached as the tests attach it), side
// by side in one run:
//   - iperf3 TCP h0 -> w, 1 and 4 streams (receiver's figure);
//   - UDP packets/s: iperf3 -u with 18-byte payloads (64-byte frames), as
//     many as one iperf3 sender makes, the receiver's count;
//   - new TCP connections/s: a client opening and closing (RST) connections
//     to w for 3 s, each a new masqueraded connection;
//   - trafgen 64-byte UDP frames out of h0 as fast as one CPU sends them
//     (packets w receives per second): one flow, and every frame its own
//     source port (a new connection per frame while the ports last).
// Hosts keep kernel-default offloads. A JSON line ends the report.
import fs from 'fs';
import path from 'path';
import * as bpf from '../src/bpf/libbpf';
import { inNetns } from '../src/bpf/sys';
import { spawn } from 'child_process';
import { attachRouter, buildRouterLab, destroyRouterLab, inNs } from '../test/helpers/router';

const lab = buildRouterLab('rtb-');
interface Row { name: string; tcp1: number; tcp4: number; udpPps: number; connPerS: number; tgen1: number; tgenMany: number }

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
/** 60-byte UDP frames (64 with the FCS) h0 -> w through r for 4 s, pinned to CPU 0; w's received packets/s. */
function trafgenPps(randomPort: boolean): number {
  const mac = (ns: string, dev: string) => JSON.parse(inNs(ns, 'ip', '-j', 'link', 'show', dev).out)[0].address as string;
  const hex = (m: string) => m.split(':').map((b) => `0x${b}`).join(', ');
  const cfg = `cpu(0): {\n ${hex(mac(lab.r, 'lan0'))},\n ${hex(mac(lab.h0, 'eth0'))},\n c16(0x0800),\n 0x45, 0x00, c16(46), c16(0), 0x40, 0x00, 64, 17, csumip(14, 33),\n 192, 0, 2, 10, 203, 0, 113, 2,\n ${randomPort ? 'drnd(2)' : 'c16(4000)'}, c16(9), c16(26), c16(0),\n fill(0x00, 18)\n}\n`;
  const file = `/tmp/l2bpf-bench-router-${process.pid}.cfg`;
  fs.writeFileSync(file, cfg);
  const rx = () => Number(JSON.parse(inNs(lab.w, 'ip', '-s', '-j', 'link', 'show', 'eth0').out)[0].stats64.rx.packets);
  try {
    const before = rx(), t0 = Date.now();
    inNs(lab.h0, 'timeout', '-s', 'INT', '4', 'trafgen', '--dev', 'eth0', '--conf', file, '--cpus', '1', '-q');
    const secs = (Date.now() - t0) / 1000;
    return (rx() - before) / secs;
  } finally {
    fs.rmSync(file, { force: true });
  }
}
async function measure(name: string): Promise<Row> {
  inNs(lab.h0, 'ping', '-c', '2', '-i', '0.2', '203.0.113.2');
  return { name, tcp1: await iperfTcp(1), tcp4: await iperfTcp(4), udpPps: await iperfUdpPps(), connPerS: await connPerS(), tgen1: trafgenPps(false), tgenMany: trafgenPps(true) };
}

/** The least a tc program can do on the same hook (bpf/bench_min.bpf.c): redirect lan0 -> wan0
 * untouched, no NAT, no route, no MAC rewrite (w's port counts the frames, its stack drops them):
 * only the trafgen columns mean something. */
function leastTc(): Row {
  const obj = bpf.openObject(path.resolve(__dirname, '../../build/bench_min.bpf.o'));
  const links: number[] = [];
  try {
    bpf.loadObject(obj);
    const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
    const map = bpf.mapFd(obj, 'bench_peer'), prog = bpf.programFd(obj, 'bench_min_tc');
    bpf.mapUpdate(map, u32(lab.idx.lan0), u32(lab.idx.wan0));
    bpf.mapUpdate(map, u32(lab.idx.wan0), u32(lab.idx.lan0));
    inNetns(lab.r, () => { for (const p of ['lan0', 'wan0']) links.push(bpf.tcxLinkCreate(prog, lab.idx[p])); });
    return { name: 'least a tc program does (redirect, no NAT)', tcp1: NaN, tcp4: NaN, udpPps: NaN, connPerS: NaN, tgen1: trafgenPps(false), tgenMany: trafgenPps(true) };
  } finally {
    links.forEach((l) => bpf.closeFd(l));
    bpf.closeObject(obj);
  }
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  try {
    const nft = 'table ip rbench {\n chain post {\n  type nat hook postrouting priority 100; policy accept\n  oifname "wan0" ip saddr 192.0.2.0/24 masquerade\n }\n}';
    if (inNs(lab.r, 'sh', '-c', `nft -f - <<'EOF'\n${nft}\nEOF`).code !== 0) throw new Error('nftables masquerade did not load');
    try { rows.push(await measure('kernel forwarding + nftables masquerade')); } finally { inNs(lab.r, 'nft', 'delete', 'table', 'ip', 'rbench'); }
    const router = attachRouter(lab);
    try { rows.push(await measure('l2bpf router, TC (BPF NAT + route)')); } finally { router.close(); }
    rows.push(leastTc());
  } finally {
    destroyRouterLab(lab);
  }
  const pad = (t: string, n: number) => t.padEnd(n);
  const fmt = (v: number, digits = 0) => (Number.isNaN(v) ? '-' : v.toFixed(digits));
  process.stdout.write('\nRouter with NAT (h0 -> r -> w, 2-core VM, kernel-default offloads)\n');
  process.stdout.write(`${pad('row', 44)} ${pad('TCP1 Gbit/s', 12)} ${pad('TCP4 Gbit/s', 12)} ${pad('UDP 64 B pps', 13)} ${pad('new conns/s', 12)} ${pad('trafgen 1 flow', 15)} trafgen new port/frame\n`);
  for (const r of rows) process.stdout.write(`${pad(r.name, 44)} ${pad(fmt(r.tcp1, 2), 12)} ${pad(fmt(r.tcp4, 2), 12)} ${pad(fmt(r.udpPps), 13)} ${pad(fmt(r.connPerS), 12)} ${pad(Math.round(r.tgen1).toString(), 15)} ${Math.round(r.tgenMany)}\n`);
  const [k, b, m] = rows;
  const ratio = (x: number, y: number) => (y ? x / y : 0).toFixed(2);
  process.stdout.write(`l2bpf/nftables: TCP1 ${ratio(b.tcp1, k.tcp1)}x, TCP4 ${ratio(b.tcp4, k.tcp4)}x (aim >= 1.0x), UDP pps ${ratio(b.udpPps, k.udpPps)}x, new conns/s ${ratio(b.connPerS, k.connPerS)}x, trafgen 64 B 1 flow ${ratio(b.tgen1, k.tgen1)}x, trafgen new port per frame ${ratio(b.tgenMany, k.tgenMany)}x (aims >= 2x)\n`);
  process.stdout.write(`l2bpf/least tc program: trafgen 1 flow ${ratio(b.tgen1, m.tgen1)}x, new port per frame ${ratio(b.tgenMany, m.tgenMany)}x\n`);
  process.stdout.write(`${JSON.stringify({ router: rows })}\n`);
}

void main().catch((e) => { process.stderr.write(`${(e as Error).stack}\n`); process.exitCode = 1; });
