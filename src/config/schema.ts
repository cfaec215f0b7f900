// The config file's shape: the typed Config interface and the JSON schema that
// ajv checks it against. To add a section (local, tunnels, rules, flows, ...):
//   1. add the optional field to Config,
//   2. add its schema under configSchema.properties (the `satisfies` below
//      makes the compiler insist that both stay in step),
//   3. put checks that span several fields into semantic.ts.
// Every object schema sets additionalProperties: false so typos are errors.
// A schema may carry `messages: {<ajv keyword>: '<human text>'}` to replace
// the generic wording for that keyword (see messages.ts).
// Limits that mirror maps/l2bpf_types.h live in limits.ts.

import type { SchemaObject } from 'ajv';
import { FLOWS_MAX, FLOWS_MIN, TUNNELS_MAX } from './limits';

export const MODES = ['auto', 'native', 'generic', 'tc'] as const;
export type Mode = (typeof MODES)[number];
export const DEFAULT_MODE: Mode = 'auto';

export interface Config {
  /** Name of the folder under bpffs that holds this bump's pins. */
  instance?: string;
  /** `wire` (the default) bridges two ports; `router` routes between several (src/router/config.ts). */
  role?: 'wire' | 'router';
  /** The two interfaces the bump sits between, [a, b]. */
  ports?: [string, string];
  /** Hook per port: auto (native XDP on NICs that have it, TC on virtual devices), native, generic, tc. */
  mode?: Mode;
  /** Network namespace (as in `ip netns`) the ports live in. */
  netns?: string;
  /** The box's one address: `a.b.c.d/len`, or [IPv4/len, IPv6/len]. */
  local?: string | string[];
  /** Flow MAC cache. */
  flows?: FlowsConfig;
  /** GRE tunnels by name. */
  tunnels?: Record<string, TunnelConfig>;
  /** What to do with traffic by destination (and source) prefix. */
  rules?: RuleConfig[];
}

export interface FlowsConfig {
  /** Entries in the flow cache (LRU); default L2_FLOWS_DEFAULT. */
  size?: number;
}

export interface TunnelConfig {
  /** IPv4 address of the far end. */
  remote: string;
  /** RFC 2890 key; none when absent. */
  key?: number;
  /** RFC 2784 checksum; default false. */
  checksum?: boolean;
  /** Outer TTL; default 64. */
  ttl?: number;
  /** Largest inner packet; default: port MTU minus the outer headers. */
  mtu?: number;
  /** DF on the outer header; default true. */
  df?: boolean;
}

export interface RuleConfig {
  dst: string;
  /** Absent: any source. */
  src?: string;
  /** `pass`, `drop` or `tunnel NAME`. */
  action: string;
}

// Becomes a directory name, so keep it to a safe, short alphabet.
export const INSTANCE_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$';
// What the kernel accepts (dev_valid_name): below IFNAMSIZ, no '/' or
// whitespace, and not '.' or '..'.
export const IFNAME_PATTERN = '^(?!\\.{1,2}$)[^/\\s]{1,15}$';
// `ip netns` names become files under /run/netns.
export const NETNS_PATTERN = '^(?!\\.{1,2}$)[A-Za-z0-9_.-]{1,64}$';

export const TUNNEL_NAME_PATTERN = '^[A-Za-z][A-Za-z0-9_-]{0,31}$';
export const ACTION_PATTERN = '^(pass|drop|tunnel [A-Za-z][A-Za-z0-9_-]{0,31})$';

export const IFNAME_MESSAGE = "must be an interface name (1-15 characters, no '/' or spaces)";

const interfaceName: SchemaObject = {
  type: 'string',
  pattern: IFNAME_PATTERN,
  messages: { pattern: IFNAME_MESSAGE },
};

const properties = {
  instance: {
    type: 'string',
    pattern: INSTANCE_PATTERN,
    messages: {
      pattern: 'must be 1-32 characters of A-Z a-z 0-9 _ . - starting with a letter or digit',
    },
  },
  role: { enum: ['wire', 'router'] },
  ports: {
    type: 'array',
    items: interfaceName,
    minItems: 2,
    maxItems: 2,
    messages: {
      minItems: 'must list exactly 2 interfaces',
      maxItems: 'must list exactly 2 interfaces',
    },
  },
  // No `type`: for a wrong or empty value the list of choices says it all.
  mode: { enum: [...MODES] },
  netns: {
    type: 'string',
    pattern: NETNS_PATTERN,
    messages: {
      pattern: "must be a namespace name (1-64 characters of A-Z a-z 0-9 _ . -, not '.' or '..')",
    },
  },
  // Address syntax and meaning are checked in network.ts, with better words
  // than a pattern could give.
  local: {
    type: ['string', 'array'],
    items: { type: 'string' },
    minItems: 1,
    maxItems: 2,
    messages: {
      minItems: 'must list an IPv4 address (and optionally an IPv6 one)',
      maxItems: 'must list at most 2 addresses: one IPv4 and one IPv6',
    },
  },
  flows: {
    type: 'object',
    additionalProperties: false,
    properties: { size: { type: 'integer', minimum: FLOWS_MIN, maximum: FLOWS_MAX } },
  },
  tunnels: {
    type: 'object',
    maxProperties: TUNNELS_MAX,
    messages: { maxProperties: `must have at most ${TUNNELS_MAX} tunnels` },
    propertyNames: {
      pattern: TUNNEL_NAME_PATTERN,
      messages: { pattern: 'must be a tunnel name (1-32 characters of A-Z a-z 0-9 _ -, starting with a letter)' },
    },
    additionalProperties: {
      type: 'object',
      additionalProperties: false,
      required: ['remote'],
      properties: {
        remote: { type: 'string' },
        key: { type: 'integer', minimum: 0, maximum: 4294967295 },
        checksum: { type: 'boolean' },
        ttl: { type: 'integer', minimum: 1, maximum: 255 },
        mtu: { type: 'integer', minimum: 576, maximum: 65535 },
        df: { type: 'boolean' },
      },
    },
  },
  rules: {
    type: 'array',
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['dst', 'action'],
      properties: {
        dst: { type: 'string' },
        src: { type: 'string' },
        action: { type: 'string', pattern: ACTION_PATTERN, messages: { pattern: 'must be pass, drop or tunnel NAME' } },
      },
    },
  },
} satisfies Record<keyof Config, SchemaObject>;

export const configSchema: SchemaObject = {
  type: 'object',
  additionalProperties: false,
  properties,
};
