// attach/detach load programs, create links and may switch namespaces.
import fs from 'fs';
import { UsageError } from '../errors';

const CAP_NET_ADMIN = 12n;
const CAP_SYS_ADMIN = 21n;
const CAP_BPF = 39n;

export function effectiveCaps(): bigint {
  const m = fs.readFileSync('/proc/self/status', 'utf8').match(/^CapEff:\s*([0-9a-f]+)/m);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

/** CAP_NET_ADMIN plus CAP_BPF (or CAP_SYS_ADMIN); entering another
 * namespace (--netns) needs CAP_SYS_ADMIN. */
export function requirePrivilege(command: string, netns?: string, caps = effectiveCaps()): void {
  const has = (c: bigint) => ((caps >> c) & 1n) === 1n;
  const ok = has(CAP_NET_ADMIN) && (has(CAP_BPF) || has(CAP_SYS_ADMIN)) && (!netns || has(CAP_SYS_ADMIN));
  if (!ok) {
    throw new UsageError(`l2bpf ${command} needs root (CAP_NET_ADMIN, CAP_BPF${netns ? ', CAP_SYS_ADMIN' : ''})`,
      `run it as root: sudo l2bpf ${command} ...`);
  }
}
