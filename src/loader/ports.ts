// Do the ports exist? All calls expect to run inside the instance's network
// namespace (see inNetns).
import { ifIndex } from '../bpf/sys';
import { UsageError } from '../errors';

export function resolvePorts(names: [string, string], netns?: string): [number, number] {
  if (names[0] === names[1]) {
    throw new UsageError(`both ports are ${names[0]}: a wire needs two different ports`);
  }
  const where = netns ? ` in network namespace ${netns}` : '';
  const idx = names.map((n) => {
    const i = ifIndex(n);
    if (!i) throw new UsageError(`port ${n} does not exist${where}`, `check the name with: ip ${netns ? `-n ${netns} ` : ''}link`);
    return i;
  });
  return [idx[0], idx[1]];
}
