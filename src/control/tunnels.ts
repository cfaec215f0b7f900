// GRE tunnels as the l2_tunnels array (index = tunnel id) and the
// l2_tun_remote hash (remote -> id) hold them.

import {
  analyseTunnels,
  Config,
  ConfigError,
  fieldName,
  formatAddress,
  L2_TUN_CSUM,
  L2_TUN_DF,
  L2_TUN_KEY,
  parseAddress,
  throwFirst,
  TunnelConfig,
  TUNNELS_MAX,
} from '../config';

/** struct l2_tunnel; remote as text, which the map writer encodes. */
export interface TunnelValue {
  remote: string;
  key: number;
  flags: number;
  ttl: number;
  pad: number;
  mtu: number;
  pad2: number;
  /** The config's name (read by stats and dump, not by the program). */
  name: string;
}

export interface TunnelEntry {
  /** Index into l2_tunnels, 1..TUNNELS_MAX. */
  id: number;
  name: string;
  value: TunnelValue;
}

/** l2_tun_remote: remote address -> tunnel id. */
export interface RemoteEntry {
  key: string;
  value: number;
}

export const DEFAULT_TTL = 64;
// Smallest inner MTU we agree to run a tunnel with (the schema's mtu minimum).
export const MIN_TUNNEL_MTU = 576;

/** What GRE adds to each inner packet: outer IPv4, GRE, optional key and checksum. */
export function tunnelOverhead(t: TunnelConfig): number {
  return 20 + 4 + (t.key !== undefined ? 4 : 0) + (t.checksum === true ? 4 : 0);
}

export function tunnelFlags(t: TunnelConfig): number {
  return (t.key !== undefined ? L2_TUN_KEY : 0) | (t.checksum === true ? L2_TUN_CSUM : 0) | (t.df !== false ? L2_TUN_DF : 0);
}

/** An unused l2_tunnels slot (remote 0 marks it free). */
export const EMPTY_TUNNEL: TunnelValue = { remote: '0.0.0.0', key: 0, flags: 0, ttl: 0, pad: 0, mtu: 0, pad2: 0, name: '' };

// An inner packet the port cannot carry once wrapped would be dropped
// silently somewhere on the path, so a larger mtu is refused outright.
function tunnelMtu(name: string, t: TunnelConfig, portMtu: number): number {
  const overhead = tunnelOverhead(t);
  const most = portMtu - overhead;
  const explain = `port MTU ${portMtu} - ${overhead} bytes of outer headers = ${most}`;
  if (t.mtu !== undefined && t.mtu > most) {
    const field = fieldName(['tunnels', name, 'mtu']);
    throw new ConfigError({ field }, `${t.mtu} is more than the port can carry (${explain}); larger packets would be black-holed`);
  }
  if (t.mtu === undefined && most < MIN_TUNNEL_MTU) {
    throw new ConfigError({ field: fieldName(['tunnels', name]) }, `leaves too little room (${explain}, less than ${MIN_TUNNEL_MTU})`);
  }
  return t.mtu ?? most;
}

/**
 * Ids 1..n by name (code-unit order), so the same config always gives the
 * same ids and a re-attach rewrites nothing. `local` (the config's) lets the
 * remotes be checked against the box's own address.
 */
export function tunnelEntries(
  tunnels: Config['tunnels'],
  portMtu: number,
  localIpv4?: string,
): { ids: Map<string, number>; entries: TunnelEntry[]; remotes: RemoteEntry[] } {
  if (!Number.isInteger(portMtu) || portMtu < 68 || portMtu > 65535) throw new RangeError(`port MTU ${portMtu} is not 68..65535`);
  const local = localIpv4 !== undefined ? parseAddress(localIpv4) : undefined;
  throwFirst(analyseTunnels(tunnels, local).problems);
  const names = Object.keys(tunnels ?? {}).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (names.length > TUNNELS_MAX) throw new ConfigError({ field: 'tunnels' }, `must have at most ${TUNNELS_MAX} tunnels`);
  const ids = new Map(names.map((n, i) => [n, i + 1]));
  const entries = names.map((name, i): TunnelEntry => {
    const t = (tunnels ?? {})[name];
    const remote = parseAddress(t.remote);
    const value: TunnelValue = {
      remote: remote !== undefined ? formatAddress(remote) : t.remote,
      key: t.key ?? 0,
      flags: tunnelFlags(t),
      ttl: t.ttl ?? DEFAULT_TTL,
      pad: 0,
      mtu: tunnelMtu(name, t, portMtu),
      pad2: 0,
      name,
    };
    return { id: i + 1, name, value };
  });
  return { ids, entries, remotes: remoteIndex(entries) };
}

/**
 * One entry per remote address. A remote shared by several tunnels (each
 * with its own key: analyseTunnels insists) maps to the lowest of their ids;
 * the BPF side tells them apart by GRE key among the tunnels with that remote.
 */
export function remoteIndex(entries: readonly TunnelEntry[]): RemoteEntry[] {
  // the datapath finds a tunnel by remote alone (l2_tun_remote)
  const byRemote = new Map<string, TunnelEntry[]>();
  for (const e of [...entries].sort((a, b) => a.id - b.id)) {
    const clash = byRemote.get(e.value.remote)?.[0];
    if (clash !== undefined) {
      throw new ConfigError(
        { field: fieldName(['tunnels', e.name, 'remote']) },
        `same remote as ${fieldName(['tunnels', clash.name])}; each tunnel needs its own remote`,
      );
    }
    byRemote.set(e.value.remote, [e]);
  }
  return [...byRemote.values()].map((list) => ({ key: list[0].value.remote, value: list[0].id }));
}
