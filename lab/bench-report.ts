// lab/bench-report.ts: the summary of lab/bench.sh and lab/bench-gre.sh:
// medians per row, the ratios the aims are stated in (met or not), and one
// JSON line for scripts.
//   node dist/lab/bench-report.js wire|gre OUT QUICK ROUNDS T_TCP WIN GEN_CPU MTU KERNEL NCPU \
//        [ROW LABEL HOSTS "TCP1 runs" "TCP4 runs" "PPS runs" "OFFERED runs" "CPU per round"]...
import fs from 'fs';

interface Row {
  label: string; hosts: string;
  tcp1_gbps: number; tcp4_gbps: number; pps: number; offered_pps: number;
  cpu_busy_softirq_pct: string[]; noisy_rounds: number[];
  runs: { tcp1_gbps: number[]; tcp4_gbps: number[]; pps: number[] };
}
type Metric = 'tcp1_gbps' | 'tcp4_gbps' | 'pps';
/** [row, against, metric, aim (null: shown, no aim)] */
type Pair = [string, string, Metric, number | null];

const METRICS: Metric[] = ['tcp1_gbps', 'tcp4_gbps', 'pps'];
const all = (a: string, b: string, aim: number | null): Pair[] => METRICS.map((m) => [a, b, m, aim]);
const PAIRS: Record<string, Pair[]> = {
  wire: [
    ['auto', 'bridge', 'tcp1_gbps', 0.95], ['auto', 'bridge', 'tcp4_gbps', 0.95], ['auto', 'bridge', 'pps', 1.0],
    ...all('auto', 'min_tc', 0.95), ...all('tc', 'min_tc', 0.95), ...all('native', 'min_xdp', 0.95),
    ...all('bridge', 'ceiling', null), ...all('min_tc', 'ceiling', null), ...all('auto', 'ceiling', null),
    ...all('generic', 'ceiling', null), ...all('min_xdp', 'ceiling', null),
  ],
  gre: [
    ['gre', 'vxlan', 'tcp1_gbps', 1.0], ['gre', 'vxlan', 'tcp4_gbps', 1.0], ['gre', 'vxlan', 'pps', 1.5],
    ...all('gre', 'wire', null), ...all('gre_native', 'vxlan', null), ...all('gre_native', 'wire_native', null),
  ],
};

const nums = (s: string) => s.trim().split(/\s+/).filter(Boolean).map(Number);
function median(a: number[]): number {
  const v = a.filter(Number.isFinite).sort((x, y) => x - y);
  if (!v.length) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

const [kind, out, quick, rounds, tTcp, win, genCpu, mtu, kernel, ncpu, ...rest] = process.argv.slice(2);
if (!PAIRS[kind] || rest.length % 8) {
  process.stderr.write('usage: bench-report wire|gre OUT QUICK ROUNDS T_TCP WIN GEN_CPU MTU KERNEL NCPU [ROW LABEL HOSTS TCP1 TCP4 PPS OFFERED CPU]...\n');
  process.exit(2);
}
// A round is noisy when a CPU other than the generator's was over 50% busy.
const noisy = (c: string) => c.split(',').some((u, i) => i !== Number(genCpu) && parseInt(u, 10) > 50);
const rows: Record<string, Row> = {};
for (let i = 0; i < rest.length; i += 8) {
  const [name, label, hosts, t1, t4, pps, off, cpu] = rest.slice(i, i + 8);
  const cpus = cpu.trim().split(/\s+/).filter(Boolean);
  const marks = cpus.map(noisy);
  const clean = nums(pps).filter((_, k) => !marks[k]);
  rows[name] = {
    label, hosts,
    tcp1_gbps: +median(nums(t1)).toFixed(3), tcp4_gbps: +median(nums(t4)).toFixed(3),
    pps: Math.round(median(clean.length ? clean : nums(pps))), offered_pps: Math.round(median(nums(off))),
    cpu_busy_softirq_pct: cpus, noisy_rounds: marks.map((m, k) => (m ? k + 1 : 0)).filter(Boolean),
    runs: { tcp1_gbps: nums(t1), tcp4_gbps: nums(t4), pps: nums(pps) },
  };
}

const f = (v: number, d: number) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
const width = Math.max(...Object.values(rows).map((r) => r.label.length), 6);
console.log(`\n== results (median of ${rounds} round(s); hosts at kernel-default offloads unless the row says otherwise)`);
console.log(`   ${'row'.padEnd(width)}  TCP 1 stream  TCP 4 streams  60 B pkt/s at B`);
for (const r of Object.values(rows)) {
  console.log(`   ${r.label.padEnd(width)}  ${(f(r.tcp1_gbps, 2) + ' Gbit/s').padStart(12)}  ${(f(r.tcp4_gbps, 2) + ' Gbit/s').padStart(13)}  ${r.pps.toLocaleString('en-US').padStart(15)}`);
}

const ratios: Record<string, Record<string, number>> = {};
const aims: Array<{ pair: string; metric: string; ratio: number; aim: number; met: boolean }> = [];
for (const [a, b, m, aim] of PAIRS[kind]) {
  if (!rows[a] || !rows[b] || !(rows[b][m] > 0)) continue;
  const v = +(rows[a][m] / rows[b][m]).toFixed(3);
  (ratios[`${a}/${b}`] ??= {})[m.replace('_gbps', '')] = v;
  if (aim !== null) aims.push({ pair: `${a}/${b}`, metric: m.replace('_gbps', ''), ratio: v, aim, met: v >= aim });
}
if (Object.keys(ratios).length) {
  console.log('\n== ratios');
  console.log(`   ${'pair'.padEnd(22)}  TCP 1  TCP 4    pps`);
  for (const [k, r] of Object.entries(ratios)) console.log(`   ${k.padEnd(22)}  ${f(r.tcp1, 2).padStart(5)}  ${f(r.tcp4, 2).padStart(5)}  ${f(r.pps, 2).padStart(5)}`);
}
if (aims.length) {
  console.log('\n== aims');
  for (const a of aims) console.log(`   ${a.met ? 'met    ' : 'NOT met'}  ${a.pair} ${a.metric}: ${f(a.ratio, 2)}x (aim >= ${a.aim}x)`);
}
for (const [n, r] of Object.entries(rows)) {
  if (r.noisy_rounds.length) {
    console.log(`!! ${n}: packet round(s) ${r.noisy_rounds.join(', ')} ran while another CPU was busy` +
      (r.noisy_rounds.length < r.runs.pps.length ? ' (left out of the median)' : ' (no clean round: numbers are pessimistic)'));
  }
}
const summary = {
  bench: kind === 'wire' ? 'l2bpf' : 'l2bpf-gre', date: new Date().toISOString(), kernel, cpus: Number(ncpu),
  mode: quick === '1' ? 'quick' : 'full', rounds: Number(rounds), tcp_seconds: Number(tTcp),
  pps_window_seconds: Number(win), generator_cpu: Number(genCpu), mtu: Number(mtu), frame_bytes: 60,
  counted_by: 'host B stack (Ip InReceives)', configs: rows, ratios, aims,
};
const line = JSON.stringify(summary);
fs.writeFileSync(out, line + '\n');
console.log(`\n== JSON summary written to ${out}`);
console.log(`${kind === 'wire' ? 'BENCH_JSON' : 'BENCH_GRE_JSON'} ${line}`);
