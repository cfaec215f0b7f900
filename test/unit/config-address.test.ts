// Unit tests for src/config/address.ts: parsing, masking, containment and
// canonical text, checked against node:net's BlockList and the WHATWG URL
// serializer on random data.

import { BlockList } from 'node:net';
import {
  Address,
  formatAddress,
  formatPrefix,
  hasHostBits,
  lastBytes,
  maskBytes,
  parseAddress,
  parsePrefix,
  Prefix,
  prefixContains,
  toBytes16,
} from '../../src/config';
import { prng } from '../helpers/rng';


describe('parseAddress', () => {
  const ok: Array<[string, number[]]> = [
    ['192.0.2.1', [192, 0, 2, 1]],
    ['0.0.0.0', [0, 0, 0, 0]],
    ['::', Array(16).fill(0)],
    ['::1', [...Array(15).fill(0), 1]],
    ['2001:db8::1', [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 1]],
    ['2001:DB8:0:0:0:0:0:1', [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 1]],
    ['::ffff:192.0.2.1', [...Array(10).fill(0), 0xff, 0xff, 192, 0, 2, 1]],
    ['::192.0.2.1', [...Array(12).fill(0), 192, 0, 2, 1]],
    ['1:2:3:4:5:6:192.0.2.1', [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 192, 0, 2, 1]],
    ['1:2:3:4:5:6:7::', [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 0]],
    ['fe80::', [0xfe, 0x80, ...Array(14).fill(0)]],
  ];
  test.each(ok)('%s', (text, bytes) => {
    expect(parseAddress(text)?.bytes).toEqual(bytes);
  });

  test.each(['', '1.2.3', '01.2.3.4', '1.2.3.256', '1::2::3', 'fe80::1%eth0', ' 1.2.3.4', '1.2.3.4/24', 'x'])(
    '%j is not an address',
    (text) => expect(parseAddress(text)).toBeUndefined(),
  );
});

describe('parsePrefix', () => {
  test.each([
    ['10.0.0.0/8', 4, 8],
    ['10.1.2.3/8', 4, 8],
    ['0.0.0.0/0', 4, 0],
    ['2001:db8::/32', 6, 32],
    ['::/0', 6, 0],
    ['::1/128', 6, 128],
  ])('%s', (text, family, len) => {
    expect(parsePrefix(text)).toMatchObject({ family, len });
  });

  test.each([
    ['10.0.0.0', 'has no prefix length'],
    ['10.0.0.0/33', 'prefix length must be 0..32'],
    ['::/129', 'prefix length must be 0..128'],
    ['10.0.0.0/08', 'prefix length must be 0..32'],
    ['10.0.0.0/', 'prefix length must be 0..32'],
    ['10.0.0.0/-1', 'prefix length must be 0..32'],
    ['10.0.0.0/8/8', 'prefix length must be 0..32'],
    ['10.0.0/8', 'is not an IPv4 or IPv6 address'],
  ])('%s: %s', (text, reason) => {
    expect(parsePrefix(text)).toBe(reason);
  });

  test('host bits', () => {
    expect(hasHostBits(parsePrefix('10.1.0.0/16') as Prefix)).toBe(false);
    expect(hasHostBits(parsePrefix('10.1.0.0/15') as Prefix)).toBe(true);
    expect(hasHostBits(parsePrefix('2001:db8::8000/113') as Prefix)).toBe(false);
    expect(hasHostBits(parsePrefix('2001:db8::8000/112') as Prefix)).toBe(true);
  });
});

describe('masks', () => {
  test('maskBytes and lastBytes', () => {
    expect(maskBytes([10, 255, 255, 255], 12)).toEqual([10, 240, 0, 0]);
    expect(lastBytes([10, 16, 0, 0], 12)).toEqual([10, 31, 255, 255]);
    expect(maskBytes([1, 2, 3, 4], 0)).toEqual([0, 0, 0, 0]);
    expect(maskBytes([1, 2, 3, 4], 32)).toEqual([1, 2, 3, 4]);
  });

  test('toBytes16 puts IPv4 first, not in the ::ffff: form', () => {
    expect(toBytes16(parseAddress('192.0.2.1') as Address)).toEqual([192, 0, 2, 1, ...Array(12).fill(0)]);
  });
});

describe('random addresses against node:net and URL', () => {
  const rand = prng(20240601);
  const byte = (): number => Math.floor(rand() * 256);
  const randomAddress = (family: 4 | 6): Address => {
    const bytes = Array.from({ length: family === 4 ? 4 : 16 }, byte);
    // Runs of zero groups exercise the :: compression.
    if (family === 6 && rand() < 0.6) {
      const from = Math.floor(rand() * 16);
      bytes.fill(0, from, from + Math.floor(rand() * 12));
    }
    return { family, bytes };
  };

  test('formatAddress round-trips and matches the URL serializer for IPv6', () => {
    for (let i = 0; i < 2000; i++) {
      const a = randomAddress(i % 2 === 0 ? 4 : 6);
      const text = formatAddress(a);
      expect(parseAddress(text)).toEqual(a);
      if (a.family === 6) expect(`[${text}]`).toBe(new URL(`http://[${text}]/`).hostname);
    }
  });

  test('prefixContains agrees with BlockList.addSubnet/check', () => {
    for (let i = 0; i < 3000; i++) {
      const family = i % 2 === 0 ? 4 : 6;
      const bits = family === 4 ? 32 : 128;
      const net = randomAddress(family);
      const len = Math.floor(rand() * (bits + 1));
      // Half the time, an address that shares the prefix's first bits.
      const addr = randomAddress(family);
      if (rand() < 0.5) {
        const keep = Math.floor(rand() * (bits + 1));
        addr.bytes = addr.bytes.map((b, j) => (maskBytes(net.bytes, keep)[j] | (b & ~maskBytes(Array(net.bytes.length).fill(255), keep)[j])) & 255);
      }
      const prefix: Prefix = { ...net, bytes: maskBytes(net.bytes, len), len };
      const list = new BlockList();
      const type = family === 4 ? 'ipv4' : 'ipv6';
      list.addSubnet(formatAddress(prefix), len, type);
      expect([formatPrefix(prefix), formatAddress(addr), prefixContains(prefix, addr)]).toEqual([
        formatPrefix(prefix),
        formatAddress(addr),
        list.check(formatAddress(addr), type),
      ]);
    }
  });

  test('families never contain each other', () => {
    const v4 = parsePrefix('0.0.0.0/0') as Prefix;
    const v6 = parsePrefix('::/0') as Prefix;
    expect(prefixContains(v4, parseAddress('::ffff:1.2.3.4') as Address)).toBe(false);
    expect(prefixContains(v6, parseAddress('1.2.3.4') as Address)).toBe(false);
  });

  test('a prefix contains a longer one inside it, not a shorter one', () => {
    const p16 = parsePrefix('10.1.0.0/16') as Prefix;
    expect(prefixContains(p16, parsePrefix('10.1.2.0/24') as Prefix)).toBe(true);
    expect(prefixContains(p16, parsePrefix('10.0.0.0/8') as Prefix)).toBe(false);
    expect(prefixContains(p16, p16)).toBe(true);
  });
});
