// The routing instance's data path (bpf/router_tc.bpf.c: NAT, then route;
// issue 10) end to end in namespaces, against the kernel's own tools: ping,
// traceroute, TCP transfers with sha256, nftables, `ip rule`, conntrack.
// The instance is attached from a `role: router` config as a user attaches
// it (test/helpers/router.ts); attach, detach and mark_iif have their own
// tests in router-attach.test.ts.
//
//   h0 192.0.2.10/26 -- lan0 [router r] wan0 203.0.113.1/24 -- w 203.0.113.2/24, 198.51.100.1/32
//   h1 192.0.2.70/26 -- lan1                                      (198.51.100.99: unreachable at w)
import { spawn } from 'child_process';
import { shaFetch, shaTransfer } from '../helpers/netns';
import { attachRouter, AttachedRouter, buildRouterLab, destroyRouterLab, inNs as x } from '../helpers/router';

const lab = buildRouterLab(`rt${process.pid % 100000}-`);
const { r: R, h0: H0, h1: H1, w: W, idx } = lab;
let router: AttachedRouter;
const counts = () => router.counts();
const ipn = (ns: string, ...a: string[]) => x(ns, 'ip', ...a);
const conntrackCount = () => Number(x(R, 'cat', '/proc/sys/net/netfilter/nf_conntrack_count').out.trim());

beforeAll(() => { router = attachRouter(lab); });
afterAll(() => {
  router?.close();
  destroyRouterLab(lab);
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
    const t = await shaTransfer(W, H0, '192.0.2.10', 80, 20, ['203.0.113.1', 8080]);
    expect(t.sent).toMatch(/^20971520 [0-9a-f]{64}$/);
    expect(t.got).toBe(t.sent);
  }, 120000);

  test('hairpin: the LAN server reaches its own forwarded address 203.0.113.1:8080 and gets its answers, 20 MB sha256 equal', async () => {
    const before = counts();
    const t = await shaTransfer(H0, H0, '192.0.2.10', 80, 20, ['203.0.113.1', 8080]);
    expect(t.sent).toMatch(/^20971520 [0-9a-f]{64}$/);
    expect(t.got).toBe(t.sent);
    expect(counts().nat_hairpin - before.nat_hairpin).toBe(1);
  }, 120000);

  test('10,000 concurrent UDP flows from one LAN host: each leaves with its own port, each gets its reply', async () => {
    const ECHO = `
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 23); s.bind(('203.0.113.2', 5400)); s.settimeout(5)
seen = set(); print('ready', flush=True)
try:
    while True:
        d, a = s.recvfrom(64); seen.add(a); s.sendto(d, a)
except socket.timeout:
    pass
print(len(seen), len({p for ip, p in seen}), sorted({ip for ip, p in seen}))`;
    const FLOWS = `
import resource, selectors, socket, time
resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(10000)]
sel = selectors.DefaultSelector()
for i, s in enumerate(socks):
    s.setblocking(False); s.sendto(b'flow %d' % i, ('203.0.113.2', 5400)); sel.register(s, selectors.EVENT_READ, i)
    if i % 100 == 99: time.sleep(0.01)  # paced: socket buffers, not the NAT, would drop a burst
got = set(); end = time.time() + 10
while len(got) < len(socks) and time.time() < end:
    for k, _ in sel.select(0.5):
        d = k.fileobj.recv(64)
        if d == b'flow %d' % k.data: got.add(k.data)
print(len(got))`;
    const srv = spawn('ip', ['netns', 'exec', W, 'timeout', '40', '/usr/bin/python3', '-c', ECHO]);
    let out = '';
    srv.stdout.on('data', (d) => { out += d; });
    for (let i = 0; i < 100 && !out.includes('ready'); i++) await new Promise((r) => setTimeout(r, 50));
    const before = counts();
    const cli = x(H0, 'timeout', '30', '/usr/bin/python3', '-c', FLOWS);
    await new Promise((r) => srv.on('close', r));
    expect({ replies: cli.out.trim(), server: out.split('\n')[1]?.trim() }).toEqual({ replies: '10000', server: "10000 10000 ['203.0.113.1']" });
    expect(out.split('\n')[1]?.trim()).toBe("10000 10000 ['203.0.113.1']"); // 10,000 sources, all the router's address, distinct ports
    expect(counts().nat_new_snat - before.nat_new_snat).toBe(10000);
  }, 90000);

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
    router.reattach('policy:\n  - { in: lan1, action: drop }');
    try {
      const before = counts();
      expect(x(H1, 'ping', '-c', '2', '-i', '0.2', '-W', '1', '203.0.113.2').out).toMatch(/0 received/);
      expect(x(H0, 'ping', '-c', '2', '-i', '0.2', '-W', '2', '203.0.113.2').out).toMatch(/2 received/);
      expect(counts().drop_policy - before.drop_policy).toBe(2);
    } finally {
      router.reattach();
    }
  });
});
