// Which hook each port gets: `auto` picks per port from what the device
// and its peer can do; an explicit mode is checked against the same facts
// and refused (exit 2) when it would drop traffic, unless --force. Pure:
// the facts come from src/loader/facts.ts.
import { UsageError } from '../errors';
import { XDP_ACT } from '../net/netdev';

export const MODE_REQUESTS = ['auto', 'native', 'generic', 'tc'] as const;
export type ModeRequest = (typeof MODE_REQUESTS)[number];
/** The hook a port's frames are handled on. */
export type Hook = 'native' | 'generic' | 'tc';

export interface PortFacts {
  name: string;
  ifindex: number;
  /** rtnetlink info_kind (veth, bridge, vxlan, ...); undefined for a NIC. */
  kind?: string;
  /** The other end of a veth: its name when it is in this namespace. */
  vethPeer?: { name?: string; ifindex?: number; sameNetns: boolean };
  /** NETDEV_XDP_ACT_* bits; undefined when the kernel cannot say. */
  xdpFeatures?: bigint;
}

export interface PortPlan { mode: Hook; reason: string; forced: boolean; warnings: string[] }

const has = (f: bigint | undefined, bit: bigint) => f !== undefined && (f & bit) !== 0n;
const peerName = (p: PortFacts) => p.vethPeer?.name ?? (p.vethPeer?.ifindex ? `ifindex ${p.vethPeer.ifindex} in another namespace` : 'its peer');

/** eth8 and eth9 as the two ends of one veth pair: every frame loops. */
export function refuseVethLoop(a: PortFacts, b: PortFacts): void {
  const ends = (x: PortFacts, y: PortFacts) => x.kind === 'veth' && x.vethPeer?.sameNetns === true && x.vethPeer.name === y.name;
  if (ends(a, b) || ends(b, a)) {
    throw new UsageError(`${a.name} and ${b.name} are the two ends of one veth pair: wired together, every frame comes straight back (a packet storm)`,
      'wire two ports that lead to different hosts');
  }
}

/** Why an XDP redirect into `target` cannot work, or undefined when it can (or nobody can say). */
function cannotTakeRedirects(target: PortFacts): string | undefined {
  if (target.xdpFeatures === undefined || has(target.xdpFeatures, XDP_ACT.NDO_XMIT)) return undefined;
  if (target.kind === 'veth') {
    return `${target.name} cannot take XDP-redirected frames: its veth peer (${peerName(target)}) runs no XDP program and has GRO off`;
  }
  return `${target.name} cannot take XDP-redirected frames (its driver has no ndo_xdp_xmit)`;
}

function remedies(target: PortFacts): string {
  const peer = target.kind === 'veth' ? `turn GRO on at ${peerName(target)} (ethtool -K <peer> gro on) or attach an XDP program there; ` : '';
  return `${peer}or use --mode tc (or auto); --force attaches anyway`;
}

export function planModes(req: ModeRequest, ports: [PortFacts, PortFacts], force: boolean): [PortPlan, PortPlan] {
  refuseVethLoop(ports[0], ports[1]);
  const plan = (i: number): PortPlan => {
    const me = ports[i], target = ports[1 - i];
    if (req === 'tc') return { mode: 'tc', reason: 'tc (asked for)', forced: false, warnings: [] };
    if (req === 'generic') {
      const warnings = me.kind === 'veth'
        ? [`${me.name}: generic XDP on a veth loses the checksum-offload state of the frames it forwards: TCP from hosts with tx checksum offload (the default) stalls; --mode tc keeps it`]
        : [];
      return { mode: 'generic', reason: 'generic XDP (asked for)', forced: false, warnings };
    }
    const why = cannotTakeRedirects(target);
    if (req === 'native') {
      if (me.xdpFeatures !== undefined && !has(me.xdpFeatures, XDP_ACT.BASIC)) {
        throw new UsageError(`port ${me.name} does not support native XDP (its driver has none)`, 'try --mode tc (or auto)');
      }
      if (why && !force) throw new UsageError(`native mode: ${why}, so every frame from ${me.name} would be dropped`, remedies(target));
      return { mode: 'native', reason: 'native XDP (asked for)', forced: Boolean(why), warnings: why ? [`--force: ${why}; frames from ${me.name} will be dropped`] : [] };
    }
    // auto
    if (me.kind) return { mode: 'tc', reason: `tc: ${me.kind} is a virtual device (TC keeps GSO, checksum offload)`, forced: false, warnings: [] };
    if (!has(me.xdpFeatures, XDP_ACT.BASIC) || !has(me.xdpFeatures, XDP_ACT.REDIRECT)) {
      return { mode: 'tc', reason: `tc: ${me.xdpFeatures === undefined ? 'the kernel does not say whether the driver has native XDP' : 'the driver has no native XDP'}`, forced: false, warnings: [] };
    }
    if (why || target.xdpFeatures === undefined) return { mode: 'tc', reason: `tc: ${why ?? `nobody can say whether ${target.name} takes XDP-redirected frames`}`, forced: false, warnings: [] };
    return { mode: 'native', reason: `native XDP: the driver has it and ${target.name} takes redirected frames`, forced: false, warnings: [] };
  };
  return [plan(0), plan(1)];
}
