// Where things live: the pin folder of an instance, and the BPF objects.
import fs from 'fs';
import path from 'path';
import { execFileSync } from 'child_process';
import { UsageError } from '../errors';

export const DEFAULT_PIN_ROOT = '/sys/fs/bpf/l2bpf';

export function pinRoot(override?: string): string {
  return override ?? process.env.L2BPF_PIN_ROOT ?? DEFAULT_PIN_ROOT;
}

export interface InstancePaths { dir: string; maps: string; progs: string; links: string }
export function instancePaths(root: string, name: string): InstancePaths {
  const dir = path.join(root, name);
  return { dir, maps: path.join(dir, 'maps'), progs: path.join(dir, 'progs'), links: path.join(dir, 'links') };
}

/** Names of the instances pinned under root (each a folder with maps/). */
export function listInstances(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  return fs.readdirSync(root).filter((n) => fs.existsSync(path.join(root, n, 'maps'))).sort();
}

/** The built BPF objects: build/ at the top of the checkout (or L2BPF_BPF_DIR). */
export function objectPath(name: string): string {
  const dir = process.env.L2BPF_BPF_DIR ?? path.resolve(__dirname, '..', '..', '..', 'build');
  const p = path.join(dir, name);
  if (!fs.existsSync(p)) throw new UsageError(`BPF object ${p} is missing`, 'build it with: make');
  return p;
}

function isBpffs(dir: string): boolean {
  const mounts = fs.readFileSync('/proc/self/mounts', 'utf8').split('\n');
  return mounts.some((l) => { const [, mnt, type] = l.split(' '); return mnt === dir && type === 'bpf'; });
}

/** Make sure the pin root sits on a bpf filesystem, mounting /sys/fs/bpf if needed. */
export function ensureBpffs(root: string): void {
  let dir = path.resolve(root);
  while (!fs.existsSync(dir)) dir = path.dirname(dir);
  const fsType = execFileSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).trim();
  if (fsType === 'bpf_fs') { fs.mkdirSync(root, { recursive: true }); return; }
  if (!root.startsWith('/sys/fs/bpf/')) throw new UsageError(`pin root ${root} is not on a bpf filesystem`);
  if (!isBpffs('/sys/fs/bpf')) execFileSync('mount', ['-t', 'bpf', 'bpf', '/sys/fs/bpf']);
  fs.mkdirSync(root, { recursive: true });
}
