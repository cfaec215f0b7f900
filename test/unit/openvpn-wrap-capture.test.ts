// tls-auth and tls-crypt against packets a stock pair made: Debian's openvpn
// 2.6.14 server and client (throwaway PKI and key), captured with tcpdump
// (test/fixtures/openvpn/*.json). Each packet must unwrap with the receiving
// side's keys, decode as the control packet it is, and wrap back to the very
// same bytes from its plain form and replay id.
import fs from 'fs';
import path from 'path';
import { decodeControl, OP, parseStaticKey, tlsAuth, tlsCrypt, WrapState, Wrapper } from '../../src/openvpn/packet';

const FIX = path.resolve(__dirname, '../../../test/fixtures/openvpn');
interface Capture { key: string; auth?: string; server_direction?: 0 | 1; client_direction?: 0 | 1; packets: Array<{ from: 'client' | 'server'; hex: string }> }
const load = (f: string) => JSON.parse(fs.readFileSync(path.join(FIX, f), 'utf8')) as Capture;

describe.each(<Array<[string, (c: Capture, key: Buffer) => { server: Wrapper; client: Wrapper }]>>[
  ['tls-auth (SHA256, key directions 0 and 1)', (c, key) => ({ server: tlsAuth(key, c.server_direction, c.auth), client: tlsAuth(key, c.client_direction, c.auth) })],
  ['tls-crypt', (_c, key) => ({ server: tlsCrypt(key, 'server'), client: tlsCrypt(key, 'client') })],
])('%s against a stock server/client pair', (name, make) => {
  const cap = load(name.startsWith('tls-auth') ? 'tls-auth-capture.json' : 'tls-crypt-capture.json');
  const key = parseStaticKey(cap.key) as Buffer;
  const w = make(cap, key);

  test('every captured packet authenticates for its receiver, decodes, and rewraps to the same bytes', () => {
    expect(cap.packets.length).toBeGreaterThanOrEqual(6);
    const opcodes: number[] = [];
    const seen = { client: new WrapState(), server: new WrapState() };
    for (const p of cap.packets) {
      const wire = Buffer.from(p.hex, 'hex');
      const receiver = p.from === 'client' ? w.server : w.client;
      const sender = p.from === 'client' ? w.client : w.server;
      const un = receiver.unwrap(wire);
      expect(un).toBeDefined();
      expect(seen[p.from].accept(un!.id!)).toBe(true);
      const pkt = decodeControl(un!.plain);
      expect(typeof pkt).toBe('object');
      opcodes.push((pkt as { opcode: number }).opcode);
      expect(sender.wrap(un!.plain, un!.id!)).toEqual(wire);
      expect(sender.unwrap(wire)).toBeUndefined(); // the sender's own keys do not verify it
      const bad = Buffer.from(wire); bad[bad.length - 1] ^= 1;
      expect(receiver.unwrap(bad)).toBeUndefined();
    }
    expect(opcodes.slice(0, 3)).toEqual([OP.HARD_RESET_CLIENT_V2, OP.HARD_RESET_SERVER_V2, OP.CONTROL]);
  });
});
