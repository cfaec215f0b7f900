// The routing instance's record (map rt_instance, key 0): its ports and what
// attach changed on each (forwarding, accept_local, rp_filter), read back by
// status, stats, dump and detach. Decoded through the map's own BTF.
import fs from 'fs';
import path from 'path';
import { BpfMap } from '../bpf/maps';
import { formatJson } from '../btf';
import { MAPS, RT_PORT_FLAGS } from '../generated/bpf';
import type { InstancePaths } from '../instance/paths';
import type { SysctlChanges } from './sysctl';

export interface RouterPortRecord extends SysctlChanges { ifname: string; ifindex: number }
export interface RouterRecord { attachedAt: number; updatedAt: number; configHash: bigint; netns?: string; ports: RouterPortRecord[] }

const F = RT_PORT_FLAGS;

export function readRouterRecord(p: InstancePaths): RouterRecord | undefined {
  const file = path.join(p.maps, MAPS.rt_instance);
  if (!fs.existsSync(file)) return undefined;
  const m = BpfMap.openPinned(file);
  try {
    const raw = m.lookup(0);
    if (!raw || !m.btf) return undefined;
    const v = formatJson(m.btf, m.info.valueTypeId, raw[0]) as Record<string, unknown>;
    const count = Number(v.count);
    if (!count) return undefined; // never written: attach died before recording
    const ports = (v.port as Array<Record<string, unknown>>).slice(0, count).map((x) => {
      const f = Number(x.flags);
      return {
        ifname: String(x.ifname), ifindex: Number(x.ifindex), forwardingSet: (f & F.RT_PORT_FORWARDING_SET) !== 0,
        acceptLocalSet: (f & F.RT_PORT_ACCEPT_LOCAL_SET) !== 0, rpFilterWas: Number(x.rp_filter_was),
      };
    });
    return { attachedAt: Number(v.attached_at), updatedAt: Number(v.updated_at), configHash: BigInt(v.config_hash as number), netns: (v.netns as string) || undefined, ports };
  } finally {
    m.close();
  }
}

export function writeRouterRecord(m: BpfMap, r: RouterRecord): void {
  m.update(0, {
    attached_at: BigInt(r.attachedAt), updated_at: BigInt(r.updatedAt), config_hash: r.configHash, netns: r.netns ?? '', count: r.ports.length, pad: 0,
    port: r.ports.map((x) => ({
      ifindex: x.ifindex, ifname: x.ifname, rp_filter_was: x.rpFilterWas,
      flags: (x.forwardingSet ? F.RT_PORT_FORWARDING_SET : 0) | (x.acceptLocalSet ? F.RT_PORT_ACCEPT_LOCAL_SET : 0),
    })),
  });
}
