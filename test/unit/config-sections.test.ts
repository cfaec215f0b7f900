// Unit tests for the local, flows, tunnels and rules sections of the config:
// what is accepted, and the exact file:line:col: field: message of what is
// not (rules errors: config-rules.test.ts).

import { Config, parseConfig } from '../../src/config';
import { messageOf } from '../helpers/config-errors';

const FILE = 'l2bpf.yaml';
const L = 'local: 198.51.100.10/24\n'; // tunnels need it


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
    ['two tunnels, two remotes', `${L}tunnels:\n  a: {remote: 192.0.2.2, key: 1}\n  b: {remote: 192.0.2.3, key: 2}\n`, {
      local: '198.51.100.10/24',
      tunnels: { a: { remote: '192.0.2.2', key: 1 }, b: { remote: '192.0.2.3', key: 2 } },
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
    ['tunnels without local', 'tunnels:\n  pop1: {remote: 192.0.2.1}\n', '1:1: tunnels: need local to be set; GRE packets leave from its IPv4 address'],
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
      '4:15: tunnels.b.remote: same remote as tunnels.a; each tunnel needs its own remote',
    ],
    [
      'shared remote, different keys (decap finds a tunnel by remote)',
      `${T}  a: {remote: 192.0.2.1, key: 1}\n  b: {remote: 192.0.2.1, key: 2}\n`,
      '4:15: tunnels.b.remote: same remote as tunnels.a; each tunnel needs its own remote',
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
