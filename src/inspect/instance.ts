// Read-only views of an attached instance: which one the user means, its
// record, and interface names resolved in its namespace.
import fs from 'fs';
import { ifName, inNetns, netnsPath } from '../bpf/sys';
import { UsageError } from '../errors';
import { InstanceRecord, readInstance } from '../instance/record';
import { instancePaths, InstancePaths, listInstances } from '../instance/paths';
import { ovpnRecord } from '../openvpn/inspect';
import { readRouterRecord } from '../router/record';

export interface Opened { name: string; paths: InstancePaths; record?: InstanceRecord; ifname: (i: number) => string | undefined }

/** --name, or the only instance there is. */
export function pickInstance(root: string, name?: string): string {
  const all = listInstances(root);
  if (name) {
    if (!all.includes(name)) throw new UsageError(`no l2bpf instance named ${name}`, all.length ? `attached: ${all.join(', ')}` : 'nothing is attached');
    return name;
  }
  if (all.length === 1) return all[0];
  if (!all.length) throw new UsageError('no l2bpf instance is attached', 'attach one: l2bpf attach PORT1 PORT2');
  throw new UsageError(`several instances are attached (${all.join(', ')})`, 'choose one with --name');
}

export function openInstance(root: string, name: string): Opened {
  const paths = instancePaths(root, name);
  const record = readInstance(paths);
  const netns = record?.netns ?? ovpnRecord(paths)?.netns ?? readRouterRecord(paths)?.netns;
  const cache = new Map<number, string | undefined>();
  const nsOk = !netns || fs.existsSync(netnsPath(netns));
  const ifname = (i: number) => {
    if (!cache.has(i)) cache.set(i, nsOk ? inNetns(netns, () => ifName(i)) : undefined);
    return cache.get(i);
  };
  return { name, paths, record, ifname };
}
