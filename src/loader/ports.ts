// Facts about the two ports: do they exist, what else is attached to them,
// and which of our pinned links serve them. All calls expect to run inside
// the instance's network namespace (see inNetns).
import fs from 'fs';
import path from 'path';
import * as bpf from '../bpf/libbpf';
import { linkInfo, LinkInfo, progInfoById } from '../bpf/info';
import { ifIndex } from '../bpf/sys';
import { UsageError } from '../errors';
import { tcBpfFilters } from '../net/iproute';

export const XDP_ATTACHED = { NONE: 0, DRV: 1, SKB: 2, HW: 3, MULTI: 4 };

export function resolvePorts(names: [string, string], netns?: string): [number, number] {
  if (names[0] === names[1]) {
    throw new UsageError(`both ports are ${names[0]}: a wire needs two different ports`);
  }
  const where = netns ? ` in network namespace ${netns}` : '';
  const idx = names.map((n) => {
    const i = ifIndex(n);
    if (!i) throw new UsageError(`port ${n} does not exist${where}`, `check the name with: ip ${netns ? `-n ${netns} ` : ''}link`);
    return i;
  });
  return [idx[0], idx[1]];
}

export function linkPinPath(linksDir: string, ifname: string): string {
  return path.join(linksDir, `xdp_${ifname}`);
}

/** Our pinned XDP link for a port, if it exists and still serves that ifindex. */
export function ourLink(linksDir: string, ifname: string): (LinkInfo & { fd: number; pin: string }) | undefined {
  const pin = linkPinPath(linksDir, ifname);
  if (!fs.existsSync(pin)) return undefined;
  const fd = bpf.getPinned(pin);
  return { ...linkInfo(fd), fd, pin };
}

export interface Foreign { kind: 'xdp' | 'tc'; progId: number; name: string; mode?: number; detail: string }

/** Programs on the port that are not ours (ourProgId = the program our link runs). */
export function foreignPrograms(ifindex: number, ifname: string, netns: string | undefined, ourProgId: number): Foreign[] {
  const found: Foreign[] = [];
  const q = bpf.xdpQuery(ifindex);
  for (const [id, mode] of [[q.drvProgId, XDP_ATTACHED.DRV], [q.skbProgId, XDP_ATTACHED.SKB], [q.hwProgId, XDP_ATTACHED.HW]]) {
    if (id && id !== ourProgId) {
      const name = progInfoById(id)?.name ?? '?';
      found.push({ kind: 'xdp', progId: id, name, mode, detail: `XDP program ${name} (id ${id})` });
    }
  }
  for (const t of tcBpfFilters(netns, ifname)) {
    found.push({ kind: 'tc', progId: t.progId, name: t.name, detail: `TC ${t.direction} program ${t.name} (id ${t.progId})` });
  }
  return found;
}

export function refuseForeign(ifname: string, foreign: Foreign[]): never {
  throw new UsageError(
    `port ${ifname} already carries ${foreign.map((f) => f.detail).join(' and ')} that is not l2bpf's`,
    'detach it first, or pass --force to replace an XDP program (TC filters are left in place)',
  );
}
