// Metrics of a real instance: `stats --prometheus` and `exporter` give what
// `stats --json` counts, in a format promtool accepts; the exporter (run on
// the loopback of the box's namespace, so nothing leaves it) stops cleanly
// on SIGTERM.
import { spawn, spawnSync } from 'child_process';
import fs from 'fs';
import { buildLab, CLI, destroyLab, inNsTry, l2bpf, Lab, sh } from '../helpers/netns';
import { parseJsonExact } from '../../src/btf';

const ROOT = `/sys/fs/bpf/l2bpf-metrics-${process.pid}`;
const env = { L2BPF_PIN_ROOT: ROOT };
let lab: Lab;

beforeAll(() => {
  lab = buildLab(`l2m${process.pid % 100000}-`);
  const r = l2bpf(['attach', 'eth2', 'eth3', '--netns', lab.box, '--name', 'metrics'], env);
  if (r.code !== 0) throw new Error(r.err);
  inNsTry(lab.a, 'ping', '-c', '3', '-i', '0.2', '-W', '1', '198.51.100.2');
  sh('ip', ['-n', lab.box, 'link', 'set', 'lo', 'up']); // the exporter listens on the box's own loopback
});
afterAll(() => {
  l2bpf(['detach', '--all'], env);
  destroyLab(lab);
  fs.rmSync(ROOT, { recursive: true, force: true });
});

const promtool = (text: string) => spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
/** The value of one sample line, e.g. sample(text, 'l2bpf_port_rx_packets_total', 'port="eth2"'). */
const sample = (text: string, name: string, label: string) =>
  BigInt(text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(label))!.split(' ').pop()!);

test('stats --prometheus: promtool accepts it, and it says what stats --json says', () => {
  const text = l2bpf(['stats', '--prometheus'], env).out;
  const chk = promtool(text);
  expect(chk.stdout + chk.stderr).toBe('');
  expect(chk.status).toBe(0);
  // the hosts' own IPv6 chatter may cross in between: read JSON between two scrapes
  const js = parseJsonExact(l2bpf(['stats', '--json'], env).out) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  const after = l2bpf(['stats', '--prometheus'], env).out;
  for (const p of js.ports) {
    for (const [metric, field] of [['l2bpf_port_rx_packets_total', 'rx_packets'], ['l2bpf_port_forwarded_packets_total', 'fwd_packets']]) {
      expect(sample(text, metric, `port="${p.port}"`)).toBeLessThanOrEqual(BigInt(p[field]));
      expect(sample(after, metric, `port="${p.port}"`)).toBeGreaterThanOrEqual(BigInt(p[field]));
    }
  }
  expect(sample(text, 'l2bpf_port_rx_packets_total', 'port="eth2"')).toBeGreaterThan(0n);
  expect(text).toMatch(/l2bpf_instance="metrics"/);
  expect(l2bpf(['stats', '--prometheus', '--json'], env).code).toBe(2); // one format at a time
});

test('exporter serves /metrics until SIGTERM, then stops cleanly', async () => {
  const ex = spawn('nsenter', [`--net=/run/netns/${lab.box}`, 'node', CLI, 'exporter', '--listen', '127.0.0.1:0'], { env: { ...process.env, ...env } });
  let err = '';
  ex.stderr.on('data', (d) => { err += d; });
  const exited = new Promise<number | null>((r) => ex.on('close', (code) => r(code))); // close: after its stderr is read to the end
  try {
    for (let i = 0; i < 100 && !/serving/.test(err); i++) await new Promise((r) => setTimeout(r, 50));
    const url = err.match(/serving (http:\/\/127\.0\.0\.1:\d+\/metrics)/)![1];
    const get = (u: string) => sh('nsenter', [`--net=/run/netns/${lab.box}`, 'python3', '-c',
      'import sys, urllib.request, urllib.error\ntry:\n  r = urllib.request.urlopen(sys.argv[1], timeout=10); print(r.status); sys.stdout.write(r.read().decode())\nexcept urllib.error.HTTPError as e:\n  print(e.code)', u]);
    const r = get(url);
    const [status, ...body] = r.out.split('\n');
    expect(status).toBe('200');
    const text = body.join('\n');
    expect(promtool(text).status).toBe(0);
    expect(sample(text, 'l2bpf_port_rx_packets_total', 'port="eth2"')).toBeGreaterThan(0n);
    expect(get(url.replace('/metrics', '/')).out.trim()).toBe('404');
  } finally {
    ex.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
  expect(err).toMatch(/l2bpf exporter: stopped/);
});
