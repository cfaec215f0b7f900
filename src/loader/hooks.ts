// The hooks a row of the attachment table can use, behind one shape:
// which object and program serve it, where its link is pinned, how to
// link, swap and find what else is attached there. XDP (native, generic)
// and TC (tcx) links both pin, update atomically and detach on unpin.
import fs from 'fs';
import path from 'path';
import * as bpf from '../bpf/libbpf';
import { linkInfo, LinkInfo, progInfoById } from '../bpf/info';
import { BpfError, UsageError } from '../errors';
import { tcBpfFilters } from '../net/iproute';
import { Hook } from './modes';

export interface HookSpec { object: string; program: string; pinPrefix: string; label: string }
export const HOOKS: Record<Hook, HookSpec> = {
  native: { object: 'l2_xdp.bpf.o', program: 'l2_xdp_in', pinPrefix: 'xdp', label: 'XDP native' },
  generic: { object: 'l2_xdp.bpf.o', program: 'l2_xdp_in', pinPrefix: 'xdp', label: 'XDP generic' },
  tc: { object: 'l2_tc.bpf.o', program: 'l2_tc_in', pinPrefix: 'tcx', label: 'TC (tcx ingress)' },
};

export const XDP_ATTACHED = { NONE: 0, DRV: 1, SKB: 2, HW: 3, MULTI: 4 };
const xdpFlag = (h: Hook) => (h === 'native' ? bpf.XDP_FLAGS_DRV_MODE : bpf.XDP_FLAGS_SKB_MODE);

export function linkPinPath(linksDir: string, hook: Hook, ifname: string): string {
  return path.join(linksDir, `${HOOKS[hook].pinPrefix}_${ifname}`);
}

export type OurLink = LinkInfo & { fd: number; pin: string; prefix: string };
/** Our pinned link for a port (XDP or tcx), if there is one. */
export function ourLink(linksDir: string, ifname: string): OurLink | undefined {
  for (const prefix of ['xdp', 'tcx']) {
    const pin = path.join(linksDir, `${prefix}_${ifname}`);
    if (!fs.existsSync(pin)) continue;
    const fd = bpf.getPinned(pin);
    return { ...linkInfo(fd), fd, pin, prefix };
  }
  return undefined;
}

/** Links the program to the port's hook; returns the link fd. */
export function linkCreate(hook: Hook, progFd: number, ifindex: number, ifname: string, first = false): number {
  try {
    if (hook === 'tc') return bpf.tcxLinkCreate(progFd, ifindex, bpf.BPF_TCX_INGRESS, first ? bpf.BPF_F_BEFORE : 0);
    return bpf.xdpLinkCreate(progFd, ifindex, xdpFlag(hook));
  } catch (e) {
    if (e instanceof BpfError && hook === 'native' && (e.errno === 95 || e.errno === 22)) {
      throw new UsageError(`port ${ifname} does not support native XDP (${e.reason})`, 'try --mode tc (or auto)');
    }
    if (e instanceof BpfError && hook === 'tc' && e.errno === 22) {
      throw new UsageError(`port ${ifname}: this kernel has no tcx links (Linux 6.6+)`, 'use --mode native or generic');
    }
    throw e;
  }
}

export function linkIdOf(fd: number): number {
  return bpf.objInfo(fd, 24).readUInt32LE(4);
}

export interface Foreign { kind: 'xdp' | 'tcx' | 'tc'; progId: number; name: string; mode?: number; detail: string }

/** Programs on the port that are not ours (ours = program ids our links run). */
export function foreignPrograms(ifindex: number, ifname: string, netns: string | undefined, ours: number[]): Foreign[] {
  const found: Foreign[] = [];
  const name = (id: number) => progInfoById(id)?.name ?? '?';
  const q = bpf.xdpQuery(ifindex);
  for (const [id, mode] of [[q.drvProgId, XDP_ATTACHED.DRV], [q.skbProgId, XDP_ATTACHED.SKB], [q.hwProgId, XDP_ATTACHED.HW]]) {
    if (id && !ours.includes(id)) found.push({ kind: 'xdp', progId: id, name: name(id), mode, detail: `XDP program ${name(id)} (id ${id})` });
  }
  for (const [type, dir] of [[bpf.BPF_TCX_INGRESS, 'ingress'], [bpf.BPF_TCX_EGRESS, 'egress']] as const) {
    for (const id of bpf.progQuery(ifindex, type)) {
      if (!ours.includes(id)) found.push({ kind: 'tcx', progId: id, name: name(id), detail: `tcx ${dir} program ${name(id)} (id ${id})` });
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
    'detach it first, or pass --force to replace an XDP program (TC programs are left in place, ours runs first)',
  );
}

/** Removes a foreign XDP program (--force); returns how to put it back. */
export function removeForeignXdp(ifindex: number, ifname: string, x: Foreign): () => void {
  const flags = x.mode === XDP_ATTACHED.SKB ? bpf.XDP_FLAGS_SKB_MODE : bpf.XDP_FLAGS_DRV_MODE;
  const keep = bpf.progFdById(x.progId);
  try {
    bpf.xdpDetachLegacy(ifindex, flags);
  } catch (e) {
    bpf.closeFd(keep);
    if (e instanceof BpfError && e.errno === 16) {
      throw new UsageError(`port ${ifname}: XDP program ${x.name} (id ${x.progId}) is held by a bpf_link; --force cannot remove it`, 'detach it with the tool that attached it');
    }
    throw e;
  }
  return () => { try { bpf.xdpAttachLegacy(ifindex, keep, flags); } finally { bpf.closeFd(keep); } };
}

/** Every pinned link in the folder detached and unpinned (one whose port is gone is defunct already). */
export function unpinLinks(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const f of fs.readdirSync(dir)) {
    const pin = `${dir}/${f}`;
    const fd = bpf.getPinned(pin);
    try { bpf.linkDetach(fd); } catch { /* already defunct: port gone */ }
    bpf.closeFd(fd);
    fs.unlinkSync(pin);
  }
}
