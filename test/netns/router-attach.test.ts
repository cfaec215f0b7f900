// A routing instance as a user runs it (issue 10): `l2bpf attach -c
// router.yaml` with `role: router`, then status, dump nat (beside bpftool),
// stats, a re-attach that changes the config in place, mark_iif seen by an
// nftables postrouting rule, a failed attach rolled back, and a detach that
// leaves nothing behind (links, pins, the sysctls attach changed).
//
//   h0 192.0.2.10/26 -- lan0 [router r] wan0 203.0.113.1/24 -- w 203.0.113.2/24, 198.51.100.1/32
//   h1 192.0.2.70/26 -- lan1
import fs from 'fs';
import os from 'os';
import path from 'path';
import * as bpf from '../../src/bpf/libbpf';
import { inNetns } from '../../src/bpf/sys';
import { l2bpf, sh } from '../helpers/netns';
import { buildRouterLab, destroyRouterLab, inNs as x, routerYaml } from '../helpers/router';

const lab = buildRouterLab(`ra${process.pid % 100000}-`);
const { r: R, h0: H0, h1: H1, w: W, idx } = lab;
const ROOT = `/sys/fs/bpf/l2t-${R}-cli`;
const NAME = 'edge';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l2rta-'));
const FILE = path.join(dir, 'router.yaml');
const cli = (...a: string[]) => l2bpf([...a, '--pin-root', ROOT]);
const sysctl = (port: string, key: string) => Number(x(R, 'cat', `/proc/sys/net/ipv4/conf/${port}/${key}`).out.trim());
const write = (extra = '') => fs.writeFileSync(FILE, routerYaml(lab, NAME, extra));
const tcxProgs = () => inNetns(R, () => ['lan0', 'lan1', 'wan0'].map((p) => bpf.progQuery(idx[p], bpf.BPF_TCX_INGRESS).length));
const json = (r: { code: number; out: string; err: string }) => {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.err}`);
  return JSON.parse(r.out);
};
const PORTS = ['lan0', 'lan1', 'wan0'];

beforeAll(() => {
  // the lab turns forwarding on everywhere; off on the ports, attach must turn it on (and detach off again)
  for (const p of PORTS) x(R, 'sysctl', '-qw', `net.ipv4.conf.${p}.forwarding=0`);
});
afterAll(() => {
  l2bpf(['detach', '--all', '--pin-root', ROOT]);
  destroyRouterLab(lab);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('l2bpf attach -c router.yaml (role: router)', () => {
  test('a failed attach rolls back completely: no link on any port, no pins, the sysctls as they were', () => {
    write();
    for (const fp of ['router-after-maps', 'router-after-sysctl', 'router-after-link-1', 'router-after-record']) {
      const r = l2bpf(['attach', '-c', FILE, '--pin-root', ROOT], { L2BPF_FAILPOINT: fp });
      expect([r.code, r.err]).toEqual([1, expect.stringContaining(`attach ${NAME} failed: failpoint ${fp} hit; rolled back`)]);
      expect(tcxProgs()).toEqual([0, 0, 0]);
      expect(fs.existsSync(path.join(ROOT, NAME))).toBe(false);
      expect(PORTS.map((p) => sysctl(p, 'forwarding'))).toEqual([0, 0, 0]);
    }
  });

  test('attaches: one program on tcx ingress of every port, forwarding turned on, status says so', () => {
    const r = cli('attach', '-c', FILE);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`^attached: instance ${NAME} routes between lan0, lan1, wan0 \\(namespace ${R}\\)`));
    expect(r.out).toMatch(/wan0: TC \(tcx ingress\), ifindex \d+, 203\.0\.113\.1, .* set forwarding \(restored on detach\)/);
    expect(tcxProgs()).toEqual([1, 1, 1]);
    expect(PORTS.map((p) => sysctl(p, 'forwarding'))).toEqual([1, 1, 1]);
    const [st] = json(cli('status', '--json'));
    expect(st).toMatchObject({ instance: NAME, state: 'attached', requested: 'router', netns: R, problems: [] });
    expect(st.ports.map((p: { name: string; program: string }) => [p.name, p.program])).toEqual(PORTS.map((p) => [p, 'rt_tc_in']));
  });

  test('dump nat lists each connection once, both directions, with its original input port; the same table as bpftool sees it', () => {
    expect(x(H0, 'ping', '-c', '2', '-i', '0.2', '-W', '2', '198.51.100.1').out).toMatch(/2 received/);
    expect(x(H1, 'ping', '-c', '1', '-W', '2', '198.51.100.1').out).toMatch(/1 received/);
    const rows = json(cli('dump', 'nat', '--json', '--name', NAME)) as Array<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const h0 = rows.find((c) => c.orig.src === '192.0.2.10')!, h1 = rows.find((c) => c.orig.src === '192.0.2.70')!;
    expect(h0).toMatchObject({ proto: 'icmp', iifName: 'lan0', nat: ['snat'], orig: { dst: '198.51.100.1', packets: 2 }, reply: { src: '198.51.100.1', dst: '203.0.113.1', packets: 2 } });
    expect(h1).toMatchObject({ proto: 'icmp', iifName: 'lan1', nat: ['snat'], orig: { dst: '198.51.100.1', packets: 1 }, reply: { dst: '203.0.113.1', packets: 1 } });
    expect(h0.timeout).toBeGreaterThan(20);
    expect(h0.timeout).toBeLessThanOrEqual(30);
    const text = cli('dump', 'nat').out;
    expect(text).toMatch(/icmp 1 +\d+ src=192\.0\.2\.10 dst=198\.51\.100\.1 id=\d+ packets=2 bytes=\d+ src=198\.51\.100\.1 dst=203\.0\.113\.1 id=\d+ packets=2 bytes=\d+ iif=lan0 snat/);
    // two entries per connection in the pinned map, the same for l2bpf and bpftool
    const ours = json(cli('dump', 'conns', '--json')) as Array<{ key: unknown }>;
    // bpftool outside `ip netns exec`, which mounts a /sys of its own (without our bpffs)
    const theirs = JSON.parse(sh('bpftool', ['-j', 'map', 'dump', 'pinned', `${ROOT}/${NAME}/maps/rt_conns`]).out) as Array<{ formatted: { key: unknown } }>;
    expect(ours.length).toBe(2 * rows.length);
    expect(theirs.map((e) => e.formatted.key)).toEqual(expect.arrayContaining(ours.map((e) => e.key)));
    expect(theirs.length).toBe(ours.length);
  });

  test('stats counts by outcome and the table\'s fill', () => {
    const s = json(cli('stats', '--json'));
    expect(s.router.counts.nat_new_snat).toBe(2);
    expect(s.router.counts.nat_xlate).toBe(6);
    expect(s.router.connections).toBe(4);
    expect(s.router.tableSize).toBe(262144);
    expect(cli('stats').out).toMatch(/instance edge \(router\): 4 of 262144 connection-table entries in use/);
  });

  test('re-attach with a policy rule: updated in place (same links, connections kept), the rule drops exactly lan1\'s traffic', () => {
    const links = json(cli('status', '--json'))[0].ports.map((p: { linkId: number }) => p.linkId);
    write('policy:\n  - { in: lan1, action: drop }');
    const r = cli('attach', '-c', FILE);
    expect([r.code, r.out.split('\n')[0]]).toEqual([0, `updated: instance ${NAME} routes between lan0, lan1, wan0 (namespace ${R})`]);
    expect(json(cli('status', '--json'))[0].ports.map((p: { linkId: number }) => p.linkId)).toEqual(links);
    expect(json(cli('stats', '--json')).router.connections).toBe(4);
    expect(x(H1, 'ping', '-c', '2', '-i', '0.2', '-W', '1', '198.51.100.1').out).toMatch(/0 received/);
    expect(x(H0, 'ping', '-c', '2', '-i', '0.2', '-W', '2', '198.51.100.1').out).toMatch(/2 received/);
    expect(json(cli('stats', '--json')).router.counts.drop_policy).toBe(2);
  });

  test('a failed re-attach (turning mark_iif on) leaves the instance as it was at every step: maps, sysctls, program, record', () => {
    const before = { cfg: json(cli('dump', 'rt_config', '--json')), policy: json(cli('dump', 'rt_policy', '--json')), st: json(cli('status', '--json'))[0] };
    write('mark_iif: true\npolicy:\n  - { in: lan0, action: drop }');
    for (const fp of ['router-after-sysctl', 'router-after-maps', 'router-after-link-2', 'router-after-record']) {
      const r = l2bpf(['attach', '-c', FILE, '--pin-root', ROOT], { L2BPF_FAILPOINT: fp });
      expect([r.code, r.err]).toEqual([1, expect.stringContaining(`failpoint ${fp} hit; rolled back`)]);
      expect(json(cli('dump', 'rt_config', '--json'))).toEqual(before.cfg);
      expect(json(cli('dump', 'rt_policy', '--json'))).toEqual(before.policy);
      expect(PORTS.map((p) => sysctl(p, 'accept_local'))).toEqual([0, 0, 0]);
      const st = json(cli('status', '--json'))[0];
      expect([st.state, st.updated, st.ports.map((p: { progId: number }) => p.progId)]).toEqual([before.st.state, before.st.updated, before.st.ports.map((p: { progId: number }) => p.progId)]);
    }
    expect(x(H1, 'ping', '-c', '1', '-W', '1', '198.51.100.1').out).toMatch(/0 received/); // the policy before it still drops lan1
    expect(x(H0, 'ping', '-c', '1', '-W', '2', '198.51.100.1').out).toMatch(/1 received/);
  });

  test('mark_iif: an nftables postrouting rule matches the original input port in meta mark; the policy still applies', () => {
    write('mark_iif: true\npolicy:\n  - { in: lan1, out: lan0, action: drop }');
    expect(cli('attach', '-c', FILE).code).toBe(0);
    expect(PORTS.map((p) => sysctl(p, 'accept_local'))).toEqual([1, 1, 1]); // a masqueraded source is the box's own
    const nft = `table inet l2mark {\n chain post {\n  type filter hook postrouting priority 0;\n  meta mark ${idx.lan0} counter\n  meta mark ${idx.lan1} counter\n  meta mark ${idx.wan0} counter\n }\n}`;
    expect(x(R, 'sh', '-c', `nft -f - <<'EOF'\n${nft}\nEOF`).code).toBe(0);
    try {
      const before = json(cli('stats', '--json')).router.counts;
      expect(x(H0, 'ping', '-c', '3', '-i', '0.2', '-W', '2', '198.51.100.1').out).toMatch(/3 received/);
      expect(x(H1, 'ping', '-c', '2', '-i', '0.2', '-W', '2', '198.51.100.1').out).toMatch(/2 received/);
      const got = [...x(R, 'nft', 'list', 'table', 'inet', 'l2mark').out.matchAll(/meta mark (0x[0-9a-f]+) counter packets (\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
      expect(got).toEqual([[idx.lan0, 3], [idx.lan1, 2], [idx.wan0, 5]]); // the replies came in on wan0
      expect(json(cli('stats', '--json')).router.counts.forwarded_kernel - before.forwarded_kernel).toBe(10);
      expect(x(H1, 'ping', '-c', '1', '-W', '1', '192.0.2.10').out).toMatch(/0 received/); // in lan1, out lan0: dropped
    } finally {
      x(R, 'nft', 'delete', 'table', 'inet', 'l2mark');
    }
    write();
    expect(cli('attach', '-c', FILE).code).toBe(0); // without mark_iif: accept_local back as it was
    expect(PORTS.map((p) => sysctl(p, 'accept_local'))).toEqual([0, 0, 0]);
    expect(x(H0, 'ping', '-c', '1', '-W', '2', '198.51.100.1').out).toMatch(/1 received/);
  });

  test('a port of the router cannot join another instance; a config that contradicts the command line is refused (exit 2)', () => {
    const r = l2bpf(['attach', 'lan0', 'wan0', '--netns', R, '--name', 'other', '--pin-root', ROOT]);
    expect([r.code, r.err.trim()]).toEqual([2, expect.stringMatching(/port lan0 in namespace .* already belongs to l2bpf instance edge/)]);
    const m = cli('attach', '-c', FILE, '--name', 'else');
    expect([m.code, m.err.trim()]).toEqual([2, `l2bpf: command line: instance: command line says else (--name) but ${FILE} says ${NAME}`]);
  });

  test('detach leaves nothing: no links, no pins, forwarding off again as it was; the LAN is cut off', () => {
    const r = cli('detach', '--name', NAME);
    expect([r.code, r.out.trim()]).toEqual([0, `detached: instance ${NAME} (lan0 and lan1 and wan0 in ${R})`]);
    expect(tcxProgs()).toEqual([0, 0, 0]);
    expect(fs.existsSync(path.join(ROOT, NAME))).toBe(false);
    expect(PORTS.map((p) => sysctl(p, 'forwarding'))).toEqual([0, 0, 0]);
    expect(x(H0, 'ping', '-c', '1', '-W', '1', '198.51.100.1').out).toMatch(/0 received/);
    void W;
  });
});
