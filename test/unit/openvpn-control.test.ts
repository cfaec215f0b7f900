// The control channel's pieces: packet codec and wrappings, the reliability
// layer, key method 2 and key derivation, the address pool, the status file.
import crypto from 'crypto';
import fs from 'fs';
import path from 'path';
import { decodeControl, encodeControl, OP, parseStaticKey, tlsAuth, tlsCrypt, WrapState } from '../../src/openvpn/packet';
import { Reliable } from '../../src/openvpn/reliable';
import { keyMethodLength, newSource, prfKey2, readKeyMethod2, serverKeys, tls1Prf, writeKeyMethod2 } from '../../src/openvpn/keymethod';
import { AddressPool } from '../../src/openvpn/pool';
import { statusText } from '../../src/openvpn/status';

const sid = (n: number) => Buffer.alloc(8, n);

describe('control packets', () => {
  test('the client reset and the server reset have the sizes a 2.6 peer sends (14 and 26 bytes)', () => {
    const reset = encodeControl({ opcode: OP.HARD_RESET_CLIENT_V2, keyId: 0, sid: sid(1), acks: [], msgId: 0, payload: Buffer.alloc(0) });
    expect(reset.length).toBe(14);
    expect(reset[0]).toBe(0x38);
    const reply = encodeControl({ opcode: OP.HARD_RESET_SERVER_V2, keyId: 0, sid: sid(2), acks: [0], peerSid: sid(1), msgId: 0, payload: Buffer.alloc(0) });
    expect(reply.length).toBe(26);
    expect(reply.toString('hex')).toBe(`40${'02'.repeat(8)}0100000000${'01'.repeat(8)}00000000`);
  });

  test('decode(encode(p)) is p; ACK packets carry no message id', () => {
    const p = { opcode: OP.CONTROL, keyId: 3, sid: sid(5), acks: [7, 9], peerSid: sid(6), msgId: 11, payload: Buffer.from('tls bytes') };
    expect(decodeControl(encodeControl(p))).toEqual(p);
    const ack = decodeControl(encodeControl({ opcode: OP.ACK, keyId: 0, sid: sid(5), acks: [1], peerSid: sid(6), payload: Buffer.alloc(0) }));
    expect(typeof ack === 'object' && ack.msgId).toBeUndefined();
  });

  test('malformed packets are refused with a reason: short, truncated ACKs, more than 8 ACKs, data opcodes', () => {
    expect(decodeControl(Buffer.alloc(5))).toMatch(/shorter/);
    const p = encodeControl({ opcode: OP.CONTROL, keyId: 0, sid: sid(1), acks: [1, 2], peerSid: sid(2), msgId: 1, payload: Buffer.alloc(0) });
    expect(decodeControl(p.subarray(0, 20))).toBe('truncated');
    const nine = Buffer.from(p); nine[9] = 9;
    expect(decodeControl(nine)).toMatch(/9 ACKs/);
    expect(decodeControl(Buffer.from([0x48, ...Buffer.alloc(20)]))).toMatch(/no control opcode/);
    expect(() => encodeControl({ opcode: OP.ACK, keyId: 0, sid: sid(1), acks: [1, 2, 3, 4, 5, 6, 7, 8, 9], peerSid: sid(2), payload: Buffer.alloc(0) })).toThrow(/9 ACKs/);
  });

  const key = crypto.randomBytes(256);
  const plain = encodeControl({ opcode: OP.CONTROL, keyId: 0, sid: sid(3), acks: [], msgId: 4, payload: Buffer.from('hello') });

  test('tls-auth: direction 0 and 1 talk to each other; the HMAC covers pid, time and packet; a flipped bit fails', () => {
    const srv = tlsAuth(key, 0, 'SHA256'), cli = tlsAuth(key, 1, 'SHA256');
    const w = srv.wrap(plain, { pid: 5, time: 1700000000 });
    expect(w.length).toBe(plain.length + 32 + 8);
    expect(cli.unwrap(w)).toEqual({ plain, id: { pid: 5, time: 1700000000 } });
    expect(srv.unwrap(w)).toBeUndefined(); // its own direction does not verify
    const bad = Buffer.from(w); bad[bad.length - 1] ^= 1;
    expect(cli.unwrap(bad)).toBeUndefined();
    // HMAC = HMAC(K, pid ‖ time ‖ op ‖ sid ‖ rest) with K = bytes 64.. for direction 0
    const mac = crypto.createHmac('sha256', key.subarray(64, 96)).update(w.subarray(41, 49)).update(plain).digest();
    expect(w.subarray(9, 41)).toEqual(mac);
  });

  test('tls-crypt: server and client halves, 40 bytes, AES-256-CTR with the tag as IV', () => {
    const srv = tlsCrypt(key, 'server'), cli = tlsCrypt(key, 'client');
    const w = srv.wrap(plain, { pid: 1, time: 42 });
    expect(w.length).toBe(plain.length + 40);
    expect(w.includes(Buffer.from('hello'))).toBe(false);
    expect(cli.unwrap(w)).toEqual({ plain, id: { pid: 1, time: 42 } });
    expect(srv.unwrap(w)).toBeUndefined();
    const tag = w.subarray(17, 49);
    const d = crypto.createDecipheriv('aes-256-ctr', key.subarray(0, 32), tag.subarray(0, 16));
    expect(Buffer.concat([d.update(w.subarray(49)), d.final()])).toEqual(plain.subarray(9));
  });

  test('static key files: 256 bytes between the markers; comments skipped; a short key refused', () => {
    const hex = key.toString('hex').match(/.{32}/g)!.join('\n');
    expect(parseStaticKey(`#\n# 2048 bit OpenVPN static key\n#\n-----BEGIN OpenVPN Static key V1-----\n${hex}\n-----END OpenVPN Static key V1-----\n`)).toEqual(key);
    expect(parseStaticKey('-----BEGIN OpenVPN Static key V1-----\nabcd\n-----END OpenVPN Static key V1-----')).toMatch(/2 bytes, not 256/);
    expect(parseStaticKey('nothing')).toMatch(/no "-----BEGIN/);
  });

  test('the wrap replay window: new ids pass, repeats and ids 64 behind fail, a newer time restarts it', () => {
    const w = new WrapState();
    expect(w.accept({ pid: 1, time: 10 })).toBe(true);
    expect(w.accept({ pid: 1, time: 10 })).toBe(false);
    expect(w.accept({ pid: 100, time: 10 })).toBe(true);
    expect(w.accept({ pid: 50, time: 10 })).toBe(true);
    expect(w.accept({ pid: 36, time: 10 })).toBe(false);
    expect(w.accept({ pid: 1, time: 9 })).toBe(false);
    expect(w.accept({ pid: 1, time: 11 })).toBe(true);
    expect(w.next()).toEqual({ pid: 1, time: w.txTime });
    expect(w.next().pid).toBe(2);
  });
});

describe('reliability layer', () => {
  const m = (s: string) => ({ opcode: OP.CONTROL, payload: Buffer.from(s) });
  test('in-order delivery through loss, reorder and duplicates; each packet ACKed, duplicates again', () => {
    const r = new Reliable();
    expect(r.receive(1, m('b'))).toEqual([]);
    expect(r.receive(1, m('b'))).toEqual([]); // duplicate of a buffered one
    expect(r.receive(0, m('a')).map((x) => x.payload.toString())).toEqual(['a', 'b']);
    expect(r.receive(0, m('a'))).toEqual([]); // old: not delivered again
    const acks = r.poll().filter((o) => o.opcode === OP.ACK).flatMap((o) => o.acks);
    expect(acks.sort()).toEqual([0, 1]);
    expect(r.counts.duplicates).toBe(2);
  });

  test('the receive window is 12: id next + 12 is dropped without an ACK', () => {
    const r = new Reliable();
    expect(r.receive(12, m('x'))).toEqual([]);
    expect(r.poll()).toEqual([]);
    expect(r.receive(11, m('y'))).toEqual([]);
    expect(r.poll()[0].acks).toEqual([11]);
    expect(r.counts.outOfWindow).toBe(1);
  });

  test('at most 6 unacked; ACKs open the window; at most 4 ACKs ride on a message, 8 in a P_ACK_V1', () => {
    const r = new Reliable();
    for (let i = 0; i < 8; i++) r.send(OP.CONTROL, Buffer.from([i]));
    for (let i = 0; i < 10; i++) r.receive(i, m('z'));
    const first = r.poll(1000);
    const msgs = first.filter((o) => o.msgId !== undefined);
    expect(msgs.map((o) => o.msgId)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(msgs[0].acks.length).toBe(4);
    expect(first.flatMap((o) => o.acks).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    r.ack([0, 1]);
    expect(r.poll(1001).map((o) => o.msgId)).toEqual([6, 7]);
    const many = new Reliable();
    for (let i = 0; i < 10; i++) many.receive(i, m('z'));
    expect(many.poll().map((o) => o.acks.length)).toEqual([8, 2]);
  });

  test('retransmit after 2 s, then 4 s; fast retransmit after 3 higher ACKs; acked ids are not resent', () => {
    const r = new Reliable();
    for (let i = 0; i < 5; i++) r.send(OP.CONTROL, Buffer.from([i]));
    expect(r.poll(0).length).toBe(5);
    expect(r.poll(1999)).toEqual([]);
    r.ack([1, 2, 3, 4], 50); // 0 is missing with 4 higher ACKs: resent at once
    expect(r.poll(100).map((o) => [o.msgId, o.retransmit])).toEqual([[0, true]]);
    expect(r.poll(2099)).toEqual([]);
    expect(r.poll(4100).map((o) => o.msgId)).toEqual([0]); // the timer doubled: next resend 4 s after the last
    r.ack([0]);
    expect(r.poll(100000)).toEqual([]);
    expect(r.idle).toBe(true);
  });
});

describe('key method 2 and data keys', () => {
  test('the client message round-trips (pre-master, randoms, options, peer-info); the server one has no pre-master', () => {
    const src = newSource(true);
    const info = 'IV_VER=2.6.14\nIV_PROTO=990\nIV_CIPHERS=AES-256-GCM:CHACHA20-POLY1305\n';
    const b = writeKeyMethod2(src, 'V4,dev-type tun,tls-client', info);
    expect(keyMethodLength(b, true)).toBe(b.length);
    expect(keyMethodLength(b.subarray(0, b.length - 3), true)).toBe(0);
    const km = readKeyMethod2(b, true);
    expect(km.source).toEqual(src);
    expect(km.options).toBe('V4,dev-type tun,tls-client');
    expect(km.peerInfo.get('IV_PROTO')).toBe('990');
    expect(km.peerInfo.get('IV_CIPHERS')).toBe('AES-256-GCM:CHACHA20-POLY1305');
    const srv = writeKeyMethod2(newSource(false), 'V4,tls-server');
    expect(srv.length).toBe(5 + 64 + 2 + 'V4,tls-server'.length + 1 + 6);
    expect(readKeyMethod2(srv, false).source.preMaster).toBeUndefined();
    expect(() => readKeyMethod2(Buffer.from([0, 0, 0, 0, 1]), true)).toThrow(/key method 1/);
  });

  test('the TLS 1.0 PRF is RFC 2246: P_MD5 XOR P_SHA1 over the halves (checked against a direct computation)', () => {
    const secret = crypto.randomBytes(48), seed = crypto.randomBytes(64);
    const p = (alg: string, s: Buffer, n: number) => {
      const full = Buffer.concat([Buffer.from('label'), seed]);
      let a = full; const out: Buffer[] = [];
      while (Buffer.concat(out).length < n) { a = crypto.createHmac(alg, s).update(a).digest(); out.push(crypto.createHmac(alg, s).update(Buffer.concat([a, full])).digest()); }
      return Buffer.concat(out).subarray(0, n);
    };
    const md5 = p('md5', secret.subarray(0, 24), 100), sha = p('sha1', secret.subarray(24), 100);
    expect(tls1Prf(secret, 'label', seed, 100)).toEqual(Buffer.from(md5.map((x, i) => x ^ sha[i])));
  });

  test('prfKey2 and serverKeys: 256 bytes; the server encrypts with 128.. / IV 192.. and decrypts with 0.. / IV 64..', () => {
    const k2 = prfKey2(newSource(true), newSource(false), sid(1), sid(2));
    expect(k2.length).toBe(256);
    const k = serverKeys(k2, 'AES-128-GCM');
    expect(k.tx.key).toEqual(k2.subarray(128, 144));
    expect(k.tx.iv).toEqual(k2.subarray(192, 200));
    expect(k.rx.key).toEqual(k2.subarray(0, 16));
    expect(k.rx.iv).toEqual(k2.subarray(64, 72));
  });
  test('PRF keys equal what a stock 2.6 client logged at --verb 9 (fixture: its key sources, session ids and keys, AES-256-GCM)', () => {
    // test/fixtures/openvpn/prf-client-verb9.log: lines of a real client's log
    // against `l2bpf openvpn` with L2BPF_OVPN_PRF=1 (the derivation 2.4/2.5 use)
    const log = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'openvpn', 'prf-client-verb9.log'), 'utf8');
    const hex = (re: RegExp) => Buffer.from(re.exec(log)![1].replace(/ /g, ''), 'hex');
    const src = (who: string, pre: boolean) => ({ preMaster: pre ? hex(new RegExp(`${who} pre_master: ([0-9a-f ]+)`)) : undefined, random1: hex(new RegExp(`${who} random1: ([0-9a-f ]+)`)), random2: hex(new RegExp(`${who} random2: ([0-9a-f ]+)`)) });
    const clientSid = hex(/HARD_RESET_CLIENT_V2 kid=0 sid=([0-9a-f]{8} [0-9a-f]{8})/), serverSid = hex(/HARD_RESET_SERVER_V2 kid=0 sid=([0-9a-f]{8} [0-9a-f]{8})/);
    const k = serverKeys(prfKey2(src('Client', true), src('Server', false), clientSid, serverSid), 'AES-256-GCM');
    expect(k.rx.key).toEqual(hex(/Outgoing Data Channel: CIPHER KEY: ([0-9a-f ]+)/)); // the client encrypts with the server's rx key
    expect(k.tx.key).toEqual(hex(/Incoming Data Channel: CIPHER KEY: ([0-9a-f ]+)/));
  });
});

describe('address pool and status file', () => {
  test('server .1, clients from .2, released addresses reused; IPv6 from ::1000; a /30 refused', () => {
    const p = new AddressPool('192.0.2.0', '255.255.255.248', '2001:db8:1::/64');
    expect([p.server4, p.prefix4, p.server6]).toEqual(['192.0.2.1', 29, '2001:db8:1::1']);
    const a = p.lease()!, b = p.lease()!;
    expect([a.ip4, a.ip6, b.ip4]).toEqual(['192.0.2.2', '2001:db8:1::1000', '192.0.2.3']);
    for (let i = 0; i < 2; i++) p.lease();
    expect(p.lease()).toBeUndefined(); // .2-.5 only: .6 and .7 stay out, as OpenVPN's pool
    p.release(a);
    expect(p.lease()!.ip4).toBe('192.0.2.2');
    expect(() => new AddressPool('192.0.2.0', '255.255.255.252')).toThrow(/no room/);
  });

  test('status versions 1, 2 and 3 have the columns OpenVPN writes', () => {
    const peer = { commonName: 'cli1', realAddress: '198.51.100.11:4000', vpn4: '192.0.2.2', vpn6: '2001:db8:1::1000', peerId: 0, cipher: 'AES-256-GCM' as const,
      keyIds: [0], connectedSince: 1.7e12, rxBytes: 10, txBytes: 20, rxPackets: 1, txPackets: 2, lastActivity: 1.7e12 };
    const v1 = statusText(1, [peer]);
    expect(v1).toMatch(/^OpenVPN CLIENT LIST\nUpdated,/);
    expect(v1).toMatch(/\ncli1,198\.51\.100\.11:4000,10,20,/);
    expect(v1).toMatch(/\nROUTING TABLE\n.*\n192\.0\.2\.2,cli1,/);
    const v2 = statusText(2, [peer]);
    expect(v2.split('\n').find((l) => l.startsWith('CLIENT_LIST,'))!.split(',')).toHaveLength(13);
    expect(v2).toMatch(/\nEND\n$/);
    expect(statusText(3, [peer])).toMatch(/\nCLIENT_LIST\tcli1\t/);
  });
});
