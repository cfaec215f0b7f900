// The BPF data plane of `l2bpf openvpn` (bpf/ovpn_tc.bpf.c, lib/ovpn.h):
// loads the object, pins its maps under the instance folder (ovpn_secrets
// 0600), links the programs (tcx ingress on each uplink, tcx egress on the
// tun, tcx ingress on the segmenter's inner end) and keeps the maps equal to
// what the control plane decides. The TypeScript plane stays underneath as
// the slow path, on the same keys and, for BPF's keys, the same tx packet-id
// counter. Links are held by fd only: a killed daemon leaves none behind.
import fs from 'fs';
import path from 'path';
import * as bpf from '../bpf/libbpf';
import { BpfMap } from '../bpf/maps';
import { ifIndex } from '../bpf/sys';
import { formatIpv6, formatJson } from '../btf';
import { ensureBpffs, instancePaths, objectPath, pinRoot } from '../instance/paths';
import { createSegmenter, deleteSegmenter, segmenterNames, SegmenterPair } from '../loader/segmenter';
import { OVPN_LIMITS } from '../generated/bpf';
import { log } from '../log';
import type { DataCipher } from './config';
import { ghashTable } from './ghash';
import { DataPlane, KeySpec, PeerCounters, PeerDescription, PeerSpec, UserPlane } from './plane';

const CIPHER: Record<DataCipher, string> = { 'AES-256-GCM': 'OVPN_AES_256_GCM', 'AES-128-GCM': 'OVPN_AES_128_GCM', 'CHACHA20-POLY1305': 'OVPN_CHACHA20_POLY1305' };
/** Ciphers the BPF programs run; the others stay on the slow path (counted there). */
export const BPF_CIPHERS: readonly DataCipher[] = ['CHACHA20-POLY1305', 'AES-256-GCM', 'AES-128-GCM'];
const MAPS = ['ovpn_config', 'ovpn_peers', 'ovpn_keys', 'ovpn_secrets', 'ovpn_route4', 'ovpn_route6', 'ovpn_by_addr', 'ovpn_gaps', 'ovpn_counts', 'ovpn_instance', 'ovpn_clients', 'ovpn_aes'] as const;
type MapName = typeof MAPS[number];

const monoNow = () => process.hrtime.bigint();

export interface BpfPlaneOptions {
  instance: string;
  /** The config file, for status. */
  config: string;
  tun: { name: string; ifindex: number };
  uplinks: string[];
  port: number;
  replayWindow: { size: number; seconds: number };
  netns?: string;
}

export class BpfPlane implements DataPlane {
  readonly dir: string;
  private readonly obj: bpf.BpfObject;
  private readonly maps = {} as Record<MapName, BpfMap>;
  private readonly links: number[] = [];
  private readonly takeFd: number;
  private readonly aesFd: number;
  private readonly replayFd: number;
  private readonly seg: SegmenterPair;
  /** key_id -> slot, per peer; and which peers/keys BPF holds. */
  private readonly slots = new Map<number, Map<number, number>>();
  private readonly ciphers = new Map<number, Map<number, DataCipher>>();
  private readonly peers = new Map<number, PeerSpec>();
  private closed = false;

  constructor(readonly user: UserPlane, readonly o: BpfPlaneOptions) {
    const root = pinRoot();
    ensureBpffs(root);
    const p = instancePaths(root, o.instance);
    this.dir = p.dir;
    this.seg = segmenterNames(o.instance);
    BpfPlane.cleanup(o.instance, o.netns); // what a killed daemon left
    this.obj = loadOvpnObject();
    try {
      fs.mkdirSync(p.maps, { recursive: true });
      for (const m of MAPS) {
        const fd = bpf.mapFd(this.obj, m);
        const pinPath = path.join(p.maps, m);
        bpf.pin(fd, pinPath);
        if (m === 'ovpn_secrets') fs.chmodSync(pinPath, 0o600);
        this.maps[m] = BpfMap.openPinned(pinPath);
      }
      fs.chmodSync(p.dir, 0o700);
      this.takeFd = bpf.programFd(this.obj, 'ovpn_take_pids');
      this.aesFd = bpf.programFd(this.obj, 'ovpn_aes_key');
      this.replayFd = bpf.programFd(this.obj, 'ovpn_replay_check');
      const segIdx = createSegmenter(undefined, this.seg, 1500);
      this.maps.ovpn_config.update(0, { tun: o.tun.ifindex, seg_outer: segIdx.outer, seg_inner: segIdx.inner, port: o.port, pad: 0 });
      this.maps.ovpn_instance.update(0, {
        started_at: BigInt(Math.floor(Date.now() / 1000)), pid: process.pid, tun: o.tun.ifindex, port: o.port, pad: 0,
        netns: (o.netns ?? '').slice(0, 31), tun_name: o.tun.name, config: path.resolve(o.config).slice(-127),
      });
      this.link('ovpn_tun_out', o.tun.ifindex, bpf.BPF_TCX_EGRESS);
      this.link('ovpn_seg_in', segIdx.inner, bpf.BPF_TCX_INGRESS);
      for (const u of o.uplinks) {
        const idx = ifIndex(u);
        if (!idx) throw new Error(`uplink ${u} does not exist`);
        this.link('ovpn_uplink_in', idx, bpf.BPF_TCX_INGRESS);
      }
    } catch (e) {
      this.close();
      throw e;
    }
    user.idSource = (peer, key) => this.takePacketId(peer, key);
    user.replaySource = (peer, key, pid) => this.replayCheck(peer, key, pid);
    log.info(`BPF data channel: ${BPF_CIPHERS.join(', ')} in BPF on ${o.uplinks.join(', ')} and ${o.tun.name}; pins in ${this.dir}`);
  }

  /** Removes what a previous run of this instance left (pins, segmenter). */
  static cleanup(instance: string, netns?: string): boolean {
    const p = instancePaths(pinRoot(), instance);
    let found = false;
    if (fs.existsSync(p.dir)) { fs.rmSync(p.dir, { recursive: true, force: true }); found = true; }
    const seg = segmenterNames(instance);
    if (ifIndex(seg.outer) || ifIndex(seg.inner)) { deleteSegmenter(netns, seg); found = true; }
    return found;
  }

  private link(prog: string, ifindex: number, type: number): void {
    this.links.push(bpf.tcxLinkCreate(bpf.programFd(this.obj, prog), ifindex, type, bpf.BPF_F_BEFORE));
  }

  private slotKey(peerId: number, slot: number): number { return (peerId << 1) | slot; }

  addPeer(p: PeerSpec): void {
    this.user.addPeer(p);
    this.peers.set(p.peerId, p);
    this.slots.set(p.peerId, new Map());
    this.ciphers.set(p.peerId, new Map());
    this.maps.ovpn_peers.update(p.peerId, {
      ...addressFields(p.address), local4: '0.0.0.0', rport: p.port, tx_slot: 0, uplink: 0, data_v1: p.dataV1 ? 1 : 0, pad1: [0, 0, 0],
      vpn4: p.vpn4 ?? '0.0.0.0', vpn6: p.vpn6 ?? '::',
      rx_packets: 0n, rx_bytes: 0n, tx_packets: 0n, tx_bytes: 0n, last_rx_ns: monoNow(), last_tx_ns: 0n,
    });
    if (p.vpn4) this.maps.ovpn_route4.update(p.vpn4, p.peerId);
    if (p.vpn6) this.maps.ovpn_route6.update(p.vpn6, p.peerId);
    if (p.dataV1) this.maps.ovpn_by_addr.update(v1Address(p), p.peerId);
  }

  describe(peerId: number, d: PeerDescription): void {
    if (!this.peers.has(peerId)) return;
    const slow = this.user.counters(peerId);
    this.maps.ovpn_clients.update(peerId, {
      cn: d.commonName.slice(0, 63), real: d.real.slice(0, 47), connected_at: BigInt(Math.floor(d.connectedAt / 1000)),
      cipher: enumValue(this.maps.ovpn_clients, 'ovpn_cipher', CIPHER[d.cipher as DataCipher] ?? 'OVPN_CIPHER_NONE'),
      nkeys: Math.min(d.keyIds.length, 2), key_ids: [d.keyIds[0] ?? 0, d.keyIds[1] ?? 0], pad: [0, 0, 0, 0],
      slow_rx_packets: BigInt(slow?.rxPackets ?? 0), slow_rx_bytes: BigInt(slow?.rxBytes ?? 0),
      slow_tx_packets: BigInt(slow?.txPackets ?? 0), slow_tx_bytes: BigInt(slow?.txBytes ?? 0), slow_last_rx: BigInt(slow?.rxPackets ? slow.lastRx : 0),
    });
  }

  removePeer(peerId: number): void {
    this.user.removePeer(peerId);
    this.maps.ovpn_clients.delete(peerId);
    const p = this.peers.get(peerId);
    if (!p) return;
    if (p.vpn4) this.maps.ovpn_route4.delete(p.vpn4);
    if (p.vpn6) this.maps.ovpn_route6.delete(p.vpn6);
    if (p.dataV1) this.maps.ovpn_by_addr.delete(v1Address(p));
    for (const s of [0, 1]) {
      this.maps.ovpn_keys.delete(this.slotKey(peerId, s));
      this.maps.ovpn_secrets.delete(this.slotKey(peerId, s));
      this.maps.ovpn_gaps.delete(this.slotKey(peerId, s));
      this.aesKey(this.slotKey(peerId, s), 0, undefined);
      this.aesKey(this.slotKey(peerId, s), 1, undefined);
    }
    this.maps.ovpn_peers.delete(peerId);
    this.peers.delete(peerId);
    this.slots.delete(peerId);
    this.ciphers.delete(peerId);
  }

  addKey(peerId: number, k: KeySpec): void {
    this.user.addKey(peerId, k);
    const slots = this.slots.get(peerId);
    if (!slots) return;
    // The new key takes the slot the tx key does not use (the lame duck's, which it replaces).
    const tx = this.txSlot(peerId);
    const slot = slots.size === 0 ? 0 : 1 - tx;
    for (const [kid, s] of slots) if (s === slot) slots.delete(kid);
    slots.set(k.keyId, slot);
    this.ciphers.get(peerId)!.set(k.keyId, k.rx.cipher);
    const sk = this.slotKey(peerId, slot);
    const w = this.o.replayWindow;
    const aes = k.rx.cipher !== 'CHACHA20-POLY1305';
    const table = (key: Buffer) => (aes ? ghashTable(key) : { hh: Array(16).fill(0n), hl: Array(16).fill(0n) });
    // AES keys go to the kernel's cipher contexts; ChaCha20 keys to the map
    this.maps.ovpn_secrets.update(sk, {
      rx_key: aes ? Buffer.alloc(32) : pad32(k.rx.key), rx_iv: k.rx.iv, tx_key: aes ? Buffer.alloc(32) : pad32(k.tx.key), tx_iv: k.tx.iv,
      rx_h: table(k.rx.key), tx_h: table(k.tx.key),
    });
    this.aesKey(sk, 0, aes ? k.rx.key : undefined);
    this.aesKey(sk, 1, aes ? k.tx.key : undefined);
    this.maps.ovpn_gaps.update(sk, {}); // zero gap times first: jumps the new key makes are kept
    this.maps.ovpn_keys.update(sk, {
      lock: { val: 0 }, key_id: k.keyId, cipher: enumValue(this.maps.ovpn_keys, 'ovpn_cipher', CIPHER[k.rx.cipher]), pad: [0, 0], tx_pid: 1n, rx_packets: 0n,
      replay: { highest: 0, window: Math.min(w.size, OVPN_LIMITS.OVPN_REPLAY_MAX), backtrack_ns: BigInt(w.seconds) * 1000000000n }, // bits: zero
    });
  }

  removeKey(peerId: number, keyId: number): void {
    this.user.removeKey(peerId, keyId);
    const slots = this.slots.get(peerId);
    const slot = slots?.get(keyId);
    if (slot === undefined || slot === this.txSlot(peerId)) return;
    slots!.delete(keyId);
    this.maps.ovpn_keys.delete(this.slotKey(peerId, slot));
    this.maps.ovpn_secrets.delete(this.slotKey(peerId, slot));
    this.maps.ovpn_gaps.delete(this.slotKey(peerId, slot));
    this.aesKey(this.slotKey(peerId, slot), 0, undefined);
    this.aesKey(this.slotKey(peerId, slot), 1, undefined);
  }

  /** Makes (or, without a key, drops) the kernel's AES context of a slot's direction. */
  private aesKey(slot: number, dir: 0 | 1, key: Buffer | undefined): void {
    const ctx = Buffer.alloc(48);
    ctx.writeUInt32LE((slot << 1) | dir, 0);
    ctx.writeUInt32LE(key?.length ?? 0, 4);
    key?.copy(ctx, 8);
    bpf.syscallRun(this.aesFd, ctx);
    ctx.fill(0, 8, 40);
    const err = ctx.readInt32LE(40);
    if (err) throw new Error(`the kernel refused an AES context (ecb(aes-generic)): error ${err}`);
  }

  private peerValue(peerId: number): Record<string, unknown> | undefined {
    const m = this.maps.ovpn_peers;
    const raw = m.lookup(peerId);
    return raw && (formatJson(m.btf!, m.info.valueTypeId, raw[0]) as Record<string, unknown>);
  }

  private txSlot(peerId: number): number { return Number(this.peerValue(peerId)?.tx_slot ?? 0); }

  setTxKey(peerId: number, keyId: number): void {
    this.user.setTxKey(peerId, keyId);
    const slot = this.slots.get(peerId)?.get(keyId);
    const v = this.peerValue(peerId);
    if (slot === undefined || !v) return;
    // Only tx_slot changes; the programs update the counters in place, so this write races them only for its own field.
    const m = this.maps.ovpn_peers;
    const raw = m.lookup(peerId)![0];
    const off = fieldOffset(m, 'tx_slot');
    raw[off] = slot;
    bpf.mapUpdate(m.fd, m.encodeKey(peerId), raw, 0);
  }

  /** The tx id for a packet the daemon sends on BPF's key: from the program's counter. */
  takePacketId(peerId: number, keyId: number): number | undefined {
    const slot = this.slots.get(peerId)?.get(keyId);
    if (slot === undefined || !BPF_CIPHERS.includes(this.ciphers.get(peerId)?.get(keyId) as DataCipher)) return undefined;
    const ctx = Buffer.alloc(16);
    ctx.writeUInt32LE(this.slotKey(peerId, slot), 0);
    ctx.writeUInt32LE(1, 4);
    bpf.syscallRun(this.takeFd, ctx);
    return Number(ctx.readBigUInt64LE(8));
  }

  /** BPF's replay window for a key it holds (check and record), or undefined. */
  replayCheck(peerId: number, keyId: number, packetId: number): boolean | undefined {
    const slot = this.slots.get(peerId)?.get(keyId);
    if (slot === undefined) return undefined;
    const q = Buffer.alloc(16);
    q.writeUInt32LE(this.slotKey(peerId, slot), 0);
    q.writeUInt32LE(packetId, 4);
    q.writeUInt32LE(keyId, 12);
    bpf.syscallRun(this.replayFd, q);
    const r = q.readInt32LE(8);
    return r < 0 ? undefined : r === 1;
  }

  send(peerId: number, plaintext: Buffer): boolean { return this.user.send(peerId, plaintext); }
  receive(peerId: number, from: { address: string; port: number }, d: Buffer) { return this.user.receive(peerId, from, d); }

  counters(peerId: number): PeerCounters | undefined {
    const u = this.user.counters(peerId);
    const v = this.peerValue(peerId);
    if (!u || !v) return u;
    const mono = monoNow(), wall = Date.now();
    const toWall = (ns: number) => (ns ? wall - Number((mono - BigInt(ns)) / 1000000n) : 0);
    return {
      rxPackets: u.rxPackets + Number(v.rx_packets), rxBytes: u.rxBytes + Number(v.rx_bytes),
      txPackets: u.txPackets + Number(v.tx_packets), txBytes: u.txBytes + Number(v.tx_bytes),
      lastRx: Math.max(u.lastRx, toWall(Number(v.last_rx_ns))), lastTx: Math.max(u.lastTx, toWall(Number(v.last_tx_ns))),
    };
  }

  /** The peer's address as BPF last saw it (BPF moves a peer that floated), in the socket's form. */
  remote(peerId: number): { address: string; port: number } | undefined {
    const m = this.maps.ovpn_peers;
    const raw = m.lookup(peerId)?.[0];
    const spec = this.peers.get(peerId);
    if (!raw || !spec) return undefined;
    const v = this.peerValue(peerId)!;
    const mapped = spec.address.startsWith('::ffff:'); // an IPv4 client on a dual-stack socket
    let address: string;
    if (Number(v.family) === 6) {
      const at = fieldOffset(m, 'remote6');
      address = formatIpv6(raw.subarray(at, at + 16));
    } else {
      const at = fieldOffset(m, 'remote4');
      address = `${mapped ? '::ffff:' : ''}${[...raw.subarray(at, at + 4)].join('.')}`;
    }
    return { address, port: Number(v.rport) };
  }

  /** BPF's state of a key (ovpn_keys), when BPF holds it. */
  private keyState(peerId: number, keyId: number): Record<string, unknown> | undefined {
    const slot = this.slots.get(peerId)?.get(keyId);
    if (slot === undefined) return undefined;
    const m = this.maps.ovpn_keys;
    const raw = m.lookup(this.slotKey(peerId, slot));
    const v = raw && (formatJson(m.btf!, m.info.valueTypeId, raw[0]) as Record<string, unknown>);
    return v && Number(v.key_id) === keyId ? v : undefined;
  }

  keyRxPackets(peerId: number, keyId: number): number {
    return this.user.keyRxPackets(peerId, keyId) + Number(this.keyState(peerId, keyId)?.rx_packets ?? 0);
  }

  txPacketId(peerId: number, keyId: number): number {
    return Math.max(this.user.txPacketId(peerId, keyId), Number(this.keyState(peerId, keyId)?.tx_pid ?? 0));
  }

  /** ovpn_counts summed over CPUs, by name. */
  counts(): Record<string, number> {
    const m = this.maps.ovpn_counts;
    const out: Record<string, number> = {};
    const names = enumNames(m);
    for (let i = 0; i < names.length; i++) {
      const vals = m.lookup(i);
      out[names[i]] = vals ? vals.reduce((a, b) => a + Number(b.readBigUInt64LE(0)), 0) : 0;
    }
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.links) bpf.closeFd(l);
    for (const m of Object.values(this.maps)) m.close();
    try { bpf.closeObject(this.obj); } catch { /* not loaded */ }
    BpfPlane.cleanup(this.o.instance, this.o.netns);
    this.user.close();
  }
}

/** The address fields of a peer: IPv4 (plain or as ::ffff:a.b.c.d on a dual-stack socket) or IPv6. */
function addressFields(address: string): Record<string, string | number> {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (!v4.includes(':')) return { remote4: v4, family: 4, remote6: '::', local6: '::' };
  return { remote4: '0.0.0.0', family: 6, remote6: address, local6: '::' };
}

/** The ovpn_by_addr key of a P_DATA_V1 peer: its address (IPv4 as ::ffff:a.b.c.d) and port. */
function v1Address(p: PeerSpec): Record<string, string | number> {
  return { addr: p.address.includes(':') ? p.address : `::ffff:${p.address}`, port: p.port, pad: 0 };
}

/** Opens and loads bpf/ovpn_tc.bpf.o; its maps are created, nothing is pinned or linked. */
export function loadOvpnObject(): bpf.BpfObject {
  const obj = bpf.openObject(objectPath('ovpn_tc.bpf.o'));
  try {
    // The shared headers bring the wire's maps along; the programs here use none of them.
    for (const m of bpf.mapNames(obj)) if (!m.startsWith('ovpn_') && m !== 'l2_aead_scratch' && m !== 'l2_gcm_scratch' && m !== 'l2_scratch' && !m.startsWith('.')) bpf.skipMap(obj, m);
    bpf.loadObject(obj);
  } catch (e) {
    bpf.closeObject(obj);
    throw e;
  }
  return obj;
}

const pad32 = (k: Buffer) => { const b = Buffer.alloc(32); k.copy(b); return b; };

function fieldOffset(m: BpfMap, field: string): number {
  const t = m.btf!.type(m.btf!.resolve(m.info.valueTypeId));
  const f = 'members' in t ? t.members.find((x) => x.name === field) : undefined;
  if (!f) throw new Error(`${m.info.name}: no member ${field} in BTF`);
  return f.bitOffset / 8;
}

/** A value of a C enum, by name, from the map's BTF. */
function enumValue(m: BpfMap, en: string, name: string): number {
  for (const [v, n] of m.btf!.enumNames(en)) if (n === name) return Number(v);
  throw new Error(`${m.info.name}: no ${name} in enum ${en}`);
}

/** The names of enum ovpn_count in BTF order (OVPN_RX_DELIVERED -> rx_delivered). */
function enumNames(m: BpfMap): string[] {
  return [...m.btf!.enumNames('ovpn_count')].filter(([, n]) => !n.endsWith('__MAX')).sort((a, b) => Number(a[0]) - Number(b[0]))
    .map(([, n]) => n.replace(/^OVPN_/, '').toLowerCase());
}
