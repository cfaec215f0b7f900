// IPv4/IPv6 addresses and prefixes as byte arrays, for config checks and for
// the control plane's map keys. Prefixes are judged by ip-cidr (the design's
// choice); node:net checks only what ip-cidr gets wrong or leaves out:
// it takes a zone id (fe80::1%eth0/64) and a length with leading zeros
// (/08), refuses the dotted IPv6 tail (::ffff:192.0.2.1), and its
// toByteArray() is variable-length and signed, so the bytes are computed here.
// ip-cidr is an ES module only: plain Node >= 20.19 requires it as it is,
// jest transforms it (jest.config.js).

import { isIPv4, isIPv6 } from 'node:net';
import IPCIDR from 'ip-cidr';

export type Family = 4 | 6;

export interface Address {
  family: Family;
  /** 4 bytes for IPv4, 16 for IPv6, network order. */
  bytes: number[];
}

export interface Prefix extends Address {
  /** Prefix length, 0..32 or 0..128. */
  len: number;
}

export const BITS: Record<Family, number> = { 4: 32, 6: 128 };

/** An address without prefix length, or undefined if it is not one. */
export function parseAddress(text: string): Address | undefined {
  if (isIPv4(text)) return { family: 4, bytes: text.split('.').map(Number) };
  if (!isIPv6(text) || text.includes('%')) return undefined; // zone ids mean nothing here
  return { family: 6, bytes: ipv6Bytes(text) };
}

// isIPv6 has vetted the syntax: at most one '::', an optional dotted tail.
// Groups before '::' fill from the front, those after it end at the tail.
function ipv6Bytes(text: string): number[] {
  const out = Array<number>(16).fill(0);
  let s = text;
  let end = 16;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    s.slice(lastColon + 1).split('.').forEach((x, i) => (out[12 + i] = Number(x)));
    end = 12;
    s = s.endsWith('::', lastColon + 1) ? s.slice(0, lastColon + 1) : s.slice(0, lastColon);
  }
  const put = (part: string, at: number): void => {
    if (part === '') return;
    part.split(':').forEach((g, i) => {
      const v = parseInt(g, 16);
      out[at + 2 * i] = v >> 8;
      out[at + 2 * i + 1] = v & 0xff;
    });
  };
  const gap = s.indexOf('::');
  if (gap < 0) {
    put(s, 0);
  } else {
    const tail = s.slice(gap + 2);
    put(s.slice(0, gap), 0);
    put(tail, end - 2 * (tail === '' ? 0 : tail.split(':').length));
  }
  return out;
}

/**
 * `addr/len` with the length required; host bits are allowed here (the
 * caller decides whether they matter). Returns a reason when it is not one.
 */
export function parsePrefix(text: string): Prefix | string {
  const slash = text.indexOf('/');
  if (slash < 0) return 'has no prefix length';
  const addr = parseAddress(text.slice(0, slash));
  if (addr === undefined) return 'is not an IPv4 or IPv6 address';
  const lenText = text.slice(slash + 1);
  // the address in the plain form ip-cidr reads (full hex groups for IPv6)
  const plain = addr.family === 4 ? addr.bytes.join('.') : Array.from({ length: 8 }, (_, i) => ((addr.bytes[2 * i] << 8) | addr.bytes[2 * i + 1]).toString(16)).join(':');
  if (!/^(0|[1-9]\d{0,2})$/.test(lenText) || !IPCIDR.isValidCIDR(`${plain}/${lenText}`)) return `prefix length must be 0..${BITS[addr.family]}`;
  return { ...addr, len: new IPCIDR(`${plain}/${lenText}`).address.subnetMask };
}

// Bits of byte i inside the first `len` bits, as a mask. Plain loops: these
// run millions of times in the property tests.
function keepMask(len: number, i: number): number {
  const keep = len - 8 * i;
  return keep >= 8 ? 0xff : keep <= 0 ? 0 : (0xff << (8 - keep)) & 0xff;
}

/** The bytes with every bit after the first `len` cleared. */
export function maskBytes(bytes: readonly number[], len: number): number[] {
  const out = new Array<number>(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i] & keepMask(len, i);
  return out;
}

/** The bytes with every bit after the first `len` set (the last address). */
export function lastBytes(bytes: readonly number[], len: number): number[] {
  const out = new Array<number>(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = (bytes[i] | ~keepMask(len, i)) & 0xff;
  return out;
}

export function sameBytes(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function hasHostBits(p: Prefix): boolean {
  return !sameBytes(p.bytes, maskBytes(p.bytes, p.len));
}

/** The prefix with its host bits cleared. */
export function networkOf(p: Prefix): Prefix {
  return { ...p, bytes: maskBytes(p.bytes, p.len) };
}

/** Whether `inner` (an address, or a prefix no shorter) lies inside `outer`. */
export function prefixContains(outer: Prefix, inner: Address & { len?: number }): boolean {
  if (outer.family !== inner.family) return false;
  if ((inner.len ?? BITS[inner.family]) < outer.len) return false;
  return sameBytes(maskBytes(inner.bytes, outer.len), maskBytes(outer.bytes, outer.len));
}

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lowercase, longest zero run as ::). */
export function formatAddress(a: Address): string {
  if (a.family === 4) return a.bytes.join('.');
  const g = Array.from({ length: 8 }, (_, i) => (a.bytes[2 * i] << 8) | a.bytes[2 * i + 1]);
  let best = -1;
  let bestLen = 1; // a lone zero group stays as 0
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

export function formatPrefix(p: Prefix): string {
  return `${formatAddress(p)}/${p.len}`;
}

/** 16 bytes as the BPF maps keep both families: IPv4 in the first 4. */
export function toBytes16(a: Address): number[] {
  return [...a.bytes, ...Array<number>(16 - a.bytes.length).fill(0)];
}
