// The routing instance (`role: router`, issue 10): config, plan, attach and
// detach, and the read-only views (connections, counters). Import from here.
import fs from 'fs';
import { createHash } from 'node:crypto';
import { canonicalJson, ConfigError } from '../config';
import { defaultInstance } from '../config/effective';
import { parseRouterConfig, RouterConfig } from './config';
import type { RouterAttachRequest } from './attach';

export { attachRouter, attachRouterAsync, detachRouter } from './attach';
export type { RouterAttachResult, RouterPortResult } from './attach';
export { parseRouterConfig, checkRouterConfig } from './config';
export type { RouterConfig, NatRule, PolicyRule } from './config';
export { planRouter } from './plan';
export { readRouterRecord } from './record';
export type { RouterRecord } from './record';
export { routerConns, routerCounts } from './inspect';
export type { RouterConn } from './inspect';

export interface RouterFlags { ports?: string[]; netns?: string; name?: string; mode?: string; force?: boolean; pinRoot: string }

/** The attach request a router config file and the command line make; a
 * flag that contradicts the file is a mistake, as for a wire. */
export function routerRequest(file: string, flags: RouterFlags): RouterAttachRequest {
  let text: string;
  try { text = fs.readFileSync(file, 'utf8'); } catch (e) { throw new ConfigError({ file }, `cannot read config file: ${(e as Error).message}`); }
  const config: RouterConfig = parseRouterConfig(text, file);
  if (flags.ports?.length) throw new ConfigError({ file: 'command line', field: 'ports' }, `a router's ports are listed in ${file} (ports:), not on the command line`);
  if (flags.mode !== undefined) throw new ConfigError({ file: 'command line', field: 'mode' }, 'a router runs on TC (tcx) on every port: --mode does not apply');
  for (const [flag, field] of [['netns', 'netns'], ['name', 'instance']] as const) {
    const a = flags[flag], b = config[field];
    if (a !== undefined && b !== undefined && a !== b) throw new ConfigError({ file: 'command line', field }, `command line says ${a} (--${flag}) but ${file} says ${b}`);
  }
  const netns = flags.netns ?? config.netns;
  const name = flags.name ?? config.instance ?? defaultInstance(config.ports, netns);
  const effective = { ...config, netns, instance: name };
  return {
    config: effective, name, netns, force: Boolean(flags.force), pinRoot: flags.pinRoot,
    configHash: createHash('sha256').update(canonicalJson(effective)).digest().readBigUInt64BE(0),
  };
}
