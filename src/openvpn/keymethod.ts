// Key method 2 (ssl.c key_method_2_read/write; openvpn-wire.md sections 4-5):
// the first message each side writes into TLS, and the data-channel keys
// made from it (TLS EKM for 2.6 clients, OpenVPN's TLS-1.0 PRF for older).
import crypto from 'crypto';
import type { DataCipher } from './config';
import { DirectionKey, KEY_BYTES } from './data';

export interface KeySource { preMaster?: Buffer; random1: Buffer; random2: Buffer }
export interface KeyMethod2 {
  source: KeySource;
  options: string;
  username?: string;
  password?: string;
  peerInfo: Map<string, string>;
}

function str(b: Buffer, o: number): { s: string | undefined; o: number } {
  if (o + 2 > b.length) throw new RangeError('truncated string length');
  const n = b.readUInt16BE(o);
  if (n === 0) return { s: undefined, o: o + 2 };
  if (o + 2 + n > b.length) throw new RangeError('truncated string');
  const raw = b.subarray(o + 2, o + 2 + n);
  const end = raw.indexOf(0);
  return { s: raw.subarray(0, end < 0 ? raw.length : end).toString('latin1'), o: o + 2 + n };
}

function putStr(s: string | undefined): Buffer {
  if (s === undefined) return Buffer.alloc(2);
  const body = Buffer.from(`${s}\0`, 'latin1');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(body.length);
  return Buffer.concat([len, body]);
}

/** The length of a whole message at the start of b, or 0 while more bytes are needed. */
export function keyMethodLength(b: Buffer, fromClient: boolean): number {
  let o = 5 + (fromClient ? 48 : 0) + 64;
  for (let i = 0; i < 4; i++) {
    if (o + 2 > b.length) return i >= 3 ? o : 0; // peer-info is optional
    o += 2 + b.readUInt16BE(o);
    if (o > b.length) return 0;
  }
  return o;
}

/** Parses a key-method-2 message; throws RangeError naming what is wrong. */
export function readKeyMethod2(b: Buffer, fromClient: boolean): KeyMethod2 {
  if (b.length < 5 || b.readUInt32BE(0) !== 0) throw new RangeError('no key-method message (the first 4 bytes must be 0)');
  if ((b[4] & 0x0f) !== 2) throw new RangeError(`key method ${b[4] & 0x0f} (only 2 is supported)`);
  let o = 5;
  const take = (n: number) => {
    if (o + n > b.length) throw new RangeError('truncated key source');
    const r = Buffer.from(b.subarray(o, o + n)); o += n; return r;
  };
  const preMaster = fromClient ? take(48) : undefined;
  const random1 = take(32), random2 = take(32);
  let r = str(b, o); const options = r.s ?? ''; o = r.o;
  r = str(b, o); const username = r.s; o = r.o;
  r = str(b, o); const password = r.s; o = r.o;
  let info: string | undefined;
  if (o < b.length) { r = str(b, o); info = r.s; }
  const peerInfo = new Map<string, string>();
  for (const line of (info ?? '').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) peerInfo.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return { source: { preMaster, random1, random2 }, options, username, password, peerInfo };
}

/** The server's message: no pre-master, no user/password, no peer-info (as a 2.6 server). */
export function writeKeyMethod2(source: KeySource, options: string, peerInfo?: string): Buffer {
  return Buffer.concat([Buffer.from([0, 0, 0, 0, 2]), ...(source.preMaster ? [source.preMaster] : []), source.random1, source.random2,
    putStr(options), putStr(undefined), putStr(undefined), putStr(peerInfo)]);
}

export const newSource = (client: boolean): KeySource => ({
  preMaster: client ? crypto.randomBytes(48) : undefined, random1: crypto.randomBytes(32), random2: crypto.randomBytes(32),
});

/** TLS 1.0's PRF: P_MD5 over the secret's first half XOR P_SHA1 over its second. */
export function tls1Prf(secret: Buffer, label: string, seed: Buffer, length: number): Buffer {
  const half = Math.ceil(secret.length / 2);
  const pHash = (alg: string, s: Buffer) => {
    const out: Buffer[] = [];
    const full = Buffer.concat([Buffer.from(label, 'latin1'), seed]);
    let a = full, n = 0;
    while (n < length) {
      a = crypto.createHmac(alg, s).update(a).digest();
      const chunk = crypto.createHmac(alg, s).update(a).update(full).digest();
      out.push(chunk); n += chunk.length;
    }
    return Buffer.concat(out).subarray(0, length);
  };
  const md5 = pHash('md5', secret.subarray(0, half)), sha1 = pHash('sha1', secret.subarray(secret.length - half));
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = md5[i] ^ sha1[i];
  return out;
}

/** OpenVPN's legacy derivation of the 256 bytes of key2 (ssl.c generate_key_expansion_openvpn_prf). */
export function prfKey2(client: KeySource, server: KeySource, clientSid: Buffer, serverSid: Buffer): Buffer {
  if (!client.preMaster) throw new RangeError('the client key source has no pre-master secret');
  const master = tls1Prf(client.preMaster, 'OpenVPN master secret', Buffer.concat([client.random1, server.random1]), 48);
  return tls1Prf(master, 'OpenVPN key expansion', Buffer.concat([client.random2, server.random2, clientSid, serverSid]), 256);
}

export const EKM_LABEL = 'EXPORTER-OpenVPN-datakeys';

/** The server's two directions out of key2: encrypt with 128.. / IV 192.., decrypt with 0.. / IV 64... */
export function serverKeys(key2: Buffer, cipher: DataCipher): { rx: DirectionKey; tx: DirectionKey } {
  const n = KEY_BYTES[cipher];
  const dir = (k: number, iv: number): DirectionKey => ({ cipher, key: Buffer.from(key2.subarray(k, k + n)), iv: Buffer.from(key2.subarray(iv, iv + 8)) });
  return { rx: dir(0, 64), tx: dir(128, 192) };
}
