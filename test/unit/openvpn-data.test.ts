// The TypeScript reference of OpenVPN's AEAD data channel (src/openvpn/data.ts):
// layout as a stock client puts it on the wire, every cipher both ways,
// tampering refused, and the replay window's edges.
import crypto from 'crypto';
import { dataHeader, decryptData, encryptData, KEY_BYTES, P_DATA_V1, P_DATA_V2, PING, ReplayWindow } from '../../src/openvpn/data';
import { DATA_CIPHERS } from '../../src/openvpn/config';

const key = (cipher: (typeof DATA_CIPHERS)[number]) => ({ cipher, key: crypto.randomBytes(KEY_BYTES[cipher]), iv: crypto.randomBytes(8) });

test('P_DATA_V2 layout as a stock 2.6 client sends it: 48 000000 00000001, tag before the ciphertext', () => {
  const k = { cipher: 'AES-256-GCM' as const, key: Buffer.alloc(32, 7), iv: Buffer.from('a60173ce69d076a3', 'hex') };
  const d = encryptData(k, { opcode: P_DATA_V2, keyId: 0, peerId: 0, packetId: 1 }, PING);
  expect(d.subarray(0, 8).toString('hex')).toBe('4800000000000001'); // the client's "ENCRYPT AD: 48000000 00000001"
  expect(d.length).toBe(8 + 16 + PING.length);
  // the nonce the client logs as "ENCRYPT IV: 00000001 a60173ce 69d076a3", AAD = bytes 0..7
  const c = crypto.createCipheriv('aes-256-gcm', k.key, Buffer.from('00000001a60173ce69d076a3', 'hex'));
  c.setAAD(d.subarray(0, 8));
  expect(Buffer.concat([c.update(PING), c.final()])).toEqual(d.subarray(24));
  expect(c.getAuthTag()).toEqual(d.subarray(8, 24));
});

test.each(DATA_CIPHERS.flatMap((c) => [[c, P_DATA_V2], [c, P_DATA_V1]] as const))('%s, opcode %d: round trip, header read back, tampering refused', (cipher, opcode) => {
  const k = key(cipher);
  for (const n of [0, 1, 20, 1400]) {
    const pt = crypto.randomBytes(n);
    const d = encryptData(k, { opcode, keyId: 3, peerId: 0x123456, packetId: 0xfffffffe }, pt);
    expect(dataHeader(d)).toEqual({ opcode, keyId: 3, peerId: opcode === P_DATA_V2 ? 0x123456 : undefined, packetId: 0xfffffffe });
    expect(decryptData(k, d)).toEqual(pt);
    for (const at of [0, opcode === P_DATA_V2 ? 2 : 1, d.length - 1 - (n ? 0 : 16)]) { // the opcode (in V2's AAD), the packet id, a payload (or tag) byte
      const bad = Buffer.from(d); bad[at] ^= 1;
      if (opcode === P_DATA_V1 && at === 0) continue; // V1 does not cover the opcode byte
      expect(decryptData(k, bad)).toBeUndefined();
    }
    expect(decryptData({ ...k, iv: crypto.randomBytes(8) }, d)).toBeUndefined(); // the other direction's IV
  }
});

test('packet id 0 is never valid; short datagrams and other opcodes are no data packets', () => {
  const k = key('CHACHA20-POLY1305');
  expect(() => encryptData(k, { opcode: P_DATA_V2, keyId: 0, packetId: 0 }, PING)).toThrow(RangeError);
  expect(dataHeader(Buffer.from([0x48, 0, 0]))).toBeUndefined();
  expect(dataHeader(Buffer.alloc(40, 0x38))).toBeUndefined(); // opcode 7: a control packet
});

describe('ReplayWindow (--replay-window 64 15)', () => {
  test('new ids pass, duplicates do not', () => {
    const w = new ReplayWindow();
    expect([1, 2, 3].map((i) => w.accept(i, 0))).toEqual([true, true, true]);
    expect(w.accept(2, 0)).toBe(false);
    expect(w.accept(0, 0)).toBe(false);
  });
  test('a late one inside the window passes once; at the window\'s edge it is too old', () => {
    const w = new ReplayWindow(64, 15);
    expect(w.accept(100, 0)).toBe(true); // 37..99 skipped: gaps
    expect(w.accept(37, 1000)).toBe(true); // 63 behind: the oldest the window holds
    expect(w.accept(37, 1000)).toBe(false);
    expect(w.accept(36, 1000)).toBe(false); // 64 behind: out
    expect(w.accept(99, 1000)).toBe(true);
  });
  test('a gap older than the time window is expired', () => {
    const w = new ReplayWindow(64, 15);
    expect(w.accept(10, 0)).toBe(true);
    expect(w.accept(5, 15000)).toBe(true); // 15 s: still in time
    expect(w.accept(6, 15001)).toBe(false); // later than 15 s after the gap appeared
  });
  test('the window moves with the highest id', () => {
    const w = new ReplayWindow(4, 15);
    for (let i = 1; i <= 10; i++) expect(w.accept(i, 0)).toBe(true);
    expect(w.accept(7, 0)).toBe(false); // seen
    expect(w.accept(6, 0)).toBe(false); // out of a 4-id window
  });
});
