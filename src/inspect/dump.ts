// dump: every pinned map of an instance decoded with the BTF the kernel
// holds for it. JSON is exactly bpftool's "formatted" part; per-CPU values
// are summed unless perCpu is asked for (then bpftool's per-CPU shape).
import fs from 'fs';
import path from 'path';
import { BpfMap } from '../bpf/maps';
import { formatJson, formatText, JsonValue, sumValues } from '../btf';
import { ovpnClients, ovpnRecord } from '../openvpn/inspect';
import { UsageError } from '../errors';
import { Opened } from './instance';
import { View, VIEWS } from './views';
import { MAPS } from '../generated/bpf';
import { readRouterRecord } from '../router/record';
import { connText, routerConns } from '../router/inspect';

export interface DumpOptions { perCpu?: boolean }
export interface MapDump { name: string; type: string; btf: boolean; entries: JsonValue[]; text: string[] }

/** Maps whose values are keys: dump names the entries, never shows the bytes. */
const SECRET_MAPS = new Set(['ovpn_secrets']);

export function mapNames(inst: Opened): string[] {
  return fs.existsSync(inst.paths.maps) ? fs.readdirSync(inst.paths.maps).sort() : [];
}

/** Short names a person types: `l2bpf dump flows`. */
export const MAP_ALIASES: Record<string, string> = {
  flows: MAPS.l2_flows, rules: MAPS.l2_rules, tunnels: MAPS.l2_tunnels, ports: MAPS.l2_ports, neigh: MAPS.l2_neigh,
  moves: MAPS.l2_mac_moves, local: MAPS.l2_local, drops: MAPS.l2_drops,
  conns: MAPS.rt_conns, counts: MAPS.rt_counts,
};

export function dumpMaps(inst: Opened, alias: string | undefined, opts: DumpOptions): MapDump[] {
  if (alias === 'peers' && ovpnRecord(inst.paths)) {
    // an OpenVPN server's clients: ovpn_clients joined with ovpn_peers
    const rows = ovpnClients(inst.paths);
    return [{ name: 'peers', type: 'view', btf: true, entries: rows as unknown as JsonValue[], text: rows.map((c) =>
      `${c.peerId} ${c.commonName} ${c.realAddress} ${[c.vpn4, c.vpn6].filter(Boolean).join(' ')} ${c.cipher} keys ${c.keyIds.join(',')} rx ${c.rxPackets}/${c.rxBytes} tx ${c.txPackets}/${c.txBytes}`) }];
  }
  if (alias === 'nat' && readRouterRecord(inst.paths)) {
    // a router's connections, one row per connection as `conntrack -L` lists them
    const rows = routerConns(inst.paths, inst.ifname);
    return [{ name: 'nat', type: 'view', btf: true, entries: rows as unknown as JsonValue[], text: rows.map(connText) }];
  }
  const names = mapNames(inst);
  const which = alias && (MAP_ALIASES[alias] ?? alias);
  if (which && !names.includes(which)) throw new UsageError(`instance ${inst.name} has no map ${which}`, `maps: ${names.join(', ')}`);
  return (which ? [which] : names).map((n) => dumpMap(path.join(inst.paths.maps, n), n, inst, opts));
}

/** devmap/devmap_hash: key u32, value struct bpf_devmap_val {u32 ifindex; ...} (kernel uapi). */
const isDevmap = (type: number) => type === 14 || type === 25;
/** array / percpu_array: every slot exists, used or not. */
const isArray = (type: number) => type === 2 || type === 6;
function devmapText(key: Buffer, value: Buffer, inst: Opened): string {
  const name = (i: number) => inst.ifname(i) ?? `ifindex ${i}`;
  return `${name(key.readUInt32LE(0))} -> ${name(value.readUInt32LE(0))}`;
}

const hex = (b: Buffer): JsonValue[] => [...b].map((x) => `0x${x.toString(16).padStart(2, '0')}`);

function dumpMap(file: string, name: string, inst: Opened, opts: DumpOptions): MapDump {
  const map = BpfMap.openPinned(file);
  try {
    const { btf, info } = map;
    const entries: JsonValue[] = [];
    const text: string[] = [];
    let unset = 0;
    const textOf = (id: number, b: Buffer) => formatText(btf!, id, b, { ifname: inst.ifname });
    const view: View | undefined = btf && VIEWS[name] && !(info.perCpu && opts.perCpu) ? VIEWS[name]({ btf, tunnelName: tunnelNames(inst) }) : undefined;
    let hidden = 0;
    for (const e of map.entries()) {
      if (SECRET_MAPS.has(name)) {
        // key material: which slots hold keys, never the bytes (ovpn_keys shows their state)
        entries.push({ key: btf && info.keyTypeId ? formatJson(btf, info.keyTypeId, e.key) : hex(e.key), value: 'secret (not shown)' });
        text.push(`${btf && info.keyTypeId ? textOf(info.keyTypeId, e.key) : e.key.toString('hex')} -> secret (not shown)`);
        continue;
      }
      if (!btf || !info.keyTypeId || !info.valueTypeId) {
        // no BTF (devmaps cannot have it): raw bytes, as bpftool prints them
        entries.push({ key: hex(e.key), value: hex(e.values[0]) });
        text.push(isDevmap(info.type) ? devmapText(e.key, e.values[0], inst) : `${e.key.toString('hex')} -> ${e.values[0].toString('hex')}`);
        continue;
      }
      const key = formatJson(btf, info.keyTypeId, e.key);
      if (info.perCpu && opts.perCpu) {
        entries.push({ key, values: e.values.map((v, cpu) => ({ cpu, value: formatJson(btf, info.valueTypeId, v) })) });
        e.values.forEach((v, cpu) => text.push(`${textOf(info.keyTypeId, e.key)} cpu${cpu} -> ${textOf(info.valueTypeId, v)}`));
      } else {
        const v = info.perCpu ? sumValues(btf, info.valueTypeId, e.values) : e.values[0];
        entries.push({ key, value: formatJson(btf, info.valueTypeId, v) });
        if (isArray(info.type) && v.every((b) => b === 0)) unset++;
        else if (view) { const line = view(e.key, v); if (line) text.push(line); else hidden++; }
        else text.push(`${textOf(info.keyTypeId, e.key)} -> ${textOf(info.valueTypeId, v)}`);
      }
    }
    // Arrays have every slot; a person wants the ones in use (JSON keeps all, as bpftool).
    if (unset || hidden) text.push(`(${unset + hidden} unset slot${unset + hidden === 1 ? '' : 's'} not shown; --json shows all)`);
    return { name, type: info.typeName, btf: Boolean(btf && info.valueTypeId), entries, text };
  } finally {
    map.close();
  }
}

/** Tunnel id -> the config's name (l2_tunnels), for views that print tunnels. */
function tunnelNames(inst: Opened): (id: number) => string {
  const file = path.join(inst.paths.maps, MAPS.l2_tunnels);
  const names = new Map<number, string>();
  if (fs.existsSync(file)) {
    const m = BpfMap.openPinned(file);
    try {
      for (const e of m.entries()) {
        const v = formatJson(m.btf!, m.info.valueTypeId, e.values[0]) as Record<string, unknown>;
        if (typeof v.name === 'string' && v.name) names.set(e.key.readUInt32LE(0), v.name);
      }
    } finally {
      m.close();
    }
  }
  return (id) => names.get(id) ?? `#${id}`;
}
