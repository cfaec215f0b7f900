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

export function routingSysctls(port: string, markIif: boolean): SysctlChanges {
  const c: SysctlChanges = { forwardingSet: false, acceptLocalSet: false, rpFilterWas: -1 };
  if (read(port, 'forwarding') === 0) { write(port, 'forwarding', 1); c.forwardingSet = true; }
  if (!markIif) return c;
  if (read(port, 'accept_local') === 0) { write(port, 'accept_local', 1); c.acceptLocalSet = true; }
  // the kernel uses the larger of all's and the port's value: loose on the port wins over strict in all
  if (Math.max(read(port, 'rp_filter'), read('all', 'rp_filter')) === 1) {
    c.rpFilterWas = read(port, 'rp_filter');
    write(port, 'rp_filter', 2);
  }
  return c;
}

export function restoreSysctls(port: string, c: SysctlChanges): void {
  if (c.forwardingSet) write(port, 'forwarding', 0);
  if (c.acceptLocalSet) write(port, 'accept_local', 0);
  if (c.rpFilterWas >= 0) write(port, 'rp_filter', c.rpFilterWas);
}
