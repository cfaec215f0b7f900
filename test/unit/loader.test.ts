// Pieces of the loader that need no kernel: privilege rules and rollback order.
import { requirePrivilege } from '../../src/loader/privilege';
import { UndoStack } from '../../src/loader/undo';
import { UsageError } from '../../src/errors';
import { layoutDiff } from '../../src/loader/layout';

const caps = (...bits: number[]) => bits.reduce((acc, b) => acc | (1n << BigInt(b)), 0n);
const NET_ADMIN = 12, SYS_ADMIN = 21, BPF = 39;

describe('requirePrivilege', () => {
  test.each([
    ['root-like', caps(NET_ADMIN, SYS_ADMIN, BPF), undefined, true],
    ['CAP_BPF + CAP_NET_ADMIN, own namespace', caps(NET_ADMIN, BPF), undefined, true],
    ['CAP_BPF + CAP_NET_ADMIN, --netns needs CAP_SYS_ADMIN', caps(NET_ADMIN, BPF), 'box', false],
    ['CAP_BPF alone', caps(BPF), undefined, false],
    ['nothing', 0n, undefined, false],
  ])('%s', (_n, c, netns, ok) => {
    const run = () => requirePrivilege('attach', netns, c);
    if (ok) expect(run).not.toThrow();
    else expect(run).toThrow(UsageError);
  });
  test('message says what is needed', () => {
    expect(() => requirePrivilege('detach', undefined, 0n)).toThrow(/l2bpf detach needs root/);
  });
});

describe('UndoStack', () => {
  test('undoes newest first and keeps going past a failing step', () => {
    const done: string[] = [];
    const u = new UndoStack();
    u.push('one', () => done.push('one'));
    u.push('two', () => { throw new Error('stuck'); });
    u.push('three', () => done.push('three'));
    expect(u.rollback()).toEqual(['two: stuck']);
    expect(done).toEqual(['three', 'one']);
    expect(u.rollback()).toEqual([]); // nothing twice
  });
  test('commit forgets the steps', () => {
    const done: string[] = [];
    const u = new UndoStack();
    u.push('one', () => done.push('one'));
    u.commit();
    expect(u.rollback()).toEqual([]);
    expect(done).toEqual([]);
  });
});

describe('layoutDiff: what keeps a pinned map from being reused', () => {
  const base = { type: 2, keySize: 4, valueSize: 48, maxEntries: 64, shape: 'struct l2_tunnel {remote@0:4, key@4:4}' };
  test.each([
    ['the same layout', base, []],
    ['another type', { ...base, type: 1 }, ['type hash -> array']],
    ['sizes and entries', { ...base, keySize: 8, valueSize: 16, maxEntries: 32 }, ['key size 8 -> 4', 'value size 16 -> 48', 'max entries 32 -> 64']],
    ['same sizes, other fields (BTF)', { ...base, shape: 'struct l2_tunnel {remote@0:4, pad@4:4}' }, ['BTF struct l2_tunnel {remote@0:4, pad@4:4} -> struct l2_tunnel {remote@0:4, key@4:4}']],
    ['a pinned map without BTF: sizes only', { ...base, shape: undefined }, []],
  ])('%s', (_n, pinned, expected) => {
    expect(layoutDiff(pinned, base)).toEqual(expected);
  });
});
