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

function config(key?: number): string {
  const file = path.join(fs.mkdtempSync('/tmp/l2bpf-gre-'), 'l2bpf.yaml');
  fs.writeFileSync(file, [
    'ports: [eth2, eth3]', `netns: ${P}box`, 'local: 198.51.100.10/24', 'tunnels:',
    `  pop: {remote: 203.0.113.2${key !== undefined ? `, key: ${key}, checksum: true` : ''}}`,
    'rules:', '  - {dst: 203.0.113.128/26, action: tunnel pop}', '',
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

describe.each([
  ['with key and checksum', 42],
  ['without key', undefined],
])('PC <-> server through the l2bpf GRE tunnel to Open vSwitch, %s', (_name, key) => {
  beforeAll(() => {
    l2bpf(['detach', '--all'], env);
    seed('up', ...(key !== undefined ? ['--key', String(key), '--csum'] : []));
    const r = l2bpf(['attach', '-c', config(key)], env);
    if (r.code !== 0) throw new Error(`attach: ${r.err}`);
    seed('warm');
  });

  test('ping PC -> server, encapsulated and decapsulated by the box', () => {
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

  test('a 20 MB TCP transfer arrives with the same sha256', async () => {
    const rx = spawn('ip', ['netns', 'exec', `${P}srv`, '/usr/bin/python3', path.join(REPO, 'test/helpers/sha-transfer.py'), 'recv', '203.0.113.130', '9000', '60']);
    let got = '';
    rx.stdout.on('data', (d) => { got += d; });
    for (let i = 0; i < 100 && !got.includes('ready'); i++) await new Promise((r) => setTimeout(r, 50));
    const sent = x('pc', 'timeout', '90', '/usr/bin/python3', path.join(REPO, 'test/helpers/sha-transfer.py'), 'send', '203.0.113.130', '9000', '20');
    await new Promise((r) => rx.on('close', r));
    expect(sent.code).toBe(0);
    const [n, digest] = sent.out.trim().split(' ');
    expect(n).toBe(String(20 * 1024 * 1024));
    expect(got.split('\n')[1].trim()).toBe(`${n} ${digest}`);
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
});
