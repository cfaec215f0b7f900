// src/generated/bpf.ts is what the generator makes of the current build:
// change maps/l2bpf_types.h without `make gen` and this fails.
import fs from 'fs';
import path from 'path';
import { generate } from '../../src/tools/gen-bpf';
import { LIMITS, MAPS, TUN_FLAGS } from '../../src/generated/bpf';

const REPO = path.resolve(__dirname, '../../..');

test('the checked-in module equals the generator\'s output for this build (run `make gen` if not)', () => {
  expect(fs.readFileSync(path.join(REPO, 'src/generated/bpf.ts'), 'utf8')).toBe(generate(path.join(REPO, 'build')));
});

test('it holds what the control plane uses', () => {
  expect(MAPS.l2_flows).toBe('l2_flows');
  expect(LIMITS.L2_RULE_ALTS).toBeGreaterThan(0);
  expect(TUN_FLAGS).toEqual({ L2_TUN_KEY: 1, L2_TUN_CSUM: 2, L2_TUN_DF: 4 });
});
