// End to end: host A -- box(eth2, eth3) -- host B in namespaces, l2bpf
// attached from the host with --netns, real traffic from ping, iperf3 and
// raw AF_PACKET frames; maps checked against bpftool; detach leaves nothing.
import fs from 'fs';
import path from 'path';
import { parseJsonExact, JsonValue } from '../../src/btf';
import { buildLab, destroyLab, inNs, inNsTry, ip, l2bpf, Lab, sendRaw, sh } from '../helpers/netns';
import { pkt } from '../helpers/packet';

const ROOT = `/sys/fs/bpf/l2bpf-test-${process.pid}`;
const env = { L2BPF_PIN_ROOT: ROOT };
const cli = (...args: string[]) => l2bpf(args, env);
const json = (r: { out: string }) => parseJsonExact(r.out) as any; // eslint-disable-line @typescript-eslint/no-explicit-any

let lab: Lab;
const pingOk = (from: string, to: string, extra: string[] = []) =>
  inNsTry(from, 'ping', '-c', '2', '-i', '0.2', '-W', '1', ...extra, to).code === 0;

function attach(...extra: string[]) {
  return cli('attach', 'eth2', 'eth3', '--netns', lab.box, ...extra);
}

beforeAll(() => { lab = buildLab(`l2t${process.pid % 100000}-`); });
afterAll(() => {
  cli('detach', '--all');
  destroyLab(lab);
  fs.rmSync(ROOT, { recursive: true, force: true });
});

describe('refusals (one clear message, exit 2, nothing left behind)', () => {
  const noResidue = () => {
    expect(fs.existsSync(ROOT) ? fs.readdirSync(ROOT) : []).toEqual([]);
    expect(ip('-n', lab.box, '-d', 'link', 'show', 'eth2')).not.toMatch(/xdp|PROMISC/);
  };
  test.each([
    [['attach', 'eth2', 'eth9'], /port eth9 does not exist in network namespace/],
    [['attach', 'eth2', 'eth2'], /ports\[1\]: must differ from ports\[0\]/],
    [['attach', 'eth2'], /attach takes two ports/],
    [['attach', 'eth2', 'eth3', '--mode', 'turbo'], /--mode.*turbo.*native, generic|argument 'turbo' is invalid/],
  ])('%j', (args, msg) => {
    const r = cli(...args, ...(args.length > 1 && args[0] === 'attach' ? ['--netns', lab.box] : []));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(msg);
    noResidue();
  });

  test('missing namespace', () => {
    const r = cli('attach', 'eth2', 'eth3', '--netns', `${lab.prefix}nope`);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/network namespace '.*nope' does not exist/);
    noResidue();
  });

  test('not privileged', () => {
    const r = sh('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath,
      path.resolve(__dirname, '../../src/cli/main.js'), 'attach', 'eth2', 'eth3', '--netns', lab.box], { allowFail: true });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/needs root/);
    noResidue();
  });

  test('invalid config names file, line and field', () => {
    const file = path.join(fs.mkdtempSync('/tmp/l2bpf-cfg-'), 'l2bpf.yaml');
    fs.writeFileSync(file, 'ports: [eth2, eth3]\nmode: native\ncolour: blue\n');
    const r = cli('attach', '--netns', lab.box, '-c', file);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${file}:3:1: colour: unknown key`);
    noResidue();
  });

  test('a port carrying a foreign XDP program (unless --force)', () => {
    // Any program not attached by l2bpf counts; use the sink that the bench uses.
    ip('-n', lab.box, 'link', 'set', 'dev', 'eth2', 'xdpgeneric', 'obj', path.resolve(__dirname, '../../../build/bench_sink.bpf.o'), 'sec', 'xdp');
    try {
      const r = attach();
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/port eth2 already carries XDP program .* that is not l2bpf's/);
      expect(r.err).toMatch(/--force/);
      expect(fs.existsSync(ROOT) ? fs.readdirSync(ROOT) : []).toEqual([]);

      const forced = attach('--force');
      expect(forced.code).toBe(0);
      expect(forced.err).toMatch(/removed XDP program/);
      expect(ip('-n', lab.box, '-d', 'link', 'show', 'eth2')).toMatch(/prog\/xdp id \d+ name l2_wire/);
      expect(pingOk(lab.a, '198.51.100.2')).toBe(true);
    } finally {
      cli('detach', '--all');
      ip('-n', lab.box, 'link', 'set', 'dev', 'eth2', 'xdpgeneric', 'off');
    }
    noResidue();
  });

  test('a port carrying a foreign TC program', () => {
    const dir = fs.mkdtempSync('/tmp/l2bpf-tc-');
    sh('clang-16', ['-target', 'bpf', '-g', '-O2', '-I/usr/include/x86_64-linux-gnu', '-c',
      path.resolve(__dirname, '../../../test/fixtures/bpf/tc_count.bpf.c'), '-o', `${dir}/tc.o`]);
    sh('tc', ['-n', lab.box, 'qdisc', 'add', 'dev', 'eth3', 'clsact']);
    try {
      sh('tc', ['-n', lab.box, 'filter', 'add', 'dev', 'eth3', 'ingress', 'bpf', 'da', 'obj', `${dir}/tc.o`, 'sec', 'tc']);
      const r = attach();
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/port eth3 already carries TC ingress program tc_count .* that is not l2bpf's/);
      expect(fs.existsSync(ROOT) ? fs.readdirSync(ROOT) : []).toEqual([]);
    } finally {
      sh('tc', ['-n', lab.box, 'qdisc', 'del', 'dev', 'eth3', 'clsact'], { allowFail: true });
      fs.rmSync(dir, { recursive: true, force: true });
    }
    noResidue();
  });

  test('a port that was promiscuous before stays so after detach', () => {
    ip('-n', lab.box, 'link', 'set', 'eth3', 'promisc', 'on');
    try {
      expect(attach().code).toBe(0);
      expect(ip('-n', lab.box, 'link', 'show', 'eth2')).toMatch(/PROMISC/);
      expect(cli('detach', '--all').code).toBe(0);
      expect(ip('-n', lab.box, 'link', 'show', 'eth2')).not.toMatch(/PROMISC/);
      expect(ip('-n', lab.box, 'link', 'show', 'eth3')).toMatch(/PROMISC/);
    } finally {
      ip('-n', lab.box, 'link', 'set', 'eth3', 'promisc', 'off');
    }
  });

  test.each(['after-link-0', 'after-link-1', 'after-promisc', 'after-record'])('failure at %s rolls back everything', (fp) => {
    const r = cli('attach', 'eth2', 'eth3', '--netns', lab.box);
    expect(r.code).toBe(0);
    cli('detach', '--all');
    const f = l2bpf(['attach', 'eth2', 'eth3', '--netns', lab.box], { ...env, L2BPF_FAILPOINT: fp });
    expect(f.code).toBe(1);
    expect(f.err).toMatch(new RegExp(`failpoint ${fp} hit; rolled back`));
    noResidue();
    expect(ip('-n', lab.box, '-d', 'link', 'show', 'eth3')).not.toMatch(/xdp|PROMISC/);
    expect(sh('ip', ['netns', 'exec', lab.box, 'bpftool', 'net']).out).not.toMatch(/l2_wire/);
  });
});

describe('the wire', () => {
  beforeAll(() => {
    const r = attach();
    if (r.code !== 0) throw new Error(`attach failed: ${r.err}`);
  });

  test('IPv4 and IPv6 ping both ways, ARP resolved across the wire', () => {
    inNs(lab.a, 'ip', 'neigh', 'flush', 'dev', 'a0');
    expect(pingOk(lab.a, '198.51.100.2')).toBe(true);
    expect(pingOk(lab.b, '198.51.100.1')).toBe(true);
    expect(pingOk(lab.a, '2001:db8:100::2')).toBe(true);
    expect(pingOk(lab.b, '2001:db8:100::1')).toBe(true);
    expect(inNs(lab.a, 'ip', 'neigh', 'show', '198.51.100.2').out).toContain(lab.macB);
  });

  const marker = Buffer.from('l2bpf-e2e-marker');
  test.each([
    ['802.1Q tagged IPv4', pkt().eth('02:00:5e:00:53:0b', '02:00:5e:00:53:0a', 0x8100).tag(100, 0x0800, 3).ipv4('192.0.2.1', '192.0.2.2', 17, 8 + 16).udp(7, 9, 16).bytes(marker).build()],
    ['QinQ (802.1ad + 802.1Q)', pkt().eth('02:00:5e:00:53:0b', '02:00:5e:00:53:0a', 0x88a8).tag(10, 0x8100).tag(20, 0x88b5).bytes(marker).payload(30).build()],
    ['unknown ethertype 0x88b5', pkt().eth('02:00:5e:00:53:0b', '02:00:5e:00:53:0a', 0x88b5).bytes(marker).payload(30).build()],
    ['LLDP (link-local multicast a bridge would keep)', pkt().eth('01:80:c2:00:00:0e', '02:00:5e:00:53:0a', 0x88cc).bytes(marker).payload(30).build()],
    ['frame for a MAC nobody has (promiscuous ports)', pkt().eth('02:00:5e:00:53:99', '02:00:5e:00:53:0a', 0x88b5).bytes(marker).payload(30).build()],
  ])('%s arrives byte-identical', async (_name, frame) => {
    const got = await sendRaw(lab, frame, marker);
    expect(got).toBe(frame.toString('hex'));
  });

  test('iperf3 TCP across the wire', () => {
    const pidFile = `/tmp/l2bpf-iperf3-${process.pid}.pid`;
    inNs(lab.b, 'iperf3', '-s', '-1', '-D', '-I', pidFile, '-B', '198.51.100.2');
    try {
      let r = { code: 1, out: '', err: '' };
      for (let i = 0; i < 5 && r.code !== 0; i++) { // server needs a moment to listen
        r = inNsTry(lab.a, 'timeout', '10', 'iperf3', '-c', '198.51.100.2', '-t', '2', '-J');
        if (r.code !== 0) sh('sleep', ['0.2']);
      }
      expect(r.code).toBe(0);
      const bytes = JSON.parse(r.out).end.sum_received.bytes;
      expect(bytes).toBeGreaterThan(1_000_000);
    } finally {
      if (fs.existsSync(pidFile)) { try { process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGTERM'); } catch { /* already gone */ } fs.rmSync(pidFile, { force: true }); }
    }
  });

  test('stats show the traffic per port, no drops', () => {
    const s = json(cli('stats', '--json'));
    expect(s.ports.map((p: any) => p.port)).toEqual(['eth2', 'eth3']); // eslint-disable-line @typescript-eslint/no-explicit-any
    for (const p of s.ports) {
      expect(BigInt(p.rx_packets)).toBeGreaterThan(1000n); // iperf3 data one way, ACKs the other
      expect(BigInt(p.fwd_packets)).toBe(BigInt(p.rx_packets));
      expect(BigInt(p.drop_packets)).toBe(0n);
    }
    // every reason of enum l2_drop_reason, named from BTF, none counted
    const reasons = s.drops.map((d: any) => d.reason); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(reasons.slice(0, 3)).toEqual(['short_frame', 'unknown_port', 'no_peer']);
    expect(reasons).toEqual(expect.arrayContaining(['gre_csum', 'gre_key', 'flow_miss', 'too_big']));
    for (const d of s.drops) expect(BigInt(d.packets)).toBe(0n);
    const watch = cli('stats', '--watch', '--count', '2', '--interval', '0.2', '--json');
    expect(watch.code).toBe(0);
    const docs = watch.out.trim().split(/\n(?=\{)/).map((d) => parseJsonExact(d) as any); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(docs).toHaveLength(2);
    expect(docs[1].at).toBeGreaterThan(docs[0].at);
    const text = cli('stats');
    expect(text.out).toMatch(/eth2\s+\d+/);
    expect(text.out).toContain('drops: none');
  });

  test('dump --json equals bpftool\'s formatted output for every pinned map', () => {
    const inst = fs.readdirSync(ROOT)[0];
    const mapsDir = path.join(ROOT, inst, 'maps');
    const maps = fs.readdirSync(mapsDir);
    expect(maps).toEqual(expect.arrayContaining(['l2_drops', 'l2_instance', 'l2_port_stats', 'l2_ports', 'l2_tx_ports', 'l2_flows', 'l2_rules', 'l2_tunnels']));
    for (const m of maps) {
      const theirs = parseJsonExact(sh('bpftool', ['-j', 'map', 'dump', 'pinned', path.join(mapsDir, m)]).out) as any[]; // eslint-disable-line @typescript-eslint/no-explicit-any
      const ours = json(cli('dump', m, '--json', '--per-cpu')) as any[]; // eslint-disable-line @typescript-eslint/no-explicit-any
      const byKey = (xs: JsonValue[]) => [...xs].sort((x, y) => JSON.stringify(x, big).localeCompare(JSON.stringify(y, big)));
      const expected = theirs.map((e) => e.formatted ?? { key: e.key, value: e.value });
      expect(byKey(ours)).toEqual(byKey(expected));
    }
    // summed per-CPU view = the sum of bpftool's per-CPU values
    const summed = json(cli('dump', 'l2_port_stats', '--json'));
    const perCpu = parseJsonExact(sh('bpftool', ['-j', 'map', 'dump', 'pinned', path.join(mapsDir, 'l2_port_stats')]).out) as any[]; // eslint-disable-line @typescript-eslint/no-explicit-any
    for (const e of perCpu) {
      const total = e.formatted.values.reduce((acc: bigint, c: any) => acc + BigInt(c.value.rx_packets), 0n); // eslint-disable-line @typescript-eslint/no-explicit-any
      expect(BigInt(summed.find((s: any) => s.key === e.formatted.key).value.rx_packets)).toBe(total); // eslint-disable-line @typescript-eslint/no-explicit-any
    }
  });

  test('dump text shows interface names', () => {
    const r = cli('dump', 'l2_ports');
    expect(r.code).toBe(0);
    const mac = (dev: string) => JSON.parse(ip('-n', lab.box, '-j', 'link', 'show', dev))[0].address;
    expect(r.out).toContain(`eth2 -> {peer: eth3, slot: 0, mac: ${mac('eth2')}, mtu: 1500}`);
    expect(r.out).toContain(`eth3 -> {peer: eth2, slot: 1, mac: ${mac('eth3')}, mtu: 1500}`);
  });

  test('attach again with the same config is a no-op with the same state', () => {
    const before = json(cli('status', '--json'));
    const r = attach();
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/unchanged/);
    expect(json(cli('status', '--json'))).toEqual(before);
    expect(before[0]).toMatchObject({ state: 'attached', mode: 'native', netns: lab.box });
    expect(before[0].ports.map((p: any) => p.program)).toEqual(['l2_wire', 'l2_wire']); // eslint-disable-line @typescript-eslint/no-explicit-any
  });

  test('attach with a new build swaps the program through the same links without a gap', async () => {
    const before = json(cli('status', '--json'))[0];
    // The same source for another CPU target: other instructions, same maps.
    const alt = fs.mkdtempSync('/tmp/l2bpf-alt-');
    sh('make', ['-s', '-C', path.resolve(__dirname, '../../..'), `BUILD=${alt}`, 'BPF_CPU=v2', `${alt}/l2_xdp.bpf.o`]);
    const pinger = new Promise<{ code: number; out: string }>((resolve) => {
      const child = require('child_process').spawn('ip', ['netns', 'exec', lab.a, 'ping', '-c', '40', '-i', '0.02', '-W', '1', '198.51.100.2']);
      let out = '';
      child.stdout.on('data', (d: Buffer) => { out += d; });
      child.on('close', (code: number) => resolve({ code, out }));
    });
    await new Promise((r) => setTimeout(r, 200));
    const r = l2bpf(['attach', 'eth2', 'eth3', '--netns', lab.box], { ...env, L2BPF_BPF_DIR: alt });
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/updated/);
    const p = await pinger;
    expect(p.out).toMatch(/40 packets transmitted, 40 received/);
    const after = json(cli('status', '--json'))[0];
    expect(after.ports.map((x: any) => x.linkId)).toEqual(before.ports.map((x: any) => x.linkId)); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(after.ports[0].progId).not.toBe(before.ports[0].progId);
    expect(after.since).toBe(before.since);
    // and back to the regular build
    expect(attach().err).toMatch(/updated/);
    fs.rmSync(alt, { recursive: true, force: true });
  });

  test('changing the attach mode re-attaches and keeps forwarding', () => {
    const r = attach('--mode', 'generic');
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/switching XDP mode native -> generic/);
    expect(ip('-n', lab.box, '-d', 'link', 'show', 'eth2')).toMatch(/xdpgeneric/);
    expect(pingOk(lab.a, '198.51.100.2')).toBe(true);
    expect(json(cli('status', '--json'))[0].mode).toBe('generic');
    expect(attach('--mode', 'native').code).toBe(0);
    expect(ip('-n', lab.box, '-d', 'link', 'show', 'eth2')).toMatch(/prog\/xdp id/);
    expect(pingOk(lab.a, '198.51.100.2')).toBe(true);
  });

  test('jumbo frames up to the ports\' MTU cross (multi-buffer XDP)', () => {
    for (const [ns, dev] of [[lab.a, 'a0'], [lab.box, 'eth2'], [lab.box, 'eth3'], [lab.b, 'b0']]) ip('-n', ns, 'link', 'set', dev, 'mtu', '9000');
    try {
      expect(pingOk(lab.a, '198.51.100.2', ['-s', '8972', '-M', 'do'])).toBe(true);
      expect(pingOk(lab.b, '2001:db8:100::1', ['-s', '8952', '-M', 'do'])).toBe(true);
    } finally {
      for (const [ns, dev] of [[lab.a, 'a0'], [lab.box, 'eth2'], [lab.box, 'eth3'], [lab.b, 'b0']]) ip('-n', ns, 'link', 'set', dev, 'mtu', '1500');
    }
  });

  test('detach leaves no residue and frames stop crossing', () => {
    const progIds = json(cli('status', '--json'))[0].ports.map((p: any) => p.progId); // eslint-disable-line @typescript-eslint/no-explicit-any
    const r = cli('detach', 'eth2', 'eth3', '--netns', lab.box);
    expect(r.code).toBe(0);
    expect(fs.existsSync(ROOT)).toBe(false);
    for (const dev of ['eth2', 'eth3']) {
      const link = ip('-n', lab.box, '-d', 'link', 'show', dev);
      expect(link).not.toMatch(/xdp|PROMISC/);
      expect(sh('tc', ['-n', lab.box, 'qdisc', 'show', 'dev', dev]).out).not.toMatch(/clsact/);
      expect(sh('tc', ['-n', lab.box, 'filter', 'show', 'dev', dev, 'ingress']).out.trim()).toBe('');
    }
    expect(inNs(lab.box, 'bpftool', 'net').out).not.toMatch(/l2_wire|id \d+/);
    for (const id of progIds) expect(sh('bpftool', ['prog', 'show', 'id', String(id)], { allowFail: true }).code).not.toBe(0);
    expect(pingOk(lab.a, '198.51.100.2')).toBe(false);
  });
});

function big(_k: string, v: unknown) { return typeof v === 'bigint' ? v.toString() : v; }
