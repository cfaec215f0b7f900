// The library as a long-running process uses it: attachAsync and detachAsync
// wait for the pin-folder lock without blocking the event loop, then do the
// same work as the CLI (here, in this jest process itself).
import { spawn, spawnSync } from 'child_process';
import fs from 'fs';
import * as l2 from '../../src';
import { buildLab, destroyLab, inNsTry, Lab } from '../helpers/netns';

const ROOT = `/sys/fs/bpf/l2bpf-api-${process.pid}`;
let lab: Lab;
beforeAll(() => { lab = buildLab(`l2i${process.pid % 100000}-`); });
afterAll(() => {
  l2.detach({ pinRoot: ROOT, all: true });
  destroyLab(lab);
  fs.rmSync(ROOT, { recursive: true, force: true });
});

test('attachAsync waits for a held lock on timers, then attaches; detachAsync too', async () => {
  fs.mkdirSync(ROOT, { recursive: true });
  const holder = spawn('flock', [ROOT, 'sleep', '1'], { stdio: 'ignore', detached: true });
  const held = () => spawnSync('flock', ['-n', ROOT, 'true']).status !== 0;
  for (let i = 0; i < 40 && !held(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(held()).toBe(true); // there is something to wait for
  let ticks = 0;
  const t = setInterval(() => { ticks++; }, 20);
  try {
    const r = await l2.attachAsync({ pinRoot: ROOT, ports: ['eth2', 'eth3'], netns: lab.box, name: 'api' });
    expect(r.action).toBe('attached');
    expect(ticks).toBeGreaterThan(0); // other work ran while it waited
    expect(l2.status({ pinRoot: ROOT })[0]).toMatchObject({ instance: 'api', state: 'attached' });
    expect(inNsTry(lab.a, 'ping', '-c', '2', '-i', '0.2', '-W', '1', '198.51.100.2').code).toBe(0);
    expect(l2.stats({ pinRoot: ROOT, name: 'api' }).ports.map((p) => p.port)).toEqual(['eth2', 'eth3']);
    const d = await l2.detachAsync({ pinRoot: ROOT, name: 'api' });
    expect(d.map((x) => x.instance)).toEqual(['api']);
    expect(l2.status({ pinRoot: ROOT })).toEqual([]);
  } finally {
    clearInterval(t);
    try { process.kill(-holder.pid!, 'SIGTERM'); } catch { /* done already */ } // flock and its sleep, which holds the lock too
  }
});

test('typed errors: a usage error and a config error are told apart', async () => {
  await expect(l2.attachAsync({ pinRoot: ROOT, ports: ['eth2', 'nosuch0'], netns: lab.box })).rejects.toBeInstanceOf(l2.UsageError);
  expect(() => l2.attach({ pinRoot: ROOT, ports: ['eth2', 'eth3'], netns: lab.box, mode: 'turbo' })).toThrow(l2.ConfigError);
  expect(() => l2.detach({ pinRoot: ROOT, name: 'x', all: true })).toThrow(l2.UsageError);
});
