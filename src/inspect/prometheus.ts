// The counters in Prometheus' text exposition format (version 0.0.4), for
// `l2bpf stats --prometheus` and the `/metrics` of `l2bpf exporter`. The
// instance is the label `l2bpf_instance` (Prometheus keeps `instance` for
// the scrape target).
import { PortStats, Stats, TunnelStats } from './stats';

type Counter<T> = { [K in keyof T]: T[K] extends bigint ? K : never }[keyof T];
/** [metric, field, help] per port and per tunnel. */
const PORT: Array<[string, Counter<PortStats>, string]> = [
  ['rx_packets', 'rx_packets', 'Frames that arrived on the port.'],
  ['rx_bytes', 'rx_bytes', 'Bytes of the frames that arrived on the port.'],
  ['forwarded_packets', 'fwd_packets', 'Frames from the port sent on (to the other port or into a tunnel).'],
  ['forwarded_bytes', 'fwd_bytes', 'Bytes of the frames from the port sent on.'],
  ['answered_packets', 'answer_packets', 'Frames from the port the box answered itself (ARP, ND, ping).'],
  ['answered_bytes', 'answer_bytes', 'Bytes of the frames the box answered.'],
  ['dropped_packets', 'drop_packets', 'Frames from the port dropped (any reason).'],
  ['dropped_bytes', 'drop_bytes', 'Bytes of the frames from the port dropped.'],
];
const TUNNEL: Array<[string, Counter<TunnelStats>, string]> = [
  ['encap_packets', 'encap_packets', 'Packets wrapped in GRE toward the remote.'],
  ['encap_bytes', 'encap_bytes', 'Inner bytes wrapped in GRE.'],
  ['decap_packets', 'decap_packets', 'GRE packets from the remote unwrapped.'],
  ['decap_bytes', 'decap_bytes', 'Inner bytes unwrapped.'],
  ['gso_packets', 'gso_packets', 'GSO packets wrapped whole.'],
  ['segmented_packets', 'segmented', 'GSO packets cut into segments before wrapping.'],
  ['gso_decap_packets', 'gso_decap', 'GRO-merged GRE packets unwrapped whole.'],
];

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
    for (const p of s.ports) for (const [m, f, help] of PORT) add(`l2bpf_port_${m}_total`, help, { ...inst, port: p.port }, p[f]);
    for (const d of s.drops) {
      add('l2bpf_dropped_packets_total', 'Frames dropped, by reason.', { ...inst, reason: d.reason }, d.packets);
      add('l2bpf_dropped_bytes_total', 'Bytes of the frames dropped, by reason.', { ...inst, reason: d.reason }, d.bytes);
    }
    for (const t of s.tunnels) {
      const l = { ...inst, tunnel: t.name, remote: t.remote };
      for (const [m, f, help] of TUNNEL) add(`l2bpf_tunnel_${m}_total`, help, l, t[f]);
      for (const d of t.drops) add('l2bpf_tunnel_dropped_packets_total', 'Packets of the tunnel dropped, by reason.', { ...l, reason: d.reason }, d.packets);
    }
    if (s.openvpn) {
      // OpenVPN servers: the data channel's outcomes, and per client what DCO users miss most
      for (const [outcome, n] of Object.entries(s.openvpn.counts)) {
        add('l2bpf_openvpn_packets_total', 'Data-channel packets the BPF programs saw, by outcome (rx_delivered, rx_bad_tag, tx_sent, ...).', { ...inst, outcome }, BigInt(n));
      }
      for (const c of s.openvpn.clients) {
        const l = { ...inst, common_name: c.commonName, peer_id: String(c.peerId) };
        add('l2bpf_openvpn_client_rx_bytes_total', 'Bytes of the datagrams from the client (BPF and the daemon).', l, BigInt(c.rxBytes));
        add('l2bpf_openvpn_client_tx_bytes_total', 'Bytes of the datagrams to the client (BPF and the daemon).', l, BigInt(c.txBytes));
        add('l2bpf_openvpn_client_rx_packets_total', 'Datagrams from the client.', l, BigInt(c.rxPackets));
        add('l2bpf_openvpn_client_tx_packets_total', 'Datagrams to the client.', l, BigInt(c.txPackets));
      }
    }
  }
  const out: string[] = [];
  for (const f of fam.values()) {
    out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} counter`);
    for (const [l, v] of f.samples) out.push(`${f.name}${labels(l)} ${v}`);
  }
  return out.length ? `${out.join('\n')}\n` : '';
}
