// Namespaces for end-to-end tests: host A -- box (eth2, eth3) -- host B.
// Names carry a per-run prefix; teardown deletes exactly those namespaces.
import { execFileSync, spawn, spawnSync } from 'child_process';
import path from 'path';

export const CLI = path.resolve(__dirname, '..', '..', 'src', 'cli', 'main.js');
export const RAWFRAME = path.resolve(__dirname, '..', '..', '..', 'test', 'helpers', 'rawframe.py');

export function sh(cmd: string, args: string[], opts: { allowFail?: boolean; timeoutMs?: number } = {}): { code: number; out: string; err: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: opts.timeoutMs ?? 60000 });
  const res = { code: r.status ?? -1, out: r.stdout ?? '', err: r.stderr ?? '' };
  if (res.code !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(' ')} -> ${res.code}: ${res.err}${res.out}`);
  return res;
}
export const ip = (...args: string[]) => sh('ip', args).out;
export const inNs = (ns: string, ...cmd: string[]) => sh('ip', ['netns', 'exec', ns, ...cmd]);
export const inNsTry = (ns: string, ...cmd: string[]) => sh('ip', ['netns', 'exec', ns, ...cmd], { allowFail: true });

/** Runs the built CLI (as root) and returns exit code and output. */
export function l2bpf(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

export interface Lab { prefix: string; a: string; box: string; b: string; macA: string; macB: string }

export function buildLab(prefix: string, mtu = 1500): Lab {
  const lab = { prefix, a: `${prefix}a`, box: `${prefix}box`, b: `${prefix}b`, macA: '02:00:5e:00:53:0a', macB: '02:00:5e:00:53:0b' };
  destroyLab(lab);
  for (const ns of [lab.a, lab.box, lab.b]) ip('netns', 'add', ns);
  ip('link', 'add', 'a0', 'netns', lab.a, 'address', lab.macA, 'type', 'veth', 'peer', 'name', 'eth2', 'netns', lab.box);
  ip('link', 'add', 'b0', 'netns', lab.b, 'address', lab.macB, 'type', 'veth', 'peer', 'name', 'eth3', 'netns', lab.box);
  for (const [ns, dev, v4, v6] of [[lab.a, 'a0', '198.51.100.1/24', '2001:db8:100::1/64'], [lab.b, 'b0', '198.51.100.2/24', '2001:db8:100::2/64']]) {
    ip('-n', ns, 'addr', 'add', v4, 'dev', dev);
    ip('-n', ns, 'addr', 'add', v6, 'dev', dev, 'nodad');
    ip('-n', ns, 'link', 'set', dev, 'mtu', String(mtu), 'up');
    // Frames XDP-redirected into a veth are delivered only if its peer runs
    // NAPI: GRO on (or an XDP program) on the hosts' ends.
    inNs(ns, 'ethtool', '-K', dev, 'gro', 'on');
    // A veth hands its peer checksum-offloaded skbs (CHECKSUM_PARTIAL); XDP
    // turns them into plain frames and the offload state is lost, so the
    // hosts fill in checksums themselves, as a real NIC would on the wire.
    inNs(ns, 'ethtool', '-K', dev, 'tx', 'off');
  }
  for (const dev of ['eth2', 'eth3']) ip('-n', lab.box, 'link', 'set', dev, 'mtu', String(mtu), 'up');
  return lab;
}

export function destroyLab(lab: { a: string; box: string; b: string }): void {
  const existing = sh('ip', ['netns', 'list']).out.split('\n').map((l) => l.split(' ')[0]);
  for (const ns of [lab.a, lab.box, lab.b]) if (existing.includes(ns)) sh('ip', ['netns', 'del', ns], { allowFail: true });
}

/** Sends `frame` from host A's a0 and returns what host B's b0 received (hex), or undefined. */
export async function sendRaw(lab: Lab, frame: Buffer, marker: Buffer): Promise<string | undefined> {
  const rx = spawn('ip', ['netns', 'exec', lab.b, '/usr/bin/python3', RAWFRAME, 'recv', 'b0', marker.toString('hex'), '3']);
  let out = '';
  rx.stdout.on('data', (d) => { out += d; });
  await new Promise<void>((resolve, reject) => {
    const start = Date.now();
    const t = setInterval(() => {
      if (out.includes('ready')) { clearInterval(t); resolve(); }
      else if (Date.now() - start > 5000) { clearInterval(t); rx.kill(); reject(new Error('raw receiver did not start')); }
    }, 20);
  });
  execFileSync('ip', ['netns', 'exec', lab.a, '/usr/bin/python3', RAWFRAME, 'send', 'a0', frame.toString('hex')]);
  const code = await new Promise<number>((resolve) => rx.on('close', (c) => resolve(c ?? -1)));
  return code === 0 ? out.split('\n')[1].trim() : undefined;
}
