// OpenVPN's reliability layer for one key state (reliable.c; openvpn-wire.md
// section 3): message ids from the reset on, at most 6 unacked, a per-packet
// retransmit timer doubling from 2 s, fast retransmit after 3 higher ACKs;
// the receiver buffers ids in [next, next + 12), hands payloads on in order,
// and ACKs every packet in its window (duplicates too), per id. ACKs ride on
// outgoing reliable packets (4 at most) or in P_ACK_V1 (8 at most).
import { OP } from './packet';

export interface Message { opcode: number; payload: Buffer }
/** One datagram to send: a reliable message (msgId set) or a bare ACK. */
export interface Outgoing { opcode: number; msgId?: number; payload: Buffer; acks: number[]; retransmit: boolean }

interface Unacked extends Message { msgId: number; due: number; backoff: number; higherAcks: number; sent: boolean }

export interface ReliableOptions { timeoutMs?: number; sendWindow?: number; recvWindow?: number; firstTx?: number; firstRx?: number }

export class Reliable {
  private nextTx: number;
  private nextRx: number;
  private readonly timeoutMs: number;
  private readonly sendWindow: number;
  private readonly recvWindow: number;
  private readonly unacked = new Map<number, Unacked>();
  private readonly waiting: Message[] = [];
  private readonly rxBuf = new Map<number, Message>();
  private acks: number[] = [];
  /** Counters for stats and tests. */
  readonly counts = { sent: 0, retransmits: 0, duplicates: 0, outOfWindow: 0, acked: 0 };

  constructor(o: ReliableOptions = {}) {
    this.timeoutMs = o.timeoutMs ?? 2000;
    this.sendWindow = o.sendWindow ?? 6;
    this.recvWindow = o.recvWindow ?? 12;
    this.nextTx = o.firstTx ?? 0;
    this.nextRx = o.firstRx ?? 0;
  }

  /** Queues a reliable message (reset, SOFT_RESET, CONTROL). */
  send(opcode: number, payload: Buffer): void { this.waiting.push({ opcode, payload }); }

  /** Nothing left to deliver or acknowledge. */
  get idle(): boolean { return this.unacked.size === 0 && this.waiting.length === 0; }

  /**
   * A reliable packet arrived: ACK it if it is in the window and return the
   * payloads that are now in order.
   */
  receive(msgId: number, m: Message): Message[] {
    if (msgId < this.nextRx) { this.counts.duplicates++; this.queueAck(msgId); return []; }
    if (msgId >= this.nextRx + this.recvWindow) { this.counts.outOfWindow++; return []; }
    this.queueAck(msgId);
    if (this.rxBuf.has(msgId)) { this.counts.duplicates++; return []; }
    this.rxBuf.set(msgId, m);
    const out: Message[] = [];
    for (let next = this.rxBuf.get(this.nextRx); next; next = this.rxBuf.get(this.nextRx)) {
      this.rxBuf.delete(this.nextRx++);
      out.push(next);
    }
    return out;
  }

  /** ACK ids the peer sent: clear them; 3 ACKs above an unacked id resend it at once. */
  ack(ids: number[], now = Date.now()): void {
    for (const id of ids) {
      if (!this.unacked.delete(id)) continue; // an id already cleared (2.6 repeats recent ones)
      this.counts.acked++;
      for (const u of this.unacked.values()) {
        if (u.msgId < id && u.sent && ++u.higherAcks >= 3) { u.due = now; u.higherAcks = 0; }
      }
    }
  }

  /** When poll() next has something to send (Infinity: nothing pending). */
  nextDue(): number {
    if (this.acks.length || this.canOpen()) return 0;
    let due = Infinity;
    for (const u of this.unacked.values()) due = Math.min(due, u.due);
    return due;
  }

  /** The datagrams to send now, ACKs packed in. */
  poll(now = Date.now()): Outgoing[] {
    while (this.canOpen()) {
      const m = this.waiting.shift() as Message;
      this.unacked.set(this.nextTx, { ...m, msgId: this.nextTx++, due: now, backoff: this.timeoutMs, higherAcks: 0, sent: false });
    }
    const out: Outgoing[] = [];
    for (const u of [...this.unacked.values()].sort((a, b) => a.msgId - b.msgId)) {
      if (u.due > now) continue;
      out.push({ opcode: u.opcode, msgId: u.msgId, payload: u.payload, acks: this.acks.splice(0, 4), retransmit: u.sent });
      if (u.sent) this.counts.retransmits++; else this.counts.sent++;
      u.sent = true;
      u.due = now + u.backoff;
      u.backoff *= 2;
    }
    while (this.acks.length) out.push({ opcode: OP.ACK, payload: Buffer.alloc(0), acks: this.acks.splice(0, 8), retransmit: false });
    return out;
  }

  private canOpen(): boolean {
    if (!this.waiting.length) return false;
    const oldest = Math.min(this.nextTx, ...this.unacked.keys());
    return this.nextTx - oldest < this.sendWindow;
  }

  private queueAck(id: number): void { if (!this.acks.includes(id)) this.acks.push(id); }
}
