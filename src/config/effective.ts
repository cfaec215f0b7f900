// The effective config: file values, overridden by command-line flags, with
// defaults filled in. This is what attach/detach act on.

import { createHash } from 'node:crypto';
import { ConfigError } from './errors';
import { fieldName } from './problem';
import { Config, DEFAULT_MODE, Mode } from './schema';
import { checkConfig } from './validate';

/** Values given as flags; any unset field falls back to the config file. */
export interface CliOverrides {
  ports?: readonly string[];
  mode?: string;
  netns?: string;
  instance?: string;
}

/** Like Config, but the fields attach needs are always present. */
export type EffectiveConfig = Omit<Config, 'instance' | 'ports' | 'mode'> & {
  instance: string;
  ports: [string, string];
  mode: Mode;
};

/**
 * Flags fill in what the file leaves out; a flag that contradicts the file
 * (ports, netns, mode, instance) is a mistake worth stopping for (attaching
 * to the wrong wire is costly). `configFile` only names the file in messages.
 */
export function mergeCliOverConfig(
  config: Config,
  cli: CliOverrides,
  configFile = 'the config file',
): EffectiveConfig {
  const flags = checkFlags(cli);

  if (config.ports !== undefined && flags.ports !== undefined && !samePorts(config.ports, flags.ports)) {
    throw new ConfigError(
      { field: 'ports' },
      `command line says ${flags.ports.join(' ')} but ${configFile} says ${config.ports.join(' ')}`,
    );
  }
  const ports = flags.ports ?? config.ports;
  if (ports === undefined) {
    throw new ConfigError({ field: 'ports' }, `not given: name two interfaces on the command line or in ${configFile}`);
  }

  // A flag and the file saying different things is a mistake, not an override.
  for (const [flag, field] of [['netns', 'netns'], ['mode', 'mode'], ['instance', 'instance']] as const) {
    const a = flags[flag], b = config[field];
    if (a !== undefined && b !== undefined && a !== b) {
      throw new ConfigError({ field }, `command line says ${a} (--${flag === 'instance' ? 'name' : flag}) but ${configFile} says ${b}`);
    }
  }
  const netns = flags.netns ?? config.netns;
  const effective: EffectiveConfig = {
    ...config,
    ports: [ports[0], ports[1]],
    mode: flags.mode ?? config.mode ?? DEFAULT_MODE,
    instance: flags.instance ?? config.instance ?? defaultInstance(ports, netns),
  };
  if (netns !== undefined) effective.netns = netns;
  return effective;
}

// Flags get the same rules as the file; copy only the known fields so a
// whole options object can be passed in safely.
function checkFlags(cli: CliOverrides): Config {
  const flags: Record<string, unknown> = {};
  if (cli.ports !== undefined) flags.ports = [...cli.ports];
  if (cli.mode !== undefined) flags.mode = cli.mode;
  if (cli.netns !== undefined) flags.netns = cli.netns;
  if (cli.instance !== undefined) flags.instance = cli.instance;
  const problem = checkConfig(flags)[0];
  if (problem !== undefined) {
    throw new ConfigError({ file: 'command line', field: fieldName(problem.path) }, problem.message);
  }
  return flags as Config;
}

function samePorts(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((p, i) => p === b[i]);
}

const INSTANCE_MAX = 32;

/**
 * `${netns}-${a}-${b}` or `${a}-${b}`, made to fit the instance pattern.
 * Interface names may hold characters the instance may not, and may be too
 * long together; then a hash of the full name is appended so that different
 * port pairs never end up sharing one bpffs folder.
 */
export function defaultInstance(ports: readonly string[], netns?: string): string {
  const raw = [...(netns !== undefined ? [netns] : []), ...ports].join('-');
  let clean = raw.replace(/[^A-Za-z0-9_.-]/g, '_');
  if (!/^[A-Za-z0-9]/.test(clean)) clean = `x${clean}`;
  if (clean === raw && clean.length <= INSTANCE_MAX) return clean;
  const tag = createHash('sha256').update(raw).digest('hex').slice(0, 8);
  return `${clean.slice(0, INSTANCE_MAX - tag.length - 1)}-${tag}`;
}
