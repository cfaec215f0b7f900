// Which interfaces clients arrive on when --uplink is not given: the one
// holding `local`, else every interface with an IPv4 address except
// loopback, the tun device and l2bpf's own segmenter pairs.
import { execFileSync } from 'child_process';

interface Addr { ifname: string; addr_info?: Array<{ family: string; local: string }> }

export function defaultUplinks(local: string | undefined, tun: string): string[] {
  const list = JSON.parse(execFileSync('ip', ['-j', 'addr', 'show'], { encoding: 'utf8' })) as Addr[];
  const v4 = list.filter((i) => i.addr_info?.some((a) => a.family === 'inet'));
  if (local) {
    const holder = v4.filter((i) => i.addr_info!.some((a) => a.local === local));
    if (holder.length) return holder.map((i) => i.ifname);
  }
  const out = v4.map((i) => i.ifname).filter((n) => n !== 'lo' && n !== tun && !/^l2s[0-9a-f]{8}[io]$/.test(n));
  if (!out.length) throw new Error('no interface with an IPv4 address to take clients on: name one with --uplink');
  return out;
}
