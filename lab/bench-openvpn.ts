// `make bench`, the OpenVPN part (issue 9): client namespace -- server box --
// LAN host (test/helpers/openvpn.ts builds it), the same stock openvpn 2.6
// client against the stock openvpn 2.6 server (user space, disable-dco) and
// against `l2bpf openvpn`, side by side in one run:
//   - iperf3 TCP client -> LAN host, 1 and 4 streams (receiver's figure);
//   - ping RTT (avg of 50 at 20 ms);
//   - server-side CPU per packet on the uplink during the 1-stream run: the
//     server process's CPU time (utime + stime) plus, for l2bpf, the BPF
//     programs' run time (kernel.bpf_stats_enabled), over the uplink's
//     packets both ways. Softirq work outside the programs (veth, routing)
//     is the same for both servers and not in the figure;
//   - BPF time per packet for decrypt (ovpn_uplink_in) and encrypt
//     (ovpn_tun_out) at 64, 512 and 1400-byte IP packets (ping -s), from
//     bpf_stats run_time_ns / run_cnt.
// Rows run one after another on the same lab; a JSON line ends the report.
// The "split" rows give the client box and the server box a core each, as
// two machines would have: the client's openvpn and iperf3 on CPU 0; the
// server (its process, and through RPS on its uplink and LAN port the
// softirq work where BPF runs) and the LAN host's iperf3 on CPU 1. In the
// other rows the BPF work runs where the packet arrives, often on the core
// the (user-space, CPU-bound) client needs.
import fs from 'fs';
import os from 'os';
import path from 'path';
import { execFileSync, spawn } from 'child_process';
import { buildOvLab, destroyOvLab, makePki, Proc, startClient, startServer } from '../test/helpers/openvpn';

const lab = buildOvLab('ovb-', 1);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l2bpf-ovbench-'));
const x = (ns: string, ...cmd: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...cmd], { encoding: 'utf8', timeout: 120000 });
const TICK_NS = 1e9 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

interface Row { name: string; tcp1: number; tcp4: number; rttMs: number; cpuNsPerPacket: number; bpfNs?: Record<string, number> }

function conf(name: string, cipher: string, stock: boolean): string {
  const f = path.join(dir, `${name}.conf`);
  fs.writeFileSync(f, ['port 1194', 'proto udp', 'dev tun', 'topology subnet', 'server 192.0.2.0 255.255.255.0', `ca ${dir}/ca.crt`, `cert ${dir}/server.crt`,
    `key ${dir}/server.key`, 'dh none', 'keepalive 10 60', `data-ciphers ${cipher}`, 'push "route 203.0.113.0 255.255.255.0"', ...(stock ? ['disable-dco', 'verb 3'] : []), ''].join('\n'));
  return f;
}

function procCpuNs(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_NS; // utime, stime
}
/** pid of the server process in the server namespace: the program (argv[0]'s name) and one of its arguments. */
function serverPid(prog: string, arg: string): number {
  const out = execFileSync('ip', ['netns', 'pids', lab.srv], { encoding: 'utf8' }).trim().split('\n').map(Number);
  const pid = out.find((p) => {
    try {
      const argv = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      return path.basename(argv[0]) === prog && argv.includes(arg);
    } catch { return false; }
  });
  if (!pid) throw new Error(`no ${prog} ${arg} process in ${lab.srv}`);
  return pid;
}
function uplinkPackets(): number {
  const j = JSON.parse(x(lab.srv, 'ip', '-j', '-s', 'link', 'show', 'up0'))[0].stats64;
  return Number(j.rx.packets) + Number(j.tx.packets);
}
function bpfRun(names: string[]): Record<string, { ns: number; cnt: number }> {
  const progs = JSON.parse(execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8' })) as Array<{ name: string; run_time_ns?: number; run_cnt?: number }>;
  const out: Record<string, { ns: number; cnt: number }> = {};
  for (const n of names) {
    const ps = progs.filter((p) => p.name === n);
    out[n] = { ns: ps.reduce((a, p) => a + (p.run_time_ns ?? 0), 0), cnt: ps.reduce((a, p) => a + (p.run_cnt ?? 0), 0) };
  }
  return out;
}
const BPF_PROGS = ['ovpn_uplink_in', 'ovpn_tun_out', 'ovpn_seg_in'];

/** taskset's prefix for a command of the client box (CPU 0) or the server box (CPU 1) in split rows. */
const on = (split: boolean, cpu: number) => (split ? ['taskset', '-c', String(cpu)] : []);

/** Split rows: RPS sends the server's uplink and LAN receive work to CPU 1, the client's to CPU 0; else none (the default). */
function steer(split: boolean): void {
  const rps = (ns: string, dev: string, mask: string) => x(ns, 'sh', '-c', `echo ${mask} > /sys/class/net/${dev}/queues/rx-0/rps_cpus`);
  rps(lab.srv, 'up0', split ? '2' : '0');
  rps(lab.srv, 'lan0', split ? '2' : '0');
  rps(lab.cli(1), 'eth0', split ? '1' : '0');
}
/** Pins every thread of the processes in a namespace whose program is prog to cpu. */
function pinAll(ns: string, prog: string, cpu: number): void {
  for (const pid of execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).trim().split('\n').map(Number)) {
    try {
      if (path.basename(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]) === prog) execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
    } catch { /* gone */ }
  }
}

async function iperf(streams: number, split: boolean): Promise<number> {
  const srv = spawn('ip', ['netns', 'exec', lab.lan, ...on(split, 1), 'timeout', '30', 'iperf3', '-s', '-1', '-p', '5201']);
  await new Promise((r) => setTimeout(r, 500));
  const out = x(lab.cli(1), ...on(split, 0), 'timeout', '30', 'iperf3', '-c', '203.0.113.2', '-p', '5201', '-t', '5', '-P', String(streams), '-J');
  await new Promise((r) => srv.on('close', r));
  return JSON.parse(out).end.sum_received.bits_per_second / 1e9;
}

async function measure(name: string, server: Proc, pidOf: [string, string], bpf: boolean, split: boolean): Promise<Row> {
  const c = startClient(lab, 1, dir);
  try {
    if (!(await c.waitFor(/Initialization Sequence Completed/, 20000, () => c.log()))) throw new Error(`${name}: client did not connect\n${c.log()}\n${server.out}`);
    if (split) { pinAll(lab.cli(1), 'openvpn', 0); pinAll(lab.srv, pidOf[0], 1); }
    steer(split);
    x(lab.cli(1), 'ping', '-c', '3', '-i', '0.2', '203.0.113.2');
    const rtt = Number(x(lab.cli(1), 'ping', '-c', '50', '-i', '0.02', '-q', '203.0.113.2').match(/= [\d.]+\/([\d.]+)\//)![1]);
    const pid = serverPid(...pidOf);
    const cpu0 = procCpuNs(pid), pk0 = uplinkPackets(), b0 = bpf ? bpfRun(BPF_PROGS) : undefined;
    const tcp1 = await iperf(1, split);
    const cpu1 = procCpuNs(pid), pk1 = uplinkPackets(), b1 = bpf ? bpfRun(BPF_PROGS) : undefined;
    const bpfNs = b0 && b1 ? BPF_PROGS.reduce((a, n) => a + b1[n].ns - b0[n].ns, 0) : 0;
    const tcp4 = await iperf(4, split);
    const row: Row = { name, tcp1, tcp4, rttMs: rtt, cpuNsPerPacket: (cpu1 - cpu0 + bpfNs) / Math.max(1, pk1 - pk0) };
    if (bpf) {
      row.bpfNs = {};
      for (const size of [64, 512, 1400]) {
        const before = bpfRun(BPF_PROGS);
        x(lab.cli(1), 'ping', '-c', '2000', '-i', '0.001', '-q', '-s', String(size - 28), '203.0.113.2');
        const after = bpfRun(BPF_PROGS);
        const per = (n: string) => (after[n].ns - before[n].ns) / Math.max(1, after[n].cnt - before[n].cnt);
        row.bpfNs[`decrypt_${size}`] = Math.round(per('ovpn_uplink_in'));
        row.bpfNs[`encrypt_${size}`] = Math.round(per('ovpn_tun_out'));
      }
    }
    return row;
  } finally {
    steer(false);
    await c.stop();
  }
}

/** Cipher, split: the split rows for one AES and ChaCha. */
const RUNS: Array<[string, boolean]> = [['AES-256-GCM', false], ['AES-128-GCM', false], ['CHACHA20-POLY1305', false], ['AES-256-GCM', true], ['CHACHA20-POLY1305', true]];
const tagOf = (cipher: string, split: boolean) => `${cipher}${split ? ', split (client CPU 0, server CPU 1)' : ''}`;

async function main(): Promise<void> {
  makePki(dir, ['cli1']);
  const stats = fs.readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim();
  fs.writeFileSync('/proc/sys/kernel/bpf_stats_enabled', '1');
  const rows: Row[] = [];
  try {
    for (const [cipher, split] of RUNS) {
      const tag = tagOf(cipher, split);
      const stock = new Proc(spawn('ip', ['netns', 'exec', lab.srv, 'timeout', '300', 'openvpn', '--config', conf(`stock-${cipher}`, cipher, true)], { detached: true }));
      await stock.waitFor(/Initialization Sequence Completed/, 10000);
      try { rows.push(await measure(`stock openvpn 2.6 server, ${tag}`, stock, ['openvpn', '--config'], false, split)); } finally { await stock.stop(); }
      const ours = startServer(lab, conf(`l2bpf-${cipher}`, cipher, false), {}, ['--uplink', 'up0', '--name', 'ovbench']);
      await ours.waitFor(/Initialization Sequence Completed/, 15000);
      try { rows.push(await measure(`l2bpf openvpn, ${tag} (BPF)`, ours, [path.basename(process.execPath), 'openvpn'], true, split)); } finally { await ours.stop(); }
    }
  } finally {
    fs.writeFileSync('/proc/sys/kernel/bpf_stats_enabled', stats);
    destroyOvLab(lab);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const pad = (t: string, n: number) => t.padEnd(n);
  process.stdout.write('\nOpenVPN (same stock openvpn 2.6 client, 2-core VM; server CPU = process + BPF programs, per uplink packet)\n');
  process.stdout.write(`${pad('row', 82)} ${pad('TCP1 Gbit/s', 12)} ${pad('TCP4 Gbit/s', 12)} ${pad('RTT ms', 8)} server CPU ns/pkt\n`);
  for (const r of rows) process.stdout.write(`${pad(r.name, 82)} ${pad(r.tcp1.toFixed(3), 12)} ${pad(r.tcp4.toFixed(3), 12)} ${pad(r.rttMs.toFixed(3), 8)} ${Math.round(r.cpuNsPerPacket)}\n`);
  const by = (name: string) => rows.find((r) => r.name === name)!;
  for (const [cipher, split] of RUNS) {
    const c = tagOf(cipher, split), st = by(`stock openvpn 2.6 server, ${c}`), us = by(`l2bpf openvpn, ${c} (BPF)`);
    const cpu = us.cpuNsPerPacket / st.cpuNsPerPacket, t1 = us.tcp1 / st.tcp1;
    process.stdout.write(`${c}: l2bpf/stock CPU per packet ${cpu.toFixed(2)} (aim <= 0.33: ${cpu <= 1 / 3 ? 'met' : 'NOT met'}), TCP1 ${t1.toFixed(2)}x, TCP4 ${(us.tcp4 / st.tcp4).toFixed(2)}x (aim >= 1.5x: ${t1 >= 1.5 ? 'met' : 'NOT met'})\n`);
  }
  for (const c of ['AES-256-GCM', 'AES-128-GCM', 'CHACHA20-POLY1305']) {
    const b = by(`l2bpf openvpn, ${c} (BPF)`).bpfNs!;
    process.stdout.write(`BPF ns per packet (${c}): ${Object.entries(b).map(([k, v]) => `${k} ${v}`).join(', ')}${c.startsWith('CHACHA') ? `; decrypt of 1400 bytes <= 4000 ns: ${b.decrypt_1400 <= 4000 ? 'met' : 'NOT met'}` : ''}\n`);
  }
  process.stdout.write(`${JSON.stringify({ openvpn: rows })}\n`);
}

void main().catch((e) => { process.stderr.write(`${(e as Error).stack}\n`); process.exitCode = 1; });
