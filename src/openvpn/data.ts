// OpenVPN's AEAD data channel in TypeScript (node:crypto): the reference the
// BPF data channel is tested against, and the slow path the daemon uses for
// what BPF hands it (issue 9). Layout (docs: openvpn-wire.md section 7):
//   P_DATA_V2: op|kid (1) ‖ peer-id u24 ‖ pkt id u32 ‖ tag (16) ‖ ciphertext; AAD = bytes 0..7
//   P_DATA_V1: op|kid (1) ‖ pkt id u32 ‖ tag (16) ‖ ciphertext;               AAD = the pkt id
//   nonce = pkt id as on the wire (4) ‖ the direction's implicit IV (8)
import crypto from 'crypto';
import type { DataCipher } from './config';

export const P_DATA_V1 = 6;
export const P_DATA_V2 = 9;
/** The keepalive ping's plaintext (ping.c): consumed, never delivered. */
export const PING = Buffer.from('2a187bf3641eb4cb07ed2d0a981fc748', 'hex');

const NODE: Record<DataCipher, crypto.CipherGCMTypes | 'chacha20-poly1305'> = {
  'AES-256-GCM': 'aes-256-gcm', 'AES-128-GCM': 'aes-128-gcm', 'CHACHA20-POLY1305': 'chacha20-poly1305',
};
export const KEY_BYTES: Record<DataCipher, number> = { 'AES-256-GCM': 32, 'AES-128-GCM': 16, 'CHACHA20-POLY1305': 32 };

/** One direction of one key: cipher key and implicit IV (8 bytes). */
export interface DirectionKey { cipher: DataCipher; key: Buffer; iv: Buffer }
export interface DataHeader { opcode: number; keyId: number; peerId?: number; packetId: number }

function layout(opcode: number): { aad: number; head: number } {
  if (opcode === P_DATA_V2) return { aad: 8, head: 8 };
  if (opcode === P_DATA_V1) return { aad: 4, head: 5 };
  throw new Error(`opcode ${opcode} is no data packet`);
}

function nonce(packetId: number, iv: Buffer): Buffer {
  const n = Buffer.alloc(12);
  n.writeUInt32BE(packetId, 0);
  iv.copy(n, 4, 0, 8);
  return n;
}

/** Builds the datagram for `plaintext` (an IP packet or PING). */
export function encryptData(k: DirectionKey, h: DataHeader, plaintext: Buffer): Buffer {
  if (!Number.isInteger(h.packetId) || h.packetId < 1 || h.packetId > 0xffffffff) throw new RangeError(`packet id ${h.packetId} is not 1..2^32-1`);
  const { aad, head } = layout(h.opcode);
  const out = Buffer.alloc(head + 16 + plaintext.length);
  out[0] = (h.opcode << 3) | (h.keyId & 7);
  if (h.opcode === P_DATA_V2) out.writeUIntBE(h.peerId ?? 0, 1, 3);
  out.writeUInt32BE(h.packetId, head - 4);
  // typed as GCM: @types/node 20 has no overload for chacha20-poly1305, whose cipher has the same AEAD methods
  const c = crypto.createCipheriv(NODE[k.cipher] as crypto.CipherGCMTypes, k.key, nonce(h.packetId, k.iv), { authTagLength: 16 });
  c.setAAD(h.opcode === P_DATA_V2 ? out.subarray(0, aad) : out.subarray(1, 1 + aad), { plaintextLength: plaintext.length });
  c.update(plaintext).copy(out, head + 16);
  c.final();
  c.getAuthTag().copy(out, head);
  return out;
}

/** The header of a data datagram, or undefined when it is too short or no data opcode. */
export function dataHeader(d: Buffer): DataHeader | undefined {
  if (d.length < 1) return undefined;
  const opcode = d[0] >> 3, keyId = d[0] & 7;
  if (opcode !== P_DATA_V1 && opcode !== P_DATA_V2) return undefined;
  const { head } = layout(opcode);
  if (d.length < head + 16) return undefined;
  return { opcode, keyId, peerId: opcode === P_DATA_V2 ? d.readUIntBE(1, 3) : undefined, packetId: d.readUInt32BE(head - 4) };
}

/** The plaintext, or undefined when the datagram does not authenticate. */
export function decryptData(k: DirectionKey, d: Buffer): Buffer | undefined {
  const h = dataHeader(d);
  if (!h || h.packetId === 0) return undefined;
  const { aad, head } = layout(h.opcode);
  const c = crypto.createDecipheriv(NODE[k.cipher] as crypto.CipherGCMTypes, k.key, nonce(h.packetId, k.iv), { authTagLength: 16 });
  c.setAAD(h.opcode === P_DATA_V2 ? d.subarray(0, aad) : d.subarray(1, 1 + aad), { plaintextLength: d.length - head - 16 });
  c.setAuthTag(d.subarray(head, head + 16));
  const pt = c.update(d.subarray(head + 16));
  try {
    c.final();
  } catch {
    return undefined;
  }
  return pt;
}

/**
 * OpenVPN's replay protection (packet_id.c): ids above the highest seen are
 * taken; an older one only when less than `size` behind, not seen before,
 * and its gap not older than `seconds` (--replay-window 64 15; 0: no time
 * limit). Call after
 * the tag checked out, as OpenVPN does.
 */
export class ReplayWindow {
  private highest = 0;
  private seen = new Set<number>();
  /** When each id below the highest was skipped (a gap), for the time limit. */
  private gapSince = new Map<number, number>();
  constructor(readonly size = 64, readonly seconds = 15) {}

  /** Whether id may be accepted now; accepting records it. */
  accept(id: number, nowMs = Date.now()): boolean {
    if (!Number.isInteger(id) || id < 1) return false;
    if (id > this.highest) {
      for (let g = Math.max(this.highest + 1, id - this.size + 1); g < id; g++) this.gapSince.set(g, nowMs);
      this.highest = id;
      this.seen.add(id);
      this.trim();
      return true;
    }
    if (this.highest - id >= this.size || this.seen.has(id)) return false;
    const since = this.gapSince.get(id);
    if (since === undefined || (this.seconds > 0 && nowMs - since > this.seconds * 1000)) return false; // T = 0: no time limit
    this.gapSince.delete(id);
    this.seen.add(id);
    return true;
  }

  private trim(): void {
    const floor = this.highest - this.size;
    for (const id of this.seen) if (id <= floor) this.seen.delete(id);
    for (const id of this.gapSince.keys()) if (id <= floor) this.gapSince.delete(id);
  }
}
