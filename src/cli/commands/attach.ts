import type { AttachResult, DetachResult, RouterAttachResult } from '../../index';

const out = (line: string) => process.stdout.write(`${line}\n`);
const HOOK_TEXT = { native: 'XDP native', generic: 'XDP generic', tc: 'TC (tcx)' };

export function printAttach(r: AttachResult): void {
  const where = r.netns ? ` (namespace ${r.netns})` : '';
  const verb = { attached: 'attached', updated: 'updated', unchanged: 'unchanged' }[r.action];
  out(`${verb}: instance ${r.instance} wires ${r.ports[0].name} <-> ${r.ports[1].name}${where}, mode ${r.requested}`);
  for (const p of r.ports) out(`  ${p.name}: ${HOOK_TEXT[p.mode]}, ifindex ${p.ifindex}, link ${p.linkId}, program ${p.progId} -- ${p.reason}`);
  if (r.segmenter) out(`  ${r.segmenter.name}: segmenter (GSO packets a tunnel takes in segments: checksum, QinQ), link ${r.segmenter.linkId}`);
  out(`  pins: ${r.pinDir}`);
}

export function printDetach(r: DetachResult[]): void {
  if (!r.length) out('nothing to detach');
  for (const x of r) out(`detached: instance ${x.instance}${x.ports.length ? ` (${x.ports.join(' and ')}${x.netns ? ` in ${x.netns}` : ''})` : ''}`);
}

export function printRouterAttach(r: RouterAttachResult): void {
  const where = r.netns ? ` (namespace ${r.netns})` : '';
  out(`${r.action}: instance ${r.instance} routes between ${r.ports.map((p) => p.name).join(', ')}${where}`);
  for (const p of r.ports) {
    out(`  ${p.name}: TC (tcx ingress), ifindex ${p.ifindex}, ${p.addr4 ?? 'no IPv4 address'}, link ${p.linkId}, program ${p.progId}${p.changed.length ? ` -- set ${p.changed.join(', ')} (restored on detach)` : ''}`);
  }
  out(`  nat: ${r.nat.snat} snat, ${r.nat.dnat} dnat; policy: ${r.policy} rules; connection table: ${r.conntrack} entries${r.markIif ? '; mark_iif: the kernel forwards (nftables sees meta mark)' : ''}`);
  out(`  pins: ${r.pinDir}`);
}
