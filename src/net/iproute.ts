// iproute2 for the things a person would also do by hand (promiscuous mode,
// listing tc filters); `-n NS` runs them in the instance's namespace without
// touching ours.
import { execFileSync } from 'child_process';

function run(cmd: 'ip' | 'tc', netns: string | undefined, args: string[]): string {
  const full = netns ? ['-n', netns, ...args] : args;
  try {
    return execFileSync(cmd, full, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string };
    throw new Error(`${cmd} ${full.join(' ')}: ${(err.stderr ?? String(e)).trim()}`);
  }
}

export interface LinkState { ifname: string; ifindex: number; flags: string[]; mtu: number; address: string; xdp?: unknown }
export function linkShow(netns: string | undefined, dev: string): LinkState {
  const out = JSON.parse(run('ip', netns, ['-j', '-d', 'link', 'show', 'dev', dev])) as LinkState[];
  return out[0];
}
export function isPromisc(netns: string | undefined, dev: string): boolean {
  return linkShow(netns, dev).flags.includes('PROMISC');
}
export function setPromisc(netns: string | undefined, dev: string, on: boolean): void {
  run('ip', netns, ['link', 'set', 'dev', dev, 'promisc', on ? 'on' : 'off']);
}

export interface TcBpfFilter { direction: 'ingress' | 'egress'; progId: number; name: string }
/** cls_bpf filters on a port's clsact hooks (none when there is no clsact). */
export function tcBpfFilters(netns: string | undefined, dev: string): TcBpfFilter[] {
  const found: TcBpfFilter[] = [];
  for (const direction of ['ingress', 'egress'] as const) {
    let list: Array<{ kind?: string; options?: { prog?: { id?: number; name?: string } } }>;
    try {
      list = JSON.parse(run('tc', netns, ['-j', 'filter', 'show', 'dev', dev, direction]) || '[]');
    } catch {
      continue; // no clsact qdisc: nothing attached there
    }
    for (const f of list) {
      if (f.kind === 'bpf' && f.options?.prog?.id) {
        found.push({ direction, progId: f.options.prog.id, name: f.options.prog.name ?? '' });
      }
    }
  }
  return found;
}

/** The port's first IPv4 address (masquerade's source), if it has one. */
export function firstIpv4(netns: string | undefined, dev: string): string | undefined {
  const out = JSON.parse(run('ip', netns, ['-j', '-4', 'addr', 'show', 'dev', dev])) as Array<{ addr_info?: Array<{ local: string; scope: string }> }>;
  return out[0]?.addr_info?.find((a) => a.scope === 'global')?.local;
}
