// GRE end to end with the seed's topology: PC - gw1 - box(eth2, eth3) -
// gw2 - POP - server, where the POP is Open vSwitch's user-space GRE (an
// independent implementation, lab/seed.sh). The box gets only `local`, one
// tunnel and one rule: no routes, no addresses on its ports.
import { spawn } from 'child_process';
import fs from 'fs';
import path from 'path';
import { parseJsonExact } from '../../src/btf';
import { l2bpf, sh } from '../helpers/netns';

const REPO = path.resolve(__dirname, '../../..');
const P = `l2g${process.pid % 100000}-`;
const ROOT = `/sys/fs/bpf/l2bpf-gre-${process.pid}`;
const env = { L2BPF_PIN_ROOT: ROOT };
const seed = (...args: string[]) => sh('bash', [path.join(REPO, 'lab/seed.sh'), ...args, '--prefix', P], { timeoutMs: 120000 });
const x = (node: string, ...cmd: string[]) => sh('ip', ['netns', 'exec', `${P}${node}`, ...cmd], { allowFail: true, timeoutMs: 60000 });
const json = (r: { out: string }) => parseJsonExact(r.out) as any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The hook the box runs on (the suite runs in both). */
let MODE = 'tc';
/** The box's config: one tunnel and one rule; `more` changes it for a re-attach. */
function config(key?: number, more: { ttl?: number; mtu?: number; tunnels?: string[]; rules?: string[]; local6?: string } = {}): string {
  const file = path.join(fs.mkdtempSync('/tmp/l2bpf-gre-'), 'l2bpf.yaml');
  fs.writeFileSync(file, [
    'ports: [eth2, eth3]', `netns: ${P}box`, `mode: ${MODE}`, `local: ${more.local6 ? `[198.51.100.10/24, ${more.local6}]` : '198.51.100.10/24'}`, 'tunnels:',
    `  pop: {remote: 203.0.113.2${key !== undefined ? `, key: ${key}, checksum: true` : ''}${more.ttl ? `, ttl: ${more.ttl}` : ''}${more.mtu ? `, mtu: ${more.mtu}` : ''}}`,
    ...(more.tunnels ?? []).map((t) => `  ${t}`),
    'rules:', '  - {dst: 203.0.113.128/26, action: tunnel pop}', ...(more.rules ?? []).map((r) => `  - ${r}`), '',
  ].join('\n'));
  return file;
}
const tunStats = () => json(l2bpf(['dump', 'l2_tun_stats', '--json'], env)).find((e: any) => e.key === 1).value; // eslint-disable-line @typescript-eslint/no-explicit-any
const pingServer = (n = 3, ...extra: string[]) => x('pc', 'ping', '-c', String(n), '-i', '0.2', '-W', '2', ...extra, '203.0.113.130');

afterAll(() => {
  l2bpf(['detach', '--all'], env);
  sh('bash', [path.join(REPO, 'lab/seed.sh'), 'down', '--prefix', P], { allowFail: true, timeoutMs: 60000 });
  fs.rmSync(ROOT, { recursive: true, force: true });
});

// The routers' and the PC's ports toward the box keep TSO and tx checksum
// offload in the `offloads on` rows (TC only: XDP on veths cannot carry
// them); the ports into OVS's AF_PACKET always finish their checksums.
describe.each(<Array<[string, number | undefined, string, boolean]>>[
  ['with key and checksum, TC mode', 42, 'tc', false],
  ['without key, TC mode', undefined, 'tc', false],
  ['with key and checksum, TC mode, offloads on toward the box', 42, 'tc', true],
  ['without key, TC mode, offloads on toward the box', undefined, 'tc', true],
  ['with key and checksum, native XDP mode', 42, 'native', false],
  ['without key, native XDP mode', undefined, 'native', false],
])('PC <-> server through the l2bpf GRE tunnel to Open vSwitch, %s', (_name, key, mode, boxSide) => {
  beforeAll(() => {
    MODE = mode;
    l2bpf(['detach', '--all'], env);
    seed('up', ...(key !== undefined ? ['--key', String(key), '--csum'] : []), ...(boxSide ? ['--box-side-offloads'] : []));
    const r = l2bpf(['attach', '-c', config(key)], env);
    if (r.code !== 0) throw new Error(`attach: ${r.err}`);
    seed('warm');
  });

  test('ping PC -> server, encapsulated and decapsulated by the box', () => {
    const ports = json(l2bpf(['status', '--json'], env))[0].ports as any[]; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(ports.filter((p) => !p.segmenter).map((p) => p.mode)).toEqual([mode, mode]);
    // a tunnel on TC ports brings the segmenter pair (checksum and QinQ GSO packets), attached like a port
    expect(ports.filter((p) => p.segmenter).map((p) => [p.mode, Boolean(p.linkId)])).toEqual(mode === 'tc' ? [['tc', true]] : []);
    const before = tunStats();
    expect(pingServer(3).code).toBe(0);
    const after = tunStats();
    expect(BigInt(after.encap_packets) - BigInt(before.encap_packets)).toBeGreaterThanOrEqual(3n);
    expect(BigInt(after.decap_packets) - BigInt(before.decap_packets)).toBeGreaterThanOrEqual(3n);
    const st = json(l2bpf(['stats', '--json'], env));
    expect(st.tunnels).toHaveLength(1);
    expect(st.tunnels[0]).toMatchObject({ id: 1, remote: '203.0.113.2' });
    expect(BigInt(st.tunnels[0].encap_packets)).toBeGreaterThanOrEqual(3n);
    expect(l2bpf(['stats'], env).out).toMatch(/tunnel\s+remote[\s\S]*203\.0\.113\.2/);
    const flows = l2bpf(['dump', 'flows'], env);
    expect(flows.code).toBe(0);
    expect(flows.out).toMatch(/src: ::ffff:192\.0\.2\.10, dst: ::ffff:203\.0\.113\.130/);
    expect(flows.out).toMatch(/ifindex: eth2/);
  });

  test('the box has no address and no route; it answers ARP and ping for local', () => {
    for (const dev of ['eth2', 'eth3']) expect(x('box', 'ip', 'addr', 'show', 'dev', dev).out).not.toMatch(/inet/);
    expect(x('box', 'ip', 'route', 'show').out.trim()).toBe('');
    expect(x('gw2', 'ping', '-c', '2', '-i', '0.2', '-W', '2', '198.51.100.10').code).toBe(0);
    expect(x('gw2', 'ip', 'neigh', 'show', '198.51.100.10').out).toMatch(/lladdr/);
  });

  test('traffic outside the rule is bridged untouched', () => {
    const before = tunStats();
    expect(x('gw1', 'ping', '-c', '3', '-i', '0.2', '-W', '2', '198.51.100.2').code).toBe(0);
    expect(tunStats().encap_packets).toEqual(before.encap_packets);
  });

  if (key === undefined) return;

  async function sha20(): Promise<void> {
    const rx = spawn('ip', ['netns', 'exec', `${P}srv`, '/usr/bin/python3', path.join(REPO, 'test/helpers/sha-transfer.py'), 'recv', '203.0.113.130', '9000', '60']);
    const rxDone = new Promise((r) => rx.on('close', r));
    let got = '';
    rx.stdout.on('data', (d) => { got += d; });
    for (let i = 0; i < 100 && !got.includes('ready'); i++) await new Promise((r) => setTimeout(r, 50));
    const sent = x('pc', 'timeout', '90', '/usr/bin/python3', path.join(REPO, 'test/helpers/sha-transfer.py'), 'send', '203.0.113.130', '9000', '20');
    await rxDone;
    expect(sent.code).toBe(0);
    const [n, digest] = sent.out.trim().split(' ');
    expect(n).toBe(String(20 * 1024 * 1024));
    expect(got.split('\n')[1].trim()).toBe(`${n} ${digest}`);
  }
  const dropsNamed = (reason: string) => BigInt((json(l2bpf(['stats', '--json'], env)).drops as any[]).find((d) => d.reason === reason)?.packets ?? 0); // eslint-disable-line @typescript-eslint/no-explicit-any

  test('a 20 MB TCP transfer arrives with the same sha256', sha20);

  test('GRO on at the box\'s ports and on the routers changes nothing (XDP sees frames before GRO; TC wraps merged packets whole, or segments them first for a checksum tunnel)', async () => {
    for (const [n, dev] of [['box', 'eth2'], ['box', 'eth3'], ['gw1', 'gw1pc'], ['gw1', 'gw1tr'], ['gw2', 'gw2tr'], ['gw2', 'gw2pop']]) {
      expect(x(n, 'ethtool', '-K', dev, 'gro', 'on').code).toBe(0);
      expect(x(n, 'ethtool', '-k', dev).out).toMatch(/generic-receive-offload: on/);
    }
    const big0 = dropsNamed('too_big') + dropsNamed('too_big_noicmp');
    await sha20(); // PC -> server: encapsulation
    // server -> PC in bulk (a connection PC opened): decapsulation
    const srv = spawn('ip', ['netns', 'exec', `${P}srv`, 'timeout', '20', 'iperf3', '-s', '-1', '-B', '203.0.113.130', '-p', '5203']);
    const srvDone = new Promise((r) => srv.on('close', r));
    for (let i = 0; i < 50 && !/203\.0\.113\.130:5203/.test(x('srv', 'ss', '-ltn').out); i++) await new Promise((r) => setTimeout(r, 100));
    const rev = x('pc', 'timeout', '20', 'iperf3', '-c', '203.0.113.130', '-p', '5203', '-R', '-t', '2', '-J');
    await srvDone;
    expect(rev.code).toBe(0);
    expect(JSON.parse(rev.out).end.sum_received.bytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(dropsNamed('too_big') + dropsNamed('too_big_noicmp')).toBe(big0);
    if (mode === 'tc') {
      // merged packets really went in whole: wrapped as GSO, or segmented first for the checksum
      const t = json(l2bpf(['stats', '--json'], env)).tunnels[0];
      expect(BigInt(key !== undefined ? t.segmented : t.gso_packets)).toBeGreaterThan(0n);
      expect(dropsNamed('segment')).toBe(0n);
    }
  });

  test('attach again with changed rules and tunnels while a TCP flow runs: the flow never stalls, the change applies', async () => {
    const srv = spawn('ip', ['netns', 'exec', `${P}srv`, 'timeout', '30', 'iperf3', '-s', '-1', '-B', '203.0.113.130', '-p', '5202']);
    const srvDone = new Promise((r) => srv.on('close', r)); // listen now: it may end before we wait
    for (let i = 0; i < 50 && !/203\.0\.113\.130:5202/.test(x('srv', 'ss', '-ltn').out); i++) await new Promise((r) => setTimeout(r, 100));
    const tun0 = json(l2bpf(['stats', '--json'], env)).tunnels[0];
    const misses = (t: any) => BigInt(t.drops.find((d: any) => d.reason === 'flow_miss')?.packets ?? 0); // eslint-disable-line @typescript-eslint/no-explicit-any
    let out = '';
    const cli = spawn('ip', ['netns', 'exec', `${P}pc`, 'timeout', '30', 'iperf3', '-c', '203.0.113.130', '-p', '5202', '-t', '6', '-i', '0.5', '-J']);
    cli.stdout.on('data', (d) => { out += d; });
    const done = new Promise((r) => cli.on('close', r));
    await new Promise((r) => setTimeout(r, 1500));
    const changed = config(key, { ttl: 32, tunnels: ['pop2: {remote: 203.0.113.3}'], rules: ['{dst: 203.0.113.140/32, action: drop}', '{dst: 203.0.113.144/28, action: tunnel pop2}'] });
    const r1 = l2bpf(['attach', '-c', changed], env);
    await new Promise((r) => setTimeout(r, 1500));
    const r2 = l2bpf(['attach', '-c', config(key)], env); // and back
    await done;
    await srvDone;
    expect(r1.code).toBe(0);
    expect(r2.code).toBe(0);
    const res = JSON.parse(out);
    const rates = (res.intervals as any[]).map((i) => i.sum.bits_per_second as number); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(rates.length).toBeGreaterThanOrEqual(11);
    // every half second of the 6 s carried data: no stall while the config changed twice
    for (const b of rates) expect(b).toBeGreaterThan(1e6);
    expect(res.end.sum_received.bytes).toBeGreaterThan(0);
    // the maps were updated in place: counters kept counting, no reply lost its flow entry
    const tun1 = json(l2bpf(['stats', '--json'], env)).tunnels[0];
    expect(BigInt(tun1.encap_packets)).toBeGreaterThan(BigInt(tun0.encap_packets) + 1000n);
    expect(misses(tun1)).toBe(misses(tun0));
  });

  test('a re-attach applies new rules and tunnel settings in place; flows and counters stay', () => {
    const flowsBefore = json(l2bpf(['dump', 'flows', '--json'], env)).length;
    const encBefore = BigInt(tunStats().encap_packets);
    expect(l2bpf(['attach', '-c', config(key, { ttl: 32, rules: ['{dst: 203.0.113.140/32, action: drop}'] })], env).code).toBe(0);
    const tun = json(l2bpf(['dump', 'tunnels', '--json'], env)).find((e: any) => e.key === 1).value; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(tun.ttl).toBe(32);
    expect(json(l2bpf(['dump', 'flows', '--json'], env)).length).toBeGreaterThanOrEqual(flowsBefore);
    expect(BigInt(tunStats().encap_packets)).toBeGreaterThanOrEqual(encBefore); // counters not reset
    const drops = () => BigInt((json(l2bpf(['stats', '--json'], env)).drops as any[]).find((d) => d.reason === 'rule')?.packets ?? 0); // eslint-disable-line @typescript-eslint/no-explicit-any
    const d0 = drops();
    expect(x('pc', 'ping', '-c', '2', '-i', '0.2', '-W', '1', '203.0.113.140').code).not.toBe(0); // the new drop rule (longer prefix)
    expect(drops()).toBeGreaterThanOrEqual(d0 + 2n);
    expect(pingServer(3).code).toBe(0); // the tunnel rule still works
    expect(l2bpf(['attach', '-c', config(key)], env).code).toBe(0);
    expect(json(l2bpf(['dump', 'tunnels', '--json'], env)).find((e: any) => e.key === 1).value.ttl).toBe(64); // eslint-disable-line @typescript-eslint/no-explicit-any
  });

  test('IPv6: local6 answers NS and ping6; PC <-> server over IPv6 in the IPv4 tunnel; oversize gets packet-too-big from local6 and PMTU discovery works', () => {
    const v6 = config(key, { mtu: 1400, local6: '2001:db8:100::10/64', rules: ['{dst: 2001:db8:130::/64, action: tunnel pop}'] });
    expect(l2bpf(['attach', '-c', v6], env).code).toBe(0);
    try {
      expect(x('gw2', 'ping', '-6', '-c', '2', '-i', '0.2', '-W', '2', '2001:db8:100::10').code).toBe(0);
      expect(x('gw2', 'ip', '-6', 'neigh', 'show', '2001:db8:100::10').out).toMatch(/lladdr/);
      const before = tunStats();
      expect(x('pc', 'ping', '-6', '-c', '3', '-i', '0.2', '-W', '2', '2001:db8:130::130').code).toBe(0);
      const after = tunStats();
      expect(BigInt(after.encap_packets) - BigInt(before.encap_packets)).toBeGreaterThanOrEqual(3n);
      expect(BigInt(after.decap_packets) - BigInt(before.decap_packets)).toBeGreaterThanOrEqual(3n);
      // 1500-byte IPv6 packets do not fit the 1400-byte tunnel: PC learns the MTU from the box's
      // ICMPv6 packet-too-big (sent from local6), then fragments and gets its answers
      expect(x('pc', 'ip', '-6', 'route', 'get', '2001:db8:130::130').out).not.toMatch(/mtu 1400/);
      const big = x('pc', 'ping', '-6', '-c', '3', '-i', '0.3', '-W', '1', '-s', '1452', '2001:db8:130::130');
      expect(big.out).toMatch(/[Pp]acket too big.*mtu.?=.?1400|mtu=1400/);
      expect(x('pc', 'ip', '-6', 'route', 'get', '2001:db8:130::130').out).toMatch(/mtu 1400/);
      expect(big.out).toMatch(/[12] received/);
    } finally {
      expect(l2bpf(['attach', '-c', config(key)], env).code).toBe(0);
    }
  });

  test('tshark decodes the box\'s GRE packets with valid checksums and the key', async () => {
    const pcap = `/tmp/l2bpf-gre-${process.pid}.pcap`;
    const cap = spawn('ip', ['netns', 'exec', `${P}gw2`, 'timeout', '10', 'tcpdump', '-i', 'gw2tr', '-c', '4', '-w', pcap, 'ip proto 47 and src host 198.51.100.10']);
    await new Promise((r) => setTimeout(r, 1000));
    pingServer(4);
    await new Promise((r) => cap.on('close', r));
    const t = sh('tshark', ['-r', pcap, '-o', 'ip.check_checksum:TRUE', '-T', 'fields',
      '-e', 'ip.src', '-e', 'ip.dst', '-e', 'ip.checksum.status', '-e', 'gre.checksum.status', '-e', 'gre.key', '-e', 'gre.proto', '-e', 'icmp.type']);
    fs.rmSync(pcap, { force: true });
    const rows = t.out.trim().split('\n').map((l) => l.split('\t'));
    expect(rows.length).toBeGreaterThanOrEqual(1);
    // outer and inner IPv4 (comma-separated), checksum status 1 = good, GRE key, inner echo request
    for (const r of rows) expect(r).toEqual(['198.51.100.10,192.0.2.10', '203.0.113.2,203.0.113.130', '1,1', '1', '0x0000002a', '0x0800', '8']);
  });

  test('a MAC move of gw1 keeps replies flowing', () => {
    x('gw1', 'sysctl', '-qw', 'net.ipv4.conf.all.arp_notify=1', 'net.ipv4.conf.gw1tr.arp_notify=1');
    x('gw1', 'ip', 'link', 'set', 'dev', 'gw1tr', 'address', '02:00:5e:00:64:b1'); // fail-over: new MAC, gratuitous ARP
    const r = pingServer(5);
    expect(r.out).toMatch(/5 received/);
    const neigh = json(l2bpf(['dump', 'l2_neigh', '--json'], env)) as any[]; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(neigh.some((e) => JSON.stringify(e.value.mac) === JSON.stringify([2, 0, 0x5e, 0, 0x64, 0xb1]))).toBe(true);
    expect(json(l2bpf(['dump', 'l2_mac_moves', '--json'], env)).length).toBeGreaterThanOrEqual(1);
  });

  if (mode === 'tc') {
    test('detach removes the segmenter pair with the links; the box keeps no device of ours', () => {
      const seg = json(l2bpf(['status', '--json'], env))[0].ports.find((p: any) => p.segmenter); // eslint-disable-line @typescript-eslint/no-explicit-any
      expect(seg.name).toMatch(/^l2s[0-9a-f]{8}i$/);
      expect(x('box', 'ip', 'link', 'show', 'dev', seg.name).code).toBe(0);
      expect(l2bpf(['detach', '--all'], env).code).toBe(0);
      expect(x('box', 'ip', '-o', 'link', 'show').out).not.toMatch(/l2s[0-9a-f]{8}/);
      expect(fs.existsSync(ROOT) ? fs.readdirSync(ROOT) : []).toEqual([]);
    });
  }
});
