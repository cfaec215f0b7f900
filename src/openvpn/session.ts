// One client's control channel: the session ids, the wrapping state, and a
// key state per key_id, each a reliability layer under a fresh TLS server
// (node:tls over a Duplex) carrying key method 2 and then NUL-terminated
// control messages (openvpn-wire.md sections 3-4, 8).
import { Duplex } from 'stream';
import tls from 'tls';
import { OP, WrapState, Wrapper, encodeControl, ControlPacket } from './packet';
import { Reliable } from './reliable';
import { KeyMethod2, KeySource, keyMethodLength, newSource, readKeyMethod2, writeKeyMethod2 } from './keymethod';

/** TLS bytes per CONTROL_V1: keeps every control datagram under 2.6's tls_mtu of 1250 with IPv6 and a wrap. */
export const TLS_SLICE = 1250 - 48 - 38 - 72;
/** A 2.6 peer reads TLS plaintext in 2048-byte pieces: a message must fit one. */
const MAX_MESSAGE = 2047;

export interface SessionHost {
  readonly wrapper: Wrapper;
  /** A fresh TLS context (the CRL read again: crl-verify holds at every handshake). */
  secureContext(): tls.SecureContext;
  readonly tlsMinVersion: tls.SecureVersion;
  readonly occOptions: string;
  transmit(c: Client, datagram: Buffer): void;
  /** Key method done both ways: derive and install the data keys. */
  keysReady(c: Client, ks: KeyState): void;
  message(c: Client, ks: KeyState, text: string): void;
  failed(c: Client, ks: KeyState, why: string): void;
}

export class KeyState {
  readonly reliable: Reliable;
  readonly tls: tls.TLSSocket;
  readonly startedAt = Date.now();
  activeAt = 0;
  state: 'handshake' | 'active' | 'dead' = 'handshake';
  clientKm?: KeyMethod2;
  readonly serverSource: KeySource = newSource(false);
  /** The client's certificate common name, once TLS is up. */
  commonName = '';
  private readonly duplex: Duplex;
  private plain = Buffer.alloc(0);

  constructor(readonly client: Client, readonly keyId: number, host: SessionHost, first: { tx: number; rx: number }) {
    this.reliable = new Reliable({ firstTx: first.tx, firstRx: first.rx });
    const rel = this.reliable;
    this.duplex = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        for (let o = 0; o < chunk.length; o += TLS_SLICE) rel.send(OP.CONTROL, chunk.subarray(o, o + TLS_SLICE));
        client.flushSoon();
        cb();
      },
    });
    this.tls = new tls.TLSSocket(this.duplex, {
      isServer: true, secureContext: host.secureContext(), requestCert: true, rejectUnauthorized: true,
    } as tls.TLSSocketOptions);
    this.tls.on('secure', () => {
      // A bare server TLSSocket does not refuse an unverified peer itself
      // (tls.Server does, in onServerSocketSecure): check the chain, the CRL
      // and that there is a certificate at all, here, at every handshake.
      const handle = (this.tls as unknown as { _handle?: { verifyError(): (Error & { code?: string }) | null } })._handle;
      const err: (Error & { code?: string }) | null = handle ? handle.verifyError() : new Error('no TLS handle to verify with');
      const cert = this.tls.getPeerCertificate();
      if (err || !cert?.subject) {
        const cn = cert?.subject?.CN ? ` (CN=${cert.subject.CN})` : '';
        host.failed(client, this, `TLS error: client certificate refused${cn}: ${err?.code ?? err?.message ?? 'no certificate'}`);
        return;
      }
      this.commonName = String(cert.subject.CN ?? '');
    });
    this.tls.on('data', (d: Buffer) => this.plaintext(d, host));
    this.tls.on('error', (e: Error) => { if (this.state !== 'dead') host.failed(client, this, `TLS error: ${e.message}`); });
  }

  /** An in-order CONTROL_V1 payload: TLS ciphertext from the client. */
  tlsIn(payload: Buffer): void { if (this.state !== 'dead') this.duplex.push(payload); }

  /** Writes a control message as its own TLS record (NUL-terminated). */
  write(text: string): void {
    const b = Buffer.from(`${text}\0`, 'latin1');
    if (b.length > MAX_MESSAGE) throw new RangeError(`control message of ${b.length} bytes (a 2.6 peer reads ${MAX_MESSAGE})`);
    this.tls.write(b);
  }

  private plaintext(d: Buffer, host: SessionHost): void {
    if (this.state === 'dead') return;
    this.plain = Buffer.concat([this.plain, d]);
    if (!this.clientKm) {
      const n = keyMethodLength(this.plain, true);
      if (!n) return;
      try {
        this.clientKm = readKeyMethod2(this.plain.subarray(0, n), true);
      } catch (e) {
        host.failed(this.client, this, `bad key-method message: ${(e as Error).message}`);
        return;
      }
      this.plain = Buffer.alloc(0); // a 2.6 peer discards what follows the message in that read too
      this.tls.write(writeKeyMethod2(this.serverSource, host.occOptions));
      host.keysReady(this.client, this);
      return;
    }
    for (let z = this.plain.indexOf(0); z >= 0; z = this.plain.indexOf(0)) {
      const text = this.plain.subarray(0, z).toString('latin1').replace(/[\r\n]+$/, '');
      this.plain = this.plain.subarray(z + 1);
      if (text) host.message(this.client, this, text);
    }
  }

  kill(): void {
    this.state = 'dead';
    this.tls.destroy();
  }
}

export class Client {
  readonly keys = new Map<number, KeyState>();
  /** The key_id of the newest key state (the one control packets must carry). */
  primary = 0;
  readonly connectedAt = Date.now();
  lastControlRx = Date.now();
  private flushing = false;

  constructor(
    readonly host: SessionHost,
    readonly clientSid: Buffer,
    readonly serverSid: Buffer,
    public address: string,
    public port: number,
    readonly wrap: WrapState,
  ) {}

  get key(): string { return `${this.address}:${this.port}`; }

  /** Starts key state keyId; resets (hard/soft) count as message 0 already exchanged for key 0. */
  open(keyId: number, first: { tx: number; rx: number }): KeyState {
    const ks = new KeyState(this, keyId, this.host, first);
    this.keys.set(keyId, ks);
    this.primary = keyId;
    return ks;
  }

  /** A decoded, authenticated control packet for this session. */
  input(p: ControlPacket): void {
    this.lastControlRx = Date.now();
    let ks = this.keys.get(p.keyId);
    if (!ks && p.opcode === OP.SOFT_RESET) {
      const cur = this.keys.get(this.primary);
      if (!cur || cur.state !== 'active' || p.keyId !== nextKeyId(this.primary)) return; // only once the current key is up
      ks = this.open(p.keyId, { tx: 0, rx: 0 });
      ks.reliable.send(OP.SOFT_RESET, Buffer.alloc(0));
    }
    if (!ks) return; // key IDs out of sync: dropped, as OpenVPN does
    ks.reliable.ack(p.acks);
    if (p.msgId !== undefined) {
      for (const m of ks.reliable.receive(p.msgId, { opcode: p.opcode, payload: p.payload })) {
        if (m.opcode === OP.CONTROL || m.opcode === OP.CONTROL_WKC) ks.tlsIn(m.payload);
      }
    }
    this.flushSoon();
  }

  /** Server-started renegotiation: a SOFT_RESET on the next key_id. */
  renegotiate(): KeyState | undefined {
    const cur = this.keys.get(this.primary);
    if (!cur || cur.state !== 'active') return undefined;
    const ks = this.open(nextKeyId(this.primary), { tx: 0, rx: 0 });
    ks.reliable.send(OP.SOFT_RESET, Buffer.alloc(0));
    this.flushSoon();
    return ks;
  }

  flushSoon(): void {
    if (this.flushing) return;
    this.flushing = true;
    setImmediate(() => { this.flushing = false; this.flush(); });
  }

  /** Sends whatever the key states have due (new packets, retransmits, ACKs). */
  flush(now = Date.now()): void {
    for (const ks of this.keys.values()) {
      for (const o of ks.reliable.poll(now)) {
        const plain = encodeControl({
          opcode: o.opcode, keyId: ks.keyId, sid: this.serverSid, acks: o.acks, peerSid: o.acks.length ? this.clientSid : undefined,
          msgId: o.msgId, payload: o.payload,
        });
        this.host.transmit(this, this.host.wrapper.wrap(plain, this.wrap.next()));
      }
    }
  }

  close(): void { for (const ks of this.keys.values()) ks.kill(); this.keys.clear(); }
}

export const nextKeyId = (k: number) => (k % 7) + 1;
