// Pieces of the loader that need no kernel: privilege rules and rollback order.
import { requirePrivilege } from '../../src/loader/privilege';
import { UndoStack } from '../../src/loader/undo';
import { UsageError } from '../../src/errors';

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
