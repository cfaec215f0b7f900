// Namespaces for end-to-end tests: host A -- box (eth2, eth3) -- host B.
// Names carry a per-run prefix; teardown deletes exactly those namespaces.
import { execFileSync, spawn, spawnSync } from 'child_process';
import path from 'path';

export const CLI = path.resolve(__dirname, '..', '..', 'src', 'cli', 'main.js');
export const RAWFRAME = path.resolve(__dirname, '..', '..', '..', 'test', 'helpers', 'rawframe.py');

export function sh(cmd: string, args: string[], opts: { allowFail?: boolean; timeoutMs?: number; cwd?: string; env?: Record<string, string> } = {}): { code: number; out: string; err: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: opts.timeoutMs ?? 60000, cwd: opts.cwd, env: opts.env });
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

/**
 * Host offloads: `default` is what the kernel gives a veth (GRO off, tx
 * checksum offload and TSO on). `xdp` is what an XDP box between veths
 * needs: frames XDP-redirected into a veth arrive only if its peer runs
 * NAPI (GRO on), and XDP drops the checksum-offload state of what it
 * forwards, so the hosts must finish their checksums (tx off).
 */
export type HostOffloads = 'default' | 'xdp';
export function setHostOffloads(lab: Lab, o: HostOffloads): void {
  for (const [ns, dev] of [[lab.a, 'a0'], [lab.b, 'b0']]) {
    inNs(ns, 'ethtool', '-K', dev, 'gro', o === 'xdp' ? 'on' : 'off', 'tx', o === 'xdp' ? 'off' : 'on');
    if (o === 'default') inNs(ns, 'ethtool', '-K', dev, 'tso', 'on');
  }
}

export function buildLab(prefix: string, mtu = 1500, offloads: HostOffloads = 'default'): Lab {
  const lab = { prefix, a: `${prefix}a`, box: `${prefix}box`, b: `${prefix}b`, macA: '02:00:5e:00:53:0a', macB: '02:00:5e:00:53:0b' };
  destroyLab(lab);
  for (const ns of [lab.a, lab.box, lab.b]) ip('netns', 'add', ns);
  ip('link', 'add', 'a0', 'netns', lab.a, 'address', lab.macA, 'type', 'veth', 'peer', 'name', 'eth2', 'netns', lab.box);
  ip('link', 'add', 'b0', 'netns', lab.b, 'address', lab.macB, 'type', 'veth', 'peer', 'name', 'eth3', 'netns', lab.box);
  for (const [ns, dev, v4, v6] of [[lab.a, 'a0', '198.51.100.1/24', '2001:db8:100::1/64'], [lab.b, 'b0', '198.51.100.2/24', '2001:db8:100::2/64']]) {
    ip('-n', ns, 'addr', 'add', v4, 'dev', dev);
    ip('-n', ns, 'addr', 'add', v6, 'dev', dev, 'nodad');
    ip('-n', ns, 'link', 'set', dev, 'mtu', String(mtu), 'up');
  }
  setHostOffloads(lab, offloads);
  for (const dev of ['eth2', 'eth3']) ip('-n', lab.box, 'link', 'set', dev, 'mtu', String(mtu), 'up');
  return lab;
}

export function destroyLab(lab: { a: string; box: string; b: string }): void {
  const existing = sh('ip', ['netns', 'list']).out.split('\n').map((l) => l.split(' ')[0]);
  for (const ns of [lab.a, lab.box, lab.b]) if (existing.includes(ns)) sh('ip', ['netns', 'del', ns], { allowFail: true });
}

export const SHA = path.resolve(__dirname, '..', '..', '..', 'test', 'helpers', 'sha-transfer.py');
/**
 * A bounded TCP transfer of `mbytes` from namespace `from` to `to` (listening
 * on addr:port), sha256 on both ends. Resolves with both "<bytes> <sha256>".
 * `via`: the address and port the sender connects to, when a NAT between
 * forwards them to addr:port.
 */
export async function shaTransfer(from: string, to: string, addr: string, port: number, mbytes: number, via: [string, number] = [addr, port]): Promise<{ sent: string; got: string }> {
  const rx = spawn('ip', ['netns', 'exec', to, '/usr/bin/python3', SHA, 'recv', addr, String(port), '60']);
  const rxDone = new Promise((r) => rx.on('close', r));
  let got = '';
  rx.stdout.on('data', (d) => { got += d; });
  for (let i = 0; i < 100 && !got.includes('ready'); i++) await new Promise((r) => setTimeout(r, 50));
  const sent = sh('ip', ['netns', 'exec', from, 'timeout', '90', '/usr/bin/python3', SHA, 'send', via[0], String(via[1]), String(mbytes)], { allowFail: true, timeoutMs: 100000 });
  await rxDone;
  return { sent: sent.code === 0 ? sent.out.trim() : `send failed (${sent.code}): ${sent.err}`, got: (got.split('\n')[1] ?? '').trim() };
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

/**
 * As shaTransfer, but the receiver opens the connection: `server` listens on
 * addr:port and sends `mbytes` to the first client, `client` fetches them.
 */
export async function shaFetch(server: string, client: string, addr: string, port: number, mbytes: number): Promise<{ sent: string; got: string }> {
  const tx = spawn('ip', ['netns', 'exec', server, 'timeout', '90', '/usr/bin/python3', SHA, 'serve', addr, String(port), String(mbytes), '60']);
  const txDone = new Promise((r) => tx.on('close', r));
  let sent = '';
  tx.stdout.on('data', (d) => { sent += d; });
  for (let i = 0; i < 100 && !sent.includes('ready'); i++) await new Promise((r) => setTimeout(r, 50));
  const got = sh('ip', ['netns', 'exec', client, 'timeout', '90', '/usr/bin/python3', SHA, 'fetch', addr, String(port)], { allowFail: true, timeoutMs: 100000 });
  await txDone;
  return { sent: (sent.split('\n')[1] ?? '').trim(), got: got.code === 0 ? got.out.trim() : `fetch failed (${got.code}): ${got.err}` };
}
