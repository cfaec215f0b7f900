// The few libc calls Node does not offer: network namespaces, interface
// names, file locks. Namespace switches are per thread; all our native calls
// run synchronously on the main thread, so a switch covers exactly them.
import fs from 'fs';
import koffi from 'koffi';
import { UsageError } from '../errors';

const libc = koffi.load('libc.so.6');
const c = {
  setns: libc.func('int setns(int fd, int nstype)'),
  nametoindex: libc.func('unsigned int if_nametoindex(const char *name)'),
  indextoname: libc.func('char *if_indextoname(unsigned int index, _Out_ uint8_t *name)'),
  flock: libc.func('int flock(int fd, int op)'),
  setaffinity: libc.func('int sched_setaffinity(int pid, size_t size, const uint8_t *mask)'),
};
const CLONE_NEWNET = 0x40000000;
const LOCK_EX = 2;
const LOCK_NB = 4;

export function netnsPath(name: string): string { return `/run/netns/${name}`; }

/** Runs fn with this thread in network namespace `name` (undefined = stay).
 * Synchronous only: the namespace belongs to the thread, so an async fn would
 * leave every other callback that runs meanwhile in `name`; it is refused. */
export function inNetns<T>(name: string | undefined, fn: () => T): T {
  if (!name) return fn();
  let target: number;
  try {
    target = fs.openSync(netnsPath(name), 'r');
  } catch {
    throw new UsageError(`network namespace '${name}' does not exist (no ${netnsPath(name)})`, 'list them with: ip netns list');
  }
  const home = fs.openSync('/proc/thread-self/ns/net', 'r');
  try {
    if (c.setns(target, CLONE_NEWNET) !== 0) throw new Error(`setns into ${name} failed: errno ${koffi.errno()}`);
    try {
      const r = fn();
      if (r instanceof Promise || (typeof r === 'object' && r !== null && typeof (r as { then?: unknown }).then === 'function')) {
        throw new TypeError('inNetns runs synchronous code only: await outside it');
      }
      return r;
    } finally {
      if (c.setns(home, CLONE_NEWNET) !== 0) throw new Error(`setns back from ${name} failed: errno ${koffi.errno()}`);
    }
  } finally {
    fs.closeSync(target);
    fs.closeSync(home);
  }
}

/** Moves this thread into network namespace `name` for good: a daemon
 * (`l2bpf openvpn --netns`) does it once before it opens any socket or
 * device, so everything it creates and every child it spawns is there. */
export function enterNetns(name: string): void {
  let target: number;
  try {
    target = fs.openSync(netnsPath(name), 'r');
  } catch {
    throw new UsageError(`network namespace '${name}' does not exist (no ${netnsPath(name)})`, 'list them with: ip netns list');
  }
  try {
    if (c.setns(target, CLONE_NEWNET) !== 0) throw new Error(`setns into ${name} failed: errno ${koffi.errno()}`);
  } finally {
    fs.closeSync(target);
  }
}

/** ifindex of an interface in the current thread's namespace, or 0. */
export function ifIndex(name: string): number { return c.nametoindex(name); }
export function ifName(index: number): string | undefined {
  const buf = Buffer.alloc(16);
  const p = c.indextoname(index, buf);
  return p ? buf.toString('utf8').replace(/\0.*$/s, '') : undefined;
}

/** One try at the lock; past the deadline, a clear error (and the fd closed). */
function tryLock(fd: number, dir: string, deadline: number): boolean {
  if (c.flock(fd, LOCK_EX | LOCK_NB) === 0) return true;
  if (Date.now() <= deadline) return false;
  fs.closeSync(fd);
  throw new UsageError(`another l2bpf command holds the lock on ${dir}`, 'wait for it to finish and try again');
}

/** Exclusive lock on a folder, without waiting on the event loop: retries
 * on a timer for up to timeoutMs (a stuck peer gives a clear error, not a
 * hang). Resolves to the fd; closing it releases the lock. */
export async function lockDirAsync(dir: string, timeoutMs = 10000): Promise<number> {
  const fd = fs.openSync(dir, 'r');
  const deadline = Date.now() + timeoutMs;
  while (!tryLock(fd, dir, deadline)) await new Promise((r) => setTimeout(r, 50));
  return fd;
}

/** lockDir for one-shot commands (the CLI): the same, blocking the thread
 * while it waits. A long-running process uses lockDirAsync. */
export function lockDir(dir: string, timeoutMs = 10000): number {
  const fd = fs.openSync(dir, 'r');
  const deadline = Date.now() + timeoutMs;
  while (!tryLock(fd, dir, deadline)) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  return fd;
}

/** Pins the calling thread (a worker thread too: pid 0 is the caller) to one CPU. */
export function pinThreadToCpu(cpu: number): void {
  const mask = Buffer.alloc(128);
  mask[cpu >> 3] |= 1 << (cpu & 7);
  if (c.setaffinity(0, mask.length, mask) !== 0) throw new Error(`sched_setaffinity to CPU ${cpu}: errno ${koffi.errno()}`);
}

/** fn under the folder's lock (lockDir), released after. */
export function withLock<T>(dir: string, fn: () => T): T {
  const fd = lockDir(dir);
  try { return fn(); } finally { fs.closeSync(fd); }
}

/** withLock for a long-running process: the lock is waited for on timers (lockDirAsync). */
export async function withLockAsync<T>(dir: string, fn: () => T): Promise<T> {
  const fd = await lockDirAsync(dir);
  try { return fn(); } finally { fs.closeSync(fd); }
}
