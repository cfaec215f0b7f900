import { configHash, loadConfig, mergeCliOverConfig, Config } from '../../config';
import { attach, AttachResult } from '../../loader/attach';
import { log } from '../../log';

export interface AttachFlags { config?: string; netns?: string; mode?: string; name?: string; force?: boolean; pinRoot: string }

export function runAttach(ports: string[], flags: AttachFlags): AttachResult {
  const file: Config = flags.config ? loadConfig(flags.config) : {};
  const eff = mergeCliOverConfig(file, { ports: ports.length ? ports : undefined, mode: flags.mode, netns: flags.netns, instance: flags.name }, flags.config);
  const res = attach({
    ports: eff.ports, config: eff, netns: eff.netns, mode: eff.mode, name: eff.instance, force: Boolean(flags.force),
    configHash: configHash(eff), pinRoot: flags.pinRoot,
  });
  return res;
}

const HOOK_TEXT = { native: 'XDP native', generic: 'XDP generic', tc: 'TC (tcx)' };

export function printAttach(r: AttachResult): void {
  const where = r.netns ? ` (namespace ${r.netns})` : '';
  const verb = { attached: 'attached', updated: 'updated', unchanged: 'unchanged' }[r.action];
  log.info(`${verb}: instance ${r.instance} wires ${r.ports[0].name} <-> ${r.ports[1].name}${where}, mode ${r.requested}`);
  for (const p of r.ports) log.info(`  ${p.name}: ${HOOK_TEXT[p.mode]}, ifindex ${p.ifindex}, link ${p.linkId}, program ${p.progId} -- ${p.reason}`);
  if (r.segmenter) log.info(`  ${r.segmenter.name}: segmenter (GSO packets a tunnel takes in segments: checksum, QinQ), link ${r.segmenter.linkId}`);
  log.info(`  pins: ${r.pinDir}`);
}
