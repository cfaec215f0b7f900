// status: every instance, its ports, hooks, links and programs, and what is
// wrong with it (state `degraded` with the problems).
import fs from 'fs';
import { progInfoById } from '../bpf/info';
import { inNetns, netnsPath, ifIndex } from '../bpf/sys';
import * as bpf from '../bpf/libbpf';
import { ourLink } from '../loader/hooks';
import { listInstances } from '../instance/paths';
import { wirePorts } from '../instance/record';
import { xdpFeatures, XDP_ACT } from '../net/netdev';
import { openInstance } from './instance';
import { ovpnClients, OvpnClientRow, ovpnRecord } from '../openvpn/inspect';
import { readRouterRecord } from '../router/record';

export interface PortStatus {
  name: string; ifindex: number; present: boolean; mode?: string; reason?: string; segmenter?: boolean;
  linkId?: number; progId?: number; program?: string;
}
export interface InstanceStatus {
  instance: string; state: 'attached' | 'degraded'; netns?: string; requested?: string;
  since?: string; updated?: string; pinDir: string; ports: PortStatus[]; problems: string[];
  /** An `l2bpf openvpn` server: its daemon and clients. */
  openvpn?: { pid: number; alive: boolean; port: number; tun: string; config: string; clients: OvpnClientRow[] };
}

export function runStatus(root: string): InstanceStatus[] {
  return listInstances(root).map((name) => {
    const inst = openInstance(root, name);
    const ov = ovpnRecord(inst.paths);
    if (ov) {
      const problems = ov.alive ? [] : [`the server process (pid ${ov.pid}) is gone: l2bpf detach --name ${name} removes what it left`];
      return {
        instance: name, state: problems.length ? 'degraded' : 'attached', netns: ov.netns, requested: 'openvpn', since: new Date(ov.startedAt).toISOString(),
        pinDir: inst.paths.dir, ports: [], problems,
        openvpn: { pid: ov.pid, alive: ov.alive, port: ov.port, tun: ov.tun, config: ov.config, clients: ovpnClients(inst.paths) },
      };
    }
    const rr = readRouterRecord(inst.paths);
    if (rr) return routerStatus(name, inst.paths, rr);
    const r = inst.record;
    const problems: string[] = [];
    if (!r) problems.push('no instance record (attach did not finish?)');
    const nsOk = !r?.netns || fs.existsSync(netnsPath(r.netns));
    if (!nsOk) problems.push(`namespace ${r!.netns} is gone`);
    const wire = r ? wirePorts(r) : [];
    const ports: PortStatus[] = (r?.attachments ?? []).map((a) => {
      const st: PortStatus = { name: a.ifname, ifindex: a.ifindex, present: false, mode: a.mode, reason: a.reason, ...(a.segmenter ? { segmenter: true } : {}) };
      if (!nsOk) return st;
      inNetns(r!.netns, () => {
        st.present = ifIndex(a.ifname) === a.ifindex;
        const l = ourLink(inst.paths.links, a.ifname);
        if (l) {
          bpf.closeFd(l.fd);
          if (l.ifindex) { st.linkId = l.id; st.progId = l.progId; st.program = progInfoById(l.progId)?.name; }
        }
        // XDP redirects into the other port need it to take them: a veth
        // whose peer loses GRO (or its XDP program) silently stops.
        const other = wire.find((w) => w !== a);
        if (a.mode === 'native' && other && st.present) {
          const f = xdpFeatures(other.ifindex);
          if (f !== undefined && (f & XDP_ACT.NDO_XMIT) === 0n) {
            problems.push(`${other.ifname} no longer takes XDP-redirected frames (a veth whose peer lost GRO or its XDP program): frames from ${a.ifname} are dropped; re-attach with --mode tc (or auto), or turn GRO on at the peer`);
          }
        }
      });
      if (!st.present) problems.push(`port ${a.ifname} is gone or was re-created`);
      else if (!st.linkId) problems.push(`port ${a.ifname} has no active l2bpf link`);
      return st;
    });
    const iso = (s?: number) => (s ? new Date(s * 1000).toISOString() : undefined);
    return {
      instance: name, state: problems.length ? 'degraded' : 'attached', netns: r?.netns, requested: r?.requested,
      since: iso(r?.attachedAt), updated: iso(r?.updatedAt), pinDir: inst.paths.dir, ports, problems,
    };
  });
}

/** A routing instance: every port present and running our tcx link. */
function routerStatus(name: string, paths: ReturnType<typeof openInstance>['paths'], rr: NonNullable<ReturnType<typeof readRouterRecord>>): InstanceStatus {
  const problems: string[] = [];
  const nsOk = !rr.netns || fs.existsSync(netnsPath(rr.netns));
  if (!nsOk) problems.push(`namespace ${rr.netns} is gone`);
  const ports = rr.ports.map((x): PortStatus => {
    const st: PortStatus = { name: x.ifname, ifindex: x.ifindex, present: false, mode: 'tc', reason: 'router' };
    if (!nsOk) return st;
    inNetns(rr.netns, () => {
      st.present = ifIndex(x.ifname) === x.ifindex;
      const l = ourLink(paths.links, x.ifname);
      if (l) {
        bpf.closeFd(l.fd);
        if (l.ifindex) { st.linkId = l.id; st.progId = l.progId; st.program = progInfoById(l.progId)?.name; }
      }
    });
    if (!st.present) problems.push(`port ${x.ifname} is gone or was re-created`);
    else if (!st.linkId) problems.push(`port ${x.ifname} has no active l2bpf link`);
    return st;
  });
  const iso = (s: number) => new Date(s * 1000).toISOString();
  return {
    instance: name, state: problems.length ? 'degraded' : 'attached', netns: rr.netns, requested: 'router',
    since: iso(rr.attachedAt), updated: iso(rr.updatedAt), pinDir: paths.dir, ports, problems,
  };
}
