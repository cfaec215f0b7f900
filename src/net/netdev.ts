// The kernel's own answer to "what XDP can this device do": the netdev
// generic-netlink family (6.3+), read over a raw netlink socket through
// koffi (no CLI in Debian 12 prints it). NDO_XMIT is what an XDP redirect
// *into* the device needs; a veth has it only while its peer runs NAPI
// (GRO on, or an XDP program there).
import koffi from 'koffi';

const libc = koffi.load('libc.so.6');
const c = {
  socket: libc.func('int socket(int domain, int type, int protocol)'),
  send: libc.func('long send(int fd, const uint8_t *buf, size_t len, int flags)'),
  recv: libc.func('long recv(int fd, _Out_ uint8_t *buf, size_t len, int flags)'),
  setsockopt: libc.func('int setsockopt(int fd, int level, int name, const uint8_t *val, uint32_t len)'),
  close: libc.func('int close(int fd)'),
};

const AF_NETLINK = 16, SOCK_RAW = 3, SOCK_CLOEXEC = 0o2000000, NETLINK_GENERIC = 16;
const SOL_SOCKET = 1, SO_RCVTIMEO = 20;
const NLM_F_REQUEST = 1, NLMSG_ERROR = 2, GENL_ID_CTRL = 0x10;
const CTRL_CMD_GETFAMILY = 3, CTRL_ATTR_FAMILY_ID = 1, CTRL_ATTR_FAMILY_NAME = 2;
const NETDEV_CMD_DEV_GET = 1, NETDEV_A_DEV_IFINDEX = 1, NETDEV_A_DEV_XDP_FEATURES = 3;

/** NETDEV_XDP_ACT_* (uapi linux/netdev.h). */
export const XDP_ACT = { BASIC: 1n, REDIRECT: 2n, NDO_XMIT: 4n, XSK_ZEROCOPY: 8n, HW_OFFLOAD: 16n, RX_SG: 32n, NDO_XMIT_SG: 64n };

function attr(type: number, payload: Buffer): Buffer {
  const len = 4 + payload.length;
  const b = Buffer.alloc((len + 3) & ~3);
  b.writeUInt16LE(len, 0);
  b.writeUInt16LE(type, 2);
  payload.copy(b, 4);
  return b;
}

function message(family: number, cmd: number, version: number, attrs: Buffer[]): Buffer {
  const body = Buffer.concat([Buffer.from([cmd, version, 0, 0]), ...attrs]);
  const hdr = Buffer.alloc(16);
  hdr.writeUInt32LE(16 + body.length, 0);
  hdr.writeUInt16LE(family, 4);
  hdr.writeUInt16LE(NLM_F_REQUEST, 6);
  hdr.writeUInt32LE(1, 8);
  return Buffer.concat([hdr, body]);
}

/** Attributes of the first genetlink reply, or an errno. */
function ask(fd: number, msg: Buffer): Map<number, Buffer> | number {
  if (c.send(fd, msg, msg.length, 0) < 0) return koffi.errno();
  const buf = Buffer.alloc(8192);
  const n = Number(c.recv(fd, buf, buf.length, 0));
  if (n < 16) return n < 0 ? koffi.errno() : 5;
  const type = buf.readUInt16LE(4);
  if (type === NLMSG_ERROR) return -buf.readInt32LE(16);
  const out = new Map<number, Buffer>();
  const end = Math.min(n, buf.readUInt32LE(0));
  for (let off = 20; off + 4 <= end;) {
    const len = buf.readUInt16LE(off);
    if (len < 4) break;
    out.set(buf.readUInt16LE(off + 2) & 0x3fff, Buffer.from(buf.subarray(off + 4, off + len)));
    off += (len + 3) & ~3;
  }
  return out;
}

/**
 * XDP features of a device in the calling thread's network namespace, or
 * undefined when the kernel cannot say (no netdev family, no such device).
 */
export function xdpFeatures(ifindex: number): bigint | undefined {
  const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
  if (fd < 0) return undefined;
  try {
    const tv = Buffer.alloc(16);
    tv.writeBigInt64LE(1n, 0); // a second: the kernel answers at once or not at all
    c.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, tv.length);
    const fam = ask(fd, message(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, [attr(CTRL_ATTR_FAMILY_NAME, Buffer.from('netdev\0'))]));
    if (typeof fam === 'number' || !fam.has(CTRL_ATTR_FAMILY_ID)) return undefined;
    const id = fam.get(CTRL_ATTR_FAMILY_ID)!.readUInt16LE(0);
    const idx = Buffer.alloc(4);
    idx.writeUInt32LE(ifindex);
    const dev = ask(fd, message(id, NETDEV_CMD_DEV_GET, 1, [attr(NETDEV_A_DEV_IFINDEX, idx)]));
    if (typeof dev === 'number') return undefined;
    const f = dev.get(NETDEV_A_DEV_XDP_FEATURES);
    return f && f.length >= 8 ? f.readBigUInt64LE(0) : undefined;
  } finally {
    c.close(fd);
  }
}

export function xdpFeatureNames(f: bigint): string[] {
  return Object.entries(XDP_ACT).filter(([, bit]) => (f & bit) !== 0n).map(([n]) => n.toLowerCase());
}
