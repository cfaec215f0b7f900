// Read-only views of an `l2bpf openvpn` instance from its pinned maps, for
// status, stats, dump peers and detach: the daemon (pid, alive), its
// clients (ovpn_clients joined with ovpn_peers), the data channel's counters.
import fs from 'fs';
import { BpfMap } from '../bpf/maps';
import { formatIpv6, formatJson } from '../btf';
import type { InstancePaths } from '../instance/paths';
import { enumCounters, withPinnedMap } from '../inspect/pinned';

export interface OvpnRecord { pid: number; alive: boolean; startedAt: number; tun: string; tunIndex: number; port: number; netns?: string; config: string }
export interface OvpnClientRow {
  peerId: number; commonName: string; realAddress: string; vpn4?: string; vpn6?: string; cipher: string; keyIds: number[];
  rxPackets: number; rxBytes: number; txPackets: number; txBytes: number; connectedSince: number; lastActivity: number;
}

const decode = (m: BpfMap, v: Buffer) => formatJson(m.btf!, m.info.valueTypeId, v) as Record<string, unknown>;

/** Whether pid is an l2bpf process (not a reused pid). */
function running(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('openvpn');
  } catch {
    return false;
  }
}

/** The daemon's record, when this instance is an OpenVPN server. */
export function ovpnRecord(p: InstancePaths): OvpnRecord | undefined {
  return withPinnedMap(p, 'ovpn_instance', (m) => {
    const raw = m.lookup(0);
    if (!raw) return undefined;
    const v = decode(m, raw[0]);
    if (!Number(v.pid)) return undefined;
    return {
      pid: Number(v.pid), alive: running(Number(v.pid)), startedAt: Number(v.started_at) * 1000, tun: String(v.tun_name), tunIndex: Number(v.tun),
      port: Number(v.port), netns: (v.netns as string) || undefined, config: String(v.config),
    };
  });
}

/** ovpn_counts by name (enum ovpn_count in BTF), summed over CPUs. */
export function ovpnCounts(p: InstancePaths): Record<string, number> {
  return enumCounters(p, 'ovpn_counts', 'ovpn_count', 'OVPN_');
}

const ip4 = (b: Buffer) => [...b].join('.');
const ip6 = (b: Buffer) => (b.every((x) => x === 0) ? undefined : formatIpv6(b));

/** Every client: what the control plane wrote (ovpn_clients) with what BPF counts (ovpn_peers). */
export function ovpnClients(p: InstancePaths): OvpnClientRow[] {
  const mono = process.hrtime.bigint(), wall = Date.now();
  const peers = new Map<number, { v: Record<string, unknown>; raw: Buffer; m: BpfMap }>();
  const rows: OvpnClientRow[] = [];
  withPinnedMap(p, 'ovpn_peers', (pm) => {
    for (const e of pm.entries()) peers.set(e.key.readUInt32LE(0), { v: decode(pm, e.values[0]), raw: e.values[0], m: pm });
    withPinnedMap(p, 'ovpn_clients', (cm) => {
      const ciphers = cm.btf!.enumNames('ovpn_cipher');
      for (const e of cm.entries()) {
        const id = e.key.readUInt32LE(0);
        const c = decode(cm, e.values[0]);
        const peer = peers.get(id);
        const at = (f: string) => {
          const t = pm.btf!.type(pm.btf!.resolve(pm.info.valueTypeId));
          const mem = 'members' in t ? t.members.find((x) => x.name === f) : undefined;
          return mem ? mem.bitOffset / 8 : 0;
        };
        const lastRx = peer ? Number(peer.v.last_rx_ns) : 0;
        rows.push({
          peerId: id, commonName: String(c.cn), realAddress: String(c.real),
          vpn4: peer ? ip4(peer.raw.subarray(at('vpn4'), at('vpn4') + 4)) : undefined,
          vpn6: peer ? ip6(peer.raw.subarray(at('vpn6'), at('vpn6') + 16)) : undefined,
          cipher: (ciphers.get(Number(c.cipher)) ?? 'OVPN_CIPHER_NONE').replace(/^OVPN_/, '').replace(/_POLY/, '-POLY').replace(/_(\d+)_GCM/, '-$1-GCM'),
          keyIds: (c.key_ids as number[]).slice(0, Number(c.nkeys)),
          rxPackets: Number(peer?.v.rx_packets ?? 0) + Number(c.slow_rx_packets), rxBytes: Number(peer?.v.rx_bytes ?? 0) + Number(c.slow_rx_bytes),
          txPackets: Number(peer?.v.tx_packets ?? 0) + Number(c.slow_tx_packets), txBytes: Number(peer?.v.tx_bytes ?? 0) + Number(c.slow_tx_bytes),
          connectedSince: Number(c.connected_at) * 1000,
          lastActivity: Math.max(lastRx ? wall - Number((mono - BigInt(lastRx)) / 1000000n) : 0, Number(c.slow_last_rx)),
        });
      }
    });
  });
  return rows.sort((a, b) => a.peerId - b.peerId);
}
