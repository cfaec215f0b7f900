// Unit tests for the local, flows, tunnels and rules sections of the config:
// what is accepted, and the exact file:line:col: field: message of what is not.

import * as path from 'node:path';
import { Config, ConfigError, loadConfig, parseConfig } from '../../src/config';

const FIXTURES = path.resolve(__dirname, '../../../test/fixtures/config');
const FILE = 'l2bpf.yaml';
const L = 'local: 198.51.100.10/24\n'; // tunnels need it

function messageOf(text: string): string {
  try {
    parseConfig(text, FILE);
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('valid configs', () => {
  const cases: Array<[string, string, Config]> = [
    ['local IPv4', 'local: 198.51.100.10/24\n', { local: '198.51.100.10/24' }],
    ['local IPv4 and IPv6', 'local: [198.51.100.10/24, 2001:db8:100::10/64]\n', {
      local: ['198.51.100.10/24', '2001:db8:100::10/64'],
    }],
    ['local IPv6 first', 'local: [2001:db8:100::10/64, 198.51.100.10/24]\n', {
      local: ['2001:db8:100::10/64', '198.51.100.10/24'],
    }],
    ['local list of one', 'local: [198.51.100.10/24]\n', { local: ['198.51.100.10/24'] }],
    ['local /31 has no network address', 'local: 192.0.2.0/31\n', { local: '192.0.2.0/31' }],
    ['local /32', 'local: 192.0.2.255/32\n', { local: '192.0.2.255/32' }],
    ['flows at the minimum', 'flows: {size: 1024}\n', { flows: { size: 1024 } }],
    ['flows at the maximum', 'flows: {size: 16777216}\n', { flows: { size: 16777216 } }],
    ['flows empty', 'flows: {}\n', { flows: {} }],
    ['no tunnels need no local', 'tunnels: {}\n', { tunnels: {} }],
    [
      'tunnel with every option',
      `${L}tunnels:\n  pop1: {remote: 192.0.2.1, key: 0, checksum: true, ttl: 255, mtu: 1400, df: false}\n`,
      {
        local: '198.51.100.10/24',
        tunnels: { pop1: { remote: '192.0.2.1', key: 0, checksum: true, ttl: 255, mtu: 1400, df: false } },
      },
    ],
    ['tunnel names with _ and -', `${L}tunnels:\n  Pop-2_b: {remote: 192.0.2.2}\n`, {
      local: '198.51.100.10/24',
      tunnels: { 'Pop-2_b': { remote: '192.0.2.2' } },
    }],
    ['largest key', `${L}tunnels:\n  a: {remote: 192.0.2.2, key: 4294967295}\n`, {
      local: '198.51.100.10/24',
      tunnels: { a: { remote: '192.0.2.2', key: 4294967295 } },
    }],
    ['one remote, different keys', `${L}tunnels:\n  a: {remote: 192.0.2.2, key: 1}\n  b: {remote: 192.0.2.2, key: 2}\n`, {
      local: '198.51.100.10/24',
      tunnels: { a: { remote: '192.0.2.2', key: 1 }, b: { remote: '192.0.2.2', key: 2 } },
    }],
    [
      'rules of both families',
      `${L}tunnels:\n  pop1: {remote: 192.0.2.1}\nrules:\n` +
        '  - {dst: 0.0.0.0/0, action: tunnel pop1}\n' +
        '  - {dst: 203.0.113.0/24, src: 10.0.0.0/8, action: pass}\n' +
        '  - dst: 2001:db8::/32\n    action: drop\n' +
        '  - {dst: "::/0", src: "2001:db8:1::/48", action: pass}\n',
      {
        local: '198.51.100.10/24',
        tunnels: { pop1: { remote: '192.0.2.1' } },
        rules: [
          { dst: '0.0.0.0/0', action: 'tunnel pop1' },
          { dst: '203.0.113.0/24', src: '10.0.0.0/8', action: 'pass' },
          { dst: '2001:db8::/32', action: 'drop' },
          { dst: '::/0', src: '2001:db8:1::/48', action: 'pass' },
        ],
      },
    ],
    ['same dst with several srcs', 'rules:\n  - {dst: 10.0.0.0/8, action: drop}\n  - {dst: 10.0.0.0/8, src: 192.0.2.0/24, action: pass}\n', {
      rules: [
        { dst: '10.0.0.0/8', action: 'drop' },
        { dst: '10.0.0.0/8', src: '192.0.2.0/24', action: 'pass' },
      ],
    }],
  ];
  test.each(cases)('%s', (_name, text, expected) => {
    expect(parseConfig(text, FILE)).toEqual(expected);
  });
});

describe('errors in local and flows', () => {
  const cases: Array<[string, string, string]> = [
    ['network address', 'local: 198.51.100.0/24\n', '1:8: local: 198.51.100.0 is the network address of 198.51.100.0/24, not a host address'],
    ['broadcast address', 'local: 198.51.100.255/24\n', '1:8: local: 198.51.100.255 is the broadcast address of 198.51.100.0/24, not a host address'],
    ['network address of a /30', 'local: [192.0.2.4/30]\n', '1:9: local[0]: 192.0.2.4 is the network address of 192.0.2.4/30, not a host address'],
    ['no prefix length', 'local: 198.51.100.10\n', '1:8: local: needs a prefix length, like 198.51.100.10/24'],
    ['prefix too long', 'local: 198.51.100.10/33\n', '1:8: local: prefix length must be 0..32'],
    ['leading zero in the length', 'local: 198.51.100.10/024\n', '1:8: local: prefix length must be 0..32'],
    ['leading zero in the address', 'local: 198.051.100.10/24\n', '1:8: local: must be an IPv4 or IPv6 address with prefix length, like 198.51.100.10/24'],
    ['not an address', 'local: eth0/24\n', '1:8: local: must be an IPv4 or IPv6 address with prefix length, like 198.51.100.10/24'],
    ['zone id', 'local: [198.51.100.10/24, "fe80::1%eth0/64"]\n', '1:27: local[1]: must be an IPv4 or IPv6 address with prefix length, like 198.51.100.10/24'],
    ['IPv6 alone', 'local: 2001:db8::1/64\n', '1:8: local: must be an IPv4 address with prefix length; give an IPv6 one as a list, like [198.51.100.10/24, 2001:db8::10/64]'],
    ['list without IPv4', 'local: [2001:db8::1/64]\n', '1:8: local: must include an IPv4 address, like [198.51.100.10/24, 2001:db8::10/64]'],
    ['two IPv4', 'local: [198.51.100.10/24, 198.51.100.11/24]\n', '1:27: local[1]: is a second IPv4 address; list one IPv4 and at most one IPv6'],
    ['two IPv6', 'local:\n  - 2001:db8::1/64\n  - 2001:db8::2/64\n', '3:5: local[1]: is a second IPv6 address; list one IPv4 and at most one IPv6'],
    ['loopback', 'local: 127.0.0.1/8\n', '1:8: local: 127.0.0.1 is not a unicast address'],
    ['multicast', 'local: 224.0.0.5/24\n', '1:8: local: 224.0.0.5 is not a unicast address'],
    ['IPv6 multicast', 'local: [198.51.100.10/24, ff02::1/64]\n', '1:27: local[1]: ff02::1 is not a unicast address'],
    ['a number', 'local: 5\n', '1:8: local: must be a string or a list, not a whole number'],
    ['a mapping', 'local: {ipv4: 198.51.100.10/24}\n', '1:8: local: must be a string or a list, not a mapping'],
    ['list of a number', 'local: [5]\n', '1:9: local[0]: must be a string, not a whole number'],
    ['empty list', 'local: []\n', '1:8: local: must list an IPv4 address (and optionally an IPv6 one)'],
    ['three addresses', 'local: [192.0.2.1/24, 2001:db8::1/64, 2001:db8::2/64]\n', '1:8: local: must list at most 2 addresses: one IPv4 and one IPv6'],
    ['flows too small', 'flows: {size: 1023}\n', '1:15: flows.size: must be at least 1024'],
    ['flows too large', 'flows:\n  size: 16777217\n', '2:9: flows.size: must be at most 16777216'],
    ['flows not whole', 'flows: {size: 2.5}\n', '1:15: flows.size: must be a whole number, not a number'],
    ['flows unknown key', 'flows: {count: 5}\n', '1:9: flows.count: unknown key (allowed: size)'],
    ['flows a number', 'flows: 5\n', '1:8: flows: must be a mapping, not a whole number'],
  ];
  test.each(cases)('%s', (_name, text, rest) => {
    expect(messageOf(text)).toBe(`${FILE}:${rest}`);
  });
});

describe('errors in tunnels', () => {
  const T = `${L}tunnels:\n`;
  const NAME = 'must be a tunnel name (1-32 characters of A-Z a-z 0-9 _ -, starting with a letter)';
  const cases: Array<[string, string, string]> = [
    ['tunnels without local', 'tunnels:\n  pop1: {remote: 192.0.2.1}\n', '1:1: tunnels: need local to be set: GRE packets leave from its IPv4 address'],
    ['missing remote', `${T}  pop1: {key: 5}\n`, "3:3: tunnels.pop1: missing required key 'remote'"],
    ['remote not an address', `${T}  pop1: {remote: x}\n`, '3:18: tunnels.pop1.remote: must be an IPv4 address like 192.0.2.1'],
    ['remote IPv6', `${T}  pop1: {remote: "2001:db8::1"}\n`, '3:18: tunnels.pop1.remote: must be an IPv4 address like 192.0.2.1'],
    ['remote with prefix', `${T}  pop1: {remote: 192.0.2.1/32}\n`, '3:18: tunnels.pop1.remote: must be an IPv4 address without prefix length'],
    ['remote 0.0.0.0 (marks a free slot)', `${T}  pop1: {remote: 0.0.0.0}\n`, '3:18: tunnels.pop1.remote: 0.0.0.0 is not a unicast address'],
    ['remote multicast', `${T}  pop1: {remote: 239.1.1.1}\n`, '3:18: tunnels.pop1.remote: 239.1.1.1 is not a unicast address'],
    ['remote broadcast', `${T}  pop1: {remote: 255.255.255.255}\n`, '3:18: tunnels.pop1.remote: 255.255.255.255 is not a unicast address'],
    ['remote is local', `${T}  pop1: {remote: 198.51.100.10}\n`, "3:18: tunnels.pop1.remote: 198.51.100.10 is the box's own address (local)"],
    ['remote a number', `${T}  pop1: {remote: 3232235777}\n`, '3:18: tunnels.pop1.remote: must be a string, not a whole number'],
    [
      'shared remote, one without key',
      `${T}  a: {remote: 192.0.2.1, key: 1}\n  b: {remote: 192.0.2.1}\n`,
      '4:15: tunnels.b.remote: same remote as tunnels.a; tunnels that share a remote must each have a different key',
    ],
    [
      'shared remote, same key',
      `${T}  a: {remote: 192.0.2.1, key: 1}\n  b: {remote: 192.0.2.1, key: 1}\n`,
      '4:31: tunnels.b.key: same key as tunnels.a, which has the same remote',
    ],
    ['key negative', `${T}  a: {remote: 192.0.2.1, key: -1}\n`, '3:31: tunnels.a.key: must be at least 0'],
    ['key too large', `${T}  a: {remote: 192.0.2.1, key: 4294967296}\n`, '3:31: tunnels.a.key: must be at most 4294967295'],
    ['ttl 0', `${T}  a: {remote: 192.0.2.1, ttl: 0}\n`, '3:31: tunnels.a.ttl: must be at least 1'],
    ['ttl 256', `${T}  a: {remote: 192.0.2.1, ttl: 256}\n`, '3:31: tunnels.a.ttl: must be at most 255'],
    ['mtu 575', `${T}  a: {remote: 192.0.2.1, mtu: 575}\n`, '3:31: tunnels.a.mtu: must be at least 576'],
    ['mtu 65536', `${T}  a: {remote: 192.0.2.1, mtu: 65536}\n`, '3:31: tunnels.a.mtu: must be at most 65535'],
    ['checksum a string', `${T}  a: {remote: 192.0.2.1, checksum: "yes"}\n`, '3:36: tunnels.a.checksum: must be true or false, not a string'],
    ['df a number', `${T}  a: {remote: 192.0.2.1, df: 1}\n`, '3:30: tunnels.a.df: must be true or false, not a whole number'],
    ['unknown tunnel key', `${T}  a: {remote: 192.0.2.1, vni: 5}\n`, '3:26: tunnels.a.vni: unknown key (allowed: remote, key, checksum, ttl, mtu, df)'],
    ['name starting with a digit', `${T}  1pop: {remote: 192.0.2.1}\n`, `3:3: tunnels.1pop: ${NAME}`],
    ['name too long', `${T}  ${'a'.repeat(33)}: {remote: 192.0.2.1}\n`, `3:3: tunnels.${'a'.repeat(33)}: ${NAME}`],
    ['name with a dot', `${T}  a.b: {remote: 192.0.2.1}\n`, `3:3: tunnels["a.b"]: ${NAME}`],
    ['tunnel not a mapping', `${T}  a: 192.0.2.1\n`, '3:6: tunnels.a: must be a mapping, not a string'],
  ];
  test.each(cases)('%s', (_name, text, rest) => {
    expect(messageOf(text)).toBe(`${FILE}:${rest}`);
  });

  test('at most 63 tunnels', () => {
    const many = (n: number): string =>
      `${L}tunnels:\n${Array.from({ length: n }, (_, i) => `  t${i}: {remote: 192.0.${Math.floor(i / 200) + 2}.${(i % 200) + 1}}\n`).join('')}`;
    expect(() => parseConfig(many(63), FILE)).not.toThrow();
    expect(messageOf(many(64))).toBe(`${FILE}:3:3: tunnels: must have at most 63 tunnels`);
  });
});

describe('errors in rules', () => {
  const T = `${L}tunnels:\n  pop1: {remote: 192.0.2.1}\n  pop2: {remote: 192.0.2.2}\nrules:\n`; // rules from line 6
  const PREFIX = 'must be an IPv4 or IPv6 address with prefix length, like 203.0.113.0/24 or 2001:db8::/32';
  const cases: Array<[string, string, string]> = [
    ['host bits', 'rules:\n  - {dst: 203.0.113.5/24, action: pass}\n', '2:11: rules[0].dst: 203.0.113.5/24 has host bits set; did you mean 203.0.113.0/24?'],
    ['IPv6 host bits', 'rules:\n  - {dst: "2001:db8::1/32", action: pass}\n', '2:11: rules[0].dst: 2001:db8::1/32 has host bits set; did you mean 2001:db8::/32?'],
    ['src host bits', 'rules:\n  - {dst: 10.0.0.0/8, src: 192.168.1.1/16, action: drop}\n', '2:28: rules[0].src: 192.168.1.1/16 has host bits set; did you mean 192.168.0.0/16?'],
    ['no prefix length', 'rules:\n  - {dst: 203.0.113.0, action: pass}\n', '2:11: rules[0].dst: needs a prefix length, like 203.0.113.0/24 or 2001:db8::/32'],
    ['not a prefix', 'rules:\n  - {dst: example.com/24, action: pass}\n', `2:11: rules[0].dst: ${PREFIX}`],
    ['IPv4 length 33', 'rules:\n  - {dst: 10.0.0.0/33, action: pass}\n', '2:11: rules[0].dst: prefix length must be 0..32'],
    ['IPv6 length 129', 'rules:\n  - {dst: "::/129", action: pass}\n', '2:11: rules[0].dst: prefix length must be 0..128'],
    ['families differ', 'rules:\n  - {dst: 10.0.0.0/8, src: "2001:db8::/32", action: drop}\n', '2:28: rules[0].src: is IPv6 but dst is IPv4; both must be of one family'],
    ['unknown tunnel', `${T}  - {dst: 10.0.0.0/8, action: tunnel pop3}\n`, '6:31: rules[0].action: names tunnel pop3, which does not exist (configured: pop1, pop2)'],
    ['tunnel without tunnels', 'rules:\n  - {dst: 10.0.0.0/8, action: tunnel pop1}\n', '2:31: rules[0].action: names tunnel pop1, which does not exist (no tunnels are configured)'],
    ['tunnel names are case-sensitive', `${T}  - {dst: 10.0.0.0/8, action: tunnel POP1}\n`, '6:31: rules[0].action: names tunnel POP1, which does not exist (configured: pop1, pop2)'],
    ['bare tunnel', 'rules:\n  - {dst: 10.0.0.0/8, action: tunnel}\n', '2:31: rules[0].action: must be pass, drop or tunnel NAME'],
    ['wrong case', 'rules:\n  - {dst: 10.0.0.0/8, action: Pass}\n', '2:31: rules[0].action: must be pass, drop or tunnel NAME'],
    ['two spaces', 'rules:\n  - {dst: 10.0.0.0/8, action: "tunnel  pop1"}\n', '2:31: rules[0].action: must be pass, drop or tunnel NAME'],
    ['missing action', 'rules:\n  - {dst: 10.0.0.0/8}\n', "2:5: rules[0]: missing required key 'action'"],
    ['missing dst', 'rules:\n  - action: drop\n', "2:5: rules[0]: missing required key 'dst'"],
    ['unknown rule key', 'rules:\n  - {dst: 10.0.0.0/8, proto: tcp, action: drop}\n', '2:23: rules[0].proto: unknown key (allowed: dst, src, action)'],
    ['rules a mapping', 'rules: {dst: 10.0.0.0/8}\n', '1:8: rules: must be a list, not a mapping'],
    [
      'same dst and src twice',
      'rules:\n  - {dst: 10.0.0.0/8, action: drop}\n  - {dst: 10.1.0.0/16, action: drop}\n  - {dst: 10.0.0.0/8, action: pass}\n',
      '4:5: rules[2]: has the same dst and src as rules[0]',
    ],
    [
      'src 0.0.0.0/0 is the same as no src',
      'rules:\n  - {dst: 10.0.0.0/8, action: drop}\n  - {dst: 10.0.0.0/8, src: 0.0.0.0/0, action: pass}\n',
      '3:5: rules[1]: has the same dst and src as rules[0]',
    ],
    [
      'IPv6 spelt differently is still the same',
      'rules:\n  - {dst: "2001:DB8::/32", action: drop}\n  - {dst: "2001:0db8:0::/32", action: pass}\n',
      '3:5: rules[1]: has the same dst and src as rules[0]',
    ],
  ];
  test.each(cases)('%s', (_name, text, rest) => {
    expect(messageOf(text)).toBe(`${FILE}:${rest}`);
  });

  const rule = (dst: string, src: string | undefined, action = 'drop'): string =>
    `  - {dst: ${dst}, ${src !== undefined ? `src: ${src}, ` : ''}action: ${action}}\n`;
  const srcs = (n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => `192.168.${from + i}.0/24`);

  test('eight alternatives fit, nine do not', () => {
    const eight = `rules:\n${srcs(8).map((s) => rule('10.0.0.0/8', s)).join('')}`;
    expect(() => parseConfig(eight, FILE)).not.toThrow();
    expect(messageOf(`${eight}${rule('10.0.0.0/8', '172.16.0.0/12')}`)).toBe(
      `${FILE}:2:11: rules[0].dst: 10.0.0.0/8 needs 9 source alternatives, counting the rules of prefixes that cover it; ` +
        'at most 8 fit (merge src prefixes, or add a rule for it without src)',
    );
  });

  test('alternatives of covering prefixes count, and the error names the more specific dst', () => {
    const text = `rules:\n${srcs(5).map((s) => rule('10.0.0.0/8', s)).join('')}${srcs(4, 5).map((s) => rule('10.1.0.0/16', s)).join('')}`;
    expect(messageOf(text)).toBe(
      `${FILE}:7:11: rules[5].dst: 10.1.0.0/16 needs 9 source alternatives, counting the rules of prefixes that cover it; ` +
        'at most 8 fit (merge src prefixes, or add a rule for it without src)',
    );
  });

  test('shadowed alternatives do not count', () => {
    // 10.1/16 without src hides every covering rule; 10.2/16's /16 src hides the /24s inside it.
    const text =
      `rules:\n${srcs(8).map((s) => rule('10.0.0.0/8', s)).join('')}` +
      `${rule('10.1.0.0/16', undefined)}${rule('10.2.0.0/16', '192.168.0.0/16')}`;
    expect(() => parseConfig(text, FILE)).not.toThrow();
  });

  test('at most 16384 distinct dst prefixes', () => {
    const dsts = (n: number): string =>
      `rules:\n${Array.from({ length: n }, (_, i) => `- {dst: 10.${i >> 8}.${i & 255}.0/24, action: drop}\n`).join('')}`;
    expect(() => parseConfig(dsts(16384), FILE)).not.toThrow();
    expect(messageOf(dsts(16385))).toBe(`${FILE}:16386:9: rules[16384].dst: is distinct dst prefix number 16385; the rules map holds at most 16384`);
  });
});

describe('fixtures', () => {
  test('a complete config with every section loads', () => {
    const config = loadConfig(path.join(FIXTURES, 'gre.yaml'));
    expect(config.local).toEqual(['198.51.100.10/24', '2001:db8:100::10/64']);
    expect(Object.keys(config.tunnels ?? {})).toEqual(['pop1', 'pop2']);
    expect(config.rules).toHaveLength(5);
    expect(config.flows).toEqual({ size: 65536 });
  });

  test('a rule with host bits names the file, line, column and field', () => {
    const file = path.join(FIXTURES, 'bad-rule.yaml');
    expect(() => loadConfig(file)).toThrow(
      `${file}:11:10: rules[1].dst: 203.0.113.5/24 has host bits set; did you mean 203.0.113.0/24?`,
    );
  });
});
