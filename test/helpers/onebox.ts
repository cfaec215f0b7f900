// One box with `local`, tunnel 1 and two rules, loaded for BPF_PROG_TEST_RUN:
// shared by the GRE and the IPv6 program tests. Port = loopback (ifindex 1),
// so answers and replies of flows learned here go back out the same port.
import { Entry, LoadedObject, RunOpts, wirePort } from './wire';
import { csum, pkt, withIpCsum } from './packet';

export const LO = 1;
export const PORT_MAC = '02:00:5e:00:53:01';
export const GW1 = '02:00:5e:00:53:a1', GW2 = '02:00:5e:00:53:a2';
export const LOCAL = '198.51.100.10', REMOTE = '203.0.113.2', PC = '192.0.2.10', SRV = '203.0.113.130';
export const LOCAL6 = '2001:db8:100::10';

export interface TunnelOpts { key?: number; csum?: boolean; mtu?: number }

/** Port, local (IPv6 too when local6), tunnel 1 to REMOTE; rules:
 *  203.0.113.128/26 and 2001:db8:200::/48 -> tunnel 1, 192.0.2.66/32 -> drop. */
export function setupBox(o: LoadedObject, tunnel: TunnelOpts = {}, local6?: string): void {
  wirePort(o, LO, LO, { mac: PORT_MAC });
  o.map('l2_local').update(0, { ipv4: LOCAL, ipv4_plen: 24, ...(local6 ? { ipv6: local6, ipv6_plen: 64 } : {}) });
  const flags = (tunnel.key !== undefined ? 1 : 0) | (tunnel.csum ? 2 : 0) | 4;
  o.map('l2_tunnels').update(1, { remote: REMOTE, key: tunnel.key ?? 0, flags, ttl: 64, mtu: tunnel.mtu ?? 1476 });
  o.map('l2_tun_remote').update(REMOTE, 1);
  const tun = [{ src_plen: 0, tunnel: 1, action: 'L2_ACT_TUNNEL' }];
  o.map('l2_rules').update({ prefixlen: 8 + 26, family: 4, addr: [203, 0, 113, 128, ...Array(12).fill(0)] }, { count: 1, alt: tun });
  o.map('l2_rules').update({ prefixlen: 8 + 48, family: 6, addr: [0x20, 0x01, 0x0d, 0xb8, 0x02, 0, ...Array(10).fill(0)] }, { count: 1, alt: tun });
  o.map('l2_rules').update({ prefixlen: 8 + 32, family: 4, addr: [192, 0, 2, 66, ...Array(12).fill(0)] },
    { count: 1, alt: [{ src_plen: 0, action: 'L2_ACT_DROP' }] });
}

/** Runs the entry's program on a frame arriving on LO. */
export const runWire = (e: Entry, o: LoadedObject, frame: Buffer, opts: RunOpts = {}) => e.run(o, frame, LO, opts);

/** Packets counted under a drop reason (short name, e.g. 'flow_miss'). */
export function dropped(o: LoadedObject, reason: string): bigint {
  const code = [...o.map('l2_drops').btf!.enumNames('l2_drop_reason')].find(([, n]) => n === `L2_DROP_${reason.toUpperCase()}`)![0];
  return (o.read('l2_drops', Number(code))?.packets as bigint) ?? 0n;
}

export const udp = (src: string, dst: string, n: number, sport = 4000, dport = 53) =>
  withIpCsum(pkt().eth(GW2, GW1, 0x0800).ipv4(src, dst, 17, 8 + n).udp(sport, dport, n).payload(n).build());
/** An IPv4 packet without Ethernet header (what GRE carries). */
export const inner = (src: string, dst: string, n: number, sport: number, dport: number) => udp(src, dst, n, sport, dport).subarray(14);

export function gre(opts: { flags?: number; key?: number; proto?: number; csum?: boolean; from?: string; payload: Buffer }): Buffer {
  let flags = opts.flags ?? 0;
  if (opts.csum) flags |= 0x8000;
  if (opts.key !== undefined) flags |= 0x2000;
  const g = Buffer.alloc(4 + (opts.csum ? 4 : 0) + (opts.key !== undefined ? 4 : 0));
  g.writeUInt16BE(flags, 0);
  g.writeUInt16BE(opts.proto ?? 0x0800, 2);
  if (opts.key !== undefined) g.writeUInt32BE(opts.key, opts.csum ? 8 : 4);
  const body = Buffer.concat([g, opts.payload]);
  if (opts.csum) body.writeUInt16BE(csum(body), 4);
  const outer = pkt().eth(PORT_MAC, GW2, 0x0800).ipv4(opts.from ?? REMOTE, LOCAL, 47, body.length).build();
  return withIpCsum(Buffer.concat([outer, body]));
}
