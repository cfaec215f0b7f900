// The ring buffer reader of the binding (events from programs to the
// control plane), fed by a program that emits one event per run
// (test/fixtures/bpf/events.bpf.c) through BPF_PROG_TEST_RUN.
import { execFileSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import * as bpf from '../../src/bpf/libbpf';

const FIXTURE = path.resolve(__dirname, '../../../test/fixtures/bpf/events.bpf.c');

describe('RingBufferReader', () => {
  let dir: string;
  let obj: bpf.BpfObject;
  let prog: number;
  const frame = (n: number) => { const f = Buffer.alloc(60 + n); f.writeUInt32BE(0xdead0000 + n, 0); return f; };
  const emit = (n: number) => bpf.testRun(prog, { data: frame(n) }).retval;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l2bpf-rb-'));
    execFileSync('clang-16', ['-target', 'bpf', '-g', '-O2', '-I/usr/include/x86_64-linux-gnu', '-c', FIXTURE, '-o', `${dir}/ev.o`]);
    obj = bpf.openObject(`${dir}/ev.o`);
    bpf.loadObject(obj);
    prog = bpf.programFd(obj, 'emit');
  });
  afterAll(() => {
    bpf.closeObject(obj);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('consume() delivers every event in order, with its bytes, and never waits', () => {
    const got: Buffer[] = [];
    const r = new bpf.RingBufferReader(bpf.mapFd(obj, 'events'), (d) => got.push(d));
    try {
      expect(r.consume()).toBe(0); // nothing there: returns at once
      for (let i = 0; i < 5; i++) expect(emit(i)).toBe(0);
      expect(r.consume()).toBe(5);
      expect(got.map((d) => [d.length, d.readUInt32LE(0), d.readUInt32LE(4), d.readUInt32BE(8)])).toEqual(
        [0, 1, 2, 3, 4].map((i) => [12, i, 60 + i, 0xdead0000 + i]));
      expect(r.consume()).toBe(0);
    } finally {
      r.close();
    }
  });

  test('a full ring is the program\'s to see; reading makes room again', () => {
    const r = new bpf.RingBufferReader(bpf.mapFd(obj, 'events'), () => undefined);
    try {
      let ok = 0;
      while (emit(0) === 0 && ok < 10000) ok++;
      expect(ok).toBeGreaterThan(10); // 4 KB of 12-byte records (+8-byte headers)
      expect(ok).toBeLessThan(4096 / 16 + 1);
      expect(r.consume()).toBe(ok);
      expect(emit(0)).toBe(0);
      expect(r.consume()).toBe(1);
    } finally {
      r.close();
    }
  });

  test('start() reads on a timer while the event loop stays free; close() stops it', async () => {
    const got: number[] = [];
    const r = new bpf.RingBufferReader(bpf.mapFd(obj, 'events'), (d) => got.push(d.readUInt32LE(4)));
    try {
      r.start(10);
      emit(7);
      emit(8);
      let ticks = 0; // the loop keeps running: these timers fire while the reader waits for events
      for (let i = 0; i < 50 && got.length < 2; i++) { await new Promise((res) => setTimeout(res, 10)); ticks++; }
      expect(got).toEqual([67, 68]);
      expect(ticks).toBeGreaterThan(0);
    } finally {
      r.close();
    }
    expect(() => r.consume()).toThrow(/closed/);
  });
});
