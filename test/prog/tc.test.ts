// TC attach/detach through the libbpf binding, on a veth in a namespace:
// clsact created only when missing and removed only if we created it.
import { execFileSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import * as bpf from '../../src/bpf/libbpf';
import { ifIndex, inNetns } from '../../src/bpf/sys';
import { ip, sh } from '../helpers/netns';

const NS = `l2tc${process.pid % 100000}`;
const PEER_NS = `${NS}p`;
const FIXTURE = path.resolve(__dirname, '../../../test/fixtures/bpf/tc_count.bpf.c');

describe('TC (clsact + cls_bpf) through libbpf', () => {
  let dir: string;
  let obj: bpf.BpfObject;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l2bpf-tc-'));
    execFileSync('clang-16', ['-target', 'bpf', '-g', '-O2', '-I/usr/include/x86_64-linux-gnu', '-c', FIXTURE, '-o', `${dir}/tc.o`]);
    obj = bpf.openObject(`${dir}/tc.o`);
    bpf.loadObject(obj);
    sh('ip', ['netns', 'add', NS]);
    sh('ip', ['netns', 'add', PEER_NS]);
    ip('-n', NS, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1', 'netns', PEER_NS);
    ip('-n', NS, 'addr', 'add', '203.0.113.1/24', 'dev', 'p0');
    ip('-n', PEER_NS, 'addr', 'add', '203.0.113.2/24', 'dev', 'p1');
    ip('-n', NS, 'link', 'set', 'p0', 'up');
    ip('-n', PEER_NS, 'link', 'set', 'p1', 'up');
  });
  afterAll(() => {
    bpf.closeObject(obj);
    sh('ip', ['netns', 'del', NS], { allowFail: true });
    sh('ip', ['netns', 'del', PEER_NS], { allowFail: true });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('attach on ingress sees traffic; query finds it; detach and hook removal leave nothing', () => {
    const prog = bpf.programFd(obj, 'tc_count');
    inNetns(NS, () => {
      const idx = ifIndex('p0');
      expect(bpf.tcHookCreate(idx)).toBe(true);
      expect(bpf.tcHookCreate(idx)).toBe(false); // exists now: not ours to remove twice
      const f = bpf.tcAttach(idx, bpf.BPF_TC_INGRESS, prog);
      expect(f.progId).toBeGreaterThan(0);
      expect(bpf.tcQuery(idx, bpf.BPF_TC_INGRESS)).toBe(f.progId);
      expect(bpf.tcQuery(idx, bpf.BPF_TC_EGRESS)).toBe(0);
    });
    expect(sh('tc', ['-n', NS, 'filter', 'show', 'dev', 'p0', 'ingress']).out).toMatch(/tc_count.*direct-action|direct-action.*tc_count|bpf.*tc_count/s);
    const seen = () => bpf.mapLookup(bpf.mapFd(obj, 'seen'), Buffer.alloc(4), 8)!.readBigUInt64LE(0);
    const before = seen();
    // 3 echo requests (plus ARP) from the peer namespace enter p0's ingress
    sh('ip', ['netns', 'exec', PEER_NS, 'ping', '-c', '3', '-i', '0.2', '-W', '1', '203.0.113.1']);
    expect(seen() - before).toBeGreaterThanOrEqual(3n);
    inNetns(NS, () => {
      const idx = ifIndex('p0');
      bpf.tcDetach(idx, bpf.BPF_TC_INGRESS);
      expect(bpf.tcQuery(idx, bpf.BPF_TC_INGRESS)).toBe(0);
      bpf.tcHookDestroy(idx);
    });
    expect(sh('tc', ['-n', NS, 'qdisc', 'show', 'dev', 'p0']).out).not.toMatch(/clsact/);
  });
});
