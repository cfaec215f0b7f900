// diff() and desiredState(): what attach would write for a config, and that
// attaching again with the same or a slightly changed config touches only
// what changed.

import * as path from 'node:path';
import { EffectiveConfig, L2_FLOWS_DEFAULT, loadConfig, mergeCliOverConfig } from '../../src/config';
import { desiredState, diff, lookup, MapEntry } from '../../src/control';

const FIXTURES = path.resolve(__dirname, '../../../test/fixtures/config');
const gre = (): EffectiveConfig => mergeCliOverConfig(loadConfig(path.join(FIXTURES, 'gre.yaml')), {});

describe('diff', () => {
  const current: MapEntry[] = [
    { key: { a: 1, b: 2 }, value: { x: 1 } },
    { key: { a: 2, b: 2 }, value: { x: 2 } },
    { key: { a: 3, b: 2 }, value: { x: 3 } },
  ];

  test('nothing to do when equal, whatever the key order in objects', () => {
    const same = current.map((e) => ({ key: { b: 2, a: (e.key as { a: number }).a }, value: e.value }));
    expect(diff(current, same)).toEqual({ upserts: [], deletes: [] });
  });

  test('changed, new and gone entries', () => {
    const desired: MapEntry[] = [
      { key: { a: 1, b: 2 }, value: { x: 1 } },
      { key: { a: 2, b: 2 }, value: { x: 20 } },
      { key: { a: 4, b: 2 }, value: { x: 4 } },
    ];
    expect(diff(current, desired)).toEqual({
      upserts: [desired[1], desired[2]],
      deletes: [{ a: 3, b: 2 }],
    });
  });

  test('bigints read back from a map equal numbers', () => {
    expect(diff<unknown, unknown>([{ key: 1n, value: { n: 5n, big: 2n ** 64n - 1n } }], [{ key: 1, value: { n: 5, big: '18446744073709551615' } }])).toEqual({
      upserts: [],
      deletes: [],
    });
  });

  test('from and to nothing', () => {
    expect(diff([], current)).toEqual({ upserts: current, deletes: [] });
    expect(diff(current, [])).toEqual({ upserts: [], deletes: current.map((e) => e.key) });
  });

  test('a key wanted twice is a bug', () => {
    expect(() => diff([], [current[0], { ...current[0] }])).toThrow('twice');
  });
});

describe('desiredState', () => {
  test('the fixture config', () => {
    const s = desiredState(gre(), 1500);
    expect(s.flowsSize).toBe(65536);
    expect(s.local).toEqual({ ipv4: '198.51.100.10', ipv4_plen: 24, ipv6_plen: 64, pad: 0, ipv6: '2001:db8:100::10' });
    expect([...s.tunnelIds]).toEqual([['pop1', 1], ['pop2', 2]]);
    expect(s.tunnels.map((t) => t.value)).toEqual([
      { remote: '192.0.2.1', key: 42, flags: 7, ttl: 64, pad: 0, mtu: 1468, pad2: 0, name: 'pop1' },
      { remote: '192.0.2.2', key: 0, flags: 0, ttl: 32, pad: 0, mtu: 1400, pad2: 0, name: 'pop2' },
    ]);
    expect(s.remotes).toEqual([{ key: '192.0.2.1', value: 1 }, { key: '192.0.2.2', value: 2 }]);
    expect(s.rules.map((r) => [r.key.family, r.key.prefixlen, r.value.count])).toEqual([
      [4, 32, 1],
      [4, 33, 2],
      [4, 40, 1],
      [6, 56, 1],
      [4, 32, 1],
    ]);
    expect(lookup(s.rules, '10.1.1.1', '203.0.113.130')).toEqual({ action: 'L2_ACT_TUNNEL', tunnel: 2 });
    expect(lookup(s.rules, '11.1.1.1', '203.0.113.130')).toEqual({ action: 'L2_ACT_TUNNEL', tunnel: 1 });
    expect(lookup(s.rules, '10.1.1.1', '203.0.113.200')).toEqual({ action: 'L2_ACT_PASS', tunnel: 0 });
  });

  test('per-map view: array maps list every slot', () => {
    const { maps, tunnels, remotes, rules, local } = desiredState(gre(), 1500);
    expect(maps.l2_local).toEqual([{ key: 0, value: local }]);
    expect(maps.l2_tunnels).toHaveLength(64);
    expect(maps.l2_tunnels.map((e) => e.key)).toEqual([...Array(64).keys()]);
    expect(maps.l2_tunnels[1].value).toEqual(tunnels[0].value);
    expect(maps.l2_tunnels[2].value).toEqual(tunnels[1].value);
    for (const slot of [0, 3, 63]) {
      expect(maps.l2_tunnels[slot].value).toEqual({ remote: '0.0.0.0', key: 0, flags: 0, ttl: 0, pad: 0, mtu: 0, pad2: 0, name: '' });
    }
    expect(maps.l2_tun_remote).toBe(remotes);
    expect(maps.l2_rules).toBe(rules);
  });

  test('attaching again with the same config changes nothing', () => {
    const a = desiredState(gre(), 1500).maps;
    const b = desiredState(gre(), 1500).maps;
    for (const name of Object.keys(a) as Array<keyof typeof a>) {
      expect([name, diff<unknown, unknown>(a[name], b[name])]).toEqual([name, { upserts: [], deletes: [] }]);
    }
  });

  test('a changed rule rewrites only the entries it affects', () => {
    const before = gre();
    const after: EffectiveConfig = { ...before, rules: before.rules!.map((r) => (r.dst === '203.0.113.0/24' ? { ...r, action: 'drop' } : r)) };
    const d = diff<unknown, unknown>(desiredState(before, 1500).maps.l2_rules, desiredState(after, 1500).maps.l2_rules);
    // The /24 itself and the /25 whose list includes it; the /32 pass rule hides it.
    expect(d.upserts.map((e) => (e.key as { prefixlen: number }).prefixlen)).toEqual([32, 33]);
    expect(d.deletes).toEqual([]);
    const removed: EffectiveConfig = { ...before, rules: before.rules!.filter((r) => r.dst !== '192.0.2.0/24') };
    const r = diff<unknown, unknown>(desiredState(before, 1500).maps.l2_rules, desiredState(removed, 1500).maps.l2_rules);
    expect(r).toEqual({ upserts: [], deletes: [{ prefixlen: 32, family: 4, addr: [192, 0, 2, ...Array(13).fill(0)] }] });
  });

  test('a new tunnel only writes its slot and remote', () => {
    const before = gre();
    const after: EffectiveConfig = { ...before, tunnels: { ...before.tunnels, pop3: { remote: '192.0.2.3' } } };
    const [a, b] = [desiredState(before, 1500).maps, desiredState(after, 1500).maps];
    expect(diff<unknown, unknown>(a.l2_tunnels, b.l2_tunnels).upserts.map((e) => e.key)).toEqual([3]);
    expect(diff<unknown, unknown>(a.l2_tun_remote, b.l2_tun_remote)).toEqual({ upserts: [{ key: '192.0.2.3', value: 3 }], deletes: [] });
  });

  test('defaults for a config without the new sections', () => {
    const s = desiredState({ instance: 'x', ports: ['a', 'b'], mode: 'native' }, 1500);
    expect(s.flowsSize).toBe(L2_FLOWS_DEFAULT);
    expect(s.local).toEqual({ ipv4: '0.0.0.0', ipv4_plen: 0, ipv6_plen: 0, pad: 0, ipv6: '::' });
    expect([s.tunnels, s.remotes, s.rules]).toEqual([[], [], []]);
  });

  test('configs built in code are checked like files', () => {
    const base: EffectiveConfig = { instance: 'x', ports: ['a', 'b'], mode: 'native' };
    expect(() => desiredState({ ...base, rules: [{ dst: '10.0.0.1/8', action: 'drop' }] }, 1500)).toThrow(
      'rules[0].dst: 10.0.0.1/8 has host bits set; did you mean 10.0.0.0/8?',
    );
    expect(() => desiredState({ ...base, tunnels: { t: { remote: '192.0.2.1' } } }, 1500)).toThrow(
      'tunnels: need local to be set; GRE packets leave from its IPv4 address',
    );
    expect(() => desiredState({ ...base, flows: { size: 5 } }, 1500)).toThrow('flows.size: must be at least 1024');
  });
});
