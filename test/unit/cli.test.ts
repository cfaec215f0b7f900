// The CLI's conventions, run as a user runs it (no instance needed): the
// options table against --help and the README, --version, usage errors
// (exit 2, one line naming the argument), results on stdout; and the
// config warnings.
import fs from 'fs';
import os from 'os';
import path from 'path';
import { spawnSync } from 'child_process';
import { checkValue, COMMANDS, usageBlock } from '../../src/cli/options';
import { configWarnings } from '../../src';

const REPO = path.resolve(__dirname, '../../..');
const MAIN = path.resolve(__dirname, '../../src/cli/main.js');
const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), 'l2bpf-cli-'));
const cli = (...args: string[]) => {
  const r = spawnSync('node', [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, L2BPF_PIN_ROOT: ROOT } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
afterAll(() => fs.rmSync(ROOT, { recursive: true, force: true }));

describe('options are declared once', () => {
  test('the README usage block is the one the table gives', () => {
    const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const block = readme.match(/## Using it\n\n```sh\n([\s\S]*?)```/)![1].trim().split('\n');
    expect(block).toEqual(usageBlock());
  });

  test.each(COMMANDS.map((c) => [c.name, c]))('--help of %s lists every option of the table', (name, c) => {
    const r = cli(name as string, '--help');
    expect(r.code).toBe(0);
    for (const o of (c as typeof COMMANDS[number]).options) expect(r.out).toContain(o.flags);
  });

  test('numeric values: a positive number, whole where it counts', () => {
    expect(checkValue('positive-number', '0.5')).toBe(0.5);
    expect(checkValue('positive-number', 'abc')).toBe('must be a number');
    expect(checkValue('positive-number', '')).toBe('must be a number');
    expect(checkValue('positive-number', '0')).toBe('must be more than 0');
    expect(checkValue('positive-integer', '3')).toBe(3);
    expect(checkValue('positive-integer', '2.5')).toBe('must be a whole number');
  });
});

describe('the CLI as a user meets it', () => {
  test('--version prints the package version on stdout', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
    const r = cli('--version');
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(pkg.version);
  });

  test.each([
    ['stats --interval abc', ['stats', '--watch', '--interval', 'abc'], /--interval.*'abc' is invalid.*must be a number/],
    ['stats --count 0', ['stats', '--watch', '--count', '0'], /--count.*'0' is invalid.*must be more than 0/],
    ['stats --count without --watch', ['stats', '--count', '3'], /--interval and --count go with --watch/],
    ['detach --name with --all', ['detach', '--name', 'x', '--all'], /--name.*cannot be used with.*--all/],
    ['detach ports with --name', ['detach', 'eth2', 'eth3', '--name', 'x'], /detach: PORTS and --name each choose instances: give one/],
    ['attach with one port', ['attach', 'eth2'], /attach takes two ports, got 1/],
    ['an unknown mode', ['attach', 'eth2', 'eth3', '--mode', 'turbo'], /--mode.*'turbo' is invalid/],
  ])('%s: exit 2, one message naming it, nothing on stdout', (_n, args, msg) => {
    const r = cli(...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(msg);
    expect(r.out).toBe('');
  });

  test('a flag contradicting the config file is a config error (exit 2), not an override', () => {
    const file = path.join(ROOT, 'l2bpf.yaml');
    fs.writeFileSync(file, 'ports: [eth2, eth3]\nnetns: lab\n');
    const r = cli('attach', '-c', file, '--netns', 'other');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/netns: command line says other \(--netns\) but .*l2bpf.yaml says lab/);
  });

  test('openvpn with a config it cannot honour: exit 2, file:line and the option, before anything is made', () => {
    const file = path.join(ROOT, 'server.conf');
    fs.writeFileSync(file, 'port 1194\nproto udp\ndev tap0\nserver 192.0.2.0 255.255.255.0\n');
    const r = cli('openvpn', file);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/server\.conf:3:1: dev: tap \(layer 2\) is not supported/);
    expect(r.out).toBe('');
    const missing = cli('openvpn', path.join(ROOT, 'nope.conf'));
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/cannot read .*nope\.conf: ENOENT/);
  });

  test('results on stdout: detach with nothing attached says so there', () => {
    const r = cli('detach', '--all');
    expect(r.code).toBe(0);
    expect(r.out).toBe('nothing to detach\n');
  });
});

describe('configuration that does nothing is named', () => {
  test.each([
    ['a tunnel no rule uses', { local: '198.51.100.10/24', tunnels: { pop: { remote: '203.0.113.2' }, spare: { remote: '203.0.113.3' } }, rules: [{ dst: '203.0.113.128/26', action: 'tunnel pop' }] },
      ['tunnels.spare: no rule sends traffic into this tunnel (add {dst: PREFIX, action: tunnel spare})']],
    ['flows without local', { flows: { size: 1024 } }, ['flows: the flow cache only learns when `local` is set (without it the box is a plain wire)']],
    ['rules without local', { rules: [{ dst: '203.0.113.0/24', action: 'drop' }] }, ['rules: rules apply only when `local` is set (without it the box is a plain wire)']],
    ['an IPv6 rule with only an IPv4 local does work (IPv6 rides in IPv4 GRE): no warning', { local: '198.51.100.10/24', tunnels: { pop: { remote: '203.0.113.2' } }, rules: [{ dst: '2001:db8:1::/48', action: 'tunnel pop' }] }, []],
    ['a config where everything is used', { local: '198.51.100.10/24', flows: { size: 1024 }, tunnels: { pop: { remote: '203.0.113.2' } }, rules: [{ dst: '203.0.113.128/26', action: 'tunnel pop' }] }, []],
  ])('%s', (_n, config, expected) => {
    expect(configWarnings(config as never)).toEqual(expected);
  });
});
