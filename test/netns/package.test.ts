// Installable the npm way: `npm pack` gives a package with dist/ and the
// compiled BPF objects and without tests or labs; installed from the tarball
// into a fresh prefix, `npx l2bpf` attaches in a namespace with no clang (no
// /usr/bin at all) on PATH, traffic crosses, and detach leaves nothing.
import fs from 'fs';
import os from 'os';
import path from 'path';
import { buildLab, destroyLab, inNsTry, Lab, sh } from '../helpers/netns';

const REPO = path.resolve(__dirname, '../../..');
const ROOT = `/sys/fs/bpf/l2bpf-pkg-${process.pid}`;
let tmp: string;
let lab: Lab;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'l2bpf-pkg-'));
  lab = buildLab(`l2k${process.pid % 100000}-`);
});
afterAll(() => {
  destroyLab(lab);
  fs.rmSync(ROOT, { recursive: true, force: true });
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('the npm package', () => {
  let tarball: string;

  test('npm pack: dist/, the BPF objects, the map headers; no tests, labs or sources', () => {
    const r = sh('npm', ['pack', '--json', '--pack-destination', tmp], { timeoutMs: 300000 });
    const [info] = JSON.parse(r.out) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = path.join(tmp, info.filename);
    const files = info.files.map((f) => f.path);
    for (const f of ['package.json', 'README.md', 'dist/src/cli/main.js', 'dist/src/index.js', 'dist/src/index.d.ts',
      'build/l2_xdp.bpf.o', 'build/l2_tc.bpf.o', 'build/l2_refused.bpf.o', 'maps/l2bpf_types.h']) expect(files).toContain(f);
    expect(files.filter((f) => /^(test|lab|bpf|src|dist\/test|dist\/lab)\//.test(f) || f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files).not.toContain('build/bench_min.bpf.o');
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
    expect(pkg.private).toBeUndefined(); // publishable
    expect(fs.existsSync(tarball)).toBe(true);
  });

  test('installed from the tarball, `npx l2bpf` attaches with no clang on PATH; traffic crosses; detach is clean', () => {
    const prefix = path.join(tmp, 'prefix');
    fs.mkdirSync(prefix);
    fs.writeFileSync(path.join(prefix, 'package.json'), '{"name": "user", "version": "1.0.0", "private": true}\n');
    const inst = sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { timeoutMs: 300000, cwd: prefix });
    expect(inst.code).toBe(0);
    // only what l2bpf runs: node and the system tools, no compiler
    const bin = path.join(tmp, 'bin');
    fs.mkdirSync(bin);
    for (const t of ['node', 'npm', 'npx', 'ip', 'tc', 'ethtool', 'stat', 'mount', 'sh']) {
      const where = sh('sh', ['-c', `command -v ${t}`]).out.trim();
      fs.symlinkSync(fs.realpathSync(where), path.join(bin, t));
    }
    const env = { PATH: bin, L2BPF_PIN_ROOT: ROOT, HOME: tmp };
    expect(sh('sh', ['-c', 'command -v clang clang-16 clang-15 clang-19 || true'], { env }).out.trim()).toBe('');
    const npx = (...args: string[]) => sh('npx', ['--no-install', 'l2bpf', ...args], { cwd: prefix, env, allowFail: true, timeoutMs: 60000 });
    expect(npx('--version').out.trim()).toBe(JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).version);
    const a = npx('attach', 'eth2', 'eth3', '--netns', lab.box);
    expect(a.err).toBe('');
    expect(a.code).toBe(0);
    expect(a.out).toMatch(/^attached: instance .* wires eth2 <-> eth3 \(namespace .*\), mode auto/);
    expect(inNsTry(lab.a, 'ping', '-c', '2', '-i', '0.2', '-W', '1', '198.51.100.2').code).toBe(0);
    const st = JSON.parse(npx('status', '--json').out);
    expect(st[0].state).toBe('attached');
    expect(st[0].ports.map((p: { program: string }) => p.program)).toEqual(['l2_tc_in', 'l2_tc_in']);
    expect(npx('detach', '--all').code).toBe(0);
    expect(fs.existsSync(ROOT) ? fs.readdirSync(ROOT) : []).toEqual([]);
  });
});
