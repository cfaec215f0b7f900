// The Prometheus text format of the counters, as promtool (Prometheus' own
// checker, Debian's prometheus package) reads it.
import { spawnSync } from 'child_process';
import { toPrometheus } from '../../src/inspect/prometheus';
import type { Stats } from '../../src';

const stats = (instance: string): Stats => ({
  instance, at: 0,
  ports: [{ port: 'eth2', ifindex: 2, rx_packets: 10n, rx_bytes: 1000n, fwd_packets: 7n, fwd_bytes: 700n, drop_packets: 2n, drop_bytes: 200n, answer_packets: 1n, answer_bytes: 100n }],
  drops: [{ reason: 'flow_miss', code: 14, packets: 2n, bytes: 200n }, { reason: 'rule', code: 4, packets: 0n, bytes: 0n }],
  tunnels: [{ id: 1, name: 'pop "a"', remote: '203.0.113.2', encap_packets: 5n, encap_bytes: 500n, decap_packets: 4n, decap_bytes: 400n, decap_neigh: 0n,
    icmp_in: 0n, icmp_out: 0n, gso_packets: 1n, segmented: 0n, gso_decap: 0n, drops: [{ reason: 'gre_key', packets: 3n }] }],
});

test('promtool accepts it: one family per counter, HELP and TYPE first, labels escaped', () => {
  const text = toPrometheus([stats('box1'), stats('box2')]);
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  expect(r.stderr + r.stdout).toBe('');
  expect(r.status).toBe(0);
  const lines = text.trim().split('\n');
  expect(lines).toContain('l2bpf_port_rx_packets_total{l2bpf_instance="box1",port="eth2"} 10');
  expect(lines).toContain('l2bpf_port_rx_packets_total{l2bpf_instance="box2",port="eth2"} 10');
  expect(lines).toContain('l2bpf_dropped_packets_total{l2bpf_instance="box1",reason="flow_miss"} 2');
  expect(lines).toContain('l2bpf_tunnel_dropped_packets_total{l2bpf_instance="box1",tunnel="pop \\"a\\"",remote="203.0.113.2",reason="gre_key"} 3');
  expect(lines.filter((l) => l === '# TYPE l2bpf_port_rx_packets_total counter')).toHaveLength(1);
});

test('nothing attached: an empty exposition, which is valid too', () => {
  expect(toPrometheus([])).toBe('');
  expect(spawnSync('promtool', ['check', 'metrics'], { input: '', encoding: 'utf8' }).status).toBe(0);
});
