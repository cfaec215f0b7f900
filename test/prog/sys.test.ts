// Daemon safety of src/bpf/sys.ts: the pin-folder lock waits without
// blocking the event loop, and inNetns refuses code that would outlive it.
import { spawn, spawnSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { inNetns, lockDirAsync } from '../../src/bpf/sys';

const NS = `l2sys${process.pid % 100000}`;

describe('lockDirAsync', () => {
  let dir: string;
  beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l2bpf-lock-')); });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('waits for a holder on timers: the event loop keeps running, the lock comes when it is free', async () => {
    const holder = spawn('flock', [dir, 'sleep', '0.6'], { stdio: 'ignore', detached: true });
    const held = () => spawnSync('flock', ['-n', dir, 'true']).status !== 0;
    for (let i = 0; i < 40 && !held(); i++) await new Promise((r) => setTimeout(r, 10)); // let it take the lock
    expect(held()).toBe(true); // there is something to wait for
    let ticks = 0;
    const t = setInterval(() => { ticks++; }, 20);
    const fd = await lockDirAsync(dir, 5000);
    clearInterval(t);
    expect(spawnSync('flock', ['-n', dir, 'true']).status).not.toBe(0); // now ours
    fs.closeSync(fd);
    try { process.kill(-holder.pid!, 'SIGTERM'); } catch { /* done already */ } // flock and its sleep, which holds the lock too
    // a blocking wait would have let no timer fire before it returned
    expect(ticks).toBeGreaterThan(0);
  });

  test('a holder that never lets go gives a clear error after the timeout', async () => {
    const holder = spawn('flock', [dir, 'sleep', '5'], { stdio: 'ignore', detached: true });
    for (let i = 0; i < 40 && spawnSync('flock', ['-n', dir, 'true']).status === 0; i++) await new Promise((r) => setTimeout(r, 10));
    try {
      await expect(lockDirAsync(dir, 300)).rejects.toThrow(/another l2bpf command holds the lock on/);
    } finally {
      try { process.kill(-holder.pid!, 'SIGTERM'); } catch { /* done already */ } // flock and its sleep, which holds the lock too
    }
  });
});

describe('inNetns', () => {
  beforeAll(() => { spawnSync('ip', ['netns', 'add', NS]); });
  afterAll(() => { spawnSync('ip', ['netns', 'del', NS]); });
  const here = () => fs.readlinkSync('/proc/thread-self/ns/net');

  test('runs synchronous code in the namespace and comes back', () => {
    const home = here();
    const inside = inNetns(NS, here);
    expect(inside).not.toBe(home);
    expect(here()).toBe(home);
  });

  test('refuses an async function (the thread would stay elsewhere while it awaits), and still comes back', () => {
    const home = here();
    expect(() => inNetns(NS, async () => 1)).toThrow(/synchronous code only/);
    expect(here()).toBe(home);
  });
});
