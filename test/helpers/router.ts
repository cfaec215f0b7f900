// The routing lab (issue 10) for the end-to-end tests and `make bench`:
//
//   h0 192.0.2.10/26 -- lan0 [router r] wan0 203.0.113.1/24 -- w 203.0.113.2/24, 198.51.100.1/32
//   h1 192.0.2.70/26 -- lan1                                      (198.51.100.99: unreachable at w)
//
// and bpf/router_tc.bpf.o attached to r's ports as an instance would
// attach it (tcx ingress; maps filled: masquerade lan0+lan1 -> wan0, a port
// forward of 203.0.113.1:8080/tcp to 192.0.2.10:80 from any port: hairpin). w knows no route to
// the LAN: only what the NAT makes of its traffic gets answers.
import * as bpf from '../../src/bpf/libbpf';
import { BpfMap } from '../../src/bpf/maps';
import { ifIndex, inNetns } from '../../src/bpf/sys';
import { sh } from './netns';
import { BUILD, enumCounts } from './wire';

export interface RouterLab { r: string; h0: string; h1: string; w: string; idx: Record<string, number> }
export const inNs = (ns: string, ...cmd: string[]) => sh('ip', ['netns', 'exec', ns, ...cmd], { allowFail: true, timeoutMs: 60000 });
const ipn = (ns: string, ...a: string[]) => sh('ip', ['-n', ns, ...a]);

export function buildRouterLab(prefix: string): RouterLab {
  const lab: RouterLab = { r: `${prefix}r`, h0: `${prefix}h0`, h1: `${prefix}h1`, w: `${prefix}w`, idx: {} };
  destroyRouterLab(lab);
  for (const n of [lab.r, lab.h0, lab.h1, lab.w]) { sh('ip', ['netns', 'add', n]); ipn(n, 'link', 'set', 'lo', 'up'); }
  const wire = (port: string, host: string, addr: string, gw?: string) => {
    sh('ip', ['link', 'add', port, 'netns', lab.r, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host]);
    ipn(lab.r, 'link', 'set', port, 'up'); ipn(host, 'link', 'set', 'eth0', 'up');
    ipn(host, 'addr', 'add', addr, 'dev', 'eth0');
    if (gw) ipn(host, 'route', 'add', 'default', 'via', gw);
  };
  wire('lan0', lab.h0, '192.0.2.10/26', '192.0.2.1');
  wire('lan1', lab.h1, '192.0.2.70/26', '192.0.2.65');
  wire('wan0', lab.w, '203.0.113.2/24');
  ipn(lab.r, 'addr', 'add', '192.0.2.1/26', 'dev', 'lan0');
  ipn(lab.r, 'addr', 'add', '192.0.2.65/26', 'dev', 'lan1');
  ipn(lab.r, 'addr', 'add', '203.0.113.1/24', 'dev', 'wan0');
  ipn(lab.r, 'route', 'add', '198.51.100.0/24', 'via', '203.0.113.2');
  ipn(lab.w, 'addr', 'add', '198.51.100.1/32', 'dev', 'lo');
  ipn(lab.w, 'route', 'add', 'unreachable', '198.51.100.99/32');
  inNs(lab.w, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'); // a router there: it answers for what it cannot reach
  inNs(lab.r, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
  inNetns(lab.r, () => { for (const p of ['lan0', 'lan1', 'wan0']) lab.idx[p] = ifIndex(p); });
  return lab;
}

export function destroyRouterLab(lab: RouterLab): void {
  const have = sh('ip', ['netns', 'list']).out.split('\n').map((l) => l.split(' ')[0]);
  for (const n of [lab.r, lab.h0, lab.h1, lab.w]) if (have.includes(n)) sh('ip', ['netns', 'del', n], { allowFail: true });
}

export interface AttachedRouter { maps: Record<string, BpfMap>; counts(): Record<string, number>; config(over?: Record<string, number>): void; close(): void }

/** bpf/router_tc.bpf.o on r's three ports, unpinned: closing the handle detaches it. */
export function attachRouter(lab: RouterLab): AttachedRouter {
  const obj = bpf.openObject(`${BUILD}/router_tc.bpf.o`);
  for (const m of bpf.mapNames(obj)) if (!m.includes('.')) bpf.setMapPinPath(obj, m, null);
  bpf.loadObject(obj);
  const maps: Record<string, BpfMap> = {};
  for (const m of ['rt_config', 'rt_ports', 'rt_policy', 'rt_counts', 'rt_snat', 'rt_dnat', 'rt_conns']) maps[m] = BpfMap.fromFd(bpf.mapFd(obj, m), m);
  const { idx } = lab;
  const config = (over: Record<string, number> = {}) => maps.rt_config.update(0, {
    flags: 0, port_min: 1024, port_max: 65535, n_snat: 1, n_dnat: 1, udp_timeout: 30, tcp_established: 7440, tcp_closing: 10, tcp_syn: 120, icmp_timeout: 30, pad: 0, ...over,
  });
  config();
  const addr: Record<string, string> = { lan0: '192.0.2.1', lan1: '192.0.2.65', wan0: '203.0.113.1' };
  for (const [i, p] of ['lan0', 'lan1', 'wan0'].entries()) maps.rt_ports.update(idx[p], { index: i, addr4: addr[p] });
  maps.rt_snat.update(0, { in_ports: 0b011n, out: idx.wan0, src: '192.0.2.0', src_mask: '255.255.255.0', to_min: '0.0.0.0', to_max: '0.0.0.0', proto: 0, pad: [0, 0, 0] });
  maps.rt_dnat.update(0, { in_ports: 0n, dst: '203.0.113.1', to_addr: '192.0.2.10', dport: 8080, to_port: 80, proto: 6, pad: [0, 0, 0] });
  const links: number[] = [];
  inNetns(lab.r, () => { for (const p of ['lan0', 'lan1', 'wan0']) links.push(bpf.tcxLinkCreate(bpf.programFd(obj, 'rt_tc_in'), idx[p])); });
  return {
    maps,
    config,
    counts: () => enumCounts(maps.rt_counts, 'rt_count', 'RT_'),
    close() {
      for (const l of links) bpf.closeFd(l);
      for (const m of Object.values(maps)) m.close();
      bpf.closeObject(obj);
    },
  };
}
