// The programmatic API: everything the CLI does, returning data and throwing
// typed errors (UsageError, ConfigError: exit 2 in the CLI; AttachError,
// BpfError: exit 1). src/cli/ only parses arguments and prints; it imports
// nothing but this module.
import { configHash, ConfigError, loadConfig, mergeCliOverConfig, Config } from './config';
import { configRole, fieldPosition } from './config/load';
import { attachRouter, attachRouterAsync, RouterAttachResult, routerRequest } from './router';
import { attach as attachRequest, attachAsync as attachRequestAsync, AttachRequest, AttachResult } from './loader/attach';
import { detach as detachNames, detachAsync as detachNamesAsync, DetachResult, selectInstances } from './loader/detach';
import { pinRoot } from './instance/paths';
import { openInstance, Opened, pickInstance } from './inspect/instance';
import { dumpMaps, MapDump } from './inspect/dump';
import { readStats, Stats } from './inspect/stats';
import { runStatus, InstanceStatus } from './inspect/status';
import { UsageError } from './errors';
import { listInstances } from './instance/paths';
import { toPrometheus } from './inspect/prometheus';
import { Exporter, startExporter } from './inspect/exporter';
import { configWarnings } from './config/warnings';
import { log } from './log';
import fs from 'fs';
import path from 'path';
import { enterNetns } from './bpf/sys';

export { AttachError, BpfError, UsageError } from './errors';
export { ConfigError } from './config';
export { log } from './log';
export { pinRoot, DEFAULT_PIN_ROOT } from './instance/paths';
export type { AttachRequest, AttachResult } from './loader/attach';
export type { DetachResult } from './loader/detach';
export type { RouterAttachResult, RouterConn } from './router';
export type { InstanceStatus, PortStatus } from './inspect/status';
export type { MapDump } from './inspect/dump';
export type { Stats, PortStats, DropStats, TunnelStats } from './inspect/stats';
export type { Opened } from './inspect/instance';
export type { Exporter } from './inspect/exporter';
export { configWarnings };
export { stringifyJson } from './btf';
export type { JsonValue } from './btf';

/** Where the instances live (bpffs); default $L2BPF_PIN_ROOT or /sys/fs/bpf/l2bpf. */
export interface Where { pinRoot?: string }

export interface AttachOptions extends Where {
  /** The two ports; or `ports:` in the config. */
  ports?: string[];
  /** YAML config file. */
  config?: string;
  netns?: string;
  mode?: string;
  /** Instance name. */
  name?: string;
  force?: boolean;
}

/** The attach request a config file and flags make (warnings logged). */
function attachRequestOf(o: AttachOptions): AttachRequest {
  const file: Config = o.config ? loadConfig(o.config) : {};
  const where = o.config ?? 'the config file';
  const eff = mergeCliOverConfig(file, { ports: o.ports?.length ? o.ports : undefined, mode: o.mode, netns: o.netns, instance: o.name }, where);
  for (const w of configWarnings(file)) log.warn(`${where}: ${w}`);
  return {
    ports: eff.ports, config: eff, netns: eff.netns, mode: eff.mode, name: eff.instance, force: Boolean(o.force),
    configHash: configHash(eff), pinRoot: pinRoot(o.pinRoot),
  };
}

const routerRequestOf = (file: string, o: AttachOptions) =>
  routerRequest(file, { ports: o.ports, netns: o.netns, name: o.name, mode: o.mode, force: o.force, pinRoot: pinRoot(o.pinRoot) });

/** A config problem found only once the ports are known (a tunnel MTU the
 * port cannot carry) is still the file's: name it, with the line. */
function inFile(e: unknown, o: AttachOptions): unknown {
  if (!(e instanceof ConfigError) || e.file !== undefined) return e;
  const pos = o.config && e.field ? fieldPosition(o.config, e.field) : undefined;
  return new ConfigError({ file: o.config ?? 'the config file', ...pos, field: e.field }, e.detail);
}

/** Loads and checks the config, then attaches (or updates) the instance:
 * a wire, or with `role: router` in the config a routing instance. */
export function attach(o: AttachOptions): AttachResult | RouterAttachResult {
  if (o.config && configRole(o.config) === 'router') {
    const req = routerRequestOf(o.config, o);
    try {
      return attachRouter(req);
    } catch (e) {
      throw inFile(e, o);
    }
  }
  const req = attachRequestOf(o);
  try {
    return attachRequest(req);
  } catch (e) {
    throw inFile(e, o);
  }
}

/** attach for a daemon: the pin-folder lock is waited for on timers, so the
 * event loop keeps turning (the attach itself is milliseconds of kernel work). */
export async function attachAsync(o: AttachOptions): Promise<AttachResult | RouterAttachResult> {
  if (o.config && configRole(o.config) === 'router') {
    const req = routerRequestOf(o.config, o);
    try {
      return await attachRouterAsync(req);
    } catch (e) {
      throw inFile(e, o);
    }
  }
  const req = attachRequestOf(o);
  try {
    return await attachRequestAsync(req);
  } catch (e) {
    throw inFile(e, o);
  }
}

export interface DetachOptions extends Where { ports?: string[]; netns?: string; name?: string; all?: boolean }

/** The instances a detach means; conflicting selections are refused. */
function detachSelection(o: DetachOptions): { root: string; names: string[] } {
  const given = [o.ports?.length ? 'PORTS' : '', o.name !== undefined ? '--name' : '', o.all ? '--all' : ''].filter(Boolean);
  if (given.length > 1) throw new UsageError(`detach: ${given.join(' and ')} each choose instances: give one`, 'l2bpf detach eth2 eth3 | --name INSTANCE | --all');
  const root = pinRoot(o.pinRoot);
  return { root, names: selectInstances(root, { ports: o.ports, netns: o.netns, name: o.name, all: o.all }) };
}

/** Detaches by ports, by name, or all. */
export function detach(o: DetachOptions): DetachResult[] {
  const { root, names } = detachSelection(o);
  return detachNames(root, names);
}

/** detach for a daemon: the lock is waited for on timers. */
export async function detachAsync(o: DetachOptions): Promise<DetachResult[]> {
  const { root, names } = detachSelection(o);
  return detachNamesAsync(root, names);
}

/** Every instance (or one) with its ports and problems. */
export function status(o: Where & { name?: string } = {}): InstanceStatus[] {
  const root = pinRoot(o.pinRoot);
  const only = o.name !== undefined ? pickInstance(root, o.name) : undefined;
  return runStatus(root).filter((s) => !only || s.instance === only);
}

/** An instance's maps for reading (default: the only one). */
export function open(o: Where & { name?: string } = {}): Opened {
  const root = pinRoot(o.pinRoot);
  return openInstance(root, pickInstance(root, o.name));
}

/** Decoded pinned maps: all, or one (a name or alias such as `rules`). */
export function dump(o: Where & { name?: string; map?: string; perCpu?: boolean } = {}): MapDump[] {
  return dumpMaps(open(o), o.map, { perCpu: o.perCpu });
}

/** Counters summed over CPUs: per port, per drop reason, per tunnel. */
export function stats(o: Where & { name?: string } | Opened = {}): Stats {
  return readStats('paths' in o ? o : open(o));
}

/** The stats of every attached instance. */
export function allStats(o: Where = {}): Stats[] {
  const root = pinRoot(o.pinRoot);
  return listInstances(root).map((n) => readStats(openInstance(root, n)));
}

/** Prometheus text format: every instance, or one. */
export function prometheus(o: Where & { name?: string } = {}): string {
  return toPrometheus(o.name !== undefined ? [stats(o)] : allStats(o));
}

/** Serves /metrics on `listen` (ADDR:PORT) until closed; every scrape reads the maps afresh. */
export function exporter(o: Where & { listen: string }): Promise<Exporter> {
  try {
    return startExporter(o.listen, () => allStats(o));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

// ---- OpenVPN server (issue 9)
export type { PeerInfo } from './openvpn/server';
export interface OpenvpnRunOptions { config: string; netns?: string; name?: string; uplinks?: string[]; bpf?: boolean }
/** Starts an OpenVPN-compatible server from an OpenVPN server config file; stop() ends it. */
export async function openvpn(o: OpenvpnRunOptions): Promise<import('./openvpn/server').OpenvpnServer> {
  const { parseOvpnConfig } = await import('./openvpn/config');
  const { OpenvpnServer } = await import('./openvpn/server');
  let text: string;
  try {
    text = fs.readFileSync(o.config, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${o.config}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const config = parseOvpnConfig(text, o.config);
  // OpenVPN's verb: 0 errors only, 1-4 the usual log, 5 and up per-packet detail (debug here)
  if (config.verb === 0) log.setLevel('error');
  else if (config.verb >= 5) log.setLevel('debug');
  for (const n of config.notices) log.info(n);
  if (o.netns) enterNetns(o.netns);
  const { BpfPlane } = await import('./openvpn/bpf-plane');
  const { ifIndex } = await import('./bpf/sys');
  const { defaultUplinks } = await import('./openvpn/uplinks');
  return OpenvpnServer.start({
    config, baseDir: path.dirname(path.resolve(o.config)),
    plane: o.bpf === false ? undefined : (user, io) => new BpfPlane(user, {
      instance: o.name ?? `openvpn-${io.tun.name}`, config: o.config, tun: { name: io.tun.name, ifindex: ifIndex(io.tun.name) },
      uplinks: o.uplinks?.length ? o.uplinks : defaultUplinks(config.local, io.tun.name), port: io.port, replayWindow: config.replayWindow, netns: o.netns,
    }),
  });
}
