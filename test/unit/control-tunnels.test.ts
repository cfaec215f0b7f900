// Tunnel ids, flags and MTUs, the remote index, and the l2_local value.

import { TunnelConfig } from '../../src/config';
import { localEntry, remoteIndex, TunnelEntry, tunnelEntries } from '../../src/control';

const KEY = 1;
const CSUM = 2;
const DF = 4;

describe('tunnelEntries', () => {
  test('ids follow the names (code-unit order), not the config order', () => {
    const tunnels: Record<string, TunnelConfig> = {
      pop2: { remote: '192.0.2.2' },
      b: { remote: '192.0.2.3' },
      B: { remote: '192.0.2.4' },
      pop10: { remote: '192.0.2.5' },
    };
    const { ids, entries } = tunnelEntries(tunnels, 1500);
    expect([...ids]).toEqual([['B', 1], ['b', 2], ['pop10', 3], ['pop2', 4]]);
    expect(entries.map((e) => [e.id, e.name])).toEqual([[1, 'B'], [2, 'b'], [3, 'pop10'], [4, 'pop2']]);
    // The same config in another order gives the same result.
    const reordered = Object.fromEntries(Object.entries(tunnels).reverse());
    expect(tunnelEntries(reordered, 1500)).toEqual(tunnelEntries(tunnels, 1500));
  });

  const values: Array<[string, TunnelConfig, object]> = [
    ['defaults', { remote: '192.0.2.1' }, { remote: '192.0.2.1', key: 0, flags: DF, ttl: 64, pad: 0, mtu: 1476, pad2: 0 }],
    ['key', { remote: '192.0.2.1', key: 42 }, { key: 42, flags: KEY | DF, mtu: 1472 }],
    ['key 0 is still a key', { remote: '192.0.2.1', key: 0 }, { key: 0, flags: KEY | DF, mtu: 1472 }],
    ['checksum', { remote: '192.0.2.1', checksum: true }, { flags: CSUM | DF, mtu: 1472 }],
    ['checksum false', { remote: '192.0.2.1', checksum: false }, { flags: DF, mtu: 1476 }],
    ['key and checksum', { remote: '192.0.2.1', key: 4294967295, checksum: true }, { key: 4294967295, flags: KEY | CSUM | DF, mtu: 1468 }],
    ['no DF', { remote: '192.0.2.1', df: false }, { flags: 0 }],
    ['ttl', { remote: '192.0.2.1', ttl: 1 }, { ttl: 1 }],
    ['explicit mtu below the most', { remote: '192.0.2.1', mtu: 1400 }, { mtu: 1400 }],
    ['explicit mtu at the most', { remote: '192.0.2.1', key: 1, mtu: 1472 }, { mtu: 1472 }],
  ];
  test.each(values)('%s', (_name, t, expected) => {
    expect(tunnelEntries({ t }, 1500).entries[0].value).toMatchObject(expected);
  });

  test('the default mtu follows the port MTU', () => {
    expect(tunnelEntries({ t: { remote: '192.0.2.1' } }, 9000).entries[0].value.mtu).toBe(8976);
    expect(tunnelEntries({ t: { remote: '192.0.2.1' } }, 600).entries[0].value.mtu).toBe(576);
  });

  const errors: Array<[string, Record<string, TunnelConfig>, number, string]> = [
    [
      'mtu over what the port carries',
      { pop1: { remote: '192.0.2.1', mtu: 1477 } },
      1500,
      'tunnels.pop1.mtu: 1477 is more than the port can carry (port MTU 1500 - 24 bytes of outer headers = 1476); larger packets would be black-holed',
    ],
    [
      'key and checksum count',
      { pop1: { remote: '192.0.2.1', key: 1, checksum: true, mtu: 1469 } },
      1500,
      'tunnels.pop1.mtu: 1469 is more than the port can carry (port MTU 1500 - 32 bytes of outer headers = 1468); larger packets would be black-holed',
    ],
    [
      'port too small for a default',
      { pop1: { remote: '192.0.2.1' } },
      599,
      'tunnels.pop1: leaves too little room (port MTU 599 - 24 bytes of outer headers = 575, less than 576)',
    ],
    [
      'shared remote without keys',
      { a: { remote: '192.0.2.1' }, b: { remote: '192.0.2.1', key: 5 } },
      1500,
      'tunnels.b.remote: same remote as tunnels.a; each tunnel needs its own remote',
    ],
    ['bad remote', { a: { remote: '192.0.2.1/32' } }, 1500, 'tunnels.a.remote: must be an IPv4 address without prefix length'],
  ];
  test.each(errors)('%s', (_name, tunnels, mtu, message) => {
    expect(() => tunnelEntries(tunnels, mtu)).toThrow(message);
  });

  test('a remote equal to the local address is refused', () => {
    expect(() => tunnelEntries({ a: { remote: '198.51.100.10' } }, 1500, '198.51.100.10')).toThrow(
      "tunnels.a.remote: 198.51.100.10 is the box's own address (local)",
    );
  });

  test('at most 63 tunnels', () => {
    const make = (n: number): Record<string, TunnelConfig> =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`t${i}`, { remote: `192.0.2.${i + 1}` }]));
    expect(tunnelEntries(make(63), 1500).entries.at(-1)?.id).toBe(63);
    expect(() => tunnelEntries(make(64), 1500)).toThrow('tunnels: must have at most 63 tunnels');
  });

  test('no tunnels', () => {
    expect(tunnelEntries(undefined, 1500)).toEqual({ ids: new Map(), entries: [], remotes: [] });
  });

  test('the port MTU must make sense', () => {
    expect(() => tunnelEntries({}, 0)).toThrow(RangeError);
    expect(() => tunnelEntries({}, 1500.5)).toThrow(RangeError);
  });
});

describe('remoteIndex', () => {
  test('one entry per remote, pointing at its tunnel id', () => {
    const { remotes } = tunnelEntries({ z: { remote: '192.0.2.9', key: 1 }, a: { remote: '192.0.2.8', key: 2 }, m: { remote: '192.0.2.7' } }, 1500);
    expect(remotes).toEqual([
      { key: '192.0.2.8', value: 1 },
      { key: '192.0.2.7', value: 2 },
      { key: '192.0.2.9', value: 3 },
    ]);
    expect(() => tunnelEntries({ a: { remote: '192.0.2.9', key: 1 }, b: { remote: '192.0.2.9', key: 2 } }, 1500)).toThrow('tunnels.b.remote: same remote as tunnels.a');
  });

  const entry = (id: number, name: string, remote: string, key?: number): TunnelEntry => ({
    id,
    name,
    value: { remote, key: key ?? 0, flags: (key !== undefined ? KEY : 0) | DF, ttl: 64, pad: 0, mtu: 1476, pad2: 0, name },
  });
  test.each([
    ['neither has a key', [entry(1, 'a', '192.0.2.1'), entry(2, 'b', '192.0.2.1')], 'tunnels.b.remote: same remote as tunnels.a'],
    ['one has no key', [entry(1, 'a', '192.0.2.1', 5), entry(2, 'b', '192.0.2.1')], 'tunnels.b.remote: same remote as tunnels.a'],
    ['different keys', [entry(1, 'a', '192.0.2.1', 5), entry(2, 'b', '192.0.2.1', 6)], 'tunnels.b.remote: same remote as tunnels.a'],
  ])('refused: %s', (_name, entries, message) => {
    expect(() => remoteIndex(entries)).toThrow(message);
  });
});

describe('localEntry', () => {
  test.each([
    ['IPv4 only', '198.51.100.10/24', { ipv4: '198.51.100.10', ipv4_plen: 24, ipv6_plen: 0, pad: 0, ipv6: '::' }],
    ['both', ['198.51.100.10/24', '2001:DB8:100:0::10/64'], { ipv4: '198.51.100.10', ipv4_plen: 24, ipv6_plen: 64, pad: 0, ipv6: '2001:db8:100::10' }],
    ['IPv6 first', ['2001:db8::10/64', '198.51.100.10/32'], { ipv4: '198.51.100.10', ipv4_plen: 32, ipv6_plen: 64, pad: 0, ipv6: '2001:db8::10' }],
    ['none', undefined, { ipv4: '0.0.0.0', ipv4_plen: 0, ipv6_plen: 0, pad: 0, ipv6: '::' }],
  ])('%s', (_name, local, expected) => {
    expect(localEntry(local)).toEqual(expected);
  });

  test('a bad address is a config error', () => {
    expect(() => localEntry('198.51.100.0/24')).toThrow('local: 198.51.100.0 is the network address of 198.51.100.0/24, not a host address');
    expect(() => localEntry(['2001:db8::1/64'])).toThrow('local: must include an IPv4 address');
  });
});
