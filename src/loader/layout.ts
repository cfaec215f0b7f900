// A pinned map is reused only when it has the layout the new object expects.
// libbpf would refuse a mismatch with an opaque "Invalid argument"; this names
// what differs (type, key/value size, max entries, the value's BTF) and what
// to do, before anything is loaded.
import fs from 'fs';
import path from 'path';
import { Btf } from '../btf';
import * as bpf from '../bpf/libbpf';
import { BpfMap } from '../bpf/maps';
import { MAP_TYPES } from '../bpf/info';
import { UsageError } from '../errors';

/** `struct l2_tunnel {remote@0:4, ..., name@16:32}`: what a value's bytes mean. */
export function shapeOf(btf: Btf, id: number): string {
  const t = btf.type(btf.resolve(id));
  if (t.kind !== 'struct' && t.kind !== 'union') return `${t.kind} ${'name' in t ? t.name : ''}`.trim();
  const members = t.members.map((m) => `${m.name}@${m.bitOffset >> 3}:${btf.sizeOf(m.type)}`);
  return `${t.kind} ${t.name} {${members.join(', ')}}`;
}

/** What differs between a pinned map and the object's definition of it ([] = reusable). */
export function layoutDiff(pinned: { type: number; keySize: number; valueSize: number; maxEntries: number; shape?: string },
  def: { type: number; keySize: number; valueSize: number; maxEntries: number; shape?: string }): string[] {
  const out: string[] = [];
  const typeName = (t: number) => MAP_TYPES[t] ?? `type ${t}`;
  if (pinned.type !== def.type) out.push(`type ${typeName(pinned.type)} -> ${typeName(def.type)}`);
  if (pinned.keySize !== def.keySize) out.push(`key size ${pinned.keySize} -> ${def.keySize}`);
  if (pinned.valueSize !== def.valueSize) out.push(`value size ${pinned.valueSize} -> ${def.valueSize}`);
  if (pinned.maxEntries !== def.maxEntries) out.push(`max entries ${pinned.maxEntries} -> ${def.maxEntries}`);
  if (pinned.shape && def.shape && pinned.shape !== def.shape) out.push(`BTF ${pinned.shape} -> ${def.shape}`);
  return out;
}

/** Throws a UsageError naming every pinned map of `mapsDir` the object cannot reuse. */
export function checkPinnedLayouts(obj: bpf.BpfObject, mapsDir: string, instance: string): void {
  const raw = bpf.objectBtfRaw(obj);
  const objBtf = raw ? Btf.parse(raw) : undefined;
  const problems: string[] = [];
  for (const name of bpf.mapNames(obj)) {
    const pin = path.join(mapsDir, name);
    if (!fs.existsSync(pin)) continue;
    const def = bpf.mapDef(obj, name);
    const m = BpfMap.openPinned(pin);
    try {
      const diff = layoutDiff(
        { ...m.info, shape: m.btf && m.info.valueTypeId ? shapeOf(m.btf, m.info.valueTypeId) : undefined },
        { ...def, shape: objBtf && def.valueTypeId ? shapeOf(objBtf, def.valueTypeId) : undefined });
      if (diff.length) problems.push(`${name}: ${diff.join('; ')}`);
    } finally {
      m.close();
    }
  }
  if (problems.length) {
    throw new UsageError(`the pinned maps of instance ${instance} have another layout than this build: ${problems.join(' | ')}`,
      `detach it first (l2bpf detach --name ${instance}), then attach: its maps start over`);
  }
}
