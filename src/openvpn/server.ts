// `l2bpf openvpn`: an OpenVPN 2.6-compatible server. This file owns the UDP
// socket, the demux (data by peer-id, control by address and session id),
// the stateless reset cookie, addresses and peer-ids, PUSH_REPLY, and the
// timers (retransmit, hand-window, reneg-sec, keepalive, ping-restart). The
// per-client protocol is in session.ts, the data channel behind plane.ts.
import crypto from 'crypto';
import dgram from 'dgram';
import fs from 'fs';
import path from 'path';
import tls from 'tls';
import { execFileSync } from 'child_process';
import { isIPv6 } from 'net';
import { ConfigError } from '../config';
import { log } from '../log';
import { Tun } from '../net/tun';
import type { DataCipher, Material, OvpnServerConfig } from './config';
import { PING } from './data';
import { EKM_LABEL, prfKey2, serverKeys } from './keymethod';
import { decodeControl, encodeControl, noWrap, OP, parseStaticKey, tlsAuth, tlsCrypt, WrapState, Wrapper } from './packet';
import { AddressPool, Lease } from './pool';
import { canonicalIp, DataPlane, UserPlane, userPlane } from './plane';
import { Client, KeyState, SessionHost } from './session';
import { writeStatus } from './status';

const sameAddress = (a: string, b: string) => canonicalIp(a) === canonicalIp(b);

// IV_PROTO bits a 2.6 client announces (ssl.h)
const IV_PROTO_DATA_V2 = 1 << 1, IV_PROTO_REQUEST_PUSH = 1 << 2, IV_PROTO_TLS_KEY_EXPORT = 1 << 3, IV_PROTO_CC_EXIT_NOTIFY = 1 << 7;
const OCC_OPTIONS = 'V4,dev-type tun,link-mtu 1541,tun-mtu 1500,proto UDPv4,auth SHA1,keysize 128,key-method 2,tls-server';
const TICK_MS = 250;
/** L2BPF_OVPN_PRF=1: derive keys with the legacy PRF even for clients that offer EKM, as for a
 * 2.4/2.5 client (tests prove that path against a stock 2.6 client, which follows the push). */
const LEGACY_PRF = process.env.L2BPF_OVPN_PRF === '1';
/** L2BPF_OVPN_DATA_V1=1: no peer-id pushed, P_DATA_V1 both ways, as for a client that does not
 * announce IV_PROTO_DATA_V2 (tests prove that path against a stock 2.6 client, which follows). */
const FORCE_DATA_V1 = process.env.L2BPF_OVPN_DATA_V1 === '1';
/** A tx packet id from which a renegotiation is started (ssl.c). */
const PID_WRAP_SOON = 0xff000000;
// OpenVPN exports with no context at all (ssl_openssl.c use_context=0); an
// empty Buffer would differ under TLS 1.2, so the argument is left out,
// which @types/node does not allow for.
const ekm = (s: tls.TLSSocket) => (s.exportKeyingMaterial as (n: number, label: string) => Buffer).call(s, 256, EKM_LABEL);

export interface OpenvpnOptions {
  config: OvpnServerConfig;
  /** Where relative file names in the config are read from (the config's folder). */
  baseDir: string;
  /** Wraps or replaces the TypeScript data plane (the BPF one); default: TypeScript only. */
  plane?: (user: UserPlane, io: PlaneIo) => DataPlane;
}
export interface PlaneIo { tun: Tun; port: number }

/** What status shows per client. */
export interface PeerInfo {
  commonName: string; realAddress: string; vpn4?: string; vpn6?: string; peerId: number; cipher: DataCipher;
  keyIds: number[]; connectedSince: number; rxBytes: number; txBytes: number; rxPackets: number; txPackets: number; lastActivity: number;
}

interface Peer {
  client: Client;
  peerId: number;
  lease: Lease;
  cipher: DataCipher;
  ekm: boolean;
  ivProto: number;
  dataV1: boolean;
  commonName: string;
  pushed: boolean;
  /** key_id the data plane sends on, and when the newest key became active. */
  txKey: number;
  exited?: boolean;
  /** The tx key when the plane was last told about this peer. */
  described?: number;
}

export class OpenvpnServer implements SessionHost {
  readonly wrapper: Wrapper;
  readonly tlsMinVersion: tls.SecureVersion;
  readonly occOptions = OCC_OPTIONS;
  readonly tun: Tun;
  readonly pool: AddressPool;
  private readonly socket: dgram.Socket;
  private readonly plane: DataPlane;
  private readonly user: UserPlane;
  private readonly cookieKey = crypto.randomBytes(32);
  private readonly clients = new Map<string, Client>();
  private readonly peers = new Map<Client, Peer>();
  private readonly byPeerId = new Map<number, Peer>();
  private readonly material: { ca: Buffer; cert: Buffer; key: Buffer; dh?: Buffer };
  private readonly timer: NodeJS.Timeout;
  private statusTimer?: NodeJS.Timeout;
  private stopped = false;
  readonly drops = new Map<string, number>();
  readonly port: number;

  private constructor(readonly cfg: OvpnServerConfig, readonly baseDir: string, socket: dgram.Socket, opts: OpenvpnOptions) {
    this.socket = socket;
    this.port = socket.address().port;
    this.tlsMinVersion = cfg.tlsVersionMin === '1.3' ? 'TLSv1.3' : 'TLSv1.2';
    this.material = {
      ca: this.read(cfg.ca as Material, 'ca'), cert: this.read(cfg.cert as Material, 'cert'), key: this.read(cfg.key as Material, 'key'),
      dh: cfg.dh && cfg.dh !== 'none' ? this.read(cfg.dh, 'dh') : undefined,
    };
    this.wrapper = this.makeWrapper();
    this.secureContext(); // a bad certificate or key fails the start, not the first client
    this.pool = new AddressPool(cfg.server!.network, cfg.server!.netmask, cfg.serverIpv6);
    this.tun = new Tun(cfg.dev);
    try {
      this.configureTun();
    } catch (e) {
      this.tun.close();
      throw e;
    }
    this.user = userPlane({
      toTun: (p) => this.tun.write(p),
      toSocket: (d, address, port) => this.socket.send(d, port, address),
      replayWindow: cfg.replayWindow,
    });
    try {
      this.plane = opts.plane ? opts.plane(this.user, { tun: this.tun, port: this.port }) : this.user;
    } catch (e) {
      this.tun.close();
      throw e;
    }
    this.tun.read((p) => { if (!this.user.route(p)) this.count('tun-no-peer'); });
    socket.on('message', (m, r) => this.datagram(m, r.address, r.port));
    this.timer = setInterval(() => this.tick(), TICK_MS);
    if (cfg.status) {
      const st = cfg.status;
      const write = () => this.writeStatus(st.file);
      this.statusTimer = setInterval(write, st.seconds * 1000);
      write();
    }
  }

  /** Binds the socket, creates the tun device, and serves until stop(). */
  static async start(opts: OpenvpnOptions): Promise<OpenvpnServer> {
    const c = opts.config;
    const v6 = c.proto === 'udp6' || (c.local !== undefined && isIPv6(c.local));
    const socket = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(c.port, c.local, () => { socket.off('error', reject); resolve(); });
    }).catch((e: Error) => {
      socket.close();
      throw new Error(`cannot listen on ${c.local ?? '*'}:${c.port}/udp: ${e.message}`);
    });
    try {
      const s = new OpenvpnServer(c, opts.baseDir, socket, opts);
      log.info(`UDPv${v6 ? 6 : 4} link local (bound): [AF_INET${v6 ? '6' : ''}]${c.local ?? '[undef]'}:${s.port}`);
      log.info(`TUN/TAP device ${s.tun.name} opened; ${s.pool.server4}/${s.pool.prefix4}${s.pool.server6 ? `, ${s.pool.server6}/${s.pool.prefix6}` : ''}`);
      log.info('Initialization Sequence Completed');
      return s;
    } catch (e) {
      socket.close();
      throw e;
    }
  }

  // ---- set-up
  private read(m: Material, field: string): Buffer {
    if ('inline' in m) return Buffer.from(m.inline);
    const file = path.resolve(this.baseDir, m.file);
    try {
      return fs.readFileSync(file);
    } catch (e) {
      throw new ConfigError({ file, field }, `cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }

  private makeWrapper(): Wrapper {
    const c = this.cfg;
    const key = (m: Material, field: string) => {
      const k = parseStaticKey(this.read(m, field).toString('latin1'));
      if (typeof k === 'string') throw new ConfigError({ file: 'file' in m ? m.file : `<${field}>`, field }, k);
      return k;
    };
    if (c.tlsCrypt) return tlsCrypt(key(c.tlsCrypt, 'tls-crypt'), 'server');
    if (c.tlsAuth) return tlsAuth(key(c.tlsAuth.material, 'tls-auth'), c.tlsAuth.direction, c.auth ?? 'SHA1');
    return noWrap;
  }

  secureContext(): tls.SecureContext {
    const m = this.material;
    try {
      return tls.createSecureContext({
        ca: m.ca, cert: m.cert, key: m.key, dhparam: m.dh, minVersion: this.tlsMinVersion,
        crl: this.cfg.crlVerify ? fs.readFileSync(path.resolve(this.baseDir, this.cfg.crlVerify)) : undefined,
      });
    } catch (e) {
      throw new ConfigError({ file: 'ca/cert/key', field: 'tls' }, `OpenSSL refused the TLS material: ${(e as Error).message}`);
    }
  }

  private configureTun(): void {
    const ip = (...a: string[]) => execFileSync('ip', a, { stdio: ['ignore', 'ignore', 'pipe'] });
    const dev = this.tun.name;
    ip('link', 'set', 'dev', dev, 'mtu', '1500', 'up');
    ip('addr', 'add', `${this.pool.server4}/${this.pool.prefix4}`, 'dev', dev);
    if (this.pool.server6) ip('-6', 'addr', 'add', `${this.pool.server6}/${this.pool.prefix6}`, 'dev', dev, 'nodad');
    for (const r of this.cfg.routes) ip('route', 'add', `${r.network}/${r.netmask}`, 'dev', dev);
  }

  // ---- datagrams
  private count(reason: string): void { this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1); }

  private datagram(d: Buffer, address: string, port: number): void {
    if (this.stopped || d.length < 1) return;
    const op = d[0] >> 3;
    if (op === OP.DATA_V2 || op === OP.DATA_V1) {
      const peer = op === OP.DATA_V2 && d.length >= 4 ? this.byPeerId.get(d.readUIntBE(1, 3)) : this.peers.get(this.clients.get(`${address}:${port}`) as Client);
      if (!peer) { this.count('unknown-peer'); return; }
      const r = this.plane.receive(peer.peerId, { address, port }, d);
      if (r !== 'delivered' && r !== 'ping') this.count(r);
      if (r === 'delivered' || r === 'ping') this.moved(peer, address, port);
      return;
    }
    this.control(d, address, port);
  }

  /** A peer whose data arrived from a new address moves there (float, as 2.6 does). */
  private moved(peer: Peer, address: string, port: number): void {
    const c = peer.client;
    if (c.address === address && c.port === port) return;
    this.clients.delete(c.key);
    c.address = address; c.port = port;
    this.clients.set(c.key, c);
    log.info(`${this.who(peer)} peer floated to [AF_INET]${address}:${port}`);
  }

  private control(d: Buffer, address: string, port: number): void {
    const un = this.wrapper.unwrap(d);
    if (!un) { this.count('control-auth'); log.debug(`${address}:${port} TLS Error: cannot authenticate a control packet (tls-auth/tls-crypt)`); return; }
    const p = decodeControl(un.plain);
    if (typeof p === 'string') { this.count('control-malformed'); return; }
    const c = this.clients.get(`${address}:${port}`);
    if (c && p.sid.equals(c.clientSid) && p.opcode !== OP.HARD_RESET_CLIENT_V2) {
      if (p.peerSid && !p.peerSid.equals(c.serverSid)) { this.count('control-sid'); return; }
      if (un.id && !c.wrap.accept(un.id)) { this.count('control-replay'); return; }
      c.input(p);
      return;
    }
    if (p.opcode === OP.HARD_RESET_CLIENT_V2) {
      if (p.keyId !== 0 || p.msgId !== 0) { this.count('control-malformed'); return; }
      // Stateless: the reply's sid is a cookie over (time slot, address, client sid); no state yet.
      const reply = {
        opcode: OP.HARD_RESET_SERVER_V2, keyId: 0, sid: this.cookie(address, port, p.sid, 0), acks: [0], peerSid: p.sid, msgId: 0, payload: Buffer.alloc(0),
      };
      this.socket.send(this.wrapper.wrap(encodeControl(reply), { pid: 1, time: Math.floor(Date.now() / 1000) }), port, address);
      return;
    }
    if (p.keyId !== 0 || !p.peerSid || ![OP.CONTROL, OP.ACK].includes(p.opcode as 4 | 5)) { this.count('control-no-session'); return; }
    const valid = [0, -1, -2, 1].some((off) => this.cookie(address, port, p.sid, off).equals(p.peerSid as Buffer));
    if (!valid) { this.count('control-cookie'); return; }
    if (this.cfg.maxClients !== undefined && this.peers.size >= this.cfg.maxClients) {
      log.info(`${address}:${port} MULTI: new incoming connection would exceed maximum number of clients (${this.cfg.maxClients})`);
      return;
    }
    if (c) this.remove(c, 'replaced by a new session from the same address');
    const wrap = new WrapState(2);
    if (un.id) wrap.accept(un.id);
    const fresh = new Client(this, p.sid, Buffer.from(p.peerSid), address, port, wrap);
    this.clients.set(fresh.key, fresh);
    fresh.open(0, { tx: 1, rx: 1 });
    log.debug(`${address}:${port} new session (cookie checked)`);
    fresh.input(p);
  }

  private cookie(address: string, port: number, sid: Buffer, offset: number): Buffer {
    const slot = Math.floor(Date.now() / 1000 / ((this.cfg.handWindow + 1) / 2)) + offset;
    const h = crypto.createHmac('sha256', this.cookieKey);
    const s = Buffer.alloc(4); s.writeUInt32BE(slot >>> 0);
    return h.update(s).update(`${address}|${port}|`).update(sid).digest().subarray(0, 8);
  }

  transmit(c: Client, datagram: Buffer): void { if (!this.stopped || c) this.socket.send(datagram, c.port, c.address); }

  // ---- key states
  keysReady(c: Client, ks: KeyState): void {
    const km = ks.clientKm!;
    let peer = this.peers.get(c);
    if (ks.keyId === 0 || !peer) {
      const ivProto = Number(km.peerInfo.get('IV_PROTO') ?? '0');
      const offered = (km.peerInfo.get('IV_CIPHERS') ?? (km.peerInfo.get('IV_NCP') ? 'AES-256-GCM:AES-128-GCM' : '')).toUpperCase().split(':');
      const cipher = this.cfg.dataCiphers.find((x) => offered.includes(x));
      const cn = ks.commonName;
      const who = `${cn}/${c.key}`;
      if (!cipher) return this.refuse(c, ks, `${who} no common data cipher: the server has ${this.cfg.dataCiphers.join(':')}, the client offers ${offered.join(':') || 'none'}`);
      if (!this.cfg.duplicateCn) for (const other of this.peers.values()) if (other.commonName === cn && other.client !== c) this.remove(other.client, `${cn} connected again (no duplicate-cn)`);
      const lease = this.pool.lease();
      if (!lease) return this.refuse(c, ks, `${who} the address pool is used up`);
      let peerId = 0;
      while (this.byPeerId.has(peerId)) peerId++;
      // a client without P_DATA_V2 gets no peer-id and talks P_DATA_V1, found by its address (as 2.6 does)
      const dataV1 = FORCE_DATA_V1 || !(ivProto & IV_PROTO_DATA_V2);
      peer = { client: c, peerId, lease, cipher, ekm: Boolean(ivProto & IV_PROTO_TLS_KEY_EXPORT) && !LEGACY_PRF, ivProto, dataV1, commonName: cn, pushed: false, txKey: 0 };
      this.peers.set(c, peer);
      this.byPeerId.set(peerId, peer);
      this.plane.addPeer({ peerId, address: c.address, port: c.port, vpn4: lease.ip4, vpn6: lease.ip6, dataV1 });
    }
    const key2 = peer.ekm ? ekm(ks.tls) : prfKey2(km.source, ks.serverSource, c.clientSid, c.serverSid);
    const keys = serverKeys(key2, peer.cipher);
    key2.fill(0);
    this.plane.addKey(peer.peerId, { keyId: ks.keyId, ...keys });
    ks.state = 'active';
    ks.activeAt = Date.now();
    if (ks.keyId === 0) {
      this.plane.setTxKey(peer.peerId, 0);
      log.info(`${peer.commonName}/${c.key} Peer Connection Initiated with [AF_INET]${c.key}`);
      if (peer.ivProto & IV_PROTO_REQUEST_PUSH) this.push(peer, ks);
    } else {
      log.info(`${this.who(peer)} TLS: soft reset done, key_id ${ks.keyId} up (${ks.tls.getProtocol()})`);
    }
  }

  private push(peer: Peer, ks: KeyState): void {
    if (peer.pushed) return;
    const c = this.cfg;
    const ping = c.keepalive?.interval ?? c.ping;
    const restart = c.keepalive?.timeout ?? c.pingRestart;
    const opts = [
      ...c.push, `route-gateway ${this.pool.server4}`, 'topology subnet',
      ...(ping ? [`ping ${ping}`] : []), ...(restart ? [`ping-restart ${restart}`] : []),
      `ifconfig ${peer.lease.ip4} ${this.pool.netmask}`,
      ...(peer.lease.ip6 ? [`ifconfig-ipv6 ${peer.lease.ip6}/${this.pool.prefix6} ${this.pool.server6}`] : []),
      ...(peer.dataV1 ? [] : [`peer-id ${peer.peerId}`]), `cipher ${peer.cipher}`,
      ...(peer.ekm ? [peer.ivProto & IV_PROTO_CC_EXIT_NOTIFY ? 'protocol-flags cc-exit tls-ekm' : 'key-derivation tls-ekm'] : []),
    ];
    // Messages of at most 1024 bytes; all but the last say push-continuation 2 (push.c).
    const msgs: string[] = [];
    let cur = 'PUSH_REPLY';
    for (const o of opts) {
      if (cur.length + 1 + o.length + ',push-continuation 2'.length > 1024) { msgs.push(`${cur},push-continuation 2`); cur = 'PUSH_REPLY'; }
      cur += `,${o}`;
    }
    msgs.push(msgs.length ? `${cur},push-continuation 1` : cur);
    for (const m of msgs) ks.write(m);
    peer.pushed = true;
    log.info(`${this.who(peer)} SENT CONTROL [${peer.commonName}]: '${msgs.join("' '")}'`);
    log.info(`${this.who(peer)} Data Channel: cipher '${peer.cipher}'${peer.dataV1 ? ' (P_DATA_V1, no peer-id)' : `, peer-id: ${peer.peerId}`}`);
  }

  private refuse(c: Client, ks: KeyState, why: string): void {
    log.info(why);
    ks.write('AUTH_FAILED');
    c.flush();
    setTimeout(() => this.remove(c, 'authentication failed'), 1000).unref();
  }

  message(c: Client, ks: KeyState, text: string): void {
    const peer = this.peers.get(c);
    if (text === 'PUSH_REQUEST') { if (peer && ks.state === 'active') this.push(peer, ks); return; }
    if (text === 'EXIT') { if (peer) peer.exited = true; c.flushSoon(); setTimeout(() => this.remove(c, 'peer EXIT'), 50).unref(); return; }
    log.debug(`${peer ? this.who(peer) : c.key} control message: '${text.slice(0, 80)}'`);
  }

  failed(c: Client, ks: KeyState, why: string): void {
    log.info(`${c.key} ${why}`);
    const peer = this.peers.get(c);
    if (ks.keyId === 0 || !peer) { this.remove(c, why); return; }
    ks.kill();
    c.keys.delete(ks.keyId);
    c.primary = Math.max(...[...c.keys.values()].filter((k) => k.state === 'active').map((k) => k.activeAt === 0 ? -1 : k.keyId), 0);
  }

  private who(p: Peer): string { return `${p.commonName}/${p.client.key}`; }

  private remove(c: Client, why: string): void {
    const peer = this.peers.get(c);
    if (peer) {
      log.info(`${this.who(peer)} SIGTERM[soft,${why}] received, client-instance exiting`);
      this.plane.removePeer(peer.peerId);
      this.byPeerId.delete(peer.peerId);
      this.pool.release(peer.lease);
      this.peers.delete(c);
    }
    if (this.clients.get(c.key) === c) this.clients.delete(c.key);
    c.close();
  }

  // ---- timers
  private ticks = 0;
  private tick(): void {
    this.ticks++;
    const now = Date.now();
    const c = this.cfg;
    const pingEvery = (c.keepalive?.interval ?? c.ping ?? 0) * 1000;
    const restartAfter = (c.keepalive ? c.keepalive.timeout * 2 : c.pingRestart ?? 0) * 1000;
    for (const client of [...this.clients.values()]) {
      client.flush(now);
      const peer = this.peers.get(client);
      for (const ks of [...client.keys.values()]) {
        if (ks.state === 'handshake' && now - ks.startedAt > c.handWindow * 1000) { this.failed(client, ks, `TLS key negotiation failed to occur within ${c.handWindow} seconds`); }
      }
      if (!peer || !this.clients.has(client.key)) continue;
      this.keyRotation(peer, now);
      const moved = this.plane.remote?.(peer.peerId);
      if (moved && !/^(::ffff:)?0\.0\.0\.0$/.test(moved.address) && (!sameAddress(moved.address, client.address) || moved.port !== client.port)) this.moved(peer, moved.address, moved.port);
      if (this.plane.describe && (this.ticks % 4 === 0 || peer.described !== peer.txKey)) {
        const keyIds = [peer.txKey, ...[...client.keys.values()].filter((k) => k.state === 'active' && k.keyId !== peer.txKey).map((k) => k.keyId)];
        this.plane.describe(peer.peerId, { commonName: peer.commonName, real: client.key, cipher: peer.cipher, keyIds, connectedAt: client.connectedAt });
        peer.described = peer.txKey;
      }
      const counters = this.plane.counters(peer.peerId);
      if (!counters) continue;
      if (pingEvery && now - counters.lastTx >= pingEvery) this.plane.send(peer.peerId, PING);
      const heard = Math.max(counters.lastRx, client.lastControlRx);
      if (restartAfter && now - heard > restartAfter) this.remove(client, `ping-restart: nothing heard for ${restartAfter / 1000} s`);
    }
  }

  /** reneg-sec, the tx switch to a new key, and retiring old keys. */
  private keyRotation(peer: Peer, now: number): void {
    const client = peer.client;
    const active = [...client.keys.values()].filter((k) => k.state === 'active').sort((a, b) => a.activeAt - b.activeAt);
    const newest = active[active.length - 1];
    if (!newest) return;
    if (newest.keyId !== peer.txKey) {
      // Switch tx once the client sends on the new key, or after min(hand-window, reneg-sec/2) (ssl.c).
      const w = Math.min(this.cfg.handWindow, this.cfg.renegSec / 2 || this.cfg.handWindow) * 1000;
      if (this.plane.keyRxPackets(peer.peerId, newest.keyId) > 0 || now - newest.activeAt >= w) {
        this.plane.setTxKey(peer.peerId, newest.keyId);
        peer.txKey = newest.keyId;
      }
    }
    // At most the newest two keys live (primary and lame duck); the lame duck for transition-window.
    for (const old of active.slice(0, -1)) {
      if (old.keyId === peer.txKey) continue;
      const tooMany = active.indexOf(old) < active.length - 2;
      if (tooMany || now - newest.activeAt > this.cfg.transitionWindow * 1000) {
        this.plane.removeKey(peer.peerId, old.keyId);
        old.kill();
        client.keys.delete(old.keyId);
      }
    }
    const handshaking = [...client.keys.values()].some((k) => k.state === 'handshake');
    const jitter = 1 - (peer.peerId % 10) / 100; // the 2.6 server renegotiates up to 10 % early
    if (handshaking) return;
    if (this.cfg.renegSec > 0 && now - newest.activeAt >= this.cfg.renegSec * 1000 * jitter) {
      const ks = client.renegotiate();
      if (ks) log.info(`${this.who(peer)} TLS: soft reset sec=${this.cfg.renegSec} (key_id ${ks.keyId})`);
    } else if (this.plane.txPacketId(peer.peerId, newest.keyId) >= PID_WRAP_SOON) {
      // a 4-byte packet id never wraps: a new key first (ssl.c, at 0xFF000000)
      const ks = client.renegotiate();
      if (ks) log.info(`${this.who(peer)} TLS: soft reset: packet id near wrap (key_id ${ks.keyId})`);
    }
  }

  // ---- status
  peerList(): PeerInfo[] {
    return [...this.peers.values()].map((p) => {
      const cn = this.plane.counters(p.peerId);
      return {
        commonName: p.commonName, realAddress: p.client.key, vpn4: p.lease.ip4, vpn6: p.lease.ip6, peerId: p.peerId, cipher: p.cipher,
        keyIds: [...p.client.keys.values()].filter((k) => k.state === 'active').map((k) => k.keyId), connectedSince: p.client.connectedAt,
        rxBytes: cn?.rxBytes ?? 0, txBytes: cn?.txBytes ?? 0, rxPackets: cn?.rxPackets ?? 0, txPackets: cn?.txPackets ?? 0,
        lastActivity: Math.max(cn?.lastRx ?? 0, p.client.lastControlRx),
      };
    });
  }

  private writeStatus(file: string): void {
    try {
      writeStatus(path.resolve(this.baseDir, file), this.cfg.statusVersion, this.peerList());
    } catch (e) {
      log.warn(`status file ${file}: ${(e as Error).message}`);
    }
  }

  /** Tells clients (explicit-exit-notify: RESTART), then removes everything. */
  async stop(reason = 'SIGTERM'): Promise<void> {
    if (this.stopped) return;
    if (this.cfg.explicitExitNotify) {
      for (const p of this.peers.values()) { const ks = p.client.keys.get(p.client.primary); if (ks?.state === 'active') ks.write('RESTART'); }
      await new Promise((r) => setTimeout(r, 100));
      for (const c of this.clients.values()) c.flush();
      await new Promise((r) => setTimeout(r, 200));
    }
    this.stopped = true;
    clearInterval(this.timer);
    if (this.statusTimer) clearInterval(this.statusTimer);
    for (const c of [...this.clients.values()]) this.remove(c, reason);
    this.plane.close();
    this.tun.close();
    await new Promise<void>((r) => this.socket.close(() => r()));
    log.info(`${reason}[hard,] received, process exiting`);
  }
}
