// The config file's shape: the typed Config interface and the JSON schema that
// ajv checks it against. To add a section (local, tunnels, rules, flows, ...):
//   1. add the optional field to Config,
//   2. add its schema under configSchema.properties (the `satisfies` below
//      makes the compiler insist that both stay in step),
//   3. put checks that span several fields into semantic.ts.
// Every object schema sets additionalProperties: false so typos are errors.
// A schema may carry `messages: {<ajv keyword>: '<human text>'}` to replace
// the generic wording for that keyword (see messages.ts).

import type { SchemaObject } from 'ajv';

export const MODES = ['native', 'generic'] as const;
export type Mode = (typeof MODES)[number];
export const DEFAULT_MODE: Mode = 'native';

export interface Config {
  /** Name of the folder under bpffs that holds this bump's pins. */
  instance?: string;
  /** The two interfaces the bump sits between, [a, b]. */
  ports?: [string, string];
  /** XDP attach mode. */
  mode?: Mode;
  /** Network namespace (as in `ip netns`) the ports live in. */
  netns?: string;
}

// Becomes a directory name, so keep it to a safe, short alphabet.
export const INSTANCE_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$';
// What the kernel accepts (dev_valid_name): below IFNAMSIZ, no '/' or
// whitespace, and not '.' or '..'.
export const IFNAME_PATTERN = '^(?!\\.{1,2}$)[^/\\s]{1,15}$';
// `ip netns` names become files under /run/netns.
export const NETNS_PATTERN = '^(?!\\.{1,2}$)[A-Za-z0-9_.-]{1,64}$';

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
} satisfies Record<keyof Config, SchemaObject>;

export const configSchema: SchemaObject = {
  type: 'object',
  additionalProperties: false,
  properties,
};
