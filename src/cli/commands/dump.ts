import type { MapDump } from '../../index';

export function printDump(maps: MapDump[]): void {
  for (const m of maps) {
    process.stdout.write(`${m.name} (${m.type}${m.btf ? '' : ', no BTF: the kernel allows none for this map type'}, ${m.entries.length} entries)\n`);
    for (const line of m.text) process.stdout.write(`  ${line}\n`);
  }
}
