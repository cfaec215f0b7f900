// Writes the control plane's desired state into the loaded maps in place:
// upserts first, then deletes what is no longer wanted, so forwarding never
// sees a gap on re-attach.
import * as bpf from '../bpf/libbpf';
import { BpfMap } from '../bpf/maps';
import { DesiredState } from '../control';
import { log } from '../log';

export function applyState(obj: bpf.BpfObject, desired: DesiredState): void {
  for (const [name, entries] of Object.entries(desired.maps)) {
    const map = BpfMap.fromFd(bpf.mapFd(obj, name), name); // fd owned by the object
    const keep = new Set<string>();
    for (const e of entries as Array<{ key: never; value: never }>) {
      const key = map.encodeKey(e.key);
      keep.add(key.toString('hex'));
      map.update(key, e.value);
    }
    if (map.info.type === 2 /* array: every slot always exists */) continue;
    let removed = 0;
    for (const e of [...map.entries()]) {
      if (!keep.has(e.key.toString('hex')) && map.delete(e.key)) removed++;
    }
    log.debug(`${name}: ${entries.length} entries written, ${removed} removed`);
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
