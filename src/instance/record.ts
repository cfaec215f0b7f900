// The instance record (map l2_instance, key 0): what attach set up, read back
// by status, dump and detach. Decoded through the map's own BTF.
import { ATT_FLAGS, MAPS } from '../generated/bpf';
import fs from 'fs';
import path from 'path';
import { BpfMap } from '../bpf/maps';
import { formatJson } from '../btf';
import { InstancePaths } from './paths';
import { Hook, ModeRequest } from '../loader/modes';

/** A row of the attachment table: a program on a device's hook. */
export interface Attachment {
  ifname: string;
  ifindex: number;
  mode: Hook;
  /** Why this hook (auto's reason, or "asked for"). */
  reason: string;
  promiscWasOn: boolean;
  /** The inner end of the segmenter pair l2bpf created (not a wire port). */
  segmenter: boolean;
  /** --force overrode a refusal for this port. */
  forced: boolean;
}
export interface InstanceRecord {
  attachedAt: number;
  updatedAt: number;
  configHash: bigint;
  requested: ModeRequest;
  netns?: string;
  attachments: Attachment[];
}

const HOOK_ENUM: Record<Hook, string> = { native: 'L2_MODE_NATIVE', generic: 'L2_MODE_GENERIC', tc: 'L2_MODE_TC' };
const REQ_ENUM: Record<ModeRequest, string> = { auto: 'L2_REQ_AUTO', native: 'L2_REQ_NATIVE', generic: 'L2_REQ_GENERIC', tc: 'L2_REQ_TC' };
const F = { PROMISC: ATT_FLAGS.L2_ATT_PROMISC_WAS_ON, SEGMENTER: ATT_FLAGS.L2_ATT_SEGMENTER, FORCED: ATT_FLAGS.L2_ATT_FORCED };
const back = <T extends string>(m: Record<T, string>, v: unknown, dflt: T): T =>
  (Object.entries(m) as [T, string][]).find(([, e]) => e === v)?.[0] ?? dflt;

/** The two ports of the wire (the rows that are not the segmenter). */
export const wirePorts = (r: InstanceRecord): Attachment[] => r.attachments.filter((a) => !a.segmenter);

export function readInstance(p: InstancePaths): InstanceRecord | undefined {
  const file = path.join(p.maps, MAPS.l2_instance);
  if (!fs.existsSync(file)) return undefined;
  const map = BpfMap.openPinned(file);
  try {
    const raw = map.lookup(0);
    if (!raw || !map.btf) return undefined;
    const v = formatJson(map.btf, map.info.valueTypeId, raw[0]) as Record<string, unknown>;
    const count = Number(v.count);
    if (!count) return undefined; // never written: attach died before recording
    const rows = (v.att as Array<Record<string, unknown>>).slice(0, count).map((a): Attachment => {
      const flags = Number(a.flags);
      return {
        ifname: a.ifname as string, ifindex: Number(a.ifindex), mode: back(HOOK_ENUM, a.mode, 'native'),
        reason: a.reason as string, promiscWasOn: (flags & F.PROMISC) !== 0, segmenter: (flags & F.SEGMENTER) !== 0,
        forced: (flags & F.FORCED) !== 0,
      };
    });
    return {
      attachedAt: Number(v.attached_at), updatedAt: Number(v.updated_at), configHash: BigInt(v.config_hash as number),
      requested: back(REQ_ENUM, v.requested, 'auto'), netns: (v.netns as string) || undefined, attachments: rows,
    };
  } finally {
    map.close();
  }
}

export function writeInstance(map: BpfMap, r: InstanceRecord): void {
  const att = r.attachments.map((a) => ({
    ifindex: a.ifindex, mode: HOOK_ENUM[a.mode], ifname: a.ifname, reason: a.reason.slice(0, 63),
    flags: (a.promiscWasOn ? F.PROMISC : 0) | (a.segmenter ? F.SEGMENTER : 0) | (a.forced ? F.FORCED : 0),
  }));
  map.update(0, {
    attached_at: BigInt(r.attachedAt), updated_at: BigInt(r.updatedAt), config_hash: r.configHash,
    requested: REQ_ENUM[r.requested], count: att.length, netns: r.netns ?? '', att,
  });
}
