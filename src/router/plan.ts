// A router config and the ports as the kernel has them -> the entries of the
// routing instance's maps (layouts: maps/router_types.h, encoded through BTF
// by the loader). Pure: the loader and the tests call it alike.
import { parsePrefix, Prefix } from '../net/address';
import { RT_ACTION, RT_FLAGS } from '../generated/bpf';
import { CONNTRACK_DEFAULTS, inPorts, parseSnat, parseTarget, RouterConfig } from './config';

export interface PortFact { name: string; ifindex: number; addr4?: string }
export interface Entry { key: unknown; value: unknown }
export interface RouterPlan { maps: Record<string, Entry[]>; conntrackSize: number; masqueradeOut: string[] }

const PROTO = { tcp: 6, udp: 17, icmp: 1 } as const;
const mask4 = (len: number) => [0, 1, 2, 3].map((i) => Math.max(0, Math.min(8, len - 8 * i))).map((b) => (0xff << (8 - b)) & 0xff).join('.');
const net4 = (p: Prefix) => p.bytes.map((b, i) => b & Number(mask4(p.len).split('.')[i])).join('.');

export function planRouter(c: RouterConfig, ports: PortFact[]): RouterPlan {
  const byName = new Map(ports.map((p, i) => [p.name, { ...p, index: i }]));
  const bits = (names: string[]) => names.reduce((m, n) => m | (1n << BigInt(byName.get(n)!.index)), 0n);
  const ct = { ...CONNTRACK_DEFAULTS, ...c.conntrack };
  const [pmin, pmax] = (c.nat_ports ?? '1024-65535').split('-').map(Number);
  const nat = c.nat ?? [];
  const snat = nat.filter((r) => r.snat !== undefined).map((r) => {
    const src = r.src === undefined ? undefined : (parsePrefix(r.src) as Prefix);
    const to = parseSnat(r.snat!) as { from: string; to: string } | undefined;
    return {
      in_ports: bits(inPorts(r)), out: r.out ? byName.get(r.out)!.ifindex : 0,
      src: src ? net4(src) : '0.0.0.0', src_mask: src ? mask4(src.len) : '0.0.0.0',
      to_min: to?.from ?? '0.0.0.0', to_max: to?.to ?? '0.0.0.0', proto: r.proto ? PROTO[r.proto] : 0, pad: [0, 0, 0],
    };
  });
  const dnat = nat.filter((r) => r.dnat !== undefined).map((r) => {
    const t = parseTarget(r.dnat!) as { addr: string; port: number };
    return { in_ports: bits(inPorts(r)), dst: r.dst!, to_addr: t.addr, dport: r.dport ?? 0, to_port: t.port, proto: r.proto ? PROTO[r.proto] : 0, pad: [0, 0, 0] };
  });
  const masqueradeOut = [...new Set(nat.filter((r) => r.snat === 'masquerade').flatMap((r) => (r.out ? [r.out] : ports.map((p) => p.name))))];
  return {
    conntrackSize: ct.size,
    masqueradeOut,
    maps: {
      rt_config: [{
        key: 0,
        value: {
          flags: c.mark_iif ? RT_FLAGS.RT_F_MARK_IIF : 0, port_min: pmin, port_max: pmax, n_snat: snat.length, n_dnat: dnat.length,
          udp_timeout: ct.udp_timeout, tcp_established: ct.tcp_established, tcp_closing: ct.tcp_closing, tcp_syn: ct.tcp_syn,
          icmp_timeout: ct.icmp_timeout, ct_size: ct.size,
        },
      }],
      rt_ports: ports.map((p, i) => ({ key: p.ifindex, value: { index: i, addr4: p.addr4 ?? '0.0.0.0' } })),
      // n_snat / n_dnat bound the program's loops: slots past them (rules removed on re-attach) are never read
      rt_snat: snat.map((value, i) => ({ key: i, value })),
      rt_dnat: dnat.map((value, i) => ({ key: i, value })),
      rt_policy: (c.policy ?? []).map((r) => ({
        key: { in: byName.get(r.in)!.ifindex, out: r.out ? byName.get(r.out)!.ifindex : 0 },
        value: { action: r.action === 'drop' ? RT_ACTION.RT_DROP : RT_ACTION.RT_ACCEPT, pad: 0 },
      })),
    },
  };
}
