// Meaning of `local` and `tunnels` beyond their shape: addresses that parse,
// are host addresses, and tunnels that the box can actually send. Each
// analyse* function returns the parsed values and its findings, so that the
// config check and the control plane agree on every word.

import { Address, formatAddress, formatPrefix, lastBytes, maskBytes, parseAddress, parsePrefix, Prefix, sameBytes } from '../net/address';
import { fieldName, Problem, problem, Segment } from './problem';
import type { Config, TunnelConfig } from './schema';

export interface LocalAddresses {
  /** Address and on-link prefix length (host bits kept). */
  ipv4?: Prefix;
  ipv6?: Prefix;
}

/** A reason text becomes a message with an example of the right form. */
export function prefixMessage(reason: string, example: string): string {
  if (reason === 'has no prefix length') return `needs a prefix length, like ${example}`;
  if (reason.startsWith('prefix length')) return reason;
  return `must be an IPv4 or IPv6 address with prefix length, like ${example}`;
}

// 0/8, 127/8, 224/4 and 240/4 (which holds 255.255.255.255) are no one's
// unicast address; a GRE peer or the box itself cannot be there.
function unicastV4(a: Address): boolean {
  const b = a.bytes[0];
  return b !== 0 && b !== 127 && b < 224;
}

function unicastV6(a: Address): boolean {
  const zeroHead = a.bytes.slice(0, 15).every((x) => x === 0);
  return a.bytes[0] !== 0xff && !(zeroHead && a.bytes[15] <= 1); // not multicast, ::, ::1
}

function checkHost(p: Prefix, path: Segment[]): Problem | undefined {
  if (p.family === 4 ? !unicastV4(p) : !unicastV6(p)) {
    return problem(path, `${formatAddress(p)} is not a unicast address`);
  }
  // /31 and /32 (RFC 3021) have no network or broadcast address to avoid.
  if (p.family !== 4 || p.len >= 31) return undefined;
  const net = { ...p, bytes: maskBytes(p.bytes, p.len) };
  if (sameBytes(p.bytes, net.bytes)) {
    return problem(path, `${formatAddress(p)} is the network address of ${formatPrefix(net)}, not a host address`);
  }
  if (sameBytes(p.bytes, lastBytes(p.bytes, p.len))) {
    return problem(path, `${formatAddress(p)} is the broadcast address of ${formatPrefix(net)}, not a host address`);
  }
  return undefined;
}

export function analyseLocal(local: Config['local']): { value: LocalAddresses; problems: Problem[] } {
  const value: LocalAddresses = {};
  const problems: Problem[] = [];
  if (local === undefined) return { value, problems };
  const list = typeof local === 'string' ? [local] : local;
  list.forEach((text, i) => {
    const path: Segment[] = typeof local === 'string' ? ['local'] : ['local', i];
    const p = parsePrefix(text);
    if (typeof p === 'string') {
      problems.push(problem(path, prefixMessage(p, '198.51.100.10/24')));
      return;
    }
    if (typeof local === 'string' && p.family === 6) {
      problems.push(problem(path, 'must be an IPv4 address with prefix length; give an IPv6 one as a list, like [198.51.100.10/24, 2001:db8::10/64]'));
      return;
    }
    const slot = p.family === 4 ? 'ipv4' : 'ipv6';
    if (value[slot] !== undefined) {
      problems.push(problem(path, `is a second IPv${p.family} address; list one IPv4 and at most one IPv6`));
      return;
    }
    const bad = checkHost(p, path);
    if (bad !== undefined) problems.push(bad);
    value[slot] = p;
  });
  if (value.ipv4 === undefined && problems.length === 0) {
    problems.push(problem(['local'], 'must include an IPv4 address, like [198.51.100.10/24, 2001:db8::10/64]'));
  }
  return { value, problems };
}

export interface ParsedTunnel {
  name: string;
  remote: Address;
  config: TunnelConfig;
}

/** Tunnels that exist need `local`: GRE packets leave from its IPv4. */
export function tunnelsNeedLocal(config: Config): Problem[] {
  // A valid `local` always has an IPv4; an invalid one is reported there.
  if (Object.keys(config.tunnels ?? {}).length === 0 || config.local !== undefined) return [];
  return [problem(['tunnels'], 'need local to be set; GRE packets leave from its IPv4 address', true)];
}

/** Remotes, in file order; `localIpv4` is the box's own address, if known. */
export function analyseTunnels(
  tunnels: Config['tunnels'],
  localIpv4?: Address,
): { value: ParsedTunnel[]; problems: Problem[] } {
  const value: ParsedTunnel[] = [];
  const problems: Problem[] = [];
  for (const [name, t] of Object.entries(tunnels ?? {})) {
    const path = ['tunnels', name, 'remote'];
    const remote = parseAddress(t.remote);
    if (remote === undefined || remote.family !== 4) {
      const why = t.remote.includes('/') ? 'without prefix length' : 'like 192.0.2.1';
      problems.push(problem(path, `must be an IPv4 address ${why}`));
      continue;
    }
    if (!unicastV4(remote)) {
      problems.push(problem(path, `${formatAddress(remote)} is not a unicast address`));
      continue;
    }
    if (localIpv4 !== undefined && sameBytes(localIpv4.bytes, remote.bytes)) {
      problems.push(problem(path, `${formatAddress(remote)} is the box's own address (local)`));
      continue;
    }
    const shared = sharedRemote(value, name, remote, t);
    if (shared !== undefined) problems.push(shared);
    value.push({ name, remote, config: t });
  }
  return { value, problems };
}

// Decapsulation finds the tunnel by its remote address alone (map
// l2_tun_remote), so two tunnels may not share a remote.
function sharedRemote(earlier: ParsedTunnel[], name: string, remote: Address, _t: TunnelConfig): Problem | undefined {
  for (const e of earlier) {
    if (!sameBytes(e.remote.bytes, remote.bytes)) continue;
    return problem(['tunnels', name, 'remote'], `same remote as ${fieldName(['tunnels', e.name])}; each tunnel needs its own remote`);
  }
  return undefined;
}
