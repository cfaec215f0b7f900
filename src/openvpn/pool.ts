// Client addresses for `topology subnet` (OpenVPN's ifconfig pool): the
// server takes the first host of `server NET MASK`, clients the next ones up
// to broadcast - 2; with `server-ipv6 P/n` the server has P::1 and client i
// the i-th address from P::1000 (OpenVPN's own choice).
import { isIPv4 } from 'net';
import { formatIpv6 } from '../btf';
import { parseAddress } from '../net/address';

const v4 = (s: string) => s.split('.').reduce((a, b) => a * 256 + Number(b), 0);
const v4s = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');

const v6 = (s: string): bigint => (parseAddress(s)?.bytes ?? []).reduce((n, x) => (n << 8n) | BigInt(x), 0n);
function v6s(n: bigint): string {
  const b = Buffer.alloc(16);
  for (let i = 15; i >= 0; i--, n >>= 8n) b[i] = Number(n & 0xffn);
  return formatIpv6(b);
}

export interface Lease { ip4: string; ip6?: string; index: number }

export class AddressPool {
  readonly server4: string;
  readonly netmask: string;
  readonly prefix4: number;
  readonly server6?: string;
  readonly prefix6?: number;
  private readonly first: number;
  private readonly size: number;
  private readonly base6?: bigint;
  private readonly used = new Set<number>();

  constructor(network: string, netmask: string, ipv6?: string) {
    if (!isIPv4(network) || !isIPv4(netmask)) throw new RangeError('server NET MASK must be IPv4');
    const mask = v4(netmask);
    this.prefix4 = 32 - Math.log2(2 ** 32 - mask);
    if (!Number.isInteger(this.prefix4) || this.prefix4 > 29) throw new RangeError(`netmask ${netmask} leaves no room for clients (a /29 or larger is needed)`);
    const net = v4(network) & mask >>> 0;
    this.netmask = netmask;
    this.server4 = v4s(net + 1);
    this.first = net + 2;
    this.size = 2 ** (32 - this.prefix4) - 4; // .1 is the server, the last two kept (broadcast - 1, broadcast)
    if (ipv6) {
      const [p, n] = ipv6.split('/');
      this.prefix6 = Number(n);
      const base = v6(p) & (((1n << 128n) - 1n) << BigInt(128 - this.prefix6)) & ((1n << 128n) - 1n);
      this.server6 = v6s(base + 1n);
      this.base6 = base + 0x1000n;
    }
  }

  /** The next free lease, or undefined when the pool is used up. */
  lease(): Lease | undefined {
    for (let i = 0; i < this.size; i++) {
      if (this.used.has(i)) continue;
      this.used.add(i);
      return { index: i, ip4: v4s(this.first + i), ip6: this.base6 !== undefined ? v6s(this.base6 + BigInt(i)) : undefined };
    }
    return undefined;
  }

  release(l: Lease): void { this.used.delete(l.index); }
}
