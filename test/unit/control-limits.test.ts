// The values the control plane writes must have exactly the members of the
// C structs, read from the build's BTF (not from the header's text); the
// limits come from src/generated/bpf.ts (test/unit/generated.test.ts).

import * as path from 'node:path';
import * as bpf from '../../src/bpf/libbpf';
import { Btf } from '../../src/btf';
import * as limits from '../../src/config/limits';
import { desiredState } from '../../src/control';

const obj = bpf.openObject(path.resolve(__dirname, '../../../build/l2_tc.bpf.o'));
const BTF = Btf.parse(bpf.objectBtfRaw(obj)!);
bpf.closeObject(obj);

/** Member names of a struct, in order. */
function members(struct: string): string[] {
  const t = BTF.findByName('struct', struct);
  if (!t) throw new Error(`struct ${struct} is not in the BTF`);
  return t.members.map((m) => m.name);
}

test('enum l2_action names', () => {
  const t = BTF.findByName('enum', 'l2_action')!;
  expect(t.values.map((v) => [v.name, Number(v.value)])).toEqual([['L2_ACT_PASS', 0], ['L2_ACT_TUNNEL', 1], ['L2_ACT_DROP', 2]]);
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
  expect(s.rules[0].value.alt).toHaveLength(limits.L2_RULE_ALTS);
  const alt = BTF.findByName('struct', 'l2_rule')!.members.find((m) => m.name === 'alt')!;
  expect(BTF.type(BTF.resolve(alt.type))).toMatchObject({ kind: 'array', nelems: limits.L2_RULE_ALTS });
});
