// The routing instance's config (`role: router`, issue 10): its shape (JSON
// schema, checked by ajv like the wire's) and the checks that span fields.
// The loader turns it into map entries (plan.ts); nothing here touches the
// kernel.
//
//   instance: edge
//   role: router
//   ports: [lan0, lan1, wan0]
//   nat:
//     - { in: [lan0, lan1], out: wan0, src: 192.0.2.0/24, snat: masquerade }
//     - { in: wan0, proto: tcp, dst: 203.0.113.5, dport: 8080, dnat: 192.0.2.10:80 }
//   policy:
//     - { in: lan1, out: wan0, action: drop }
//   mark_iif: true
//   conntrack: { size: 262144, udp_timeout: 30, tcp_established: 7440 }
import type { SchemaObject } from 'ajv';
import { IFNAME_PATTERN, INSTANCE_PATTERN, NETNS_PATTERN } from '../config/schema';
import { makeChecker } from '../config/validate';
import { parseYamlWith } from '../config/load';
import { Problem, problem } from '../config/problem';
import { formatAddress, parseAddress, parsePrefix } from '../net/address';
import { RT_LIMITS } from '../generated/bpf';

export type Proto = 'tcp' | 'udp' | 'icmp';
export interface NatRule {
  /** Ports the connection's first packet comes in on; absent: any. */
  in?: string | string[];
  /** SNAT: the port it is routed out of; absent: any. */
  out?: string;
  src?: string;
  dst?: string;
  proto?: Proto;
  dport?: number;
  /** `masquerade`, an address, or a range `a.b.c.d-e.f.g.h`. */
  snat?: string;
  /** `addr` or `addr:port`. */
  dnat?: string;
}
export interface PolicyRule { in: string; out?: string; action: 'drop' | 'accept' }
export interface ConntrackConfig {
  size?: number; udp_timeout?: number; tcp_established?: number; tcp_closing?: number; tcp_syn?: number; icmp_timeout?: number;
}
export interface RouterConfig {
  instance?: string;
  role: 'router';
  netns?: string;
  ports: string[];
  nat?: NatRule[];
  policy?: PolicyRule[];
  mark_iif?: boolean;
  conntrack?: ConntrackConfig;
  /** SNAT source ports, `low-high`; default 1024-65535. */
  nat_ports?: string;
}

/** conntrack's defaults (nf_conntrack_*_timeout), seconds. */
export const CONNTRACK_DEFAULTS: Required<ConntrackConfig> = {
  size: RT_LIMITS.RT_CT_DEFAULT, udp_timeout: 30, tcp_established: 7440, tcp_closing: 10, tcp_syn: 120, icmp_timeout: 30,
};
export const CT_MIN = 1024;
export const CT_MAX = 16777216;

const port: SchemaObject = { type: 'string', pattern: IFNAME_PATTERN, messages: { pattern: "must be an interface name (1-15 characters, no '/' or spaces)" } };
const seconds: SchemaObject = { type: 'integer', minimum: 1, maximum: 4294967 };

const properties = {
  instance: { type: 'string', pattern: INSTANCE_PATTERN, messages: { pattern: 'must be 1-32 characters of A-Z a-z 0-9 _ . - starting with a letter or digit' } },
  role: { enum: ['router'] },
  netns: { type: 'string', pattern: NETNS_PATTERN },
  ports: {
    type: 'array', items: port, minItems: 2, maxItems: RT_LIMITS.RT_MAX_PORTS, uniqueItems: true,
    messages: { minItems: 'must list at least 2 interfaces', maxItems: `must list at most ${RT_LIMITS.RT_MAX_PORTS} interfaces`, uniqueItems: 'must not name a port twice' },
  },
  nat: {
    type: 'array', maxItems: 2 * RT_LIMITS.RT_NAT_RULES,
    items: {
      type: 'object', additionalProperties: false,
      properties: {
        in: { type: ['string', 'array'], items: port, minItems: 1, pattern: IFNAME_PATTERN },
        out: port,
        src: { type: 'string' },
        dst: { type: 'string' },
        proto: { enum: ['tcp', 'udp', 'icmp'] },
        dport: { type: 'integer', minimum: 1, maximum: 65535 },
        snat: { type: 'string' },
        dnat: { type: 'string' },
      },
    },
  },
  policy: {
    type: 'array', maxItems: RT_LIMITS.RT_POLICY_MAX,
    items: {
      type: 'object', additionalProperties: false, required: ['in', 'action'],
      properties: { in: port, out: port, action: { enum: ['drop', 'accept'] } },
    },
  },
  mark_iif: { type: 'boolean' },
  conntrack: {
    type: 'object', additionalProperties: false,
    properties: {
      size: { type: 'integer', minimum: CT_MIN, maximum: CT_MAX },
      udp_timeout: seconds, tcp_established: seconds, tcp_closing: seconds, tcp_syn: seconds, icmp_timeout: seconds,
    },
  },
  nat_ports: { type: 'string', pattern: '^\\d{1,5}-\\d{1,5}$', messages: { pattern: 'must be a port range like 1024-65535' } },
} satisfies Record<keyof RouterConfig, SchemaObject>;

export const routerSchema: SchemaObject = { type: 'object', additionalProperties: false, required: ['role', 'ports'], properties };

const ipv4 = (text: string) => {
  const a = parseAddress(text);
  return a?.family === 4 ? a : undefined;
};
export const inPorts = (r: { in?: string | string[] }): string[] => (r.in === undefined ? [] : typeof r.in === 'string' ? [r.in] : r.in);

/** `192.0.2.10:80` -> address and port (0: unchanged). */
export function parseTarget(text: string): { addr: string; port: number } | string {
  const m = text.match(/^([^:]+)(?::(\d{1,5}))?$/);
  const a = m && ipv4(m[1]);
  if (!m || !a) return 'must be an IPv4 address, optionally with :port, like 192.0.2.10:80';
  const p = m[2] === undefined ? 0 : Number(m[2]);
  if (m[2] !== undefined && (p < 1 || p > 65535)) return 'port must be 1-65535';
  return { addr: formatAddress(a), port: p };
}

/** `masquerade`, `a` or `a-b` -> the range (undefined: masquerade). */
export function parseSnat(text: string): { from: string; to: string } | undefined | string {
  if (text === 'masquerade') return undefined;
  const [lo, hi = lo, ...rest] = text.split('-');
  const a = ipv4(lo), b = ipv4(hi);
  if (rest.length || !a || !b) return 'must be masquerade, an IPv4 address, or a range like 203.0.113.5-203.0.113.9';
  const n = (x: typeof a) => x.bytes.reduce((s, v) => s * 256 + v, 0);
  if (n(a) > n(b)) return `range ${text} runs backwards`;
  return { from: formatAddress(a), to: formatAddress(b) };
}

function natRule(c: RouterConfig, r: NatRule, i: number): Problem[] {
  const at = (f: string) => ['nat', i, f];
  const out: Problem[] = [];
  const known = (name: string, path: (string | number)[]) => {
    if (!c.ports.includes(name)) out.push(problem(path, `${name} is not one of the ports (${c.ports.join(', ')})`));
  };
  inPorts(r).forEach((p, j) => known(p, typeof r.in === 'string' ? at('in') : ['nat', i, 'in', j]));
  if (r.out !== undefined) known(r.out, at('out'));
  if ((r.snat === undefined) === (r.dnat === undefined)) {
    out.push(problem(['nat', i], 'needs exactly one of snat: (masquerade, an address or a range) and dnat: (address[:port])', true));
    return out;
  }
  if (r.src !== undefined) {
    const p = parsePrefix(r.src);
    if (typeof p === 'string' || p.family !== 4) out.push(problem(at('src'), 'must be an IPv4 prefix like 192.0.2.0/24'));
  }
  if (r.dport !== undefined && r.proto !== 'tcp' && r.proto !== 'udp') out.push(problem(at('dport'), 'needs proto: tcp or udp'));
  if (r.snat !== undefined) {
    const s = parseSnat(r.snat);
    if (typeof s === 'string') out.push(problem(at('snat'), s));
    if (r.dst !== undefined || r.dport !== undefined) out.push(problem(at(r.dst !== undefined ? 'dst' : 'dport'), 'an snat rule matches by in, out, src and proto'));
  } else {
    const t = parseTarget(r.dnat!);
    if (typeof t === 'string') out.push(problem(at('dnat'), t));
    else if (t.port && r.dport === undefined) out.push(problem(at('dnat'), 'a new port needs dport: (the port to forward)'));
    if (r.dst === undefined) out.push(problem(['nat', i], 'a dnat rule needs dst: (the address to forward)', true));
    else if (!ipv4(r.dst)) out.push(problem(at('dst'), 'must be an IPv4 address'));
    if (r.out !== undefined) out.push(problem(at('out'), 'a dnat rule matches by in, dst, proto and dport'));
  }
  return out;
}

function checks(c: RouterConfig): Problem[] {
  const out: Problem[] = [];
  const nat = c.nat ?? [];
  nat.forEach((r, i) => out.push(...natRule(c, r, i)));
  for (const kind of ['snat', 'dnat'] as const) {
    const n = nat.filter((r) => r[kind] !== undefined).length;
    if (n > RT_LIMITS.RT_NAT_RULES) out.push(problem(['nat'], `has ${n} ${kind} rules: at most ${RT_LIMITS.RT_NAT_RULES}`));
  }
  (c.policy ?? []).forEach((r, i) => {
    for (const f of ['in', 'out'] as const) {
      const v = r[f];
      if (v !== undefined && !c.ports.includes(v)) out.push(problem(['policy', i, f], `${v} is not one of the ports (${c.ports.join(', ')})`));
    }
    const dup = (c.policy ?? []).findIndex((q) => q.in === r.in && q.out === r.out);
    if (dup < i) out.push(problem(['policy', i], `repeats policy[${dup}] (in ${r.in}${r.out ? `, out ${r.out}` : ''})`, true));
  });
  if (c.nat_ports !== undefined) {
    const [lo, hi] = c.nat_ports.split('-').map(Number);
    if (lo < 1 || hi > 65535 || lo > hi) out.push(problem(['nat_ports'], 'must be low-high within 1-65535'));
  }
  return out;
}

export const checkRouterConfig = makeChecker<RouterConfig>(routerSchema, [checks]);

/** Parse and check a router config; `file` only names it in messages. */
export function parseRouterConfig(text: string, file: string): RouterConfig {
  return parseYamlWith<RouterConfig>(text, file, checkRouterConfig);
}
