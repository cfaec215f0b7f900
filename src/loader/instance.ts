// The instance record (map l2_instance, key 0): what attach set up, read back
// by status, dump and detach. Decoded through the map's own BTF.
import fs from 'fs';
import path from 'path';
import { BpfMap } from '../bpf/maps';
import { formatJson } from '../btf';
import { InstancePaths } from './paths';

export type Mode = 'native' | 'generic';
export interface InstanceRecord {
  attachedAt: number;
  updatedAt: number;
  configHash: bigint;
  ports: [number, number];
  ifnames: [string, string];
  mode: Mode;
  promiscWasOn: [boolean, boolean];
  netns?: string;
}

const MODE_ENUM: Record<Mode, string> = { native: 'L2_MODE_NATIVE', generic: 'L2_MODE_GENERIC' };

export function readInstance(p: InstancePaths): InstanceRecord | undefined {
  const file = path.join(p.maps, 'l2_instance');
  if (!fs.existsSync(file)) return undefined;
  const map = BpfMap.openPinned(file);
  try {
    const raw = map.lookup(0);
    if (!raw || !map.btf) return undefined;
    const v = formatJson(map.btf, map.info.valueTypeId, raw[0]) as Record<string, unknown>;
    const ports = v.ports as number[];
    if (!ports[0]) return undefined; // never written: attach died before recording
    const ifn = v.ifname as string[];
    const promisc = Number(v.promisc_was_on);
    return {
      attachedAt: Number(v.attached_at), updatedAt: Number(v.updated_at), configHash: BigInt(v.config_hash as number),
      ports: [ports[0], ports[1]], ifnames: [ifn[0], ifn[1]],
      mode: v.mode === MODE_ENUM.generic ? 'generic' : 'native',
      promiscWasOn: [(promisc & 1) !== 0, (promisc & 2) !== 0],
      netns: (v.netns as string) || undefined,
    };
  } finally {
    map.close();
  }
}

export function writeInstance(map: BpfMap, r: InstanceRecord): void {
  map.update(0, {
    attached_at: BigInt(r.attachedAt), updated_at: BigInt(r.updatedAt), config_hash: r.configHash,
    ports: r.ports, mode: MODE_ENUM[r.mode],
    promisc_was_on: (r.promiscWasOn[0] ? 1 : 0) | (r.promiscWasOn[1] ? 2 : 0),
    netns: r.netns ?? '', ifname: r.ifnames,
  });
}
