// Read-only views of a routing instance from its pinned maps: the
// connections as `conntrack -L` lists them (one row per connection: the
// original direction's entry joined with its reply's), and the counters by
// outcome (enum rt_count in the map's BTF, so a new one shows up here).
import { formatJson } from '../btf';
import { MAPS } from '../generated/bpf';
import type { InstancePaths } from '../instance/paths';
import { enumCounters, withPinnedMap } from '../inspect/pinned';

export interface Tuple { src: string; dst: string; sport: number; dport: number }
export interface RouterConn {
  proto: string; protonum: number; state: string; timeout: number; iif: number; iifName?: string; nat: string[];
  orig: Tuple & { packets: number; bytes: number }; reply: Tuple & { packets: number; bytes: number };
}

const PROTO: Record<number, string> = { 6: 'tcp', 17: 'udp', 1: 'icmp' };
const STATE = ['NEW', 'ESTABLISHED', 'CLOSING'];

/** rt_counts by name (enum rt_count), summed over CPUs: RT_NAT_XLATE -> nat_xlate. */
export function routerCounts(p: InstancePaths): Record<string, number> {
  return enumCounters(p, MAPS.rt_counts, 'rt_count', 'RT_');
}

type Raw = Record<string, unknown>;
const ip4 = (v: unknown) => { const x = Number(v) >>> 0; return [x & 255, (x >>> 8) & 255, (x >>> 16) & 255, x >>> 24].join('.'); }; // l2_ipv4: network order read as a number
const be16 = (v: unknown) => { const x = Number(v); return ((x & 0xff) << 8) | (x >> 8); }; // __be16 read as a little-endian number

/** Every connection, oldest activity last; `ifname` names the input port. */
export function routerConns(p: InstancePaths, ifname: (i: number) => string | undefined = () => undefined): RouterConn[] {
  const cfg = withPinnedMap(p, MAPS.rt_config, (m) => formatJson(m.btf!, m.info.valueTypeId, m.lookup(0)![0]) as Raw) ?? {};
  const now = process.hrtime.bigint(); // CLOCK_MONOTONIC, as bpf_ktime_get_ns
  return withPinnedMap(p, MAPS.rt_conns, (m) => {
    const entries = [...m.entries()].map((e) => ({
      key: formatJson(m.btf!, m.info.keyTypeId, e.key) as Raw, v: formatJson(m.btf!, m.info.valueTypeId, e.values[0]) as Raw, rawKey: e.key.toString('hex'),
    }));
    const byKey = new Map(entries.map((e) => [e.rawKey, e]));
    const keyOf = (t: Raw) => m.encodeKey({ saddr: t.daddr, daddr: t.saddr, sport: t.dport, dport: t.sport, proto: t.proto, pad: [0, 0, 0] } as never).toString('hex');
    const rows: Array<RouterConn & { last: bigint }> = [];
    for (const e of entries) {
      if (Number(e.v.reply)) continue;
      const to = e.v.to as Raw;
      const rep = byKey.get(keyOf(to)); // the reply's tuple is the translated one, reversed
      const proto = Number(e.key.proto), state = Number(e.v.state);
      const last = [e.v.last_ns, rep?.v.last_ns].filter((x) => x !== undefined).map((x) => BigInt(x as number)).reduce((a, b) => (a > b ? a : b)); // a half a full table evicted: the one there is
      const secs = proto === 6 ? (state === 2 ? cfg.tcp_closing : state === 1 ? cfg.tcp_established : cfg.tcp_syn) : proto === 17 ? cfg.udp_timeout : cfg.icmp_timeout;
      const tuple = (t: Raw) => ({ src: ip4(t.saddr), dst: ip4(t.daddr), sport: be16(t.sport), dport: be16(t.dport) });
      const nat = Number(e.v.nat);
      rows.push({
        proto: PROTO[proto] ?? String(proto), protonum: proto, state: STATE[state] ?? String(state),
        timeout: Math.max(0, Math.floor(Number(secs ?? 0) - Number(now - last) / 1e9)),
        iif: Number(e.v.iif), iifName: ifname(Number(e.v.iif)), nat: [nat & 1 ? 'snat' : '', nat & 2 ? 'dnat' : ''].filter(Boolean),
        orig: { ...tuple(e.key), packets: Number(e.v.packets), bytes: Number(e.v.bytes) },
        reply: { ...tuple(rep?.key ?? { saddr: to.daddr, daddr: to.saddr, sport: to.dport, dport: to.sport }), packets: Number(rep?.v.packets ?? 0), bytes: Number(rep?.v.bytes ?? 0) },
        last,
      });
    }
    return rows.sort((a, b) => (a.last > b.last ? -1 : a.last < b.last ? 1 : 0)).map(({ last, ...r }) => r); // eslint-disable-line @typescript-eslint/no-unused-vars
  }) ?? [];
}

/** A row as `conntrack -L` prints it, with the input port and the translation. */
export function connText(c: RouterConn): string {
  const t = (x: RouterConn['orig']) => c.proto === 'icmp'
    ? `src=${x.src} dst=${x.dst} id=${x.sport || x.dport} packets=${x.packets} bytes=${x.bytes}`
    : `src=${x.src} dst=${x.dst} sport=${x.sport} dport=${x.dport} packets=${x.packets} bytes=${x.bytes}`;
  const unreplied = c.reply.packets === 0 ? ' [UNREPLIED]' : '';
  return `${c.proto.padEnd(5)}${String(c.protonum).padEnd(3)}${c.timeout} ${c.proto === 'tcp' ? `${c.state} ` : ''}${t(c.orig)}${unreplied} ${t(c.reply)} iif=${c.iifName ?? c.iif}${c.nat.length ? ` ${c.nat.join(',')}` : ''}`;
}
