// The routing lab (issue 10) for the end-to-end tests and `make bench`:
//
//   h0 192.0.2.10/26 -- lan0 [router r] wan0 203.0.113.1/24 -- w 203.0.113.2/24, 198.51.100.1/32
//   h1 192.0.2.70/26 -- lan1                                      (198.51.100.99: unreachable at w)
//
// and a routing instance attached to r's ports from a `role: router` config
// (masquerade lan0+lan1 -> wan0, a port forward of 203.0.113.1:8080/tcp to
// 192.0.2.10:80 from any port: hairpin). w knows no route to the LAN: only
// what the NAT makes of its traffic gets answers.
import fs from 'fs';
import os from 'os';
import path from 'path';
import * as l2 from '../../src/index';
import { BpfMap } from '../../src/bpf/maps';
import { ifIndex, inNetns } from '../../src/bpf/sys';
import { sh } from './netns';
import { enumCounts } from './wire';

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

export interface AttachedRouter {
  name: string; pinRoot: string; file: string;
  maps: Record<string, BpfMap>; counts(): Record<string, number>;
  /** attach again with other config lines (policy, mark_iif, ...): maps updated in place */
  reattach(extra?: string): unknown;
  close(): void;
}

/** The lab's router config: masquerade lan0+lan1 -> wan0, a port forward of
 * 203.0.113.1:8080/tcp to 192.0.2.10:80 from any port (hairpin); `extra`
 * appends lines (policy:, mark_iif:, conntrack:). */
export function routerYaml(lab: RouterLab, name: string, extra = ''): string {
  return [
    `instance: ${name}`, 'role: router', `netns: ${lab.r}`, 'ports: [lan0, lan1, wan0]', 'nat:',
    '  - { in: [lan0, lan1], out: wan0, src: 192.0.2.0/24, snat: masquerade }',
    '  - { proto: tcp, dst: 203.0.113.1, dport: 8080, dnat: "192.0.2.10:80" }', extra, '',
  ].join('\n');
}

/** The router attached as a user attaches it (`l2bpf attach -c router.yaml`,
 * through the library), pinned under its own pin root; close() detaches. */
export function attachRouter(lab: RouterLab, extra = ''): AttachedRouter {
  const name = `${lab.r}-edge`.slice(0, 32), pinRoot = `/sys/fs/bpf/l2t-${lab.r}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l2rt-')), file = path.join(dir, 'router.yaml');
  const maps: Record<string, BpfMap> = {};
  const attach = (more: string) => {
    fs.writeFileSync(file, routerYaml(lab, name, more));
    return l2.attach({ config: file, pinRoot });
  };
  const r = attach(extra);
  for (const m of ['rt_config', 'rt_ports', 'rt_policy', 'rt_counts', 'rt_snat', 'rt_dnat', 'rt_conns']) maps[m] = BpfMap.openPinned(`${pinRoot}/${name}/maps/${m}`);
  void r;
  return {
    name, pinRoot, file, maps,
    counts: () => enumCounts(maps.rt_counts, 'rt_count', 'RT_'),
    reattach: (more = '') => attach(more),
    close() {
      for (const m of Object.values(maps)) m.close();
      try { l2.detach({ name, pinRoot }); } finally { fs.rmSync(dir, { recursive: true, force: true }); }
    },
  };
}
