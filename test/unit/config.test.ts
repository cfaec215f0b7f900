// Unit tests for src/config: parsing, error positions and wording, merging
// command-line flags over the file, and the config hash.

import { createHash } from 'node:crypto';
import * as path from 'node:path';
import {
  canonicalJson,
  Config,
  ConfigError,
  configHash,
  defaultInstance,
  EffectiveConfig,
  INSTANCE_PATTERN,
  loadConfig,
  makeChecker,
  mergeCliOverConfig,
  parseConfig,
  parseYamlWith,
} from '../../src/config';

// Tests run from dist/test/unit; fixtures stay in the source tree.
const FIXTURES = path.resolve(__dirname, '../../../test/fixtures/config');
const FILE = 'l2bpf.yaml';

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig: valid configs', () => {
  const cases: Array<[string, string, Config]> = [
    ['empty file', '', {}],
    ['only comments', '# nothing here\n\n', {}],
    ['explicit null document', '~\n', {}],
    ['ports only (flow list)', 'ports: [eth0, eth1]\n', { ports: ['eth0', 'eth1'] }],
    ['ports as block list', 'ports:\n  - enp1s0f0\n  - enp1s0f1\n', { ports: ['enp1s0f0', 'enp1s0f1'] }],
    [
      'everything',
      'instance: lab-1.a_b\nports: [eth0, eth1]\nmode: generic\nnetns: wire-ns\n',
      { instance: 'lab-1.a_b', ports: ['eth0', 'eth1'], mode: 'generic', netns: 'wire-ns' },
    ],
    ['mode native', 'mode: native\n', { mode: 'native' }],
    ['15-char interface names, odd but legal characters', 'ports: [abcdefghijklmno, "veth@1:x"]\n', {
      ports: ['abcdefghijklmno', 'veth@1:x'],
    }],
    ['32-char instance', `instance: ${'a'.repeat(32)}\n`, { instance: 'a'.repeat(32) }],
    ['quoted numeric-looking names', 'ports: ["1", "2"]\nnetns: "0"\n', { ports: ['1', '2'], netns: '0' }],
  ];
  test.each(cases)('%s', (_name, text, expected) => {
    expect(parseConfig(text, FILE)).toEqual(expected);
  });
});

describe('parseConfig: errors carry file:line:col and field', () => {
  const IFNAME = "must be an interface name (1-15 characters, no '/' or spaces)";
  const INSTANCE = 'must be 1-32 characters of A-Z a-z 0-9 _ . - starting with a letter or digit';
  const NETNS = "must be a namespace name (1-64 characters of A-Z a-z 0-9 _ . -, not '.' or '..')";
  const cases: Array<[string, string, string]> = [
    // [name, yaml text, exact message]
    [
      'unknown key',
      '# comment\ninstance: a\nports: [eth0, eth1]\nmode: native\ncolour: blue\n',
      `${FILE}:5:1: colour: unknown key (allowed: instance, role, ports, mode, netns, local, flows, tunnels, rules)`,
    ],
    ['bad interface name (slash)', 'ports:\n  - eth0\n  - eth1/x\n', `${FILE}:3:5: ports[1]: ${IFNAME}`],
    ['bad interface name (space)', 'ports: ["a b", eth1]\n', `${FILE}:1:9: ports[0]: ${IFNAME}`],
    ['interface name too long', 'ports: [eth0, abcdefghijklmnop]\n', `${FILE}:1:15: ports[1]: ${IFNAME}`],
    ['interface name "."', 'ports: [., eth1]\n', `${FILE}:1:9: ports[0]: ${IFNAME}`],
    ['interface name ".."', 'ports: [eth0, ..]\n', `${FILE}:1:15: ports[1]: ${IFNAME}`],
    ['interface name empty string', 'ports: ["", eth1]\n', `${FILE}:1:9: ports[0]: ${IFNAME}`],
    ['interface name not a string', 'ports: [eth0, 5]\n', `${FILE}:1:15: ports[1]: must be a string, not a whole number`],
    ['duplicate ports', 'ports: [eth0, eth0]\n', `${FILE}:1:15: ports[1]: must differ from ports[0] (both are eth0)`],
    ['one port', 'ports: [eth0]\n', `${FILE}:1:8: ports: must list exactly 2 interfaces`],
    ['three ports', 'ports:\n  - a\n  - b\n  - c\n', `${FILE}:2:3: ports: must list exactly 2 interfaces`],
    ['ports not a list', 'ports: eth0\n', `${FILE}:1:8: ports: must be a list, not a string`],
    ['ports a mapping', 'ports: {a: eth0}\n', `${FILE}:1:8: ports: must be a list, not a mapping`],
    ['wrong mode', 'ports: [eth0, eth1]\nmode: fast\n', `${FILE}:2:7: mode: must be one of auto, native, generic, tc`],
    ['mode wrong case', 'mode: Native\n', `${FILE}:1:7: mode: must be one of auto, native, generic, tc`],
    ['empty mode points at the key', 'mode:\n', `${FILE}:1:1: mode: must be one of auto, native, generic, tc`],
    ['instance bad first character', 'instance: -x\n', `${FILE}:1:11: instance: ${INSTANCE}`],
    ['instance too long', `instance: ${'a'.repeat(33)}\n`, `${FILE}:1:11: instance: ${INSTANCE}`],
    ['instance with slash', 'instance: a/b\n', `${FILE}:1:11: instance: ${INSTANCE}`],
    ['instance not a string', 'instance: 12\n', `${FILE}:1:11: instance: must be a string, not a whole number`],
    ['netns ".."', 'netns: ..\n', `${FILE}:1:8: netns: ${NETNS}`],
    ['netns with slash', 'netns: a/b\n', `${FILE}:1:8: netns: ${NETNS}`],
    ['netns too long', `netns: ${'n'.repeat(65)}\n`, `${FILE}:1:8: netns: ${NETNS}`],
    ['netns a list', 'netns: [a]\n', `${FILE}:1:8: netns: must be a string, not a list`],
    ['top level is a list', '- eth0\n- eth1\n', `${FILE}:1:1: (top level): must be a mapping, not a list`],
    ['top level is a scalar', 'eth0 eth1\n', `${FILE}:1:1: (top level): must be a mapping, not a string`],
    [
      'YAML syntax: unclosed flow list',
      'ports: [eth0, eth1\nmode: native\n',
      `${FILE}:2:1: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]`,
    ],
    ['YAML syntax: duplicate key', 'mode: native\nmode: generic\n', `${FILE}:2:1: invalid YAML: Map keys must be unique`],
    ['YAML syntax: tab indentation', 'ports:\n\t- eth0\n', `${FILE}:2:1: invalid YAML: Tabs are not allowed as indentation`],
    [
      'YAML: unknown alias',
      'instance: &a x\nnetns: *b\n',
      `${FILE}:2:8: invalid YAML: Unresolved alias (the anchor must be set before the alias): b`,
    ],
    // With several problems the one earliest in the file is reported.
    [
      'first of two errors: unknown key first',
      'colour: x\nmode: bad\n',
      `${FILE}:1:1: colour: unknown key (allowed: instance, role, ports, mode, netns, local, flows, tunnels, rules)`,
    ],
    ['first of two errors: bad mode first', 'mode: bad\ncolour: x\n', `${FILE}:1:7: mode: must be one of auto, native, generic, tc`],
    ['first of two errors inside a list', 'ports: [a/b, c d]\n', `${FILE}:1:9: ports[0]: ${IFNAME}`],
  ];

  test.each(cases)('%s', (_name, text, message) => {
    const err = errorOf(() => parseConfig(text, FILE));
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('ConfigError');
    expect(err.message).toBe(message);
    expect(err.message).not.toContain('\n');
  });

  test('structured fields match the message', () => {
    const err = errorOf(() => parseConfig('ports:\n  - eth0\n  - eth1/x\n', FILE));
    expect(err).toMatchObject({ file: FILE, line: 3, column: 5, field: 'ports[1]' });
    expect(err.detail).toBe(IFNAME);
  });

  test('syntax errors have a position but no field', () => {
    const err = errorOf(() => parseConfig('a: [\n', FILE));
    expect(err.file).toBe(FILE);
    expect(err.line).toBeGreaterThanOrEqual(1);
    expect(err.field).toBeUndefined();
  });

  test('long values are not echoed back', () => {
    const long = 'x'.repeat(500);
    const err = errorOf(() => parseConfig(`netns: ${long}\n`, FILE));
    expect(err.message).not.toContain(long);
  });
});

describe('loadConfig', () => {
  test('reads a valid file', () => {
    expect(loadConfig(path.join(FIXTURES, 'full.yaml'))).toEqual({
      instance: 'lab1',
      ports: ['eth0', 'eth1'],
      mode: 'generic',
      netns: 'wire',
    });
  });

  test('empty file is an empty config', () => {
    expect(loadConfig(path.join(FIXTURES, 'empty.yaml'))).toEqual({});
  });

  const errors: Array<[string, string]> = [
    ['unknown-key.yaml', ':5:1: colour: unknown key (allowed: instance, role, ports, mode, netns, local, flows, tunnels, rules)'],
    ['bad-port.yaml', ":3:5: ports[1]: must be an interface name (1-15 characters, no '/' or spaces)"],
    ['syntax-error.yaml', ':2:1: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]'],
  ];
  test.each(errors)('%s names the file and position', (name, rest) => {
    const file = path.join(FIXTURES, name);
    expect(errorOf(() => loadConfig(file)).message).toBe(`${file}${rest}`);
  });

  test('missing file names the file', () => {
    const file = path.join(FIXTURES, 'does-not-exist.yaml');
    const err = errorOf(() => loadConfig(file));
    expect(err.message).toBe(`${file}: cannot read config file: no such file`);
    expect(err.file).toBe(file);
    expect(err.line).toBeUndefined();
  });

  test('a directory is not readable as a config', () => {
    expect(errorOf(() => loadConfig(FIXTURES)).message).toBe(`${FIXTURES}: cannot read config file: is a directory`);
  });
});

// Later sections (tunnels, flows, ...) plug in their own schema; check that the
// generic machinery already words and places their errors well.
describe('nested sections (future schema shapes)', () => {
  const check = makeChecker({
    type: 'object',
    additionalProperties: false,
    properties: {
      tunnels: {
        type: 'object',
        propertyNames: { pattern: '^[a-z][a-z0-9]*$', messages: { pattern: 'must be a lowercase tunnel name' } },
        additionalProperties: {
          type: 'object',
          additionalProperties: false,
          required: ['remote'],
          properties: { remote: { type: 'string' }, vni: { type: 'integer', minimum: 1, maximum: 16777215 } },
        },
      },
      flows: {
        type: 'object',
        additionalProperties: false,
        properties: { size: { type: 'integer', minimum: 1024 } },
      },
      tags: { type: 'array', uniqueItems: true },
    },
  });
  const parse = (text: string) => parseYamlWith<unknown>(text, FILE, check);

  const cases: Array<[string, string, string]> = [
    ['required key', 'tunnels:\n  pop1:\n    vni: 5\n', `${FILE}:2:3: tunnels.pop1: missing required key 'remote'`],
    ['wrong type deep down', 'tunnels:\n  pop1:\n    remote: [a]\n', `${FILE}:3:13: tunnels.pop1.remote: must be a string, not a list`],
    [
      'unknown nested key',
      'tunnels:\n  pop1:\n    remote: x\n    colour: red\n',
      `${FILE}:4:5: tunnels.pop1.colour: unknown key (allowed: remote, vni)`,
    ],
    ['maximum', 'tunnels:\n  pop1: {remote: x, vni: 16777216}\n', `${FILE}:2:26: tunnels.pop1.vni: must be at most 16777215`],
    ['minimum', 'flows:\n  size: 10\n', `${FILE}:2:9: flows.size: must be at least 1024`],
    ['integer', 'flows:\n  size: 1.5\n', `${FILE}:2:9: flows.size: must be a whole number, not a number`],
    ['bad key name', 'tunnels:\n  Pop1: {remote: x}\n', `${FILE}:2:3: tunnels.Pop1: must be a lowercase tunnel name`],
    ['key with a dot is quoted in the field', 'tunnels:\n  "a.b": {remote: x}\n', `${FILE}:2:3: tunnels["a.b"]: must be a lowercase tunnel name`],
    ['uniqueItems', 'tags: [a, b, a]\n', `${FILE}:1:14: tags[2]: is the same as tags[0]`],
  ];
  test.each(cases)('%s', (_name, text, message) => {
    expect(errorOf(() => parse(text)).message).toBe(message);
  });

  test('valid nested config passes', () => {
    expect(parse('tunnels:\n  pop1: {remote: 192.0.2.1, vni: 7}\nflows: {size: 65536}\n')).toEqual({
      tunnels: { pop1: { remote: '192.0.2.1', vni: 7 } },
      flows: { size: 65536 },
    });
  });
});

describe('mergeCliOverConfig', () => {
  const base: Config = { ports: ['eth4', 'eth5'] };

  const ok: Array<[string, Config, Parameters<typeof mergeCliOverConfig>[1], EffectiveConfig]> = [
    ['ports from the file, defaults filled', base, {}, { ports: ['eth4', 'eth5'], mode: 'auto', instance: 'eth4-eth5' }],
    ['ports from the command line only', {}, { ports: ['eth2', 'eth3'] }, {
      ports: ['eth2', 'eth3'],
      mode: 'auto',
      instance: 'eth2-eth3',
    }],
    ['same ports in both is fine', base, { ports: ['eth4', 'eth5'] }, {
      ports: ['eth4', 'eth5'],
      mode: 'auto',
      instance: 'eth4-eth5',
    }],
    ['the same mode in both is fine', { ...base, mode: 'native' }, { mode: 'native' }, {
      ports: ['eth4', 'eth5'],
      mode: 'native',
      instance: 'eth4-eth5',
    }],
    ['command-line mode fills in', base, { mode: 'generic' }, {
      ports: ['eth4', 'eth5'],
      mode: 'generic',
      instance: 'eth4-eth5',
    }],
    ['file mode kept', { ...base, mode: 'generic' }, {}, { ports: ['eth4', 'eth5'], mode: 'generic', instance: 'eth4-eth5' }],
    ['netns from the file goes into the instance', { ...base, netns: 'wire' }, {}, {
      ports: ['eth4', 'eth5'],
      mode: 'auto',
      netns: 'wire',
      instance: 'wire-eth4-eth5',
    }],
    ['command-line netns fills in', base, { netns: 'lab' }, {
      ports: ['eth4', 'eth5'],
      mode: 'auto',
      netns: 'lab',
      instance: 'lab-eth4-eth5',
    }],
    ['explicit instance in the file', { ...base, instance: 'mine' }, {}, {
      ports: ['eth4', 'eth5'],
      mode: 'auto',
      instance: 'mine',
    }],
    ['command-line instance fills in', base, { instance: 'yours' }, {
      ports: ['eth4', 'eth5'],
      mode: 'auto',
      instance: 'yours',
    }],
  ];
  test.each(ok)('%s', (_name, config, cli, expected) => {
    expect(mergeCliOverConfig(config, cli, FILE)).toEqual(expected);
  });

  const bad: Array<[string, Config, Parameters<typeof mergeCliOverConfig>[1], string]> = [
    ['different ports', base, { ports: ['eth2', 'eth3'] }, 'ports: command line says eth2 eth3 but l2bpf.yaml says eth4 eth5'],
    ['same ports swapped', base, { ports: ['eth5', 'eth4'] }, 'ports: command line says eth5 eth4 but l2bpf.yaml says eth4 eth5'],
    ['no ports anywhere', {}, {}, 'ports: not given: name two interfaces on the command line or in l2bpf.yaml'],
    ['a mode flag against the file', { ...base, mode: 'native' }, { mode: 'generic' }, 'mode: command line says generic (--mode) but l2bpf.yaml says native'],
    ['a netns flag against the file', { ...base, netns: 'wire' }, { netns: 'lab' }, 'netns: command line says lab (--netns) but l2bpf.yaml says wire'],
    ['a name flag against the file', { ...base, instance: 'mine' }, { instance: 'yours' }, 'instance: command line says yours (--name) but l2bpf.yaml says mine'],
    ['bad mode flag', base, { mode: 'turbo' }, 'command line: mode: must be one of auto, native, generic, tc'],
    ['one port flag', {}, { ports: ['eth0'] }, 'command line: ports: must list exactly 2 interfaces'],
    ['duplicate port flags', {}, { ports: ['eth0', 'eth0'] }, 'command line: ports[1]: must differ from ports[0] (both are eth0)'],
    [
      'bad interface flag',
      {},
      { ports: ['eth0', 'a/b'] },
      "command line: ports[1]: must be an interface name (1-15 characters, no '/' or spaces)",
    ],
    [
      'bad instance flag',
      base,
      { instance: '../etc' },
      'command line: instance: must be 1-32 characters of A-Z a-z 0-9 _ . - starting with a letter or digit',
    ],
  ];
  test.each(bad)('%s', (_name, config, cli, message) => {
    const err = errorOf(() => mergeCliOverConfig(config, cli, FILE));
    expect(err.message).toBe(message);
    expect(err.field).toBe(message.replace(/^command line: /, '').split(':')[0]);
  });

  test('default wording when no file is named', () => {
    expect(errorOf(() => mergeCliOverConfig(base, { ports: ['a', 'b'] })).message).toBe(
      'ports: command line says a b but the config file says eth4 eth5',
    );
  });

  test('other fields of a whole options object are ignored', () => {
    const opts = { ports: ['eth0', 'eth1'], verbose: true, json: false } as unknown as Parameters<
      typeof mergeCliOverConfig
    >[1];
    expect(mergeCliOverConfig({}, opts)).toEqual({ ports: ['eth0', 'eth1'], mode: 'auto', instance: 'eth0-eth1' });
  });

  test('does not alias the input ports array', () => {
    const cli = { ports: ['eth0', 'eth1'] };
    const eff = mergeCliOverConfig({}, cli);
    cli.ports[0] = 'changed';
    expect(eff.ports).toEqual(['eth0', 'eth1']);
  });
});

describe('defaultInstance', () => {
  const re = new RegExp(INSTANCE_PATTERN);
  const cases: Array<[string, string[], string | undefined]> = [
    ['plain', ['eth0', 'eth1'], undefined],
    ['with netns', ['eth0', 'eth1'], 'ns1'],
    ['odd characters', ['veth@1', 'br:x'], undefined],
    ['leading dot', ['.a', 'b'], undefined],
    ['very long', ['abcdefghijklmno', 'pqrstuvwxyzabcd'], 'n'.repeat(64)],
  ];
  test.each(cases)('%s fits the instance pattern', (_name, ports, netns) => {
    expect(defaultInstance(ports, netns)).toMatch(re);
  });

  test('readable names are kept as they are', () => {
    expect(defaultInstance(['eth0', 'eth1'])).toBe('eth0-eth1');
    expect(defaultInstance(['eth0', 'eth1'], 'ns1')).toBe('ns1-eth0-eth1');
  });

  test('names that had to change stay distinct', () => {
    const a = defaultInstance(['veth@1', 'x']);
    const b = defaultInstance(['veth:1', 'x']);
    expect(a).not.toBe(b);
    expect(a.startsWith('veth_1-x-')).toBe(true);
    const long1 = defaultInstance(['abcdefghijklmn1', 'abcdefghijklmn2'], 'ns');
    const long2 = defaultInstance(['abcdefghijklmn1', 'abcdefghijklmn3'], 'ns');
    expect(long1).toHaveLength(32);
    expect(long1).not.toBe(long2);
  });
});

describe('configHash', () => {
  const eff: EffectiveConfig = { instance: 'lab', ports: ['eth0', 'eth1'], mode: 'native', netns: 'wire' };

  test('is the first 8 bytes of sha256 over sorted-key JSON, big-endian', () => {
    const json = '{"instance":"lab","mode":"native","netns":"wire","ports":["eth0","eth1"]}';
    expect(canonicalJson(eff)).toBe(json);
    const digest = createHash('sha256').update(json).digest('hex');
    expect(configHash(eff)).toBe(BigInt(`0x${digest.slice(0, 16)}`));
  });

  test('fits in 64 unsigned bits', () => {
    const h = configHash(eff);
    expect(h >= 0n && h < 1n << 64n).toBe(true);
  });

  test('key order does not matter, at any depth', () => {
    const reordered = { netns: 'wire', mode: 'native', ports: ['eth0', 'eth1'], instance: 'lab' } as EffectiveConfig;
    expect(configHash(reordered)).toBe(configHash(eff));
    expect(canonicalJson({ b: { y: 1, x: 2 }, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":{"x":2,"y":1}}');
  });

  test('same YAML with keys in another order gives the same hash', () => {
    const a = parseConfig('ports: [eth0, eth1]\nmode: generic\nnetns: wire\n', FILE);
    const b = parseConfig('netns: wire\nmode: generic\nports: [eth0, eth1]\n', FILE);
    expect(configHash(mergeCliOverConfig(a, {}))).toBe(configHash(mergeCliOverConfig(b, {})));
  });

  test('defaults and explicit values hash the same', () => {
    const implicit = mergeCliOverConfig({ ports: ['eth0', 'eth1'] }, {});
    const explicit = mergeCliOverConfig({ ports: ['eth0', 'eth1'], mode: 'auto', instance: 'eth0-eth1' }, {});
    expect(configHash(implicit)).toBe(configHash(explicit));
  });

  const changes: Array<[string, Partial<EffectiveConfig>]> = [
    ['instance', { instance: 'lab2' }],
    ['ports', { ports: ['eth0', 'eth2'] }],
    ['port order', { ports: ['eth1', 'eth0'] }],
    ['mode', { mode: 'generic' }],
    ['netns', { netns: 'other' }],
  ];
  test.each(changes)('changing %s changes the hash', (_name, change) => {
    expect(configHash({ ...eff, ...change })).not.toBe(configHash(eff));
  });

  test('dropping netns changes the hash', () => {
    const { netns: _dropped, ...rest } = eff;
    expect(configHash(rest)).not.toBe(configHash(eff));
  });
});
