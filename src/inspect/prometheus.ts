// The counters in Prometheus' text exposition format (version 0.0.4), for
// `l2bpf stats --prometheus` and the `/metrics` of `l2bpf exporter`. The
// instance is the label `l2bpf_instance` (Prometheus keeps `instance` for
// the scrape target).
import { Stats } from './stats';

interface Family { name: string; help: string; samples: Array<[Record<string, string>, bigint]> }

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const labels = (l: Record<string, string>) => `{${Object.entries(l).map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}`;

export function toPrometheus(all: Stats[]): string {
  const fam = new Map<string, Family>();
  const add = (name: string, help: string, l: Record<string, string>, v: bigint) => {
    if (!fam.has(name)) fam.set(name, { name, help, samples: [] });
    fam.get(name)!.samples.push([l, v]);
  };
  for (const s of all) {
    const inst = { l2bpf_instance: s.instance };
    for (const p of s.ports) {
      const l = { ...inst, port: p.port };
      add('l2bpf_port_rx_packets_total', 'Frames that arrived on the port.', l, p.rx_packets);
      add('l2bpf_port_rx_bytes_total', 'Bytes of the frames that arrived on the port.', l, p.rx_bytes);
      add('l2bpf_port_forwarded_packets_total', 'Frames from the port sent on (to the other port or into a tunnel).', l, p.fwd_packets);
      add('l2bpf_port_forwarded_bytes_total', 'Bytes of the frames from the port sent on.', l, p.fwd_bytes);
      add('l2bpf_port_answered_packets_total', 'Frames from the port the box answered itself (ARP, ND, ping).', l, p.answer_packets);
      add('l2bpf_port_answered_bytes_total', 'Bytes of the frames the box answered.', l, p.answer_bytes);
      add('l2bpf_port_dropped_packets_total', 'Frames from the port dropped (any reason).', l, p.drop_packets);
      add('l2bpf_port_dropped_bytes_total', 'Bytes of the frames from the port dropped.', l, p.drop_bytes);
    }
    for (const d of s.drops) {
      add('l2bpf_dropped_packets_total', 'Frames dropped, by reason.', { ...inst, reason: d.reason }, d.packets);
      add('l2bpf_dropped_bytes_total', 'Bytes of the frames dropped, by reason.', { ...inst, reason: d.reason }, d.bytes);
    }
    for (const t of s.tunnels) {
      const l = { ...inst, tunnel: t.name, remote: t.remote };
      add('l2bpf_tunnel_encap_packets_total', 'Packets wrapped in GRE toward the remote.', l, t.encap_packets);
      add('l2bpf_tunnel_encap_bytes_total', 'Inner bytes wrapped in GRE.', l, t.encap_bytes);
      add('l2bpf_tunnel_decap_packets_total', 'GRE packets from the remote unwrapped.', l, t.decap_packets);
      add('l2bpf_tunnel_decap_bytes_total', 'Inner bytes unwrapped.', l, t.decap_bytes);
      add('l2bpf_tunnel_gso_packets_total', 'GSO packets wrapped whole.', l, t.gso_packets);
      add('l2bpf_tunnel_segmented_packets_total', 'GSO packets cut into segments before wrapping.', l, t.segmented);
      add('l2bpf_tunnel_gso_decap_packets_total', 'GRO-merged GRE packets unwrapped whole.', l, t.gso_decap);
      for (const d of t.drops) add('l2bpf_tunnel_dropped_packets_total', 'Packets of the tunnel dropped, by reason.', { ...l, reason: d.reason }, d.packets);
    }
  }
  const out: string[] = [];
  for (const f of fam.values()) {
    out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} counter`);
    for (const [l, v] of f.samples) out.push(`${f.name}${labels(l)} ${v}`);
  }
  return out.length ? `${out.join('\n')}\n` : '';
}
