#!/usr/bin/env node
// Thin shell over src/index.ts: parse argv, call, print text or --json, exit code.
import { Command, CommanderError, Option } from 'commander';
import { log } from '../log';
import { pinRoot } from '../loader/paths';
import { detach, selectInstances } from '../loader/detach';
import { pickInstance, openInstance } from '../inspect/instance';
import { dumpMaps } from '../inspect/dump';
import { readStats } from '../inspect/stats';
import { printAttach, runAttach } from './commands/attach';
import { printStatus, runStatus } from './commands/status';
import { printStats, watchStats } from './commands/stats';
import { printJson, reportError } from './output';

const program = new Command();
program
  .name('l2bpf')
  .description('A transparent bump in the wire: XDP or TC bridges two ports; maps readable with dump/stats')
  .option('-v, --verbose', 'show libbpf and debug output')
  .addOption(new Option('--pin-root <dir>', 'bpffs folder holding all instances').default(undefined).hideHelp())
  .showHelpAfterError('(l2bpf --help lists the commands)')
  .exitOverride() // usage errors exit 2, like our own refusals
  .hook('preAction', (cmd) => { if (cmd.opts().verbose) log.setLevel('debug'); });

const root = () => pinRoot(program.opts().pinRoot);
let json = false;
function action<A extends unknown[]>(fn: (...args: A) => void | Promise<void>) {
  return (...args: A) => {
    const opts = args[args.length - 2] as { json?: boolean };
    json = Boolean(opts?.json);
    return fn(...args); // returned so that parseAsync sees async failures
  };
}

program.command('attach')
  .description('wire PORT1 and PORT2 together (XDP or TC redirect both ways)')
  .argument('[ports...]', 'two interfaces, e.g. eth2 eth3 (or `ports:` in the config)')
  .option('-c, --config <file>', 'YAML config (l2bpf.yaml)')
  .option('--netns <name>', 'the ports live in this network namespace (pins stay here)')
  .addOption(new Option('--mode <mode>', 'hook per port: auto (default: native XDP on NICs that have it, TC on veths and other virtual devices), native, generic, tc').choices(['auto', 'native', 'generic', 'tc']))
  .option('--name <instance>', 'instance name (default: derived from namespace and ports)')
  .option('--force', 'replace an XDP program that is not ours; attach native mode where it would drop frames')
  .option('--json', 'print the result as JSON')
  .action(action((ports: string[], o: { config?: string; netns?: string; mode?: string; name?: string; force?: boolean; json?: boolean }) => {
    if (ports.length !== 0 && ports.length !== 2) throw new ArgError(`attach takes two ports, got ${ports.length}: ${ports.join(' ')}`);
    const r = runAttach(ports, { ...o, pinRoot: root() });
    if (o.json) printJson(r); else printAttach(r);
  }));

program.command('detach')
  .description('remove l2bpf from two ports (or --name / --all): programs, pins, promiscuous mode')
  .argument('[ports...]', 'the two ports of the instance')
  .option('--netns <name>', 'the ports live in this network namespace')
  .option('--name <instance>', 'detach this instance')
  .option('--all', 'detach every instance')
  .option('--json', 'print the result as JSON')
  .action(action((ports: string[], o: { netns?: string; name?: string; all?: boolean; json?: boolean }) => {
    if (ports.length !== 0 && ports.length !== 2) throw new ArgError(`detach takes two ports, got ${ports.length}`);
    const names = selectInstances(root(), { ports, netns: o.netns, name: o.name, all: o.all });
    const r = detach(root(), names);
    if (o.json) printJson(r);
    else if (!r.length) log.info('nothing to detach');
    else r.forEach((x) => log.info(`detached: instance ${x.instance}${x.ports.length ? ` (${x.ports.join(' and ')}${x.netns ? ` in ${x.netns}` : ''})` : ''}`));
  }));

program.command('status')
  .description('instances, ports, program ids, hook per port and why, since when')
  .option('--name <instance>', 'only this instance')
  .option('--json', 'print as JSON')
  .action(action((o: { name?: string; json?: boolean }) => {
    const s = runStatus(root()).filter((x) => !o.name || x.instance === pickInstance(root(), o.name));
    if (o.json) printJson(s); else printStatus(s);
  }));

program.command('dump')
  .description("decode an instance's pinned maps (all, or MAP) with their BTF")
  .argument('[map]', 'one map, e.g. l2_ports')
  .option('--name <instance>', 'which instance (default: the only one)')
  .option('--per-cpu', 'per-CPU maps: one value per CPU instead of the sum')
  .option('--json', "print as JSON (bpftool's `formatted` layout)")
  .action(action((map: string | undefined, o: { name?: string; perCpu?: boolean; json?: boolean }) => {
    const inst = openInstance(root(), pickInstance(root(), o.name));
    const maps = dumpMaps(inst, map, { perCpu: o.perCpu });
    if (o.json) {
      printJson(map ? maps[0].entries : Object.fromEntries(maps.map((m) => [m.name, m.entries])));
      return;
    }
    for (const m of maps) {
      process.stdout.write(`${m.name} (${m.type}${m.btf ? '' : ', no BTF: the kernel allows none for this map type'}, ${m.entries.length} entries)\n`);
      for (const line of m.text) process.stdout.write(`  ${line}\n`);
    }
  }));

program.command('stats')
  .description('per-port packets and bytes, drops by reason')
  .option('--name <instance>', 'which instance (default: the only one)')
  .option('--watch', 'refresh with rates until interrupted (or --count)')
  .option('--interval <seconds>', 'with --watch', '1')
  .option('--count <n>', 'with --watch: stop after n refreshes')
  .option('--json', 'print as JSON')
  .action(action(async (o: { name?: string; watch?: boolean; interval: string; count?: string; json?: boolean }) => {
    const inst = openInstance(root(), pickInstance(root(), o.name));
    if (o.watch) return watchStats(inst, Number(o.interval), o.count ? Number(o.count) : Infinity, Boolean(o.json));
    const s = readStats(inst);
    if (o.json) printJson(s); else printStats(s);
  }));

class ArgError extends Error {}

// `l2bpf dump | head`: a closed pipe ends the output, not the program with a trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(0); throw e; });

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode === 0 ? 0 : 2; // commander has printed the message
      return;
    }
    if (e instanceof ArgError) {
      process.stderr.write(`l2bpf: ${e.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.exitCode = reportError(e, json);
  }
}
void main();
