// Reading an instance's pinned maps: one map opened for a moment, and
// per-CPU counter arrays by the names of the enum that indexes them (from
// the map's BTF, so a new counter shows up without touching TypeScript).
import fs from 'fs';
import path from 'path';
import { BpfMap } from '../bpf/maps';
import type { InstancePaths } from '../instance/paths';

/** fn on the pinned map `name`, closed after; undefined when it is not pinned. */
export function withPinnedMap<T>(p: InstancePaths, name: string, fn: (m: BpfMap) => T): T | undefined {
  const file = path.join(p.maps, name);
  if (!fs.existsSync(file)) return undefined;
  const m = BpfMap.openPinned(file);
  try { return fn(m); } finally { m.close(); }
}

/** A per-CPU u64 array indexed by `enumName`, summed: OVPN_RX_OK -> rx_ok (prefix OVPN_). */
export function enumCounters(p: InstancePaths, map: string, enumName: string, prefix: string): Record<string, number> {
  return withPinnedMap(p, map, (m) => {
    const out: Record<string, number> = {};
    for (const [v, n] of m.btf!.enumNames(enumName)) {
      if (n.endsWith('__MAX')) continue;
      const vals = m.lookup(Number(v));
      out[n.slice(n.startsWith(prefix) ? prefix.length : 0).toLowerCase()] = vals ? vals.reduce((a, b) => a + Number(b.readBigUInt64LE(0)), 0) : 0;
    }
    return out;
  }) ?? {};
}
