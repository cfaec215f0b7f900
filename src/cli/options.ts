// Every command, argument and option of the CLI, declared once: main.ts
// builds commander from this table, and usageBlock() gives the README's
// usage lines (a unit test keeps the README equal to it).

export type Check = 'positive-number' | 'positive-integer';
export interface OptionSpec {
  flags: string;       // commander syntax: '-c, --config <file>'
  help: string;
  choices?: string[];
  default?: string;
  check?: Check;
  /** Options this one cannot be combined with (their long names). */
  conflicts?: string[];
  /** In the usage line, shown inside another option's brackets. */
  after?: string;
}
export interface CommandSpec {
  name: string;
  /** commander syntax: '[ports...]' */
  args?: string;
  argsHelp?: string;
  /** How the arguments read in the usage line. */
  usageArgs?: string;
  help: string;
  options: OptionSpec[];
}

const json: OptionSpec = { flags: '--json', help: 'print the result as JSON' };
const name: OptionSpec = { flags: '--name <instance>', help: 'which instance (default: the only one)' };

export const GLOBAL_OPTIONS: OptionSpec[] = [
  { flags: '-v, --verbose', help: 'show libbpf and debug output' },
];

export const COMMANDS: CommandSpec[] = [
  {
    name: 'attach', args: '[ports...]', argsHelp: 'two interfaces, e.g. eth2 eth3 (or `ports:` in the config)', usageArgs: 'eth2 eth3',
    help: 'wire PORT1 and PORT2 together (XDP or TC redirect both ways); with `role: router` in the config, NAT and route between its ports',
    options: [
      { flags: '-c, --config <file>', help: 'YAML config (l2bpf.yaml; `role: router` makes a routing instance)' },
      { flags: '--netns <name>', help: 'the ports live in this network namespace (pins stay here)' },
      { flags: '--mode <mode>', help: 'hook per port: auto (default: native XDP on NICs that have it, TC on veths and other virtual devices), native, generic, tc', choices: ['auto', 'native', 'generic', 'tc'] },
      { flags: '--name <instance>', help: 'instance name (default: derived from namespace and ports)' },
      { flags: '--force', help: 'replace an XDP program that is not ours; attach native mode where it would drop frames' },
      json,
    ],
  },
  {
    name: 'status', help: 'instances, ports, program ids, hook per port and why, since when',
    options: [{ ...name, help: 'only this instance' }, json],
  },
  {
    name: 'stats', help: 'per-port packets and bytes, drops by reason, tunnels',
    options: [
      name,
      { flags: '--watch', help: 'refresh with rates until interrupted (or --count)' },
      { flags: '--interval <seconds>', help: 'with --watch: seconds between refreshes', default: '1', check: 'positive-number', after: '--watch' },
      { flags: '--count <n>', help: 'with --watch: stop after n refreshes', check: 'positive-integer', after: '--watch' },
      { flags: '--prometheus', help: 'print in the Prometheus text format (every instance unless --name)', conflicts: ['json', 'watch'] },
      json,
    ],
  },
  {
    name: 'exporter', help: 'serve the counters of every instance at http://ADDR:PORT/metrics (Prometheus) until SIGTERM',
    options: [{ flags: '--listen <addr:port>', help: 'where to listen, e.g. 127.0.0.1:9431', default: '127.0.0.1:9431' }],
  },
  {
    name: 'dump', args: '[map]', argsHelp: 'one map, e.g. l2_ports (or flows, rules, tunnels, ports, neigh, moves, local, drops; a router: nat, conns, counts)', usageArgs: '[MAP]',
    help: "decode an instance's pinned maps (all, or MAP) with their BTF",
    options: [name, { flags: '--per-cpu', help: 'per-CPU maps: one value per CPU instead of the sum' }, { ...json, help: "print as JSON (bpftool's `formatted` layout)" }],
  },
  {
    name: 'openvpn', args: '<config>', argsHelp: "an OpenVPN server config (OpenVPN's own syntax)", usageArgs: 'SERVER.CONF',
    help: 'run an OpenVPN-compatible server in the foreground: control channel here, data channel in BPF (SIGTERM stops it)',
    options: [
      { flags: '--netns <name>', help: 'run in this network namespace' },
      { flags: '--name <instance>', help: 'instance name (default: openvpn-DEV)' },
      { flags: '--uplink <if...>', help: 'interfaces the clients arrive on (default: the route to each client)' },
      { flags: '--no-bpf', help: 'run the data channel in TypeScript only (the slow path, for comparison)' },
    ],
  },
  {
    name: 'detach', args: '[ports...]', argsHelp: 'the two ports of the instance', usageArgs: '[eth2 eth3 | --name INSTANCE | --all]',
    help: 'remove l2bpf from two ports (or --name / --all): programs, pins, promiscuous mode',
    options: [
      { flags: '--netns <name>', help: 'the ports live in this network namespace' },
      { flags: '--name <instance>', help: 'detach this instance', conflicts: ['all'] },
      { flags: '--all', help: 'detach every instance', conflicts: ['name'] },
      json,
    ],
  },
];

/** The value an option takes, as the usage line shows it: '<file>' -> 'FILE'. */
function placeholder(flags: string): string {
  const m = flags.match(/<([^>]+)>/);
  return m ? ` ${m[1].toUpperCase()}` : '';
}
const longName = (flags: string) => flags.match(/--([a-z-]+)/)![1];
const shortest = (flags: string) => flags.split(',')[0].trim().replace(/ .*/, '');

function optionUsage(o: OptionSpec, all: OptionSpec[]): string {
  const value = o.choices ? ` ${o.choices.join('|')}` : placeholder(o.flags);
  const inner = all.filter((x) => x.after === `--${longName(o.flags)}`).map((x) => ` ${optionUsage(x, all)}`).join('');
  return `[${shortest(o.flags)}${value}${inner}]`;
}

/** `npx l2bpf <command> ...` lines, as in the README's "Using it". */
export function usageBlock(): string[] {
  return COMMANDS.map((c) => {
    const shown = c.options.filter((o) => !o.after && !(c.name === 'detach' && ['name', 'all'].includes(longName(o.flags))));
    const args = c.usageArgs ? ` ${c.usageArgs}` : '';
    return `npx l2bpf ${c.name.padEnd(6)}${args} ${shown.map((o) => optionUsage(o, c.options)).join(' ')}`.replace(/ +$/, '');
  });
}

/** A numeric option's value, or why it is not one. */
export function checkValue(check: Check, raw: string): number | string {
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v)) return 'must be a number';
  if (v <= 0) return 'must be more than 0';
  if (check === 'positive-integer' && !Number.isInteger(v)) return 'must be a whole number';
  return v;
}
