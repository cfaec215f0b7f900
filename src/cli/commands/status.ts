import type { InstanceStatus } from '../../index';
import { table } from '../output';

const HOOK_TEXT: Record<string, string> = { native: 'XDP native', generic: 'XDP generic', tc: 'TC (tcx)' };

export function printStatus(list: InstanceStatus[]): void {
  if (!list.length) { process.stdout.write('no l2bpf instance is attached\n'); return; }
  for (const s of list) {
    process.stdout.write(`${s.instance}: ${s.state}, mode ${s.requested ?? '?'}${s.netns ? `, namespace ${s.netns}` : ''}, since ${s.since ?? '?'}\n`);
    if (s.openvpn) printOpenvpn(s.openvpn);
    for (const p of s.ports) {
      const hook = p.mode ? HOOK_TEXT[p.mode] ?? p.mode : '?';
      process.stdout.write(`  ${p.name.padEnd(15)} ifindex ${p.ifindex}  ${hook.padEnd(11)} ${p.linkId ? `link ${p.linkId}  program ${p.program} (id ${p.progId})` : 'not attached'}\n`);
      if (p.reason) process.stdout.write(`  ${''.padEnd(15)} ${p.reason}\n`);
    }
    process.stdout.write(`  pins: ${s.pinDir}\n`);
    for (const x of s.problems) process.stdout.write(`  problem: ${x}\n`);
  }
}

const when = (ms: number) => (ms ? new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z') : '-');
function printOpenvpn(o: NonNullable<InstanceStatus['openvpn']>): void {
  process.stdout.write(`  OpenVPN server, pid ${o.pid}${o.alive ? '' : ' (gone)'}, UDP port ${o.port}, ${o.tun}, config ${o.config}\n`);
  if (!o.clients.length) { process.stdout.write('  no clients\n'); return; }
  const rows = [['  client', 'real address', 'VPN addresses', 'cipher', 'keys', 'rx pkts', 'rx bytes', 'tx pkts', 'tx bytes', 'connected since', 'last activity']];
  for (const c of o.clients) {
    rows.push([`  ${c.commonName}`, c.realAddress, [c.vpn4, c.vpn6].filter(Boolean).join(' '), c.cipher, c.keyIds.join(','),
      `${c.rxPackets}`, `${c.rxBytes}`, `${c.txPackets}`, `${c.txBytes}`, when(c.connectedSince), when(c.lastActivity)]);
  }
  process.stdout.write(`${table(rows)}\n`);
}
