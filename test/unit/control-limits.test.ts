// The numbers and names the control plane shares with the BPF side must be
// those of maps/l2bpf_types.h: #defines are not in BTF, so compare with the
// header text itself.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as limits from '../../src/config/limits';
import { desiredState } from '../../src/control';

const HEADER = fs.readFileSync(path.resolve(__dirname, '../../../maps/l2bpf_types.h'), 'utf8');

function define(name: string): number {
  const m = new RegExp(`^#define\\s+${name}\\s+(.+?)\\s*(/\\*.*)?$`, 'm').exec(HEADER);
  if (m === null) throw new Error(`${name} is not defined in the header`);
  const shift = /^\(\s*1\s*<<\s*(\d+)\s*\)$/.exec(m[1]);
  return shift !== null ? 1 << Number(shift[1]) : Number(m[1]);
}

/** Member names of a struct, in order (arrays without their size). */
function members(struct: string): string[] {
  const m = new RegExp(`struct ${struct} \\{([^}]*)\\};`).exec(HEADER);
  if (m === null) throw new Error(`struct ${struct} is not in the header`);
  return m[1]
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .split(';')
    .map((d) => d.trim())
    .filter((d) => d !== '')
    .map((d) => /(\w+)\s*(\[[^\]]*\])*$/.exec(d)![1]);
}

test.each(['L2_RULE_ALTS', 'L2_MAX_TUNNELS', 'L2_FLOWS_DEFAULT', 'L2_RULES_MAX', 'L2_TUN_KEY', 'L2_TUN_CSUM', 'L2_TUN_DF'] as const)(
  '%s',
  (name) => {
    expect(limits[name]).toBe(define(name));
  },
);

test('enum l2_action names', () => {
  for (const [name, value] of [['L2_ACT_PASS', 0], ['L2_ACT_TUNNEL', 1], ['L2_ACT_DROP', 2]] as const) {
    expect(HEADER).toMatch(new RegExp(`\\b${name} = ${value},`));
  }
});

test('desired values use exactly the C member names', () => {
  const s = desiredState(
    {
      instance: 'x',
      ports: ['a', 'b'],
      mode: 'native',
      local: '198.51.100.10/24',
      tunnels: { t: { remote: '192.0.2.1' } },
      rules: [{ dst: '10.0.0.0/8', action: 'tunnel t' }],
    },
    1500,
  );
  const sorted = (xs: string[]): string[] => [...xs].sort();
  expect(sorted(Object.keys(s.local))).toEqual(sorted(members('l2_local')));
  expect(sorted(Object.keys(s.tunnels[0].value))).toEqual(sorted(members('l2_tunnel')));
  expect(sorted(Object.keys(s.rules[0].key))).toEqual(sorted(members('l2_rule_key')));
  expect(sorted(Object.keys(s.rules[0].value))).toEqual(sorted(members('l2_rule')));
  expect(sorted(Object.keys(s.rules[0].value.alt[0]))).toEqual(sorted(members('l2_rule_alt')));
  expect(s.rules[0].value.alt).toHaveLength(define('L2_RULE_ALTS'));
});
