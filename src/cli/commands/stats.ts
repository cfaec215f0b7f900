import { Opened, stats as readStats, Stats } from '../../index';
import { printJson, table } from '../output';

export function printStats(s: Stats, prev?: Stats): void {
  if (s.openvpn) {
    const rows = [['  client', 'rx pkts', 'rx bytes', 'tx pkts', 'tx bytes']];
    for (const c of s.openvpn.clients) rows.push([`  ${c.commonName} (peer-id ${c.peerId})`, `${c.rxPackets}`, `${c.rxBytes}`, `${c.txPackets}`, `${c.txBytes}`]);
    process.stdout.write(`instance ${s.instance} (OpenVPN server)\n${table(rows)}\ndata channel:\n`);
    process.stdout.write(`${table(Object.entries(s.openvpn.counts).map(([k, v]) => [`  ${k}`, `${v} pkts`]))}\n`);
    return;
  }
  if (s.router) {
    const r = s.router;
    process.stdout.write(`instance ${s.instance} (router): ${r.connections} of ${r.tableSize} connection-table entries in use (two per connection)\n`);
    const secs = prev ? (s.at - prev.at) / 1000 : 0;
    const rows = Object.entries(r.counts).filter(([, v]) => v > 0).map(([k, v]) => {
      const was = prev?.router?.counts[k];
      return [`  ${k}`, `${v} ${k.endsWith('_entries') ? 'entries' : 'pkts'}`, ...(prev && secs > 0 && was !== undefined ? [`${Math.round((v - was) / secs)}/s`] : [])];
    });
    process.stdout.write(rows.length ? `${table(rows)}\n` : '  nothing counted yet\n');
    return;
  }
  const secs = prev ? (s.at - prev.at) / 1000 : 0;
  const rate = (now: bigint, before?: bigint) => (prev && before !== undefined && secs > 0 ? `${Math.round(Number(now - before) / secs)}/s` : '');
  const rows = [['port', 'rx pkts', 'rx bytes', 'fwd pkts', 'fwd bytes', 'drop pkts', 'drop bytes', ...(prev ? ['rx rate', 'fwd rate'] : [])]];
  for (const p of s.ports) {
    const q = prev?.ports.find((x) => x.ifindex === p.ifindex);
    rows.push([p.port, `${p.rx_packets}`, `${p.rx_bytes}`, `${p.fwd_packets}`, `${p.fwd_bytes}`, `${p.drop_packets}`, `${p.drop_bytes}`,
      ...(prev ? [rate(p.rx_packets, q?.rx_packets), rate(p.fwd_packets, q?.fwd_packets)] : [])]);
  }
  process.stdout.write(`instance ${s.instance}\n${table(rows)}\n`);
  if (s.tunnels.length) {
    const rows = [['tunnel', 'remote', 'encap pkts', 'encap bytes', 'decap pkts', 'decap bytes', 'to neigh', 'drops']];
    for (const t of s.tunnels) {
      rows.push([t.name, t.remote, `${t.encap_packets}`, `${t.encap_bytes}`, `${t.decap_packets}`, `${t.decap_bytes}`, `${t.decap_neigh}`,
        t.drops.map((d) => `${d.reason}=${d.packets}`).join(' ') || '-']);
    }
    process.stdout.write(`${table(rows)}\n`);
  }
  const drops = s.drops.filter((d) => d.packets > 0n);
  if (!drops.length) process.stdout.write('drops: none\n');
  else process.stdout.write(`drops by reason:\n${table(drops.map((d) => [`  ${d.reason}`, `${d.packets} pkts`, `${d.bytes} bytes`]))}\n`);
}

export async function watchStats(inst: Opened, interval: number, count: number, json: boolean): Promise<void> {
  let prev: Stats | undefined;
  for (let i = 0; i < count; i++) {
    const s = readStats(inst);
    if (json) printJson(s);
    else {
      if (process.stdout.isTTY) process.stdout.write('\x1b[H\x1b[2J');
      printStats(s, prev);
    }
    prev = s;
    if (i + 1 < count) await new Promise((r) => setTimeout(r, interval * 1000));
  }
}
