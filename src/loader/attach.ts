// attach: resolve (ports, facts, modes) -> lock -> named phases over the
// attachment table, each pushing its own undo:
//   objects   open and size maps, reuse pins, load the hooks' objects
//   segmenter create (or remove) the segmenter pair for tunnels on TC
//   foreign   refuse, or with --force remove, programs that are not ours
//   maps      ports, counters, the control plane's desired state
//   links     one link per row: new, swapped in place, or moved to another hook
//   promisc   the wire's ports
//   record    pin the programs, write the instance record
// A failure rolls back everything this run did. Re-running on the same
// ports swaps programs through the pinned links (no gap) and updates maps
// in place; an unchanged config, mode and program is a no-op.
import fs from 'fs';
import path from 'path';
import * as bpf from '../bpf/libbpf';
import { progInfo, progInfoById } from '../bpf/info';
import { BpfMap } from '../bpf/maps';
import { ifIndex, inNetns, withLock, withLockAsync, netnsPath } from '../bpf/sys';
import { AttachError, UsageError } from '../errors';
import { log } from '../log';
import { isPromisc, LinkState, setPromisc } from '../net/iproute';
import { Attachment, InstanceRecord, readInstance, wirePorts, writeInstance } from '../instance/record';
import { ensureBpffs, instancePaths, InstancePaths, listInstances, objectPath } from '../instance/paths';
import { foreignPrograms, HOOKS, linkCreate, linkIdOf, linkPinPath, ourLink, OurLink, refuseForeign, removeForeignXdp } from './hooks';
import { portFacts } from './facts';
import { Hook, ModeRequest, planModes } from './modes';
import { resolvePorts } from './ports';
import { requirePrivilege } from './privilege';
import { createSegmenter, deleteSegmenter, segmenterExists, segmenterNames } from './segmenter';
import { UndoStack } from './undo';
import { failpoint } from './failpoint';
import { checkPinnedLayouts } from './layout';
import { applyState, pinnedMaxEntries } from './state';
import { desiredState, DesiredState } from '../control';
import { ConfigError, EffectiveConfig } from '../config';
import { MAPS } from '../generated/bpf';
import { readRouterRecord } from '../router/record';

export interface AttachRequest {
  ports: [string, string];
  config: EffectiveConfig;
  netns?: string;
  mode: ModeRequest;
  name: string;
  force: boolean;
  configHash: bigint;
  pinRoot: string;
}
export interface AttachedPort { name: string; ifindex: number; mode: Hook; reason: string; linkId: number; progId: number }
export interface AttachResult {
  instance: string;
  role: 'wire';
  action: 'attached' | 'updated' | 'unchanged';
  requested: ModeRequest;
  netns?: string;
  ports: AttachedPort[];
  /** The segmenter's inner end, when a tunnel runs on a TC port. */
  segmenter?: AttachedPort;
  pinDir: string;
  warnings: string[];
}

const DEVMAP = MAPS.l2_tx_ports; // pinned here, see maps/l2bpf_maps.bpf.h
/** Programs that count frames the kernel refuses after our redirect
 * (bpf/l2_refused.bpf.c), each linked while a port runs the hook it watches:
 * raw tracepoints (xdp:* for XDP, skb:kfree_skb for TC). */
const REFUSED = 'l2_refused.bpf.o';
const WATCHERS: Array<{ program: string; tracepoint: string; pin: string; hook: 'xdp' | 'tc' }> = [
  { program: 'l2_xdp_refused', tracepoint: 'xdp_redirect_err', pin: 'raw_xdp_redirect_err', hook: 'xdp' },
  { program: 'l2_xdp_ring_drops', tracepoint: 'xdp_devmap_xmit', pin: 'raw_xdp_devmap_xmit', hook: 'xdp' },
  { program: 'l2_tc_refused', tracepoint: 'kfree_skb', pin: 'raw_kfree_skb', hook: 'tc' },
];
const usesXdp = (run: Run) => run.rows.some((r) => r.mode !== 'tc');
const usesTc = (run: Run) => run.rows.some((r) => r.mode === 'tc');
const watchersFor = (run: Run) => WATCHERS.filter((w) => (w.hook === 'xdp' ? usesXdp(run) : usesTc(run)));

function attachChecks(req: AttachRequest): void {
  requirePrivilege('attach', req.netns);
  if (req.ports[0] === req.ports[1]) resolvePorts(req.ports); // throws the same-port error first
  ensureBpffs(req.pinRoot);
}

export function attach(req: AttachRequest): AttachResult {
  attachChecks(req);
  return withLock(req.pinRoot, () => inNetns(req.netns, () => attachLocked(req)));
}

/** attach for a long-running process: waits for the pin-folder lock on
 * timers, so the event loop keeps turning; the attach itself is synchronous
 * kernel work (milliseconds). */
export async function attachAsync(req: AttachRequest): Promise<AttachResult> {
  attachChecks(req);
  return withLockAsync(req.pinRoot, () => inNetns(req.netns, () => attachLocked(req)));
}

/** A row of the plan: what should be attached where. */
interface Row extends Attachment { progFd: number; old?: OurLink; oldMode?: Hook }

/** State shared by the phases of one attach. */
interface Run {
  req: AttachRequest;
  p: InstancePaths;
  existing?: InstanceRecord;
  desired: DesiredState;
  rows: Row[];
  objects: Map<string, bpf.BpfObject>;
  held: number[];
  undo: UndoStack;
  warnings: string[];
  /** The wire's ports as `ip link` shows them (MAC, MTU). */
  links: LinkState[];
  segOuter: number;
}

function attachLocked(req: AttachRequest): AttachResult {
  const p = instancePaths(req.pinRoot, req.name);
  const ifindex = resolvePorts(req.ports, req.netns);
  const existing = readInstance(p);
  checkOwnership(req, existing);

  // resolve: what the ports are, which hook each gets, what the maps hold
  const facts = req.ports.map((n, i) => portFacts(req.netns, n, ifindex[i]));
  const plans = planModes(req.mode, [facts[0], facts[1]], req.force);
  const desired = desiredState(req.config, Math.min(...facts.map((f) => f.link.mtu)));
  const warnings = plans.flatMap((x) => x.warnings);
  if (plans.some((x) => x.mode === 'generic') && desired.tunnels.some((t) => t.value.remote)) {
    // Generic XDP runs after GRO: a merged TCP super-packet bigger than the
    // tunnel MTU is answered with frag-needed instead of being carried.
    warnings.push('generic mode sees frames after GRO: with tunnels, use tc (or auto) mode, or turn GRO off on the ports');
  }
  warnings.forEach((w) => log.warn(w));

  const wasOn = (i: number) => existing ? wirePorts(existing)[i]?.promiscWasOn ?? false : isPromisc(req.netns, req.ports[i]);
  const rows: Row[] = req.ports.map((n, i) => ({
    ifname: n, ifindex: ifindex[i], mode: plans[i].mode, reason: plans[i].reason, promiscWasOn: wasOn(i),
    segmenter: false, forced: plans[i].forced, progFd: -1,
  }));
  const seg = segmenterNames(req.name);
  // checksum tunnels, and GSO packets with a tag in their data (QinQ), are cut first
  const needSeg = plans.some((x) => x.mode === 'tc') && desired.tunnels.length > 0;
  if (needSeg) {
    rows.push({ ifname: seg.inner, ifindex: 0, mode: 'tc', reason: 'segmenter: GSO packets a tunnel takes in segments (checksum, QinQ)', promiscWasOn: false, segmenter: true, forced: false, progFd: -1 });
  }

  const run: Run = {
    req, p, existing, desired, rows, objects: new Map(), held: [], undo: new UndoStack(), warnings, links: facts.map((f) => f.link), segOuter: 0,
  };
  try {
    phaseObjects(run);
    if (isUnchanged(run)) {
      log.info(`instance ${req.name}: unchanged (same config, modes and program), nothing to do`);
      return result(run, 'unchanged');
    }
    phaseSegmenter(run, needSeg);
    phaseForeign(run);
    phaseMaps(run);
    phaseLinks(run);
    phaseRefusals(run);
    phasePromisc(run);
    phaseRecord(run);
    run.undo.commit();
    return result(run, existing ? 'updated' : 'attached');
  } catch (e) {
    const failed = run.undo.rollback();
    if (e instanceof UsageError || e instanceof ConfigError) throw e; // exit 2: the user's to fix
    const msg = `attach ${req.name} failed: ${(e as Error).message}; rolled back`;
    throw new AttachError(failed.length ? `${msg} except: ${failed.join('; ')}` : msg, e);
  } finally {
    run.held.forEach((fd) => bpf.closeFd(fd));
    run.objects.forEach((o) => bpf.closeObject(o)); // pinned links keep the programs alive
  }
}

/** The instance name must not be attached elsewhere, nor the ports taken by another instance. */
function checkOwnership(req: AttachRequest, existing: InstanceRecord | undefined): void {
  const where = (ns?: string) => (ns ? ` in namespace ${ns}` : '');
  if (readRouterRecord(instancePaths(req.pinRoot, req.name))) {
    throw new UsageError(`instance ${req.name} is a router`, `detach it first (l2bpf detach --name ${req.name}) or pick another --name`);
  }
  const names = existing && wirePorts(existing).map((a) => a.ifname);
  if (existing && (existing.netns !== req.netns || names!.join() !== req.ports.join())) {
    throw new UsageError(
      `instance ${req.name} is already attached to ${names!.join(' and ')}${where(existing.netns)}`,
      `detach it first (l2bpf detach --name ${req.name}) or pick another --name`,
    );
  }
  for (const other of listInstances(req.pinRoot)) {
    if (other === req.name) continue;
    const op = instancePaths(req.pinRoot, other);
    const rec = readInstance(op), router = readRouterRecord(op);
    const theirs = [...(rec && rec.netns === req.netns ? wirePorts(rec).map((a) => a.ifname) : []), ...(router && router.netns === req.netns ? router.ports.map((x) => x.ifname) : [])];
    const taken = req.ports.find((n) => theirs.includes(n));
    if (taken) throw new UsageError(`port ${taken}${where(req.netns)} already belongs to l2bpf instance ${other}`, `detach it first: l2bpf detach --name ${other}`);
  }
}

/** objects: the folder, then each needed object opened, sized, loaded (pins reused). */
function phaseObjects(run: Run): void {
  const { p, desired, undo } = run;
  if (!fs.existsSync(p.dir)) undo.push(`remove ${p.dir}`, () => fs.rmSync(p.dir, { recursive: true, force: true }));
  for (const d of [p.maps, p.progs, p.links]) fs.mkdirSync(d, { recursive: true });
  const flowsPin = path.join(p.maps, MAPS.l2_flows);
  const oldFlows = pinnedMaxEntries(flowsPin);
  if (oldFlows !== undefined && oldFlows !== desired.flowsSize) {
    log.warn(`flow cache resized ${oldFlows} -> ${desired.flowsSize}: learned flows start over`);
    const oldFd = bpf.getPinned(flowsPin); // kept, so that a rollback puts the old table back
    run.held.push(oldFd);
    fs.unlinkSync(flowsPin);
    undo.push(`keep the flow cache of ${oldFlows} entries`, () => {
      fs.rmSync(flowsPin, { force: true });
      bpf.pin(oldFd, flowsPin);
    });
  }
  const devmapPin = path.join(p.maps, DEVMAP);
  const files = new Set(run.rows.map((r) => HOOKS[r.mode].object));
  files.add(REFUSED);
  for (const file of files) {
    const obj = bpf.openObject(objectPath(file), p.maps);
    run.objects.set(file, obj);
    bpf.setMaxEntries(obj, MAPS.l2_flows, desired.flowsSize);
    checkPinnedLayouts(obj, p.maps, run.req.name); // a clear refusal, not libbpf's EINVAL
    const pinned = fs.existsSync(devmapPin) ? bpf.getPinned(devmapPin) : -1;
    if (pinned >= 0) { run.held.push(pinned); bpf.reuseMapFd(obj, DEVMAP, pinned); }
    bpf.loadObject(obj); // creates and pins the maps, or reuses the pinned ones
    if (pinned < 0) bpf.pin(bpf.mapFd(obj, DEVMAP), devmapPin);
  }
  for (const r of run.rows) {
    r.progFd = bpf.programFd(run.objects.get(HOOKS[r.mode].object)!, HOOKS[r.mode].program);
    r.old = ourLink(p.links, r.ifname);
    if (r.old) run.held.push(r.old.fd);
    r.oldMode = run.existing?.attachments.find((a) => a.ifname === r.ifname)?.mode;
    if (r.old && !r.segmenter && r.old.ifindex !== r.ifindex) { // port was re-created: the old link is dead
      fs.unlinkSync(r.old.pin);
      r.old = undefined;
    }
  }
}

function isUnchanged(run: Run): boolean {
  const { existing, req, rows } = run;
  if (!existing || existing.configHash !== req.configHash || existing.requested !== req.mode) return false;
  if (existing.attachments.length !== rows.length) return false;
  return rows.every((r) => {
    const was = existing.attachments.find((a) => a.ifname === r.ifname);
    if (!was || was.mode !== r.mode || !r.old) return false;
    if (r.segmenter) r.ifindex = was.ifindex;
    return progInfoById(r.old.progId)?.tag === progInfo(r.progFd).tag;
  });
}

/** segmenter: the pair exists exactly when a tunnel runs on a TC port. */
function phaseSegmenter(run: Run, need: boolean): void {
  const { req, undo } = run;
  const seg = segmenterNames(req.name);
  if (!need) return; // one no longer needed goes with its row (phaseLinks)
  let idx: { outer: number; inner: number };
  if (segmenterExists(req.netns, seg)) {
    idx = { outer: ifIndex(seg.outer), inner: ifIndex(seg.inner) };
  } else {
    // as large as the ports: a segment is never bigger than what a port carries
    idx = createSegmenter(req.netns, seg, Math.max(...run.links.map((l) => l.mtu)));
    undo.push(`delete segmenter ${seg.outer}`, () => deleteSegmenter(req.netns, seg));
  }
  const row = run.rows.find((r) => r.segmenter)!;
  row.ifindex = idx.inner;
  run.segOuter = idx.outer;
  if (row.old && row.old.ifindex !== idx.inner) { fs.unlinkSync(row.old.pin); row.old = undefined; }
  failpoint('after-segmenter');
}

/** foreign: programs of others on our ports are refused; --force removes
 * an XDP one (it would run before ours) and leaves TC ones in place. */
function phaseForeign(run: Run): void {
  const { req, undo } = run;
  for (const r of run.rows.filter((x) => !x.segmenter)) {
    const ours = [r.old?.progId ?? 0];
    const f = foreignPrograms(r.ifindex, r.ifname, req.netns, ours);
    if (f.length && !req.force) refuseForeign(r.ifname, f);
    for (const x of f.filter((y) => y.kind === 'xdp')) {
      const restore = removeForeignXdp(r.ifindex, r.ifname, x);
      log.warn(`${r.ifname}: removed XDP program ${x.name} (id ${x.progId}) (--force)`);
      undo.push(`restore XDP program ${x.name} on ${r.ifname}`, restore);
    }
    f.filter((y) => y.kind !== 'xdp').forEach((x) => {
      log.warn(`${r.ifname}: leaving ${x.detail} in place (--force)${r.mode === 'tc' ? '; l2bpf runs first' : ''}`);
      if (r.mode === 'tc') r.forced = true;
    });
  }
}

/** maps: the wire's ports (fast-path devmap and its readable twin), their
 * counters, and the config's desired state, updated in place. */
function phaseMaps(run: Run): void {
  const obj = run.objects.values().next().value as bpf.BpfObject;
  const tx = bpf.mapFd(obj, DEVMAP);
  const ports = BpfMap.fromFd(bpf.mapFd(obj, MAPS.l2_ports), MAPS.l2_ports);
  const stats = BpfMap.fromFd(bpf.mapFd(obj, MAPS.l2_port_stats), MAPS.l2_port_stats);
  const wire = run.rows.filter((r) => !r.segmenter);
  for (let i = 0; i < 2; i++) {
    const [me, peer] = [wire[i].ifindex, wire[1 - i].ifindex];
    // struct bpf_devmap_val {u32 ifindex; u32 prog fd}: a kernel type, and
    // devmaps cannot carry BTF, so this one is written by hand.
    const key = Buffer.alloc(4); key.writeUInt32LE(me);
    const val = Buffer.alloc(8); val.writeUInt32LE(peer);
    bpf.mapUpdate(tx, key, val);
    const l = run.links[i];
    ports.update(me, { peer, slot: i, mac: l.address, mtu: l.mtu, kind: 'L2_PORT_WIRE', segmenter: run.segOuter });
    if (!stats.lookup(me)) stats.update(me, Buffer.alloc(stats.info.valueSize)); // counted from now on
  }
  const segRow = run.rows.find((r) => r.segmenter);
  if (segRow) {
    ports.update(segRow.ifindex, { peer: 0, slot: 2, mac: '00:00:00:00:00:00', mtu: 0, kind: 'L2_PORT_SEGMENTER', segmenter: 0 });
    if (!stats.lookup(segRow.ifindex)) stats.update(segRow.ifindex, Buffer.alloc(stats.info.valueSize));
  }
  applyState(obj, run.desired);
  failpoint('after-maps');
}

/** links: per row, swap the program in place (same hook: no gap), or
 * move the port to its new hook (TC first, then XDP off: no gap; between
 * native and generic XDP the kernel allows one at a time: a brief gap). */
function phaseLinks(run: Run): void {
  const { p, undo, held } = run;
  run.rows.forEach((r, i) => {
    const same = r.old && r.oldMode === r.mode && r.old.prefix === HOOKS[r.mode].pinPrefix;
    if (same) {
      const oldProg = bpf.progFdById(r.old!.progId);
      held.push(oldProg);
      bpf.linkUpdate(r.old!.fd, r.progFd);
      undo.push(`restore previous program on ${r.ifname}`, () => bpf.linkUpdate(r.old!.fd, oldProg));
    } else {
      const xdpToXdp = r.old?.prefix === 'xdp' && r.mode !== 'tc';
      if (r.old && xdpToXdp) unlinkOld(run, r);
      const fd = linkCreate(r.mode, r.progFd, r.ifindex, r.ifname, r.forced && r.mode === 'tc');
      held.push(fd);
      const pin = linkPinPath(p.links, r.mode, r.ifname);
      bpf.pin(fd, pin);
      undo.push(`detach ${HOOKS[r.mode].label} from ${r.ifname}`, () => { fs.rmSync(pin, { force: true }); bpf.linkDetach(fd); });
      if (r.old && !xdpToXdp) unlinkOld(run, r);
      if (r.old) log.info(`${r.ifname}: ${r.oldMode ?? '?'} -> ${r.mode}${xdpToXdp ? ' (re-attached; brief interruption)' : ''}`);
    }
    if (!r.segmenter) failpoint(`after-link-${i}`);
  });
  // links of rows that are gone (a segmenter no longer needed)
  for (const a of run.existing?.attachments ?? []) {
    if (run.rows.some((r) => r.ifname === a.ifname)) continue;
    const l = ourLink(p.links, a.ifname);
    if (!l) continue;
    held.push(l.fd);
    fs.unlinkSync(l.pin);
    try { bpf.linkDetach(l.fd); } catch { /* already defunct */ }
    if (a.segmenter) deleteSegmenter(run.req.netns, segmenterNames(run.req.name));
  }
}

/** refusals: while a port runs a hook, a program watching that hook moves
 * frames the kernel refuses after our redirect from forwarded to dropped. */
function phaseRefusals(run: Run): void {
  const { p, undo, req } = run;
  for (const w of WATCHERS) {
    const pin = path.join(p.links, w.pin);
    if (fs.existsSync(pin)) { // tracing links cannot swap programs: a new one replaces it
      const oldFd = bpf.getPinned(pin);
      run.held.push(oldFd);
      fs.unlinkSync(pin);
      undo.push(`keep counting refusals as before (${w.pin})`, () => bpf.pin(oldFd, pin));
    }
  }
  const obj = run.objects.get(REFUSED)!;
  const devmap = BpfMap.fromFd(bpf.mapFd(obj, DEVMAP), DEVMAP);
  const netnsIno = fs.statSync(req.netns ? netnsPath(req.netns) : '/proc/self/ns/net').ino;
  BpfMap.fromFd(bpf.mapFd(obj, MAPS.l2_refused_cfg), MAPS.l2_refused_cfg).update(0, { devmap_id: devmap.info.id, netns_ino: netnsIno });
  for (const w of watchersFor(run)) {
    const fd = bpf.rawTracepointOpen(w.tracepoint, bpf.programFd(obj, w.program));
    run.held.push(fd);
    bpf.pin(fd, path.join(p.links, w.pin));
    undo.push(`stop counting refusals (${w.pin})`, () => fs.rmSync(path.join(p.links, w.pin), { force: true }));
  }
}

function unlinkOld(run: Run, r: Row): void {
  const old = r.old!, oldMode = r.oldMode ?? (old.prefix === 'tcx' ? 'tc' : 'native');
  const oldProg = bpf.progFdById(old.progId);
  run.held.push(oldProg);
  bpf.linkDetach(old.fd);
  fs.unlinkSync(old.pin);
  run.undo.push(`re-attach ${r.ifname} (${oldMode})`, () => {
    const fd = linkCreate(oldMode, oldProg, r.ifindex, r.ifname);
    try { bpf.pin(fd, old.pin); } finally { bpf.closeFd(fd); }
  });
}

function phasePromisc(run: Run): void {
  const { req, undo } = run;
  for (const r of run.rows.filter((x) => !x.segmenter)) {
    if (isPromisc(req.netns, r.ifname)) continue;
    setPromisc(req.netns, r.ifname, true);
    undo.push(`promisc off on ${r.ifname}`, () => setPromisc(req.netns, r.ifname, false));
  }
  failpoint('after-promisc');
}

function phaseRecord(run: Run): void {
  const { p, req, existing } = run;
  const used = new Set([...run.rows.map((r) => HOOKS[r.mode].program), ...watchersFor(run).map((w) => w.program)]);
  for (const obj of run.objects.values()) {
    for (const name of bpf.programNames(obj).filter((n) => used.has(n))) {
      const progPin = path.join(p.progs, name);
      if (fs.existsSync(progPin)) fs.unlinkSync(progPin); // points at the replaced program
      bpf.pin(bpf.programFd(obj, name), progPin);
    }
  }
  for (const f of fs.readdirSync(p.progs)) if (!used.has(f)) fs.unlinkSync(path.join(p.progs, f));
  const now = Math.floor(Date.now() / 1000);
  const record: InstanceRecord = {
    attachedAt: existing?.attachedAt ?? now, updatedAt: now, configHash: req.configHash, requested: req.mode, netns: req.netns,
    attachments: run.rows.map(({ progFd, old, oldMode, ...a }) => a), // eslint-disable-line @typescript-eslint/no-unused-vars
  };
  const obj = run.objects.values().next().value as bpf.BpfObject;
  writeInstance(BpfMap.fromFd(bpf.mapFd(obj, MAPS.l2_instance), MAPS.l2_instance), record); // fd owned by the object
  failpoint('after-record');
}

function result(run: Run, action: AttachResult['action']): AttachResult {
  const port = (r: Row): AttachedPort => {
    const l = ourLink(run.p.links, r.ifname);
    const out = { name: r.ifname, ifindex: r.ifindex, mode: r.mode, reason: r.reason, linkId: l ? linkIdOf(l.fd) : 0, progId: l?.progId ?? 0 };
    if (l) bpf.closeFd(l.fd);
    return out;
  };
  const seg = run.rows.find((r) => r.segmenter);
  return {
    instance: run.req.name, role: 'wire', action, requested: run.req.mode, netns: run.req.netns, pinDir: run.p.dir,
    ports: run.rows.filter((r) => !r.segmenter).map(port), ...(seg ? { segmenter: port(seg) } : {}), warnings: run.warnings,
  };
}
