// formatJson against the real thing: loads test/fixtures/btf/types.bpf.c,
// writes known values with bpftool, and checks every "formatted" part of
// `bpftool -j map dump` equals formatJson of the same raw bytes.
// Needs root, bpftool and clang-16 (`make deps` installs them); never skipped.
// L2BPF_BTF_GOLDEN=1 also refreshes the bpftool-*.json goldens that
// btf-format.test.ts checks without root.
import { execFileSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { Btf, formatJson, JsonValue, parseJsonExact, stringifyJson, sumValues } from '../../src/btf';
import { counterSamples, fixtureDir, structId, valueSamples } from '../fixtures/btf/samples';

const BPFFS = '/sys/fs/bpf';
const root = path.join(BPFFS, `l2bpf-btf-test-${process.pid}`);

function run(cmd: string, args: string[], cwd?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], cwd });
}

function ensureBpffs(): void {
  const mounted = fs.readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === BPFFS && l.split(' ')[2] === 'bpf');
  if (!mounted) run('mount', ['-t', 'bpf', 'bpf', BPFFS]);
}

const hex = (b: Buffer): string[] => [...b].map((x) => x.toString(16).padStart(2, '0'));
const fromHex = (v: JsonValue): Buffer => Buffer.from((v as string[]).map((s) => parseInt(s, 16)));
const pretty = (v: JsonValue): string => stringifyJson(v, 2);

interface Entry { key: string[]; value?: string[]; values?: { cpu: number; value: string[] }[]; formatted: JsonValue }

describe('formatJson matches bpftool -j map dump', () => {
  let tmp = '';
  let btf: Btf;
  const mapPath = (name: string): string => path.join(root, 'maps', name);

  function update(map: string, samples: Buffer[]): void {
    samples.forEach((v, i) => {
      const key = Buffer.alloc(4);
      key.writeUInt32LE(i);
      run('bpftool', ['map', 'update', 'pinned', mapPath(map), 'key', 'hex', ...hex(key), 'value', 'hex', ...hex(v)]);
    });
  }

  function dump(map: string): Entry[] {
    const text = run('bpftool', ['-j', 'map', 'dump', 'pinned', mapPath(map)]);
    if (process.env.L2BPF_BTF_GOLDEN === '1') fs.writeFileSync(path.join(fixtureDir(), `bpftool-${map}.json`), text);
    return parseJsonExact(text) as unknown as Entry[];
  }

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'l2bpf-btf-'));
    const obj = path.join(tmp, 'types.bpf.o');
    const inc = `/usr/include/${os.arch() === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;
    // relative source name: BTF line info keeps the path, which must not
    // depend on where the checkout lives
    run('clang-16', ['-target', 'bpf', '-g', '-O2', '-I', inc, '-c', 'types.bpf.c', '-o', obj], fixtureDir());
    run('llvm-objcopy-16', ['--dump-section', `.BTF=${path.join(tmp, 'types.btf')}`, obj]);
    btf = Btf.parse(fs.readFileSync(path.join(tmp, 'types.btf')));
    ensureBpffs();
    fs.mkdirSync(root);
    run('bpftool', ['prog', 'loadall', obj, path.join(root, 'progs'), 'pinmaps', path.join(root, 'maps')]);
    update('l2t_values', valueSamples(btf));
    update('l2t_percpu', counterSamples(btf));
  });

  afterAll(() => {
    fs.rmSync(root, { recursive: true, force: true });
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('the committed types.btf has the types clang-16 builds from types.bpf.c', () => {
    // Types, not bytes: the string section also holds line info, whose paths
    // depend on where the checkout lives.
    const types = (b: Btf) => Array.from({ length: b.count }, (_, i) => JSON.stringify(b.type(i), (_k, v) => (typeof v === "bigint" ? `${v}` : v)));
    const built = Btf.parse(fs.readFileSync(path.join(tmp, 'types.btf')));
    const committed = Btf.parse(fs.readFileSync(path.join(fixtureDir(), 'types.btf')));
    expect(types(built)).toEqual(types(committed));
  });

  test('array map: key and value of every entry', () => {
    const keyId = btf.findByName('typedef', '__u32')!.id;
    const valueId = structId(btf, 'l2t_value');
    const entries = dump('l2t_values');
    expect(entries).toHaveLength(4);
    for (const e of entries) {
      const ours = { key: formatJson(btf, keyId, fromHex(e.key)), value: formatJson(btf, valueId, fromHex(e.value!)) };
      expect(pretty(ours)).toBe(pretty(e.formatted));
    }
  });

  test('per-CPU array: every CPU of every entry', () => {
    const valueId = structId(btf, 'l2t_counters');
    for (const e of dump('l2t_percpu')) {
      const values = e.values!.map((v) => ({ cpu: v.cpu, value: formatJson(btf, valueId, fromHex(v.value)) }));
      expect(pretty({ key: fromHex(e.key).readUInt32LE(0), values })).toBe(pretty(e.formatted));
    }
  });

  test('sumValues over the dumped per-CPU copies', () => {
    const valueId = structId(btf, 'l2t_counters');
    const [first] = dump('l2t_percpu');
    const copies = first.values!.map((v) => fromHex(v.value));
    const sum = formatJson(btf, valueId, sumValues(btf, valueId, copies)) as Record<string, JsonValue>;
    const n = BigInt(copies.length);
    const u64 = (1n << 64n) - 1n;
    expect(sum.packets).toBe(BigInt.asUintN(64, u64 * n));
    expect(sum.bytes).toBe(1000n * n);
    expect(sum.small).toBe(Number(BigInt.asUintN(32, 0xffffffffn * n)));
    expect(sum.delta).toBe(Number(BigInt.asIntN(16, -3n * n)));
    expect(sum.tiny).toBe(Number(BigInt.asUintN(8, 200n * n)));
    expect(sum.mac).toEqual([2, 0, 0, 0, 0, 1]);
    expect(sum.name).toBe('cpu');
    expect(sum.col).toBe('L2T_GREEN');
  });
});
