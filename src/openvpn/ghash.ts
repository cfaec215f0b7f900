// GHASH's 4-bit table (Shoup's method, as mbed TLS's gcm_gen_table) for the
// BPF AES-GCM (bpf/lib/aes_gcm.h): H = AES_K(0^128) and its 16 multiples,
// as big-endian 64-bit halves. Computed here once per key.
import crypto from 'crypto';

export type GhashTable = { hh: bigint[]; hl: bigint[] };

const M64 = (1n << 64n) - 1n;

/** The table for AES key `key` (16 or 32 bytes). */
export function ghashTable(key: Buffer): GhashTable {
  const c = crypto.createCipheriv(key.length === 16 ? 'aes-128-ecb' : 'aes-256-ecb', key, null);
  c.setAutoPadding(false);
  const h = Buffer.concat([c.update(Buffer.alloc(16)), c.final()]);
  let vh = h.readBigUInt64BE(0), vl = h.readBigUInt64BE(8);
  const hh = Array<bigint>(16).fill(0n), hl = Array<bigint>(16).fill(0n);
  hh[8] = vh; hl[8] = vl;
  for (let i = 4; i > 0; i >>= 1) {
    const t = (vl & 1n) * 0xe1000000n;
    vl = ((vh << 63n) | (vl >> 1n)) & M64;
    vh = ((vh >> 1n) ^ (t << 32n)) & M64;
    hh[i] = vh; hl[i] = vl;
  }
  for (let i = 2; i <= 8; i *= 2) {
    for (let j = 1; j < i; j++) { hh[i + j] = hh[i] ^ hh[j]; hl[i + j] = hl[i] ^ hl[j]; }
  }
  return { hh, hl };
}
