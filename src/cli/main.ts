#!/usr/bin/env node
// The CLI: parse argv (commands and options come from ./options.ts), call the
// library (../index, nothing else), print text or --json. Results go to
// stdout, progress and diagnostics to stderr. Exit 0; 2 for a usage or
// config error; 1 when an operation failed.
import fs from 'fs';
import path from 'path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import * as l2 from '../index';
import { printAttach, printDetach, printRouterAttach } from './commands/attach';
import { printStatus } from './commands/status';
import { printDump } from './commands/dump';
import { printStats, watchStats } from './commands/stats';
import { checkValue, COMMANDS, CommandSpec, GLOBAL_OPTIONS, OptionSpec } from './options';
import { printJson, reportError } from './output';

const VERSION = (JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../package.json'), 'utf8')) as { version: string }).version;

class ArgError extends Error {}

function option(o: OptionSpec): Option {
  const opt = new Option(o.flags, o.help);
  if (o.choices) opt.choices(o.choices);
  if (o.default !== undefined) opt.default(o.default);
  if (o.conflicts) opt.conflicts(o.conflicts);
  if (o.check) {
    const check = o.check;
    opt.argParser((raw: string) => {
      const v = checkValue(check, raw);
      if (typeof v === 'string') throw new InvalidArgumentError(v);
      return v;
    });
  }
  return opt;
}

const program = new Command();
program
  .name('l2bpf')
  .description('A transparent bump in the wire: XDP or TC bridges two ports; maps readable with dump/stats')
  .version(VERSION, '-V, --version', 'print the version')
  .addOption(new Option('--pin-root <dir>', 'bpffs folder holding all instances').hideHelp())
  .showHelpAfterError('(l2bpf --help lists the commands)')
  .exitOverride() // usage errors exit 2, like our own refusals
  .hook('preAction', (cmd) => { if (cmd.opts().verbose) l2.log.setLevel('debug'); });
for (const o of GLOBAL_OPTIONS) program.addOption(option(o));

/* eslint-disable @typescript-eslint/no-explicit-any */
type Opts = Record<string, any>;
const where = (): { pinRoot?: string } => ({ pinRoot: program.opts().pinRoot });
const two = (cmd: string, ports: string[]) => {
  if (ports.length !== 0 && ports.length !== 2) throw new ArgError(`${cmd} takes two ports, got ${ports.length}: ${ports.join(' ')}`);
};

const RUN: Record<string, (args: string[] | string | undefined, o: Opts) => void | Promise<void>> = {
  attach(ports, o) {
    two('attach', ports as string[]);
    const r = l2.attach({ ...where(), ports: ports as string[], config: o.config, netns: o.netns, mode: o.mode, name: o.name, force: o.force });
    if (o.json) printJson(r); else if (r.role === 'router') printRouterAttach(r); else printAttach(r);
  },
  detach(ports, o) {
    two('detach', ports as string[]);
    const r = l2.detach({ ...where(), ports: ports as string[], netns: o.netns, name: o.name, all: o.all });
    if (o.json) printJson(r); else printDetach(r);
  },
  status(_a, o) {
    const s = l2.status({ ...where(), name: o.name });
    if (o.json) printJson(s); else printStatus(s);
  },
  dump(map, o) {
    const maps = l2.dump({ ...where(), name: o.name, map: map as string | undefined, perCpu: o.perCpu });
    if (o.json) printJson(map ? maps[0].entries : Object.fromEntries(maps.map((m) => [m.name, m.entries])));
    else printDump(maps);
  },
  async stats(_a, o) {
    const given = (k: string) => program.commands.find((c) => c.name() === 'stats')!.getOptionValueSource(k) === 'cli';
    if (!o.watch && (given('interval') || given('count'))) throw new ArgError('--interval and --count go with --watch');
    if (o.prometheus) { process.stdout.write(l2.prometheus({ ...where(), name: o.name })); return; }
    const inst = l2.open({ ...where(), name: o.name });
    if (o.watch) return watchStats(inst, o.interval, o.count ?? Infinity, Boolean(o.json));
    const s = l2.stats(inst);
    if (o.json) printJson(s); else printStats(s);
  },
  async openvpn(conf, o) {
    const s = await l2.openvpn({ config: conf as string, netns: o.netns, name: o.name, uplinks: o.uplink, bpf: o.bpf });
    await new Promise<void>((resolve) => {
      // a second signal (a process group's, systemd's) must not cut the clean stop short
      let stopping = false;
      const stop = (sig: string) => { if (!stopping) { stopping = true; void s.stop(sig).then(resolve); } };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
  },
  async exporter(_a, o) {
    const e = await l2.exporter({ ...where(), listen: o.listen });
    process.stderr.write(`l2bpf exporter: serving http://${e.address}/metrics (SIGTERM or Ctrl-C stops it)\n`);
    await new Promise<void>((resolve) => {
      let stopping = false;
      const stop = () => { if (!stopping) { stopping = true; void e.close().then(resolve); } };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
    process.stderr.write('l2bpf exporter: stopped\n');
  },
};

let json = false;
function addCommand(c: CommandSpec): void {
  const cmd = program.command(c.name).description(c.help);
  if (c.args) cmd.argument(c.args, c.argsHelp ?? '');
  for (const o of c.options) cmd.addOption(option(o));
  cmd.action((...args: unknown[]) => {
    const o = args[c.args ? 1 : 0] as Opts;
    json = Boolean(o.json);
    return RUN[c.name](c.args ? (args[0] as string[] | string | undefined) : undefined, o);
  });
}
COMMANDS.forEach(addCommand);

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
