// OpenVPN control packets (openvpn-wire.md sections 1-2): the plain layout
//   op|kid ‖ own sid 8 ‖ n_acks u8 ‖ n × acked pid u32 ‖ [peer sid 8] ‖ [msg pid u32] ‖ payload
// and the two wrappings that protect it, tls-auth (HMAC + replay id in
// clear) and tls-crypt (AES-256-CTR + HMAC-SHA256, 40 bytes).
import crypto from 'crypto';

export const OP = {
  SOFT_RESET: 3, CONTROL: 4, ACK: 5, DATA_V1: 6, HARD_RESET_CLIENT_V2: 7, HARD_RESET_SERVER_V2: 8,
  DATA_V2: 9, HARD_RESET_CLIENT_V3: 10, CONTROL_WKC: 11,
} as const;
/** More ACK ids than this kill the packet (reliable.h RELIABLE_ACK_SIZE). */
export const MAX_ACKS = 8;

export interface ControlPacket {
  opcode: number;
  keyId: number;
  sid: Buffer;
  acks: number[];
  /** The receiver's sid, present iff acks is not empty. */
  peerSid?: Buffer;
  /** Absent in P_ACK_V1. */
  msgId?: number;
  payload: Buffer;
}

export const isControl = (opcode: number) => opcode >= OP.SOFT_RESET && opcode <= OP.CONTROL_WKC && opcode !== OP.DATA_V1 && opcode !== OP.DATA_V2;

export function encodeControl(p: ControlPacket): Buffer {
  if (p.acks.length > MAX_ACKS) throw new RangeError(`${p.acks.length} ACKs (at most ${MAX_ACKS})`);
  const hasMsg = p.opcode !== OP.ACK;
  const out = Buffer.alloc(1 + 8 + 1 + 4 * p.acks.length + (p.acks.length ? 8 : 0) + (hasMsg ? 4 : 0) + p.payload.length);
  let o = 0;
  out[o++] = (p.opcode << 3) | (p.keyId & 7);
  o += p.sid.copy(out, o);
  out[o++] = p.acks.length;
  for (const a of p.acks) o = out.writeUInt32BE(a, o);
  if (p.acks.length) o += (p.peerSid as Buffer).copy(out, o);
  if (hasMsg) o = out.writeUInt32BE(p.msgId ?? 0, o);
  p.payload.copy(out, o);
  return out;
}

/** The packet, or why it is malformed. */
export function decodeControl(b: Buffer): ControlPacket | string {
  if (b.length < 10) return 'shorter than a control header';
  const opcode = b[0] >> 3, keyId = b[0] & 7;
  if (!isControl(opcode)) return `opcode ${opcode} is no control opcode`;
  const sid = Buffer.from(b.subarray(1, 9));
  const n = b[9];
  if (n > MAX_ACKS) return `${n} ACKs (at most ${MAX_ACKS})`;
  let o = 10;
  const need = o + 4 * n + (n ? 8 : 0) + (opcode === OP.ACK ? 0 : 4);
  if (b.length < need) return 'truncated';
  const acks: number[] = [];
  for (let i = 0; i < n; i++, o += 4) acks.push(b.readUInt32BE(o));
  let peerSid: Buffer | undefined;
  if (n) { peerSid = Buffer.from(b.subarray(o, o + 8)); o += 8; }
  let msgId: number | undefined;
  if (opcode !== OP.ACK) { msgId = b.readUInt32BE(o); o += 4; }
  return { opcode, keyId, sid, acks, peerSid, msgId, payload: Buffer.from(b.subarray(o)) };
}

// ---- static keys (`openvpn --genkey secret`): 256 bytes as hex between markers
export function parseStaticKey(text: string): Buffer | string {
  const m = text.match(/-----BEGIN OpenVPN Static key V1-----([\s\S]*?)-----END OpenVPN Static key V1-----/);
  if (!m) return 'no "-----BEGIN OpenVPN Static key V1-----" block';
  const hex = m[1].split('\n').filter((l) => !l.trim().startsWith('#')).join('').replace(/\s+/g, '');
  if (!/^[0-9a-fA-F]{512}$/.test(hex)) return `the key block holds ${hex.length / 2} bytes, not 256`;
  return Buffer.from(hex, 'hex');
}

/** The replay id a wrapped packet carries: pid and the sender's start time. */
export interface WrapId { pid: number; time: number }

/** What a session keeps for its wrapping: the send counter and the receive window. */
export class WrapState {
  txPid: number;
  readonly txTime = Math.floor(Date.now() / 1000);
  private rxHighest = 0;
  private rxTime = 0;
  private rxSeen = new Set<number>();
  constructor(firstTxPid = 1) { this.txPid = firstTxPid; }
  next(): WrapId { return { pid: this.txPid++, time: this.txTime }; }
  /** OpenVPN's replay rule for wrapped control packets (window 64, a new time resets). */
  accept(id: WrapId): boolean {
    if (id.pid === 0) return false;
    if (id.time !== this.rxTime) {
      if (id.time < this.rxTime) return false;
      this.rxTime = id.time; this.rxHighest = 0; this.rxSeen.clear();
    }
    if (id.pid > this.rxHighest) {
      this.rxHighest = id.pid;
      this.rxSeen.add(id.pid);
      for (const p of this.rxSeen) if (p <= this.rxHighest - 64) this.rxSeen.delete(p);
      return true;
    }
    if (this.rxHighest - id.pid >= 64 || this.rxSeen.has(id.pid)) return false;
    this.rxSeen.add(id.pid);
    return true;
  }
}

/** How control packets are protected on the wire. */
export interface Wrapper {
  readonly name: 'none' | 'tls-auth' | 'tls-crypt';
  /** Bytes the wrapping adds (for slicing TLS to fit the datagram). */
  readonly overhead: number;
  wrap(plain: Buffer, id: WrapId): Buffer;
  /** The plain packet and its replay id, or undefined when it does not authenticate. */
  unwrap(b: Buffer): { plain: Buffer; id?: WrapId } | undefined;
}

export const noWrap: Wrapper = { name: 'none', overhead: 0, wrap: (p) => p, unwrap: (b) => ({ plain: b }) };

const DIGEST: Record<string, { node: string; bytes: number }> = {
  SHA1: { node: 'sha1', bytes: 20 }, SHA224: { node: 'sha224', bytes: 28 }, SHA256: { node: 'sha256', bytes: 32 },
  SHA384: { node: 'sha384', bytes: 48 }, SHA512: { node: 'sha512', bytes: 64 },
};
export const TLS_AUTH_DIGESTS = Object.keys(DIGEST);

/**
 * tls-auth: HMAC(pid ‖ time ‖ op ‖ sid ‖ rest) after the sid, then pid and
 * time. Direction 0 sends with the key's bytes 64.. and verifies with 192..;
 * direction 1 the reverse; none uses 64.. both ways.
 */
export function tlsAuth(key: Buffer, direction: 0 | 1 | undefined, digest = 'SHA1'): Wrapper {
  const d = DIGEST[digest.toUpperCase()];
  if (!d) throw new RangeError(`auth ${digest} is not one of ${TLS_AUTH_DIGESTS.join(', ')}`);
  const slot = (i: number) => key.subarray(i, i + d.bytes);
  const send = direction === 1 ? slot(192) : slot(64);
  const recv = direction === 0 ? slot(192) : slot(64);
  const mac = (k: Buffer, id: Buffer, head: Buffer, rest: Buffer) => crypto.createHmac(d.node, k).update(id).update(head).update(rest).digest();
  return {
    name: 'tls-auth',
    overhead: d.bytes + 8,
    wrap(plain, id) {
      const idb = Buffer.alloc(8);
      idb.writeUInt32BE(id.pid, 0); idb.writeUInt32BE(id.time, 4);
      const head = plain.subarray(0, 9), rest = plain.subarray(9);
      return Buffer.concat([head, mac(send, idb, head, rest), idb, rest]);
    },
    unwrap(b) {
      if (b.length < 9 + d.bytes + 8 + 1) return undefined;
      const head = b.subarray(0, 9), tag = b.subarray(9, 9 + d.bytes), idb = b.subarray(9 + d.bytes, 17 + d.bytes), rest = b.subarray(17 + d.bytes);
      if (!crypto.timingSafeEqual(tag, mac(recv, idb, head, rest))) return undefined;
      return { plain: Buffer.concat([head, rest]), id: { pid: idb.readUInt32BE(0), time: idb.readUInt32BE(4) } };
    },
  };
}

/**
 * tls-crypt: op ‖ sid ‖ pid ‖ time ‖ tag 32 ‖ AES-256-CTR(rest), tag =
 * HMAC-SHA256(Ka, op ‖ sid ‖ pid ‖ time ‖ rest), IV = tag[0..16]. The server
 * sends with keys[0] (Ke 0..31, Ka 64..95) and receives with keys[1].
 */
export function tlsCrypt(key: Buffer, role: 'server' | 'client' = 'server'): Wrapper {
  const half = (i: number) => ({ ke: key.subarray(i, i + 32), ka: key.subarray(i + 64, i + 96) });
  const send = role === 'server' ? half(0) : half(128);
  const recv = role === 'server' ? half(128) : half(0);
  const tag = (ka: Buffer, head: Buffer, pt: Buffer) => crypto.createHmac('sha256', ka).update(head).update(pt).digest();
  const ctr = (ke: Buffer, iv: Buffer, data: Buffer) => {
    const c = crypto.createCipheriv('aes-256-ctr', ke, iv);
    return Buffer.concat([c.update(data), c.final()]);
  };
  return {
    name: 'tls-crypt',
    overhead: 40,
    wrap(plain, id) {
      const head = Buffer.alloc(17);
      plain.copy(head, 0, 0, 9);
      head.writeUInt32BE(id.pid, 9); head.writeUInt32BE(id.time, 13);
      const rest = plain.subarray(9);
      const t = tag(send.ka, head, rest);
      return Buffer.concat([head, t, ctr(send.ke, t.subarray(0, 16), rest)]);
    },
    unwrap(b) {
      if (b.length < 17 + 32 + 1) return undefined;
      const head = b.subarray(0, 17), t = b.subarray(17, 49);
      const rest = ctr(recv.ke, t.subarray(0, 16), b.subarray(49));
      if (!crypto.timingSafeEqual(t, tag(recv.ka, head, rest))) return undefined;
      return { plain: Buffer.concat([head.subarray(0, 9), rest]), id: { pid: head.readUInt32BE(9), time: head.readUInt32BE(13) } };
    },
  };
}
