// A tun device owned by this process (TUNSETIFF through koffi): it lives as
// long as the fd, so even a SIGKILLed daemon leaves no device behind. Reads
// wait in poll(2) on a koffi worker thread, never on the event loop.
import fs from 'fs';
import koffi from 'koffi';

const libc = koffi.load('libc.so.6');
const ioctl = libc.func('int ioctl(int fd, unsigned long req, _Inout_ uint8_t *arg)');
const poll = libc.func('int poll(_Inout_ uint8_t *fds, unsigned long n, int timeout)');
const TUNSETIFF = 0x400454ca;
const IFF_TUN = 0x0001, IFF_NO_PI = 0x1000;
const POLLIN = 1;

export class Tun {
  readonly fd: number;
  readonly name: string;
  private closed = false;
  private reading = false;

  /** Opens (creates) tun device `name`; a name ending in no digit gets the kernel's next (tun%d). */
  constructor(name: string) {
    const want = /\d$/.test(name) || name !== 'tun' ? name : 'tun%d';
    if (Buffer.byteLength(want) > 15) throw new RangeError(`dev ${name}: interface names have at most 15 bytes`);
    this.fd = fs.openSync('/dev/net/tun', fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    const ifr = Buffer.alloc(40);
    ifr.write(want, 0, 'latin1');
    ifr.writeUInt16LE(IFF_TUN | IFF_NO_PI, 16);
    if (ioctl(this.fd, TUNSETIFF, ifr) !== 0) {
      const errno = koffi.errno();
      fs.closeSync(this.fd);
      throw new Error(`cannot create tun device ${want}: errno ${errno}${errno === 16 ? ' (busy: another process has it)' : ''}`);
    }
    this.name = ifr.subarray(0, 16).toString('latin1').replace(/\0.*$/s, '');
  }

  write(packet: Buffer): boolean {
    try {
      fs.writeSync(this.fd, packet);
      return true;
    } catch {
      return false; // the device is down or its queue full: the packet is lost, as on a link
    }
  }

  /** Calls onPacket for every packet the kernel routes into the device, until close(). */
  read(onPacket: (p: Buffer) => void): void {
    if (this.reading) return;
    this.reading = true;
    const pfd = Buffer.alloc(8);
    const buf = Buffer.alloc(65536);
    const step = (): void => {
      if (this.closed) return;
      pfd.writeInt32LE(this.fd, 0); pfd.writeInt16LE(POLLIN, 4); pfd.writeInt16LE(0, 6);
      poll.async(pfd, 1, 200, (err: unknown, n: number) => {
        if (this.closed) return;
        if (!err && n > 0) {
          for (;;) {
            let len: number;
            try { len = fs.readSync(this.fd, buf, 0, buf.length, null); } catch { break; } // EAGAIN: drained
            if (len <= 0) break;
            onPacket(Buffer.from(buf.subarray(0, len)));
          }
        }
        step();
      });
    };
    step();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }
}
