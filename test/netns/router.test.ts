// The routing instance's data path (bpf/router_tc.bpf.c: NAT, then route;
// issue 10) end to end in namespaces, against the kernel's own tools: ping,
// traceroute, TCP transfers with sha256, nftables, `ip rule`, conntrack.
// The program is attached here by the test (tcx ingress on each port, maps
// filled as an instance would fill them); the `role: router` config and
// its attach are still to come. mark_iif is proved by the program tests
// only: a redirected packet passes no netfilter hook, and this kernel has no
// tc classifier but bpf to look at marks with.
//
//   h0 192.0.2.10/26 -- lan0 [router r] wan0 203.0.113.1/24 -- w 203.0.113.2/24, 198.51.100.1/32
//   h1 192.0.2.70/26 -- lan1                                      (198.51.100.99: unreachable at w)
import { spawn } from 'child_process';
import * as bpf from '../../src/bpf/libbpf';
import { BpfMap } from '../../src/bpf/maps';
import { ifIndex, inNetns } from '../../src/bpf/sys';
import { shaFetch, shaTransfer, sh, SHA } from '../helpers/netns';
import { BUILD } from '../helpers/wire';

const P = `rt${process.pid % 100000}-`;
const R = `${P}r`, H0 = `${P}h0`, H1 = `${P}h1`, W = `${P}w`;
const x = (ns: string, ...cmd: string[]) => sh('ip', ['netns', 'exec', ns, ...cmd], { allowFail: true, timeoutMs: 60000 });
const ipn = (ns: string, ...a: string[]) => sh('ip', ['-n', ns, ...a]);
let obj: bpf.BpfObject | undefined;
const links: number[] = [];
const maps: Record<string, BpfMap> = {};
const idx: Record<string, number> = {};

function counts(): Record<string, number> {
  const m = maps.rt_counts, out: Record<string, number> = {};
  for (const [v, n] of m.btf!.enumNames('rt_count')) {
    const vals = m.lookup(Number(v));
    if (vals) out[n.replace(/^RT_/, '').toLowerCase()] = vals.reduce((a, b) => a + Number(b.readBigUInt64LE(0)), 0);
  }
  return out;
}
const conntrackCount = () => Number(x(R, 'cat', '/proc/sys/net/netfilter/nf_conntrack_count').out.trim());

beforeAll(() => {
  for (const n of [R, H0, H1, W]) { sh('ip', ['netns', 'del', n], { allowFail: true }); sh('ip', ['netns', 'add', n]); ipn(n, 'link', 'set', 'lo', 'up'); }
  const wire = (port: string, host: string, addr: string, gw: string) => {
    sh('ip', ['link', 'add', port, 'netns', R, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host]);
    ipn(R, 'link', 'set', port, 'up'); ipn(host, 'link', 'set', 'eth0', 'up');
    ipn(host, 'addr', 'add', addr, 'dev', 'eth0');
    ipn(host, 'route', 'add', 'default', 'via', gw);
  };
  wire('lan0', H0, '192.0.2.10/26', '192.0.2.1');
  wire('lan1', H1, '192.0.2.70/26', '192.0.2.65');
  sh('ip', ['link', 'add', 'wan0', 'netns', R, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', W]);
  ipn(R, 'link', 'set', 'wan0', 'up'); ipn(W, 'link', 'set', 'eth0', 'up');
  ipn(R, 'addr', 'add', '192.0.2.1/26', 'dev', 'lan0');
  ipn(R, 'addr', 'add', '192.0.2.65/26', 'dev', 'lan1');
  ipn(R, 'addr', 'add', '203.0.113.1/24', 'dev', 'wan0');
  ipn(R, 'route', 'add', '198.51.100.0/24', 'via', '203.0.113.2');
  ipn(W, 'addr', 'add', '203.0.113.2/24', 'dev', 'eth0');
  ipn(W, 'addr', 'add', '198.51.100.1/32', 'dev', 'lo');
  ipn(W, 'route', 'add', 'unreachable', '198.51.100.99/32');
  x(W, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'); // a router there: it answers for what it cannot reach
  // w knows no route to the LAN: only what the NAT makes of it gets answers
  x(R, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
  inNetns(R, () => { for (const p of ['lan0', 'lan1', 'wan0']) idx[p] = ifIndex(p); });

  obj = bpf.openObject(`${BUILD}/router_tc.bpf.o`);
  for (const m of bpf.mapNames(obj)) if (!m.includes('.')) bpf.setMapPinPath(obj, m, null);
  bpf.loadObject(obj);
  for (const m of ['rt_config', 'rt_ports', 'rt_policy', 'rt_counts', 'rt_snat', 'rt_dnat', 'rt_conns']) maps[m] = BpfMap.fromFd(bpf.mapFd(obj, m), m);
  maps.rt_config.update(0, { flags: 0, port_min: 1024, port_max: 65535, n_snat: 1, n_dnat: 1, udp_timeout: 30, tcp_established: 7440, tcp_closing: 10, tcp_syn: 120, icmp_timeout: 30, pad: 0 });
  for (const [i, p] of ['lan0', 'lan1', 'wan0'].entries()) maps.rt_ports.update(idx[p], { index: i, addr4: p === 'wan0' ? '203.0.113.1' : '0.0.0.0' });
  maps.rt_snat.update(0, { in_ports: 0b011n, out: idx.wan0, src: '192.0.2.0', src_mask: '255.255.255.0', to_min: '0.0.0.0', to_max: '0.0.0.0', proto: 0, pad: [0, 0, 0] });
  maps.rt_dnat.update(0, { in_ports: 0b100n, dst: '203.0.113.1', to_addr: '192.0.2.10', dport: 8080, to_port: 80, proto: 6, pad: [0, 0, 0] });
  inNetns(R, () => { for (const p of ['lan0', 'lan1', 'wan0']) links.push(bpf.tcxLinkCreate(bpf.programFd(obj!, 'rt_tc_in'), idx[p])); });
});

afterAll(() => {
  for (const l of links) bpf.closeFd(l);
  for (const m of Object.values(maps)) m.close();
  if (obj) bpf.closeObject(obj);
  for (const n of [R, H0, H1, W]) sh('ip', ['netns', 'del', n], { allowFail: true });
});

describe('NAT, then route, in BPF between two LAN hosts and a WAN server', () => {
  test('ping through the masquerade from both LAN hosts; the server sees only the router\'s address', () => {
    const cap = spawn('ip', ['netns', 'exec', W, 'timeout', '10', 'tcpdump', '-n', '-l', '-i', 'eth0', '-c', '4', 'icmp[icmptype] == 8']);
    let seen = '';
    cap.stdout.on('data', (d) => { seen += d; });
    const before = counts();
    return new Promise<void>((resolve) => setTimeout(resolve, 800)).then(async () => {
      expect(x(H0, 'ping', '-c', '2', '-i', '0.2', '-W', '2', '203.0.113.2').out).toMatch(/2 received/);
      expect(x(H1, 'ping', '-c', '2', '-i', '0.2', '-W', '2', '198.51.100.1').out).toMatch(/2 received/);
      await new Promise((r) => cap.on('close', r));
      expect(seen.match(/IP 203\.0\.113\.1 > /g)?.length).toBe(4);
      expect(seen).not.toMatch(/192\.0\.2\./);
      const after = counts();
      expect(after.nat_new_snat - before.nat_new_snat).toBe(2);
      expect(after.forwarded + after.forwarded_neigh - before.forwarded - before.forwarded_neigh).toBeGreaterThanOrEqual(8);
    });
  });

  test('TCP 20 MB each way through the masquerade, sha256 equal; BPF forwarded it, the kernel\'s conntrack saw none of it', async () => {
    // a rule that needs conntrack turns it on in the router's namespace: whatever the kernel forwards is tracked
    const nft = 'table ip rtt {\n chain forwarding {\n  type filter hook forward priority 0; ct state new counter\n }\n}';
    expect(x(R, 'sh', '-c', `nft -f - <<'EOF'\n${nft}\nEOF`).code).toBe(0);
    try {
      const ct0 = conntrackCount(), before = counts();
      const up = await shaTransfer(H0, W, '203.0.113.2', 5501, 20);
      expect(up.sent).toMatch(/^20971520 [0-9a-f]{64}$/);
      expect(up.got).toBe(up.sent);
      const dn = await shaFetch(W, H1, '203.0.113.2', 5502, 20);
      expect(dn.sent).toMatch(/^20971520 [0-9a-f]{64}$/);
      expect(dn.got).toBe(dn.sent);
      const after = counts();
      expect(after.nat_xlate - before.nat_xlate).toBeGreaterThan(1000); // GRO: packets of up to 64 KB
      expect(conntrackCount() - ct0).toBe(0);
    } finally {
      x(R, 'nft', 'delete', 'table', 'ip', 'rtt');
    }
  }, 120000);

  test('port forward: the WAN server reaches the LAN server through 203.0.113.1:8080, 20 MB sha256 equal', async () => {
    const rx = spawn('ip', ['netns', 'exec', H0, '/usr/bin/python3', SHA, 'recv', '192.0.2.10', '80', '60']);
    let got = '';
    rx.stdout.on('data', (d) => { got += d; });
    for (let i = 0; i < 100 && !got.includes('ready'); i++) await new Promise((r) => setTimeout(r, 50));
    const sent = x(W, 'timeout', '90', '/usr/bin/python3', SHA, 'send', '203.0.113.1', '8080', '20');
    await new Promise((r) => rx.on('close', r));
    expect(sent.out.trim()).toMatch(/^20971520 [0-9a-f]{64}$/);
    expect(got.split('\n')[1]?.trim()).toBe(sent.out.trim());
  }, 120000);

  test('traceroute through the NAT: hop 1 the router, hop 2 the server (its port-unreachable comes back translated); a host unreachable reaches the host', () => {
    const tr = x(H0, 'traceroute', '-n', '-q', '1', '-w', '1', '-m', '4', '198.51.100.1');
    expect(tr.out).toMatch(/^\s*1\s+192\.0\.2\.1\s/m);
    expect(tr.out).toMatch(/^\s*2\s+198\.51\.100\.1\s/m);
    const before = counts();
    const un = x(H0, 'ping', '-c', '1', '-W', '2', '198.51.100.99');
    expect(un.out).toMatch(/From 203\.0\.113\.2 icmp_seq=1 Destination (Host|Net) Unreachable/);
    expect(counts().nat_icmp_error - before.nat_icmp_error).toBeGreaterThanOrEqual(1);
  });

  test('`ip rule iif lan1` picks a second table for lan1 only; a policy rule on in: lan1 drops exactly lan1\'s traffic', () => {
    ipn(R, 'route', 'add', 'blackhole', '203.0.113.2/32', 'table', '100');
    ipn(R, 'rule', 'add', 'iif', 'lan1', 'lookup', '100');
    try {
      expect(x(H1, 'ping', '-c', '1', '-W', '1', '203.0.113.2').out).toMatch(/0 received/); // table 100 blackholes it
      expect(x(H0, 'ping', '-c', '1', '-W', '2', '203.0.113.2').out).toMatch(/1 received/);
    } finally {
      ipn(R, 'rule', 'del', 'iif', 'lan1', 'lookup', '100');
      ipn(R, 'route', 'del', 'blackhole', '203.0.113.2/32', 'table', '100');
    }
    maps.rt_policy.update({ in: idx.lan1, out: 0 }, { action: 1, pad: 0 });
    try {
      const before = counts();
      expect(x(H1, 'ping', '-c', '2', '-i', '0.2', '-W', '1', '203.0.113.2').out).toMatch(/0 received/);
      expect(x(H0, 'ping', '-c', '2', '-i', '0.2', '-W', '2', '203.0.113.2').out).toMatch(/2 received/);
      expect(counts().drop_policy - before.drop_policy).toBe(2);
    } finally {
      maps.rt_policy.delete({ in: idx.lan1, out: 0 });
    }
  });
});
