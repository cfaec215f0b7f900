// attach: resolve -> lock -> check -> load -> fill maps -> link -> promisc ->
// record. Every step that changes the system pushes its undo; a failure rolls
// back everything this run did. Re-running on the same ports swaps programs
// through the pinned links (no gap) and updates maps in place; an unchanged
// config and program is a no-op.
import fs from 'fs';
import path from 'path';
import * as bpf from '../bpf/libbpf';
import { progInfo, progInfoById } from '../bpf/info';
import { BpfMap } from '../bpf/maps';
import { inNetns, lockDir } from '../bpf/sys';
import { AttachError, BpfError, UsageError } from '../errors';
import { log } from '../log';
import { isPromisc, linkShow, LinkState, setPromisc } from '../net/iproute';
import { InstanceRecord, Mode, readInstance, writeInstance } from './instance';
import { ensureBpffs, instancePaths, InstancePaths, listInstances, objectPath } from './paths';
import { foreignPrograms, linkPinPath, ourLink, refuseForeign, resolvePorts, XDP_ATTACHED } from './ports';
import { requirePrivilege } from './privilege';
import { UndoStack } from './undo';
import { failpoint } from './failpoint';
import { applyState, pinnedMaxEntries } from './state';
import { desiredState } from '../control';
import { EffectiveConfig } from '../config';

export interface AttachRequest {
  ports: [string, string];
  config: EffectiveConfig;
  netns?: string;
  mode: Mode;
  name: string;
  force: boolean;
  configHash: bigint;
  pinRoot: string;
}
export interface AttachResult {
  instance: string;
  action: 'attached' | 'updated' | 'unchanged';
  mode: Mode;
  netns?: string;
  ports: Array<{ name: string; ifindex: number; linkId: number; progId: number }>;
  pinDir: string;
}

const OBJECT = 'l2_xdp.bpf.o';
const PROGRAM = 'l2_wire';
const DEVMAP = 'l2_tx_ports'; // pinned here, see maps/l2bpf_maps.bpf.h
const modeFlag = (m: Mode) => (m === 'native' ? bpf.XDP_FLAGS_DRV_MODE : bpf.XDP_FLAGS_SKB_MODE);

export function attach(req: AttachRequest): AttachResult {
  requirePrivilege('attach', req.netns);
  if (req.ports[0] === req.ports[1]) resolvePorts(req.ports); // throws the same-port error first
  ensureBpffs(req.pinRoot);
  const lock = lockDir(req.pinRoot);
  try {
    return inNetns(req.netns, () => attachLocked(req));
  } finally {
    fs.closeSync(lock);
  }
}

function attachLocked(req: AttachRequest): AttachResult {
  const p = instancePaths(req.pinRoot, req.name);
  const ifindex = resolvePorts(req.ports, req.netns);
  const existing = readInstance(p);
  checkOwnership(req, p, existing);

  const undo = new UndoStack();
  const fresh = !fs.existsSync(p.dir);
  if (fresh) undo.push(`remove ${p.dir}`, () => fs.rmSync(p.dir, { recursive: true, force: true }));
  for (const d of [p.maps, p.progs, p.links]) fs.mkdirSync(d, { recursive: true });

  let obj: bpf.BpfObject | undefined;
  const held: number[] = [];
  try {
    const portLinks = req.ports.map((n) => linkShow(req.netns, n));
    const desired = desiredState(req.config, Math.min(...portLinks.map((l) => l.mtu)));
    if (req.mode === 'generic' && desired.tunnels.some((t) => t.value.remote)) {
      // Generic XDP runs after GRO: a merged TCP super-packet bigger than the
      // tunnel MTU is answered with frag-needed instead of being carried.
      log.warn('generic mode sees frames after GRO: with tunnels, use native mode or turn GRO off on the ports');
    }
    obj = bpf.openObject(objectPath(OBJECT), p.maps);
    bpf.setMaxEntries(obj, 'l2_flows', desired.flowsSize);
    const flowsPin = path.join(p.maps, 'l2_flows');
    const oldFlows = pinnedMaxEntries(flowsPin);
    if (oldFlows !== undefined && oldFlows !== desired.flowsSize) {
      log.warn(`flow cache resized ${oldFlows} -> ${desired.flowsSize}: learned flows start over`);
      fs.unlinkSync(flowsPin);
    }
    const devmapPin = path.join(p.maps, DEVMAP);
    const pinnedDevmap = fs.existsSync(devmapPin) ? bpf.getPinned(devmapPin) : -1;
    if (pinnedDevmap >= 0) { held.push(pinnedDevmap); bpf.reuseMapFd(obj, DEVMAP, pinnedDevmap); }
    bpf.loadObject(obj); // creates and pins the maps, or reuses the pinned ones
    if (pinnedDevmap < 0) bpf.pin(bpf.mapFd(obj, DEVMAP), devmapPin);
    const progFd = bpf.programFd(obj, PROGRAM);
    const prog = progInfo(progFd);

    const links = req.ports.map((n) => ourLink(p.links, n));
    links.forEach((l) => l && held.push(l.fd));
    links.forEach((l, i) => {
      if (l && l.ifindex !== ifindex[i]) { // port was re-created: the old link is dead
        fs.unlinkSync(l.pin);
        links[i] = undefined;
      }
    });
    const progOfLinks = links.map((l) => (l ? progInfoById(l.progId) : undefined));
    const unchanged = existing !== undefined && existing.configHash === req.configHash && existing.mode === req.mode
      && links.every((l, i) => l && progOfLinks[i]?.tag === prog.tag);
    if (unchanged) {
      log.info(`instance ${req.name}: unchanged (same config and program), nothing to do`);
      return result(req, p, 'unchanged', ifindex, links.map((l) => ({ linkId: l!.id, progId: l!.progId })));
    }

    for (let i = 0; i < 2; i++) {
      const f = foreignPrograms(ifindex[i], req.ports[i], req.netns, links[i]?.progId ?? 0);
      if (f.length && !req.force) refuseForeign(req.ports[i], f);
      for (const x of f.filter((y) => y.kind === 'xdp')) removeForeignXdp(ifindex[i], req.ports[i], x, undo);
      f.filter((y) => y.kind === 'tc').forEach((x) => log.warn(`${req.ports[i]}: leaving ${x.detail} in place (--force)`));
    }

    fillMaps(obj, ifindex, portLinks);
    applyState(obj, desired);

    const linked: Array<{ linkId: number; progId: number }> = [];
    for (let i = 0; i < 2; i++) {
      linked.push(linkPort(req, p, i, ifindex[i], progFd, links[i], existing?.mode, undo, held));
      failpoint(`after-link-${i}`);
    }

    const promiscWasOn = existing?.promiscWasOn ?? [false, false];
    for (let i = 0; i < 2; i++) {
      const n = req.ports[i];
      if (!isPromisc(req.netns, n)) {
        setPromisc(req.netns, n, true);
        undo.push(`promisc off on ${n}`, () => setPromisc(req.netns, n, false));
      } else if (!existing) {
        promiscWasOn[i] = true;
      }
    }

    failpoint('after-promisc');
    const progPin = path.join(p.progs, PROGRAM);
    if (fs.existsSync(progPin)) fs.unlinkSync(progPin); // points at the replaced program
    bpf.pin(progFd, progPin);

    const now = Math.floor(Date.now() / 1000);
    const record: InstanceRecord = {
      attachedAt: existing?.attachedAt ?? now, updatedAt: now, configHash: req.configHash,
      ports: ifindex, ifnames: req.ports, mode: req.mode, promiscWasOn: promiscWasOn as [boolean, boolean], netns: req.netns,
    };
    const inst = BpfMap.fromFd(bpf.mapFd(obj, 'l2_instance'), 'l2_instance');
    writeInstance(inst, record); // fd owned by the object
    failpoint('after-record');

    undo.commit();
    return result(req, p, existing ? 'updated' : 'attached', ifindex, linked);
  } catch (e) {
    const failed = undo.rollback();
    if (e instanceof UsageError) throw e;
    const msg = `attach ${req.name} failed: ${(e as Error).message}; rolled back`;
    throw new AttachError(failed.length ? `${msg} except: ${failed.join('; ')}` : msg, e);
  } finally {
    held.forEach((fd) => bpf.closeFd(fd));
    if (obj) bpf.closeObject(obj); // pinned links keep the program alive
  }
}

/** The instance name must not be attached elsewhere, nor the ports taken by another instance. */
function checkOwnership(req: AttachRequest, p: InstancePaths, existing: InstanceRecord | undefined): void {
  const where = (ns?: string) => (ns ? ` in namespace ${ns}` : '');
  if (existing && (existing.netns !== req.netns || existing.ifnames.join() !== req.ports.join())) {
    throw new UsageError(
      `instance ${req.name} is already attached to ${existing.ifnames.join(' and ')}${where(existing.netns)}`,
      `detach it first (l2bpf detach --name ${req.name}) or pick another --name`,
    );
  }
  for (const other of listInstances(req.pinRoot)) {
    if (other === req.name) continue;
    const rec = readInstance(instancePaths(req.pinRoot, other));
    if (!rec || rec.netns !== req.netns) continue;
    const taken = req.ports.find((n) => rec.ifnames.includes(n));
    if (taken) throw new UsageError(`port ${taken}${where(req.netns)} already belongs to l2bpf instance ${other}`, `detach it first: l2bpf detach --name ${other}`);
  }
  void p;
}

function removeForeignXdp(ifindex: number, ifname: string, x: { progId: number; name: string; mode?: number }, undo: UndoStack): void {
  const flags = x.mode === XDP_ATTACHED.SKB ? bpf.XDP_FLAGS_SKB_MODE : bpf.XDP_FLAGS_DRV_MODE;
  const keep = bpf.progFdById(x.progId); // to put it back on rollback
  try {
    bpf.xdpDetachLegacy(ifindex, flags);
  } catch (e) {
    bpf.closeFd(keep);
    if (e instanceof BpfError && e.errno === 16) {
      throw new UsageError(`port ${ifname}: XDP program ${x.name} (id ${x.progId}) is held by a bpf_link; --force cannot remove it`, 'detach it with the tool that attached it');
    }
    throw e;
  }
  log.warn(`${ifname}: removed XDP program ${x.name} (id ${x.progId}) (--force)`);
  undo.push(`restore XDP program ${x.name} on ${ifname}`, () => {
    try { bpf.xdpAttachLegacy(ifindex, keep, flags); } finally { bpf.closeFd(keep); }
  });
}

/** Port i forwards to the other port, in the devmap (fast path) and its readable twin. */
function fillMaps(obj: bpf.BpfObject, ifindex: [number, number], links: LinkState[]): void {
  const tx = bpf.mapFd(obj, DEVMAP);
  const ports = BpfMap.fromFd(bpf.mapFd(obj, 'l2_ports'), 'l2_ports');
  const stats = BpfMap.fromFd(bpf.mapFd(obj, 'l2_port_stats'), 'l2_port_stats');
  for (let i = 0; i < 2; i++) {
    const [me, peer] = [ifindex[i], ifindex[1 - i]];
    // struct bpf_devmap_val {u32 ifindex; u32 prog fd}: a kernel type, and
    // devmaps cannot carry BTF, so this one is written by hand.
    const key = Buffer.alloc(4); key.writeUInt32LE(me);
    const val = Buffer.alloc(8); val.writeUInt32LE(peer);
    bpf.mapUpdate(tx, key, val);
    ports.update(me, { peer, slot: i, mac: links[i].address, mtu: links[i].mtu });
    if (!stats.lookup(me)) stats.update(me, Buffer.alloc(stats.info.valueSize)); // counted from now on
  }
}

function linkPort(
  req: AttachRequest, p: InstancePaths, i: number, ifindex: number, progFd: number,
  link: ReturnType<typeof ourLink>, oldMode: Mode | undefined, undo: UndoStack, held: number[],
): { linkId: number; progId: number } {
  const name = req.ports[i];
  const newProgId = progInfo(progFd).id;
  if (link && oldMode === req.mode) {
    // Atomic swap: frames keep flowing through one program or the other.
    const oldProg = bpf.progFdById(link.progId);
    held.push(oldProg);
    bpf.linkUpdate(link.fd, progFd);
    undo.push(`restore previous program on ${name}`, () => bpf.linkUpdate(link.fd, oldProg));
    return { linkId: link.id, progId: newProgId };
  }
  if (link) {
    // native <-> generic cannot be swapped in place: re-link (brief gap).
    log.info(`${name}: switching XDP mode ${oldMode} -> ${req.mode} (re-attaching; brief interruption)`);
    const oldProg = bpf.progFdById(link.progId);
    held.push(oldProg);
    bpf.linkDetach(link.fd);
    fs.unlinkSync(link.pin);
    undo.push(`re-attach ${name} in ${oldMode} mode`, () => {
      const fd = bpf.xdpLinkCreate(oldProg, ifindex, modeFlag(oldMode!));
      try { bpf.pin(fd, link.pin); } finally { bpf.closeFd(fd); }
    });
  }
  let fd: number;
  try {
    fd = bpf.xdpLinkCreate(progFd, ifindex, modeFlag(req.mode));
  } catch (e) {
    if (e instanceof BpfError && req.mode === 'native' && (e.errno === 95 || e.errno === 22)) {
      throw new UsageError(`port ${name} does not support native XDP (${e.reason})`, 'try --mode generic');
    }
    throw e;
  }
  held.push(fd);
  const pin = linkPinPath(p.links, name);
  bpf.pin(fd, pin);
  undo.push(`detach XDP from ${name}`, () => { fs.rmSync(pin, { force: true }); bpf.linkDetach(fd); });
  return { linkId: linkIdOf(fd), progId: newProgId };
}

function linkIdOf(fd: number): number {
  return bpf.objInfo(fd, 24).readUInt32LE(4);
}

function result(req: AttachRequest, p: InstancePaths, action: AttachResult['action'], ifindex: [number, number],
  links: Array<{ linkId: number; progId: number }>): AttachResult {
  return {
    instance: req.name, action, mode: req.mode, netns: req.netns, pinDir: p.dir,
    ports: req.ports.map((name, i) => ({ name, ifindex: ifindex[i], ...links[i] })),
  };
}
