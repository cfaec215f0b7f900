// A small fluent builder for test frames: eth -> vlan* -> ipv4/ipv6/arp ->
// udp/icmp -> payload. Checksums are not computed: the wire never reads them.
export class Pkt {
  private parts: Buffer[] = [];

  static mac(s: string): Buffer { return Buffer.from(s.split(':').map((x) => parseInt(x, 16))); }

  /** Ethernet header; `type` is the ethertype that follows (or an 802.3 length). */
  eth(dst: string, src: string, type: number): this {
    const b = Buffer.alloc(14);
    Pkt.mac(dst).copy(b, 0); Pkt.mac(src).copy(b, 6); b.writeUInt16BE(type, 12);
    return this.add(b);
  }
  /** An 802.1Q/802.1ad tag: TCI then the ethertype after it. */
  tag(vid: number, next: number, pcp = 0): this {
    const b = Buffer.alloc(4);
    b.writeUInt16BE((pcp << 13) | vid, 0); b.writeUInt16BE(next, 2);
    return this.add(b);
  }
  ipv4(src: string, dst: string, proto: number, payloadLen: number): this {
    const b = Buffer.alloc(20);
    b[0] = 0x45; b.writeUInt16BE(20 + payloadLen, 2); b[8] = 64; b[9] = proto;
    Buffer.from(src.split('.').map(Number)).copy(b, 12); Buffer.from(dst.split('.').map(Number)).copy(b, 16);
    return this.add(b);
  }
  ipv6(src: string, dst: string, next: number, payloadLen: number): this {
    const b = Buffer.alloc(40);
    b[0] = 0x60; b.writeUInt16BE(payloadLen, 4); b[6] = next; b[7] = 64;
    v6(src).copy(b, 8); v6(dst).copy(b, 24);
    return this.add(b);
  }
  udp(sport: number, dport: number, payloadLen: number): this {
    const b = Buffer.alloc(8);
    b.writeUInt16BE(sport, 0); b.writeUInt16BE(dport, 2); b.writeUInt16BE(8 + payloadLen, 4);
    return this.add(b);
  }
  arpRequest(senderMac: string, senderIp: string, targetIp: string): this {
    const b = Buffer.alloc(28);
    b.writeUInt16BE(1, 0); b.writeUInt16BE(0x0800, 2); b[4] = 6; b[5] = 4; b.writeUInt16BE(1, 6);
    Pkt.mac(senderMac).copy(b, 8); Buffer.from(senderIp.split('.').map(Number)).copy(b, 14);
    Buffer.from(targetIp.split('.').map(Number)).copy(b, 24);
    return this.add(b);
  }
  bytes(b: Buffer | number[]): this { return this.add(Buffer.from(b)); }
  /** n payload bytes with a recognisable pattern. */
  payload(n: number): this { return this.add(Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff))); }

  build(): Buffer { return Buffer.concat(this.parts); }
  private add(b: Buffer): this { this.parts.push(b); return this; }
}

export const pkt = () => new Pkt();

function v6(s: string): Buffer {
  const [head, tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

/** RFC 1071 checksum of a buffer (0 when a buffer with its checksum verifies). */
export function csum(b: Buffer): number {
  let s = 0;
  for (let i = 0; i + 1 < b.length; i += 2) s += b.readUInt16BE(i);
  if (b.length & 1) s += b[b.length - 1] << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return ~s & 0xffff;
}
export const ip4 = (s: string) => Buffer.from(s.split('.').map(Number));
export const ip6 = v6;
/** The frame with its IPv4 header checksum (header at l3) filled in. */
export function withIpCsum(frame: Buffer, l3 = 14): Buffer {
  const f = Buffer.from(frame);
  f.writeUInt16BE(0, l3 + 10);
  f.writeUInt16BE(csum(f.subarray(l3, l3 + 20)), l3 + 10);
  return f;
}
/** Checksum over an IPv6 upper-layer body with its pseudo-header (0 = valid). */
export function csum6(ip6hdr: Buffer, body: Buffer): number {
  const pseudo = Buffer.alloc(40);
  ip6hdr.copy(pseudo, 0, 8, 40);
  pseudo.writeUInt32BE(body.length, 32);
  pseudo[39] = ip6hdr[6];
  return csum(Buffer.concat([pseudo, body]));
}
