// A program the verifier rejects: the error carries the verifier's own log,
// routed through libbpf's print callback, and the CLI prints it.
import { execFileSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import * as bpf from '../../src/bpf/libbpf';
import { BpfError } from '../../src/errors';

test('a verifier rejection carries the verifier log', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l2bpf-bad-'));
  try {
    const src = path.resolve(__dirname, '../../../test/fixtures/bpf/bad_access.bpf.c');
    execFileSync('clang-16', ['-target', 'bpf', '-g', '-O2', '-I/usr/include/x86_64-linux-gnu', '-c', src, '-o', `${dir}/bad.o`]);
    const obj = bpf.openObject(`${dir}/bad.o`);
    let err: unknown;
    try { bpf.loadObject(obj); } catch (e) { err = e; } finally { bpf.closeObject(obj); }
    expect(err).toBeInstanceOf(BpfError);
    const log = (err as BpfError).log!.join('\n');
    expect(log).toMatch(/invalid access to packet/);      // the verifier's words
    expect(log).toMatch(/processed \d+ insns|BEGIN PROG LOAD LOG/);
    expect((err as BpfError).op).toMatch(/^load .*bad\.o$/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
