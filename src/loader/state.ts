// Writes the control plane's desired state into the loaded maps in place,
// through the one diff (src/control/diff.ts) over the encoded bytes: equal
// entries are left alone, upserts go first, then deletes, so forwarding
// never sees a gap on re-attach.
import * as bpf from '../bpf/libbpf';
import { BpfMap } from '../bpf/maps';
import { DesiredState, diff } from '../control';
import { log } from '../log';

const hex = (b: Buffer) => b.toString('hex');

/** Any map-name -> entries set: the wire's DesiredState, the router's plan. */
export function applyState(obj: bpf.BpfObject, desired: Pick<DesiredState, 'maps'> | { maps: Record<string, Array<{ key: unknown; value: unknown }>> }): void {
  for (const [name, entries] of Object.entries(desired.maps)) {
    const map = BpfMap.fromFd(bpf.mapFd(obj, name), name); // fd owned by the object
    const want = (entries as Array<{ key: never; value: never }>).map((e) => ({ key: hex(map.encodeKey(e.key)), value: hex(map.encodeVal(e.value)) }));
    const have = [...map.entries()].map((e) => ({ key: hex(e.key), value: hex(e.values[0]) }));
    const d = diff(have, want);
    for (const u of d.upserts) map.update(Buffer.from(u.key, 'hex'), Buffer.from(u.value, 'hex'));
    const array = map.info.type === 2; // every slot always exists: nothing to delete
    if (!array) for (const k of d.deletes) map.delete(Buffer.from(k, 'hex'));
    log.debug(`${name}: ${d.upserts.length} written, ${array ? 0 : d.deletes.length} removed, ${want.length - d.upserts.length} unchanged`);
  }
}

/** max_entries the pinned flow cache has, or undefined when there is none. */
export function pinnedMaxEntries(path: string): number | undefined {
  try {
    const m = BpfMap.openPinned(path);
    try { return m.info.maxEntries; } finally { m.close(); }
  } catch {
    return undefined;
  }
}
