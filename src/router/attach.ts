// attach / detach of a routing instance (`role: router`): one program
// (bpf/router_tc.bpf.c) on tcx ingress of every port, its maps pinned in
// the instance folder and written from the config, the ports' sysctls set
// for routing. Every step pushes its undo: a failure rolls back all this
// run did. Re-running with the same ports updates the maps in place and
// swaps the program through the pinned links (no gap).
import fs from 'fs';
import path from 'path';
import * as bpf from '../bpf/libbpf';
import { BpfMap } from '../bpf/maps';
import { ifIndex, inNetns, withLock, withLockAsync, netnsPath } from '../bpf/sys';
import { AttachError, UsageError } from '../errors';
import { ConfigError } from '../config';
import { log } from '../log';
import { firstIpv4 } from '../net/iproute';
import { ensureBpffs, instancePaths, InstancePaths, listInstances, objectPath } from '../instance/paths';
import { readInstance, wirePorts } from '../instance/record';
import { foreignPrograms, linkPinPath, ourLink, refuseForeign, unpinLinks } from '../loader/hooks';
import { requirePrivilege } from '../loader/privilege';
import { applyState, pinnedMaxEntries } from '../loader/state';
import { UndoStack } from '../loader/undo';
import { failpoint } from '../loader/failpoint';
import { MAPS } from '../generated/bpf';
import { RouterConfig } from './config';
import { planRouter, PortFact } from './plan';
import { readRouterRecord, RouterPortRecord, writeRouterRecord } from './record';
import { applySysctls, restoreSysctls } from './sysctl';

export const ROUTER_OBJECT = 'router_tc.bpf.o';
export const ROUTER_PROGRAM = 'rt_tc_in';

export interface RouterAttachRequest { config: RouterConfig; name: string; netns?: string; configHash: bigint; pinRoot: string; force: boolean }
export interface RouterPortResult { name: string; ifindex: number; addr4?: string; linkId: number; progId: number; changed: string[] }
export interface RouterAttachResult {
  instance: string; role: 'router'; action: 'attached' | 'updated'; netns?: string; ports: RouterPortResult[];
  conntrack: number; nat: { snat: number; dnat: number }; policy: number; markIif: boolean; pinDir: string; warnings: string[];
}

function attachChecks(req: RouterAttachRequest): void {
  requirePrivilege('attach', req.netns);
  if (req.netns && !fs.existsSync(netnsPath(req.netns))) throw new UsageError(`network namespace ${req.netns} does not exist`, 'check the name with: ip netns list');
  ensureBpffs(req.pinRoot);
}

/** attach for a long-running process: the pin-folder lock is waited for on timers. */
export async function attachRouterAsync(req: RouterAttachRequest): Promise<RouterAttachResult> {
  attachChecks(req);
  return withLockAsync(req.pinRoot, () => inNetns(req.netns, () => attachLocked(req)));
}

export function attachRouter(req: RouterAttachRequest): RouterAttachResult {
  attachChecks(req);
  return withLock(req.pinRoot, () => inNetns(req.netns, () => attachLocked(req)));
}

function attachLocked(req: RouterAttachRequest): RouterAttachResult {
  const p = instancePaths(req.pinRoot, req.name);
  const existing = readRouterRecord(p);
  checkOwnership(req, p, existing?.ports.map((x) => x.ifname), existing?.netns);
  const where = req.netns ? ` in network namespace ${req.netns}` : '';
  const facts: PortFact[] = req.config.ports.map((name, i) => {
    const ifindex = ifIndex(name);
    if (!ifindex) throw new ConfigError({ field: `ports[${i}]` }, `port ${name} does not exist${where}`);
    return { name, ifindex, addr4: firstIpv4(req.netns, name) };
  });
  const plan = planRouter(req.config, facts);
  const warnings: string[] = [];
  for (const n of plan.masqueradeOut) {
    if (!facts.find((f) => f.name === n)!.addr4) warnings.push(`${n} has no IPv4 address: masquerade out of it drops (counted); re-run attach once it has one`);
  }
  warnings.forEach((w) => log.warn(w));

  const undo = new UndoStack();
  const held: number[] = [];
  let obj: bpf.BpfObject | undefined;
  try {
    if (!fs.existsSync(p.dir)) undo.push(`remove ${p.dir}`, () => fs.rmSync(p.dir, { recursive: true, force: true }));
    for (const d of [p.maps, p.progs, p.links]) fs.mkdirSync(d, { recursive: true });

    // objects: a new table size starts the connections over (the old table is kept for a rollback)
    const connsPin = path.join(p.maps, MAPS.rt_conns);
    const oldSize = pinnedMaxEntries(connsPin);
    if (oldSize !== undefined && oldSize !== plan.conntrackSize) {
      log.warn(`connection table resized ${oldSize} -> ${plan.conntrackSize}: connections start over`);
      const oldFd = bpf.getPinned(connsPin);
      held.push(oldFd);
      fs.unlinkSync(connsPin);
      undo.push(`keep the connection table of ${oldSize}`, () => { fs.rmSync(connsPin, { force: true }); bpf.pin(oldFd, connsPin); });
    }
    const before = new Set(fs.readdirSync(p.maps));
    obj = bpf.openObject(objectPath(ROUTER_OBJECT), p.maps);
    bpf.setMaxEntries(obj, MAPS.rt_conns, plan.conntrackSize);
    bpf.loadObject(obj);
    const made = fs.readdirSync(p.maps).filter((m) => !before.has(m));
    undo.push('unpin new maps', () => made.forEach((m) => fs.rmSync(path.join(p.maps, m), { force: true })));
    const progFd = bpf.programFd(obj, ROUTER_PROGRAM);

    // foreign programs on the ports are refused (ours run alone on a router's ports)
    for (const f of facts) {
      const l = ourLink(p.links, f.name);
      if (l) held.push(l.fd);
      const ours = l ? [l.progId] : [];
      const foreign = foreignPrograms(f.ifindex, f.name, req.netns, ours);
      if (foreign.length && !req.force) refuseForeign(f.name, foreign);
    }

    // maps and sysctls: mark_iif on needs accept_local before the flag, off the flag gone before it
    const maps = () => {
      // the config's entries, in place (equal entries untouched); a rollback writes the old ones back
      const snapshot = Object.keys(plan.maps).map((name) => {
        const m = BpfMap.fromFd(bpf.mapFd(obj!, name), name);
        return { m, old: [...m.entries()].map((e) => ({ key: e.key, value: e.values[0] })) };
      });
      undo.push('restore the maps as they were', () => {
        for (const { m, old } of snapshot) {
          const keep = new Set(old.map((e) => e.key.toString('hex')));
          if (m.info.type !== 2) for (const k of [...bpf.mapKeys(m.fd, m.info.keySize)]) if (!keep.has(k.toString('hex'))) m.delete(k);
          for (const e of old) m.update(e.key, e.value);
        }
      });
      applyState(obj!, plan);
      failpoint('router-after-maps');
    };
    // sysctls: what routing needs on each port, recorded so detach puts it back
    const sysctls = () => facts.map((f): RouterPortRecord => {
      const was = existing?.ports.find((x) => x.ifname === f.name);
      const { now, undo: back } = applySysctls(f.name, Boolean(req.config.mark_iif), was);
      undo.push(`restore sysctls of ${f.name}`, back);
      return { ifname: f.name, ifindex: f.ifindex, ...now };
    });
    let ports: RouterPortRecord[];
    if (req.config.mark_iif) { ports = sysctls(); failpoint('router-after-sysctl'); maps(); } else { maps(); ports = sysctls(); failpoint('router-after-sysctl'); }

    // links: swap in place where pinned, else a new tcx ingress link
    facts.forEach((f, i) => {
      const pin = linkPinPath(p.links, 'tc', f.name);
      const l = ourLink(p.links, f.name);
      if (l) {
        held.push(l.fd);
        const oldProg = bpf.progFdById(l.progId);
        held.push(oldProg);
        bpf.linkUpdate(l.fd, progFd);
        undo.push(`restore previous program on ${f.name}`, () => bpf.linkUpdate(l.fd, oldProg));
      } else {
        const link = bpf.tcxLinkCreate(progFd, f.ifindex, bpf.BPF_TCX_INGRESS, 0);
        held.push(link);
        bpf.pin(link, pin);
        undo.push(`detach tcx from ${f.name}`, () => { fs.rmSync(pin, { force: true }); bpf.linkDetach(link); });
      }
      failpoint(`router-after-link-${i}`);
    });

    const progPin = path.join(p.progs, ROUTER_PROGRAM);
    if (fs.existsSync(progPin)) {
      const oldProg = bpf.getPinned(progPin);
      held.push(oldProg);
      fs.unlinkSync(progPin);
      undo.push('keep the previous program pinned', () => { fs.rmSync(progPin, { force: true }); bpf.pin(oldProg, progPin); });
    }
    bpf.pin(progFd, progPin);
    undo.push('unpin the new program', () => fs.rmSync(progPin, { force: true }));
    const now = Math.floor(Date.now() / 1000);
    const record = BpfMap.fromFd(bpf.mapFd(obj, MAPS.rt_instance), MAPS.rt_instance);
    if (existing) undo.push('restore the instance record', () => writeRouterRecord(record, existing));
    writeRouterRecord(record, { attachedAt: existing?.attachedAt ?? now, updatedAt: now, configHash: req.configHash, netns: req.netns, ports });
    failpoint('router-after-record');
    undo.commit();

    const snat = (req.config.nat ?? []).filter((r) => r.snat !== undefined).length;
    return {
      instance: req.name, role: 'router', action: existing ? 'updated' : 'attached', netns: req.netns, pinDir: p.dir, warnings,
      conntrack: plan.conntrackSize, nat: { snat, dnat: (req.config.nat ?? []).length - snat }, policy: (req.config.policy ?? []).length,
      markIif: Boolean(req.config.mark_iif),
      ports: facts.map((f) => {
        const l = ourLink(p.links, f.name)!;
        held.push(l.fd);
        const r = ports.find((x) => x.ifname === f.name)!;
        const changed = [r.forwardingSet ? 'forwarding' : '', r.acceptLocalSet ? 'accept_local' : '', r.rpFilterWas >= 0 ? 'rp_filter 2' : ''].filter(Boolean);
        return { name: f.name, ifindex: f.ifindex, addr4: f.addr4, linkId: l.id, progId: l.progId, changed };
      }),
    };
  } catch (e) {
    const failed = undo.rollback();
    if (e instanceof UsageError || e instanceof ConfigError) throw e;
    const msg = `attach ${req.name} failed: ${(e as Error).message}; rolled back`;
    throw new AttachError(failed.length ? `${msg} except: ${failed.join('; ')}` : msg, e);
  } finally {
    held.forEach((fd) => bpf.closeFd(fd));
    if (obj) bpf.closeObject(obj);
  }
}

/** The name must not be a wire's, nor other ports than its own; no port may belong to another instance. */
function checkOwnership(req: RouterAttachRequest, p: InstancePaths, own: string[] | undefined, existingNetns?: string): void {
  const where = req.netns ? ` in namespace ${req.netns}` : '';
  if (!own && fs.existsSync(p.maps) && fs.readdirSync(p.maps).length) {
    throw new UsageError(`instance ${req.name} exists and is not a router`, `detach it first (l2bpf detach --name ${req.name}) or pick another --name`);
  }
  if (own && existingNetns !== req.netns) {
    throw new UsageError(`instance ${req.name} is attached in ${existingNetns ? `namespace ${existingNetns}` : 'this namespace'}`, `detach it first (l2bpf detach --name ${req.name}) or pick another --name`);
  }
  if (own && own.join() !== req.config.ports.join()) {
    throw new UsageError(`instance ${req.name} routes between ${own.join(', ')}: a change of ports needs a detach first`, `l2bpf detach --name ${req.name}, then attach again`);
  }
  for (const other of listInstances(req.pinRoot)) {
    if (other === req.name) continue;
    const op = instancePaths(req.pinRoot, other);
    const wire = readInstance(op), router = readRouterRecord(op);
    const theirs = [...(wire && wire.netns === req.netns ? wirePorts(wire).map((a) => a.ifname) : []), ...(router && router.netns === req.netns ? router.ports.map((x) => x.ifname) : [])];
    const taken = req.config.ports.find((n) => theirs.includes(n));
    if (taken) throw new UsageError(`port ${taken}${where} already belongs to l2bpf instance ${other}`, `detach it first: l2bpf detach --name ${other}`);
  }
}

/** detach: links unpinned (the kernel detaches them), sysctls put back, the folder removed. */
export function detachRouter(p: InstancePaths, rec: { netns?: string; ports: RouterPortRecord[] }): string[] {
  const notes: string[] = [];
  const nsAlive = !rec.netns || fs.existsSync(netnsPath(rec.netns));
  const run = (fn: () => void) => (nsAlive ? inNetns(rec.netns, fn) : fn());
  run(() => {
    unpinLinks(p.links);
    if (!nsAlive) return;
    for (const x of rec.ports) {
      if (ifIndex(x.ifname) !== x.ifindex) continue; // gone or re-created: nothing of ours left on it
      try { restoreSysctls(x.ifname, x); } catch (e) { notes.push(`could not restore sysctls of ${x.ifname}: ${(e as Error).message}`); }
    }
  });
  fs.rmSync(p.dir, { recursive: true, force: true });
  return notes;
}
