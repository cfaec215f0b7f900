// The data plane the control plane drives, in ovpn-dco's terms (peers with
// up to two live keys, one of them the tx key). userPlane is the TypeScript
// one: node:crypto over the tun fd and the UDP socket. It is the slow path
// under the BPF plane (what BPF hands on reaches it) and the whole data
// channel when BPF is not attached.
import { formatIpv6 } from '../btf';
import { parseAddress } from '../net/address';
import { decryptData, DirectionKey, encryptData, P_DATA_V1, P_DATA_V2, PING, ReplayWindow } from './data';

/** dataV1: no peer-id was pushed, so data goes both ways as P_DATA_V1 and is matched by address. */
export interface PeerSpec { peerId: number; address: string; port: number; vpn4?: string; vpn6?: string; dataV1?: boolean }
export interface KeySpec { keyId: number; rx: DirectionKey; tx: DirectionKey }
export interface PeerDescription { commonName: string; real: string; cipher: string; keyIds: number[]; connectedAt: number }
export interface PeerCounters { rxPackets: number; rxBytes: number; txPackets: number; txBytes: number; lastRx: number; lastTx: number }

/** Why a datagram the plane was given did not become a packet. */
export type DropReason = 'unknown-peer' | 'unknown-key' | 'bad-tag' | 'replay' | 'spoofed-source' | 'truncated' | 'ping';

export interface DataPlane {
  addPeer(p: PeerSpec): void;
  removePeer(peerId: number): void;
  /** A new key for rx (and tx once setTxKey names it). */
  addKey(peerId: number, k: KeySpec): void;
  removeKey(peerId: number, keyId: number): void;
  setTxKey(peerId: number, keyId: number): void;
  /** Encrypts and sends plaintext (an IP packet or PING) on the peer's tx key. */
  send(peerId: number, plaintext: Buffer): boolean;
  /** A data datagram from the socket: delivered to tun, consumed (ping), or dropped. */
  receive(peerId: number, from: { address: string; port: number }, datagram: Buffer): 'delivered' | DropReason;
  counters(peerId: number): PeerCounters | undefined;
  /** Data packets each key decrypted (for the tx switch on first rx). */
  keyRxPackets(peerId: number, keyId: number): number;
  /** The next tx packet id of a key (renegotiation is due before it wraps). */
  txPacketId(peerId: number, keyId: number): number;
  /** What status shows of a peer, as the control plane knows it (refreshed every second). */
  describe?(peerId: number, d: PeerDescription): void;
  /** Where the peer's data now comes from, when the plane moved it (float). */
  remote?(peerId: number): { address: string; port: number } | undefined;
  close(): void;
}

interface Key extends KeySpec { replay: ReplayWindow; txPid: number; rxPackets: number }
interface Peer extends PeerSpec { keys: Map<number, Key>; txKey?: number; c: PeerCounters }

/** The IPv4 or IPv6 source of an IP packet, or undefined. */
export function innerSource(p: Buffer): string | undefined {
  if (p.length >= 20 && p[0] >> 4 === 4) return `${p[12]}.${p[13]}.${p[14]}.${p[15]}`;
  if (p.length >= 40 && p[0] >> 4 === 6) return formatIpv6(p.subarray(8, 24));
  return undefined;
}
export function innerDest(p: Buffer): string | undefined {
  if (p.length >= 20 && p[0] >> 4 === 4) return `${p[16]}.${p[17]}.${p[18]}.${p[19]}`;
  if (p.length >= 40 && p[0] >> 4 === 6) return formatIpv6(p.subarray(24, 40));
  return undefined;
}
/** The one written form of an address (RFC 5952 for IPv6), whatever form it came in. */
export function canonicalIp(s: string): string {
  const a = parseAddress(s);
  return a?.family === 6 ? formatIpv6(Buffer.from(a.bytes)) : s;
}

export interface UserPlaneIo {
  toTun(packet: Buffer): void;
  toSocket(datagram: Buffer, address: string, port: number): void;
  replayWindow: { size: number; seconds: number };
}

export type UserPlane = DataPlane & {
  route(packet: Buffer): boolean;
  /** Where tx packet ids come from for a key (the BPF counter for BPF's keys); undefined: this plane's own. */
  idSource?: (peerId: number, keyId: number) => number | undefined;
  /** The replay window of a key when another plane holds it (BPF's): true = fresh; undefined: this plane's own. */
  replaySource?: (peerId: number, keyId: number, packetId: number) => boolean | undefined;
};

export function userPlane(io: UserPlaneIo): UserPlane {
  const peers = new Map<number, Peer>();
  const byVpn = new Map<string, Peer>();
  const now = () => Date.now();
  const plane: UserPlane = {
    addPeer(p) {
      const peer: Peer = { ...p, keys: new Map(), c: { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, lastRx: now(), lastTx: 0 } };
      peers.set(p.peerId, peer);
      if (p.vpn4) byVpn.set(p.vpn4, peer);
      if (p.vpn6) byVpn.set(canonicalIp(p.vpn6), peer);
    },
    removePeer(id) {
      const p = peers.get(id);
      if (!p) return;
      peers.delete(id);
      for (const [k, v] of byVpn) if (v === p) byVpn.delete(k);
    },
    addKey(id, k) {
      peers.get(id)?.keys.set(k.keyId, { ...k, replay: new ReplayWindow(io.replayWindow.size, io.replayWindow.seconds), txPid: 1, rxPackets: 0 });
    },
    removeKey(id, keyId) { peers.get(id)?.keys.delete(keyId); },
    setTxKey(id, keyId) { const p = peers.get(id); if (p) p.txKey = keyId; },
    send(id, plaintext) {
      const p = peers.get(id);
      const k = p && p.txKey !== undefined ? p.keys.get(p.txKey) : undefined;
      if (!p || !k) return false;
      const pid = this.idSource?.(id, k.keyId) ?? k.txPid++;
      if (pid > 0xffffffff || pid < 1) return false; // out of ids on this key: a renegotiation is due
      const d = encryptData(k.tx, { opcode: p.dataV1 ? P_DATA_V1 : P_DATA_V2, keyId: k.keyId, peerId: id, packetId: pid }, plaintext);
      io.toSocket(d, p.address, p.port);
      p.c.txPackets++; p.c.txBytes += d.length; p.c.lastTx = now();
      return true;
    },
    receive(id, from, d) {
      const p = peers.get(id);
      if (!p) return 'unknown-peer';
      const k = p.keys.get(d[0] & 7);
      if (!k) return 'unknown-key';
      if (d.length < 24) return 'truncated';
      const pt = decryptData(k.rx, d);
      if (!pt) return 'bad-tag';
      const pid = d.readUInt32BE(d[0] >> 3 === P_DATA_V2 ? 4 : 1);
      if (!(this.replaySource?.(id, k.keyId, pid) ?? k.replay.accept(pid))) return 'replay';
      k.rxPackets++;
      p.c.rxPackets++; p.c.rxBytes += d.length; p.c.lastRx = now();
      if (from.address !== p.address || from.port !== p.port) { p.address = from.address; p.port = from.port; } // float, as 2.6 does
      if (pt.equals(PING)) return 'ping';
      const src = innerSource(pt);
      if (src === undefined || (src !== p.vpn4 && src !== (p.vpn6 && canonicalIp(p.vpn6)))) return 'spoofed-source';
      io.toTun(pt);
      return 'delivered';
    },
    /** A packet from the tun device: encrypted to the peer owning its destination. */
    route(packet) {
      const dst = innerDest(packet);
      const p = dst ? byVpn.get(dst) : undefined;
      return p ? this.send(p.peerId, packet) : false;
    },
    counters: (id) => peers.get(id)?.c,
    keyRxPackets: (id, keyId) => peers.get(id)?.keys.get(keyId)?.rxPackets ?? 0,
    txPacketId: (id, keyId) => peers.get(id)?.keys.get(keyId)?.txPid ?? 0,
    close() { peers.clear(); byVpn.clear(); },
  };
  return plane;
}
