// The per-port sysctls a routing instance needs, set by attach and put back
// by detach (only what attach itself changed). Called inside the instance's
// namespace: /proc/sys/net is the caller's namespace's.
//   forwarding     the kernel answers for the router (TTL exceeded, no route)
//                  and the FIB lookup refuses ports without it
//   accept_local   mark_iif hands translated packets to the kernel: a
//                  masqueraded source is the box's own address (else a martian)
//   rp_filter      strict (1) drops them too; loose (2) keeps the check
import fs from 'fs';

const conf = (port: string, key: string) => `/proc/sys/net/ipv4/conf/${port}/${key}`;
const read = (port: string, key: string) => Number(fs.readFileSync(conf(port, key), 'utf8').trim());
const write = (port: string, key: string, v: number) => fs.writeFileSync(conf(port, key), `${v}\n`);

/** What attach changed; rpFilterWas: the port's old rp_filter (-1: untouched). */
export interface SysctlChanges { forwardingSet: boolean; acceptLocalSet: boolean; rpFilterWas: number }

export const UNTOUCHED: SysctlChanges = { forwardingSet: false, acceptLocalSet: false, rpFilterWas: -1 };

/** Sets what the port needs given what an earlier attach already changed
 * (`was`); a re-attach without mark_iif puts accept_local and rp_filter
 * back. Returns the changes now in force and how to undo this call's. */
export function applySysctls(port: string, markIif: boolean, was: SysctlChanges = UNTOUCHED): { now: SysctlChanges; undo: () => void } {
  const now = { ...was };
  const undo: Array<() => void> = [];
  const set = (key: string, v: number) => { const old = read(port, key); write(port, key, v); undo.push(() => write(port, key, old)); };
  const back = () => [...undo].reverse().forEach((f) => f());
  try {
    change(port, markIif, was, now, set);
  } catch (e) {
    back(); // what this call had changed before the failure
    throw e;
  }
  return { now, undo: back };
}

function change(port: string, markIif: boolean, was: SysctlChanges, now: SysctlChanges, set: (key: string, v: number) => void): void {
  if (!was.forwardingSet && read(port, 'forwarding') === 0) { set('forwarding', 1); now.forwardingSet = true; }
  if (markIif) {
    if (!was.acceptLocalSet && read(port, 'accept_local') === 0) { set('accept_local', 1); now.acceptLocalSet = true; }
    // the kernel uses the larger of all's and the port's value: loose on the port wins over strict in all
    if (was.rpFilterWas < 0 && Math.max(read(port, 'rp_filter'), read('all', 'rp_filter')) === 1) {
      now.rpFilterWas = read(port, 'rp_filter');
      set('rp_filter', 2);
    }
  } else {
    if (was.acceptLocalSet) { set('accept_local', 0); now.acceptLocalSet = false; }
    if (was.rpFilterWas >= 0) { set('rp_filter', was.rpFilterWas); now.rpFilterWas = -1; }
  }
}

/** detach: what attach changed goes back. */
export function restoreSysctls(port: string, c: SysctlChanges): void {
  if (c.forwardingSet) write(port, 'forwarding', 0);
  if (c.acceptLocalSet) write(port, 'accept_local', 0);
  if (c.rpFilterWas >= 0) write(port, 'rp_filter', c.rpFilterWas);
}
