// Fresh machine: every command a test, a lab script or CI calls must come
// from a Debian package lab/deps.sh installs, or from Debian's essential set
// (always there), or the node/python the machine starts with. A command is
// any word of those files that names an executable on PATH; its package is
// what dpkg says owns it. (Once, Open vSwitch was installed by hand and
// never by the test command: 13 tests failed on a new machine.)
import { execFileSync } from 'child_process';
import fs from 'fs';
import path from 'path';

const REPO = path.resolve(__dirname, '../../..');
const BIN = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
/** On every machine of this kind before anything is installed (shared/../env: node.md). */
const BASE_PACKAGES = new Set(['nodejs', 'python3', 'python3-minimal', 'python3.11-minimal', 'make', 'git', 'g++', 'gcc', 'cpp', 'g++-12', 'gcc-12', 'cpp-12']);

function files(dir: string, ext: RegExp): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) return d.name === 'fixtures' ? [] : files(p, ext);
    return ext.test(d.name) ? [p] : [];
  });
}

function which(cmd: string): string | undefined {
  for (const d of BIN) {
    const p = path.join(d, cmd);
    try { if (fs.statSync(p).isFile() && (fs.statSync(p).mode & 0o111)) return fs.realpathSync(p); } catch { /* not there */ }
  }
  return undefined;
}

/** The package owning each file, in one dpkg-query call. */
function owners(bins: string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (!bins.length) return out;
  let text = '';
  try {
    text = execFileSync('dpkg-query', ['-S', ...bins.flatMap((b) => [b, b.replace(/^\/usr/, '')])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (e) {
    text = (e as { stdout?: string }).stdout ?? ''; // exits 1 when some spelling is unowned
  }
  for (const line of text.split('\n')) {
    const m = line.match(/^([^:,]+)(?:, [^:]+)?: (.+)$/);
    if (!m) continue;
    for (const b of bins) if (m[2] === b || `/usr${m[2]}` === b) out.set(b, m[1].split(':')[0]);
  }
  return out;
}

/** Packages there on any Debian machine: essential, or priority required/important. */
const always = new Set(execFileSync('dpkg-query', ['-W', '-f', '${Package} ${Essential} ${Priority}\\n'], { encoding: 'utf8' })
  .split('\n').map((l) => l.split(' ')).filter(([, e, pr]) => e === 'yes' || pr === 'required' || pr === 'important').map(([n]) => n));

/** Words in command position: what a shell script or a test's spawn runs. */
export function commandsIn(file: string, text: string): string[] {
  if (file.endsWith('.ts')) {
    const code = text.replace(/\/\/[^\n]*/g, '');
    const pats = [
      /\b(?:sh|spawn|spawnSync|execFileSync|execSync)\(\s*['"`]([^'"`\s]+)/g,
      /\b(?:inNs|inNsTry|x)\([^,()]+,\s*['"`]([^'"`\s]+)/g,
      /'exec',\s*[^,\]]+,\s*'([^']+)'/g,
      /'timeout',\s*'[^']+',\s*'([^']+)'/g,
    ];
    return pats.flatMap((re) => [...code.matchAll(re)].map((m) => path.basename(m[1])));
  }
  const out: string[] = [];
  // lookbehind: a wrapper (seed_x NODE, timeout N, ...) and what it runs are both commands
  const lead = /(?<=(?:^|[;&|]|\$\(|\b(?:then|do|else|exec|sudo)\s|\bcommand -v\s|\btimeout\s+\S+\s|\b(?:seed_x|nsx|x)\s+\S+\s|\b(?:_seed_do|seed_ovs)\s)\s*)([a-z][\w.+-]*)/g;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/(^|\s)#.*$/, '');
    for (const m of line.matchAll(lead)) out.push(m[1]);
  }
  return out;
}

/** Packages lab/deps.sh installs: the values of its `need` table and its
 * explicit extras, with everything they depend on (as installed here). */
function depsPackages(): Set<string> {
  const src = fs.readFileSync(path.join(REPO, 'lab/deps.sh'), 'utf8');
  const out = new Set<string>();
  for (const m of src.matchAll(/\[[^\]\s]+\]=([a-z0-9][a-z0-9.+-]+)/g)) out.add(m[1]);
  for (const m of src.matchAll(/missing\+=\(([a-z0-9][a-z0-9.+-]+)\)/g)) out.add(m[1]);
  const dependsOn = new Map<string, string[]>();
  for (const line of execFileSync('dpkg-query', ['-W', '-f', '${Package}\\t${Depends}\\n'], { encoding: 'utf8' }).split('\n')) {
    const [pkg, dep = ''] = line.split('\t');
    dependsOn.set(pkg, dep.split(/[,|]/).map((d) => d.trim().split(/[\s:]/)[0]).filter(Boolean));
  }
  const todo = [...out];
  while (todo.length) for (const d of dependsOn.get(todo.pop()!) ?? []) if (!out.has(d)) { out.add(d); todo.push(d); }
  return out;
}

describe('lab/deps.sh installs every command the tests and labs call', () => {
  const sources = [
    ...files(path.join(REPO, 'test'), /\.ts$/),
    ...files(path.join(REPO, 'lab'), /\.(sh|ts)$/),
    path.join(REPO, '.ci/run'), path.join(REPO, 'Makefile'),
  ];
  const words = new Map<string, string>(); // command -> first file using it
  for (const f of sources) {
    for (const w of commandsIn(f, fs.readFileSync(f, 'utf8'))) if (!words.has(w)) words.set(w, path.relative(REPO, f));
  }
  const deps = depsPackages();

  test('the scan finds the commands we know are used', () => {
    for (const c of ['ip', 'tc', 'bpftool', 'iperf3', 'trafgen', 'tshark', 'ovsdb-tool', 'ovs-vswitchd', 'nft', 'ethtool', 'tcpdump']) expect([c, words.has(c)]).toEqual([c, true]);
    // and would catch one deps.sh forgot
    expect(commandsIn('x.sh', 'if true; then\n  timeout 5 hping3 --flood a # not: nmap\nfi\n')).toEqual(expect.arrayContaining(['hping3']));
    expect(commandsIn('x.sh', '# nmap only in a comment\n')).not.toContain('nmap');
    expect(commandsIn('x.ts', "sh('ip', ['netns', 'exec', ns, 'hping3', '-c']); inNs(ns, 'nmap', 'x')")).toEqual(expect.arrayContaining(['ip', 'hping3', 'nmap']));
    expect([...deps]).toEqual(expect.arrayContaining(['openvswitch-switch', 'iproute2', 'netsniff-ng', 'tshark', 'nftables', 'bpftool']));
  });

  test('each has a package that deps.sh installs (or one that is always there)', () => {
    const bins = new Map<string, string>();
    for (const cmd of words.keys()) { const b = which(cmd); if (b) bins.set(cmd, b); }
    const pkgOf = owners([...new Set(bins.values())]);
    const missing: string[] = [];
    for (const [cmd, bin] of bins) {
      const pkg = pkgOf.get(bin);
      if (!pkg || always.has(pkg) || BASE_PACKAGES.has(pkg) || deps.has(pkg)) continue;
      missing.push(`${cmd} (${pkg}), used in ${words.get(cmd)}`);
    }
    expect(missing).toEqual([]);
  });
});
