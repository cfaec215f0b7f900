// What a port is and can do, asked of the kernel in the instance's
// namespace: rtnetlink through `ip -j -d link` (kind, veth peer, MTU, MAC)
// and the netdev family (XDP features). Used to choose and check modes
// (modes.ts) and by status to spot a port that became degraded.
import { inNetns } from '../bpf/sys';
import { linkShow, LinkState } from '../net/iproute';
import { xdpFeatures } from '../net/netdev';
import { PortFacts } from './modes';

interface LinkDetail extends LinkState {
  link?: string;
  link_index?: number;
  link_netnsid?: number;
  linkinfo?: { info_kind?: string };
}

export function portFacts(netns: string | undefined, name: string, ifindex: number): PortFacts & { link: LinkState } {
  const l = linkShow(netns, name) as LinkDetail;
  const kind = l.linkinfo?.info_kind;
  const facts: PortFacts & { link: LinkState } = { name, ifindex, link: l, xdpFeatures: inNetns(netns, () => xdpFeatures(ifindex)) };
  if (kind) facts.kind = kind;
  if (kind === 'veth') {
    facts.vethPeer = l.link_netnsid === undefined
      ? { name: l.link, sameNetns: true }
      : { ifindex: l.link_index, sameNetns: false };
  }
  return facts;
}
