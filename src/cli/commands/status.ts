import type { InstanceStatus } from '../../index';

const HOOK_TEXT: Record<string, string> = { native: 'XDP native', generic: 'XDP generic', tc: 'TC (tcx)' };

export function printStatus(list: InstanceStatus[]): void {
  if (!list.length) { process.stdout.write('no l2bpf instance is attached\n'); return; }
  for (const s of list) {
    process.stdout.write(`${s.instance}: ${s.state}, mode ${s.requested ?? '?'}${s.netns ? `, namespace ${s.netns}` : ''}, since ${s.since ?? '?'}\n`);
    for (const p of s.ports) {
      const hook = p.mode ? HOOK_TEXT[p.mode] ?? p.mode : '?';
      process.stdout.write(`  ${p.name.padEnd(15)} ifindex ${p.ifindex}  ${hook.padEnd(11)} ${p.linkId ? `link ${p.linkId}  program ${p.program} (id ${p.progId})` : 'not attached'}\n`);
      if (p.reason) process.stdout.write(`  ${''.padEnd(15)} ${p.reason}\n`);
    }
    process.stdout.write(`  pins: ${s.pinDir}\n`);
    for (const x of s.problems) process.stdout.write(`  problem: ${x}\n`);
  }
}
