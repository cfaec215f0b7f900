// detach: unpin and detach our links (XDP and tcx), restore promiscuous
// mode, delete the segmenter pair, remove every pin and the instance
// folder. Works even when the namespace or the ports are gone already (then
// the kernel has dropped the attachment itself).
import fs from 'fs';
import { ovpnRecord } from '../openvpn/inspect';
import { inNetns, ifIndex, withLock, withLockAsync, netnsPath } from '../bpf/sys';
import { UsageError } from '../errors';
import { log } from '../log';
import { setPromisc } from '../net/iproute';
import { readInstance, wirePorts } from '../instance/record';
import { instancePaths, listInstances } from '../instance/paths';
import { requirePrivilege } from './privilege';
import { deleteSegmenter, segmenterNames } from './segmenter';
import { unpinLinks } from './hooks';
import { detachRouter } from '../router/attach';
import { readRouterRecord } from '../router/record';

export interface DetachResult { instance: string; ports: string[]; netns?: string; notes: string[] }

/** Which instances a detach request means: --name, the instance on these ports, or all. */
export function selectInstances(root: string, sel: { name?: string; ports?: string[]; netns?: string; all?: boolean }): string[] {
  const all = listInstances(root);
  if (sel.all) {
    // a running OpenVPN server is stopped by its signal, not detached under it
    return all.filter((n) => {
      const ov = ovpnRecord(instancePaths(root, n));
      if (ov?.alive) log.warn(`${n}: skipped, served by l2bpf openvpn (pid ${ov.pid}); stop it with kill -TERM ${ov.pid}`);
      return !ov?.alive;
    });
  }
  if (sel.name) {
    if (!all.includes(sel.name)) throw new UsageError(`no l2bpf instance named ${sel.name}`, all.length ? `attached: ${all.join(', ')}` : 'nothing is attached');
    return [sel.name];
  }
  if (sel.ports?.length) {
    const match = all.filter((n) => {
      const r = readInstance(instancePaths(root, n)), rr = readRouterRecord(instancePaths(root, n));
      if (rr) return rr.netns === sel.netns && sel.ports!.every((p) => rr.ports.some((x) => x.ifname === p));
      return r && r.netns === sel.netns && sel.ports!.every((p) => wirePorts(r).some((a) => a.ifname === p));
    });
    if (!match.length) throw new UsageError(`no l2bpf instance on ${sel.ports.join(' and ')}${sel.netns ? ` in namespace ${sel.netns}` : ''}`);
    return match;
  }
  throw new UsageError('detach needs two ports, --name NAME or --all');
}

export function detach(root: string, names: string[]): DetachResult[] {
  requirePrivilege('detach');
  if (!fs.existsSync(root)) return [];
  return withLock(root, () => names.map((n) => detachOne(root, n)));
}

/** detach for a long-running process: waits for the lock on timers. */
export async function detachAsync(root: string, names: string[]): Promise<DetachResult[]> {
  requirePrivilege('detach');
  if (!fs.existsSync(root)) return [];
  return withLockAsync(root, () => names.map((n) => detachOne(root, n)));
}

function detachOne(root: string, name: string): DetachResult {
  const p = instancePaths(root, name);
  const ov = ovpnRecord(p);
  if (ov) {
    // an OpenVPN server: its links and tun go with its process; what a killed one leaves is pins and the segmenter
    if (ov.alive) throw new UsageError(`instance ${name} is served by l2bpf openvpn (pid ${ov.pid})`, `stop it with: kill -TERM ${ov.pid}`);
    const nsAlive = !ov.netns || fs.existsSync(netnsPath(ov.netns));
    if (nsAlive) deleteSegmenter(ov.netns, segmenterNames(name));
    fs.rmSync(p.dir, { recursive: true, force: true });
    if (fs.existsSync(root) && fs.readdirSync(root).length === 0) fs.rmdirSync(root);
    return { instance: name, ports: [], netns: ov.netns, notes: [] };
  }
  const router = readRouterRecord(p);
  if (router) {
    const notes = detachRouter(p, router);
    if (fs.existsSync(root) && fs.readdirSync(root).length === 0) fs.rmdirSync(root);
    notes.forEach((n) => log.warn(n));
    return { instance: name, ports: router.ports.map((x) => x.ifname), netns: router.netns, notes };
  }
  const rec = readInstance(p);
  const notes: string[] = [];
  const nsAlive = !rec?.netns || fs.existsSync(netnsPath(rec.netns));
  const run = (fn: () => void) => (nsAlive ? inNetns(rec?.netns, fn) : fn());

  run(() => {
    unpinLinks(p.links);
    if (rec && nsAlive) {
      wirePorts(rec).forEach((a) => {
        if (a.promiscWasOn || !ifIndex(a.ifname)) return;
        try { setPromisc(rec.netns, a.ifname, false); } catch (e) { notes.push(`could not restore promisc on ${a.ifname}: ${(e as Error).message}`); }
      });
      if (rec.attachments.some((a) => a.segmenter)) deleteSegmenter(rec.netns, segmenterNames(name));
    }
  });
  fs.rmSync(p.dir, { recursive: true, force: true });
  if (fs.existsSync(root) && fs.readdirSync(root).length === 0) fs.rmdirSync(root);
  notes.forEach((n) => log.warn(n));
  return { instance: name, ports: rec ? wirePorts(rec).map((a) => a.ifname) : [], netns: rec?.netns, notes };
}
