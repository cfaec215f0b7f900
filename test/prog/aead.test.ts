// ChaCha20-Poly1305 in plain BPF (bpf/lib/chacha20poly1305.h), through a test
// harness program (test/fixtures/bpf/aead.bpf.c) and BPF_PROG_TEST_RUN,
// against node:crypto: the RFC 8439 vector, then random keys, nonces, AAD
// (OpenVPN's is 8 bytes) and every length class up to what a test run takes.
import { execFileSync } from 'child_process';
import crypto from 'crypto';
import fs from 'fs';
import os from 'os';
import path from 'path';
import * as bpf from '../../src/bpf/libbpf';
import { rng } from '../helpers/rng';

const REPO = path.resolve(__dirname, '../../..');
const HDR = 32 + 12 + 1 + 16;
const PINS = `/sys/fs/bpf/l2bpf-aead-${process.pid}`;

describe('ChaCha20-Poly1305 in BPF against node:crypto', () => {
  let dir: string;
  let obj: bpf.BpfObject;
  let enc: number, dec: number;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l2bpf-aead-'));
    execFileSync('clang-16', ['-target', 'bpf', '-mcpu=v3', '-g', '-O2', '-I', path.join(REPO, 'maps'), '-I', path.join(REPO, 'bpf/include'), '-I', path.join(REPO, 'bpf'),
      '-I/usr/include/x86_64-linux-gnu', '-c', path.join(REPO, 'test/fixtures/bpf/aead.bpf.c'), '-o', `${dir}/aead.o`]);
    // its maps pin by name (the shared headers): into a folder of this run, not bpffs' root
    fs.mkdirSync(PINS, { recursive: true });
    obj = bpf.openObject(`${dir}/aead.o`, PINS);
    bpf.loadObject(obj);
    enc = bpf.programFd(obj, 'aead_encrypt');
    dec = bpf.programFd(obj, 'aead_decrypt');
  });
  afterAll(() => {
    bpf.closeObject(obj);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(PINS, { recursive: true, force: true });
  });

  const frame = (key: Buffer, nonce: Buffer, aad: Buffer, data: Buffer, tag = Buffer.alloc(16)) => {
    const a = Buffer.alloc(16); aad.copy(a);
    return Buffer.concat([key, nonce, Buffer.from([aad.length]), a, data, tag]);
  };
  const run = (prog: number, f: Buffer) => {
    const r = bpf.testRun(prog, { data: f });
    return { retval: r.retval, data: r.data.subarray(HDR, f.length - 16), tag: r.data.subarray(f.length - 16, f.length) };
  };
  const reference = (key: Buffer, nonce: Buffer, aad: Buffer, data: Buffer) => {
    const c = crypto.createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    c.setAAD(aad, { plaintextLength: data.length });
    return { ct: Buffer.concat([c.update(data), c.final()]), tag: c.getAuthTag() };
  };

  test('RFC 8439 section 2.8.2: ciphertext and tag', () => {
    const key = Buffer.from('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f', 'hex');
    const nonce = Buffer.from('070000004041424344454647', 'hex');
    const aad = Buffer.from('50515253c0c1c2c3c4c5c6c7', 'hex');
    const pt = Buffer.from("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
    const r = run(enc, frame(key, nonce, aad, pt));
    expect(r.retval).toBe(0);
    expect(r.data.subarray(0, 16).toString('hex')).toBe('d31a8d34648e60db7b86afbc53ef7ec2');
    expect(r.tag.toString('hex')).toBe('1ae10b594f09e26a7e902ecbd0600691');
    expect(Buffer.from(r.data)).toEqual(reference(key, nonce, aad, pt).ct);
  });

  test('random keys, nonces, AAD and lengths 0..3400: the same bytes and tag; decrypt gives the plaintext back', () => {
    const r = rng(8439);
    const lengths = [0, 1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 1400, 1500, 3400, ...Array.from({ length: 40 }, () => r.int(3401))];
    for (const n of lengths) {
      const key = r.bytes(32), nonce = r.bytes(12), aad = r.bytes(r.pick([0, 4, 8, 12, 16])), pt = r.bytes(n);
      const ref = reference(key, nonce, aad, pt);
      const e = run(enc, frame(key, nonce, aad, pt));
      expect([n, e.retval]).toEqual([n, 0]);
      expect(Buffer.from(e.data).equals(ref.ct)).toBe(true);
      expect(Buffer.from(e.tag).equals(ref.tag)).toBe(true);
      const d = run(dec, frame(key, nonce, aad, ref.ct, ref.tag));
      expect(d.retval).toBe(0);
      expect(Buffer.from(d.data).equals(pt)).toBe(true);
    }
  });

  test('a forged tag, a flipped ciphertext bit or other AAD: refused, and the data left as it came', () => {
    const r = rng(2);
    const key = r.bytes(32), nonce = r.bytes(12), aad = r.bytes(8), pt = r.bytes(1400);
    const ref = reference(key, nonce, aad, pt);
    const badTag = Buffer.from(ref.tag); badTag[15] ^= 1;
    const flipped = Buffer.from(ref.ct); flipped[700] ^= 0x80;
    const otherAad = Buffer.from(aad); otherAad[0] ^= 1;
    for (const f of [frame(key, nonce, aad, ref.ct, badTag), frame(key, nonce, aad, flipped, ref.tag), frame(key, nonce, otherAad, ref.ct, ref.tag)]) {
      const d = run(dec, f);
      expect(d.retval).toBe(2);
      expect(Buffer.from(d.data).equals(f.subarray(HDR, f.length - 16))).toBe(true);
    }
  });
});
