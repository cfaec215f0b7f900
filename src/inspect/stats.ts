// stats: per-port and per-drop-reason counters, summed over CPUs. Reason
// names come from enum l2_drop_reason in the map's BTF, so a new reason in
// maps/l2bpf_types.h shows up here without touching TypeScript.
import fs from 'fs';
import path from 'path';
import { BpfMap } from '../bpf/maps';
import * as bpf from '../bpf/libbpf';
import { formatJson, sumValues } from '../btf';
import { Opened } from './instance';
import { MAPS } from '../generated/bpf';
import { ovpnClients, ovpnCounts, OvpnClientRow, ovpnRecord } from '../openvpn/inspect';
import { readRouterRecord } from '../router/record';
import { routerCounts } from '../router/inspect';

export interface PortStats {
  port: string; ifindex: number;
  rx_packets: bigint; rx_bytes: bigint; fwd_packets: bigint; fwd_bytes: bigint; drop_packets: bigint; drop_bytes: bigint;
  /** frames the box answered itself (ARP, ND, ping) */
  answer_packets: bigint; answer_bytes: bigint;
}
export interface DropStats { reason: string; code: number; packets: bigint; bytes: bigint }
export interface TunnelStats {
  id: number; name: string; remote: string;
  encap_packets: bigint; encap_bytes: bigint; decap_packets: bigint; decap_bytes: bigint;
  /** decapsulated packets of flows never seen, sent to a learned neighbour */
  decap_neigh: bigint;
  /** ICMP errors out of the tunnel delivered to the flow they quote / into the tunnel of the flow they quote */
  icmp_in: bigint; icmp_out: bigint;
  /** GSO packets wrapped whole / sent through the segmenter first / GSO GRE unwrapped whole */
  gso_packets: bigint; segmented: bigint; gso_decap: bigint;
  drops: Array<{ reason: string; packets: bigint }>;
}
export interface Stats {
  instance: string; at: number; ports: PortStats[]; drops: DropStats[]; tunnels: TunnelStats[];
  /** An `l2bpf openvpn` server: the data channel's counters by outcome, and per client. */
  openvpn?: { counts: Record<string, number>; clients: OvpnClientRow[] };
  /** A routing instance: packets by outcome (enum rt_count), and the connection table's fill. */
  router?: { counts: Record<string, number>; connections: number; tableSize: number };
}

const big = (v: unknown) => BigInt(v as number);

/** L2_DROP_SHORT_FRAME -> short_frame */
export function reasonLabel(enumName: string): string {
  return enumName.replace(/^L2_DROP_/, '').toLowerCase();
}

export function readStats(inst: Opened): Stats {
  if (ovpnRecord(inst.paths)) {
    return { instance: inst.name, at: Date.now(), ports: [], drops: [], tunnels: [], openvpn: { counts: ovpnCounts(inst.paths), clients: ovpnClients(inst.paths) } };
  }
  if (readRouterRecord(inst.paths)) {
    const conns = BpfMap.openPinned(path.join(inst.paths.maps, MAPS.rt_conns));
    let entries = 0;
    try { entries = [...bpf.mapKeys(conns.fd, conns.info.keySize)].length; } finally { conns.close(); }
    return { instance: inst.name, at: Date.now(), ports: [], drops: [], tunnels: [], router: { counts: routerCounts(inst.paths), connections: entries, tableSize: conns.info.maxEntries } };
  }
  const ports: PortStats[] = [];
  const pmap = BpfMap.openPinned(path.join(inst.paths.maps, MAPS.l2_port_stats));
  try {
    for (const e of pmap.entries()) {
      const ifindex = e.key.readUInt32LE(0);
      const v = formatJson(pmap.btf!, pmap.info.valueTypeId, sumValues(pmap.btf!, pmap.info.valueTypeId, e.values)) as Record<string, unknown>;
      ports.push({
        port: inst.ifname(ifindex) ?? `ifindex ${ifindex}`, ifindex,
        rx_packets: big(v.rx_packets), rx_bytes: big(v.rx_bytes), fwd_packets: big(v.fwd_packets),
        fwd_bytes: big(v.fwd_bytes), drop_packets: big(v.drop_packets), drop_bytes: big(v.drop_bytes),
        answer_packets: big(v.answer_packets), answer_bytes: big(v.answer_bytes),
      });
    }
  } finally {
    pmap.close();
  }
  const order: number[] = inst.record?.attachments.map((a) => a.ifindex) ?? [];
  ports.sort((a, b) => order.indexOf(a.ifindex) - order.indexOf(b.ifindex));

  const drops: DropStats[] = [];
  const dmap = BpfMap.openPinned(path.join(inst.paths.maps, MAPS.l2_drops));
  try {
    const names = dmap.btf!.enumNames('l2_drop_reason');
    for (const e of dmap.entries()) {
      const code = e.key.readUInt32LE(0);
      const name = names.get(code);
      if (!name || code === 0 || name.endsWith('__MAX')) continue;
      const v = formatJson(dmap.btf!, dmap.info.valueTypeId, sumValues(dmap.btf!, dmap.info.valueTypeId, e.values)) as Record<string, unknown>;
      drops.push({ reason: reasonLabel(name), code, packets: big(v.packets), bytes: big(v.bytes) });
    }
  } finally {
    dmap.close();
  }
  return { instance: inst.name, at: Date.now(), ports, drops, tunnels: readTunnels(inst) };
}

/** Per-tunnel counters for every configured tunnel (slot with a remote). */
function readTunnels(inst: Opened): TunnelStats[] {
  const out: TunnelStats[] = [];
  const cfgPath = path.join(inst.paths.maps, MAPS.l2_tunnels);
  const statPath = path.join(inst.paths.maps, MAPS.l2_tun_stats);
  if (!fs.existsSync(cfgPath) || !fs.existsSync(statPath)) return out;
  const cfg = BpfMap.openPinned(cfgPath);
  const st = BpfMap.openPinned(statPath);
  try {
    const names = st.btf!.enumNames('l2_drop_reason');
    for (const e of cfg.entries()) {
      const t = formatJson(cfg.btf!, cfg.info.valueTypeId, e.values[0]) as Record<string, unknown>;
      if (!t.remote) continue;
      const id = e.key.readUInt32LE(0);
      const raw = st.lookup(id);
      if (!raw) continue;
      const v = formatJson(st.btf!, st.info.valueTypeId, sumValues(st.btf!, st.info.valueTypeId, raw)) as Record<string, unknown>;
      const remote = [...e.values[0].subarray(0, 4)].join('.');
      const drops = (v.drops as unknown[]).map((n, code) => ({ reason: reasonLabel(names.get(code) ?? String(code)), packets: big(n) }))
        .filter((d) => d.packets > 0n);
      out.push({ id, name: (t.name as string) || `#${id}`, remote, encap_packets: big(v.encap_packets), encap_bytes: big(v.encap_bytes),
        decap_packets: big(v.decap_packets), decap_bytes: big(v.decap_bytes), decap_neigh: big(v.decap_neigh),
        icmp_in: big(v.icmp_in), icmp_out: big(v.icmp_out), gso_packets: big(v.gso_packets), segmented: big(v.segmented), gso_decap: big(v.gso_decap), drops });
    }
  } finally {
    cfg.close();
    st.close();
  }
  return out;
}
