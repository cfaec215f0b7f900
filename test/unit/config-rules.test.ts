// Unit tests for the rules section: exact file:line:col: field: message for
// bad prefixes, actions and duplicates, and the limits of the BPF maps.

import * as path from 'node:path';
import { loadConfig, parseConfig } from '../../src/config';
import { messageOf } from '../helpers/config-errors';

const FIXTURES = path.resolve(__dirname, '../../../test/fixtures/config');
const FILE = 'l2bpf.yaml';
const L = 'local: 198.51.100.10/24\n';


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
