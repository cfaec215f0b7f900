// The `status FILE` of OpenVPN 2.6 (multi.c multi_print_status) in its three
// versions, so existing OpenVPN exporters and monitors read l2bpf's.
import fs from 'fs';
import type { PeerInfo } from './server';

const stamp = (ms: number) => {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
};
const sec = (ms: number) => String(Math.floor(ms / 1000));

export function statusText(version: 1 | 2 | 3, peers: PeerInfo[], now = Date.now()): string {
  if (version === 1) {
    return [
      'OpenVPN CLIENT LIST', `Updated,${stamp(now)}`, 'Common Name,Real Address,Bytes Received,Bytes Sent,Connected Since',
      ...peers.map((p) => `${p.commonName},${p.realAddress},${p.rxBytes},${p.txBytes},${stamp(p.connectedSince)}`),
      'ROUTING TABLE', 'Virtual Address,Common Name,Real Address,Last Ref',
      ...peers.flatMap((p) => [p.vpn4, p.vpn6].filter(Boolean).map((v) => `${v},${p.commonName},${p.realAddress},${stamp(p.lastActivity)}`)),
      'GLOBAL STATS', 'Max bcast/mcast queue length,0', 'END', '',
    ].join('\n');
  }
  const s = version === 3 ? '\t' : ',';
  const row = (...f: string[]) => f.join(s);
  return [
    row('TITLE', 'OpenVPN 2.6 compatible (l2bpf, data channel in BPF)'), row('TIME', stamp(now), sec(now)),
    row('HEADER', 'CLIENT_LIST', 'Common Name', 'Real Address', 'Virtual Address', 'Virtual IPv6 Address', 'Bytes Received', 'Bytes Sent',
      'Connected Since', 'Connected Since (time_t)', 'Username', 'Client ID', 'Peer ID', 'Data Channel Cipher'),
    ...peers.map((p) => row('CLIENT_LIST', p.commonName, p.realAddress, p.vpn4 ?? '', p.vpn6 ?? '', String(p.rxBytes), String(p.txBytes),
      stamp(p.connectedSince), sec(p.connectedSince), 'UNDEF', String(p.peerId), String(p.peerId), p.cipher)),
    row('HEADER', 'ROUTING_TABLE', 'Virtual Address', 'Common Name', 'Real Address', 'Last Ref', 'Last Ref (time_t)'),
    ...peers.flatMap((p) => [p.vpn4, p.vpn6].filter(Boolean).map((v) => row('ROUTING_TABLE', v as string, p.commonName, p.realAddress, stamp(p.lastActivity), sec(p.lastActivity)))),
    row('GLOBAL_STATS', 'Max bcast/mcast queue length', '0'), row('GLOBAL_STATS', 'dco_enabled', '0'), 'END', '',
  ].join('\n');
}

/** Writes the file whole (a reader never sees half of it). */
export function writeStatus(file: string, version: 1 | 2 | 3, peers: PeerInfo[]): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, statusText(version, peers));
  fs.renameSync(tmp, file);
}
