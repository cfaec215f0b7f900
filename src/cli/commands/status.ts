import fs from 'fs';
import { progInfoById } from '../../bpf/info';
import { inNetns, netnsPath, ifIndex } from '../../bpf/sys';
import * as bpf from '../../bpf/libbpf';
import { ourLink } from '../../loader/ports';
import { listInstances } from '../../loader/paths';
import { openInstance } from '../../inspect/instance';

export interface PortStatus { name: string; ifindex: number; present: boolean; linkId?: number; progId?: number; program?: string }
export interface InstanceStatus {
  instance: string; state: 'attached' | 'degraded'; netns?: string; mode?: string;
  since?: string; updated?: string; pinDir: string; ports: PortStatus[]; problems: string[];
}

export function runStatus(root: string): InstanceStatus[] {
  return listInstances(root).map((name) => {
    const inst = openInstance(root, name);
    const r = inst.record;
    const problems: string[] = [];
    if (!r) problems.push('no instance record (attach did not finish?)');
    const nsOk = !r?.netns || fs.existsSync(netnsPath(r.netns));
    if (!nsOk) problems.push(`namespace ${r!.netns} is gone`);
    const ports: PortStatus[] = (r?.ifnames ?? []).map((n, i) => {
      const st: PortStatus = { name: n, ifindex: r!.ports[i], present: false };
      if (!nsOk) return st;
      inNetns(r!.netns, () => {
        st.present = ifIndex(n) === r!.ports[i];
        const l = ourLink(inst.paths.links, n);
        if (l) {
          bpf.closeFd(l.fd);
          if (l.ifindex) { st.linkId = l.id; st.progId = l.progId; st.program = progInfoById(l.progId)?.name; }
        }
      });
      if (!st.present) problems.push(`port ${n} is gone or was re-created`);
      else if (!st.linkId) problems.push(`port ${n} has no active l2bpf link`);
      return st;
    });
    const iso = (s?: number) => (s ? new Date(s * 1000).toISOString() : undefined);
    return {
      instance: name, state: problems.length ? 'degraded' : 'attached', netns: r?.netns, mode: r?.mode,
      since: iso(r?.attachedAt), updated: iso(r?.updatedAt), pinDir: inst.paths.dir, ports, problems,
    };
  });
}

export function printStatus(list: InstanceStatus[]): void {
  if (!list.length) { process.stdout.write('no l2bpf instance is attached\n'); return; }
  for (const s of list) {
    process.stdout.write(`${s.instance}: ${s.state}, XDP ${s.mode ?? '?'}${s.netns ? `, namespace ${s.netns}` : ''}, since ${s.since ?? '?'}\n`);
    for (const p of s.ports) {
      process.stdout.write(`  ${p.name.padEnd(15)} ifindex ${p.ifindex}  ${p.linkId ? `link ${p.linkId}  program ${p.program} (id ${p.progId})` : 'not attached'}\n`);
    }
    process.stdout.write(`  pins: ${s.pinDir}\n`);
    for (const x of s.problems) process.stdout.write(`  problem: ${x}\n`);
  }
}
