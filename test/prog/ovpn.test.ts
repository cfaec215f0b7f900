// The OpenVPN data channel's programs (bpf/ovpn_tc.bpf.c) frame in, frame
// out with BPF_PROG_TEST_RUN, against node:crypto (src/openvpn/data.ts is a
// thin wrapper over it): decrypt at the uplink, encrypt on the segmenter's
// inner end (the same encrypt the tun's egress runs; a test run always
// hands the program an Ethernet frame, which the tun's bare IP packets are not).
import crypto from 'crypto';
import { execFileSync } from 'child_process';
import os from 'os';
import path from 'path';
import { Worker } from 'worker_threads';
import * as bpf from '../../src/bpf/libbpf';
import { BpfMap } from '../../src/bpf/maps';
import { ifIndex, inNetns } from '../../src/bpf/sys';
import { formatJson } from '../../src/btf';
import { loadOvpnObject } from '../../src/openvpn/bpf-plane';
import { ghashTable } from '../../src/openvpn/ghash';
import { encryptData, decryptData, DirectionKey, P_DATA_V1, P_DATA_V2, PING, ReplayWindow } from '../../src/openvpn/data';
import { rng } from '../helpers/rng';
import { countsDelta, enumCounts } from '../helpers/wire';

const TC_ACT_OK = 0, TC_ACT_SHOT = 2, TC_ACT_REDIRECT = 7;
const NS = `ovp${process.pid % 100000}`;
const PEER = 5;
let obj: bpf.BpfObject;
const maps: Record<string, BpfMap> = {};
let rx: DirectionKey, tx: DirectionKey, uplink = 0;

const sh = (...a: string[]) => execFileSync(a[0], a.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const counts = () => enumCounts(maps.ovpn_counts, 'ovpn_count', 'OVPN_');
const delta = (f: () => unknown) => countsDelta(counts, () => { f(); });

function ipv4(src: string, dst: string, payload: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45; h.writeUInt16BE(20 + payload.length, 2); h[8] = 64; h[9] = 1;
  Buffer.from(src.split('.').map(Number)).copy(h, 12); Buffer.from(dst.split('.').map(Number)).copy(h, 16);
  let s = 0; for (let i = 0; i < 20; i += 2) s += h.readUInt16BE(i);
  while (s > 0xffff) s = (s & 0xffff) + (s >> 16);
  h.writeUInt16BE(~s & 0xffff, 10);
  return Buffer.concat([h, payload]);
}
function ipv6(src: Buffer, dst: Buffer, payload: Buffer): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60; h.writeUInt16BE(payload.length, 4); h[6] = 59; h[7] = 64; src.copy(h, 8); dst.copy(h, 24);
  return Buffer.concat([h, payload]);
}
const VPN6 = Buffer.from('20010db8000100000000000000001000', 'hex');
/** A client's datagram as it arrives at the uplink: Ethernet, IPv4, UDP to 1194, then the OpenVPN packet. */
function arriving(datagram: Buffer, udpLenDelta = 0, sport = 40000): Buffer {
  const eth = Buffer.from('0200000000010200000000020800', 'hex');
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(sport, 0); udp.writeUInt16BE(1194, 2); udp.writeUInt16BE(8 + datagram.length + udpLenDelta, 4);
  const ip = ipv4('198.51.100.11', '198.51.100.1', Buffer.concat([udp, datagram]));
  ip[9] = 17; ip.writeUInt16BE(0, 10);
  return Buffer.concat([eth, ip]);
}
let pid = 1;
const data = (plain: Buffer, keyId = 0, peer = PEER, key = rx, id = pid++) => encryptData(key, { opcode: P_DATA_V2, keyId, peerId: peer, packetId: id }, plain);
const runRx = (frame: Buffer) => bpf.testRun(bpf.programFd(obj, 'ovpn_uplink_in'), { data: frame, dataOutSize: frame.length + 256 });

/** The peer as the daemon installs it, having been seen on up0 (a test run's ingress is loopback). */
function setPeer(rport: number): void {
  maps.ovpn_peers.update(PEER, {
    remote4: '198.51.100.11', local4: '198.51.100.1', rport, tx_slot: 0, family: 4, uplink, vpn4: '192.0.2.2', vpn6: '2001:db8:1::1000',
    rx_packets: 0n, rx_bytes: 0n, tx_packets: 0n, tx_bytes: 0n, last_rx_ns: 0n, last_tx_ns: 0n,
  });
}

function setKey(slot: number, keyId: number, cipher: string): void {
  maps.ovpn_keys.update(PEER << 1 | slot, {
    lock: { val: 0 }, key_id: keyId, cipher: Number([...maps.ovpn_keys.btf!.enumNames('ovpn_cipher')].find(([, n]) => n === cipher)![0]), pad: [0, 0],
    tx_pid: 1n, rx_packets: 0n, replay: { highest: 0, window: 64, backtrack_ns: 15000000000n },
  });
  maps.ovpn_secrets.update(PEER << 1 | slot, { rx_key: rx.key, rx_iv: rx.iv, tx_key: tx.key, tx_iv: tx.iv });
  maps.ovpn_gaps.update(PEER << 1 | slot, {});
}

beforeAll(() => {
  try { sh('ip', 'netns', 'del', NS); } catch { /* none */ }
  sh('ip', 'netns', 'add', NS);
  sh('ip', 'link', 'add', 'up0', 'netns', NS, 'type', 'veth', 'peer', 'name', 'peer0', 'netns', NS);
  sh('ip', '-n', NS, 'addr', 'add', '198.51.100.1/24', 'dev', 'up0');
  sh('ip', '-n', NS, 'link', 'set', 'up0', 'up');
  sh('ip', '-n', NS, 'link', 'set', 'peer0', 'up');
  sh('ip', '-n', NS, 'link', 'set', 'lo', 'up');
  sh('ip', '-n', NS, 'neigh', 'add', '198.51.100.11', 'lladdr', '02:00:00:00:00:0b', 'dev', 'up0', 'nud', 'permanent');
  sh('ip', '-n', NS, 'addr', 'add', '2001:db8:3::1/64', 'dev', 'up0', 'nodad');
  sh('ip', '-n', NS, 'neigh', 'add', '2001:db8:3::11', 'lladdr', '02:00:00:00:00:0c', 'dev', 'up0', 'nud', 'permanent');
  uplink = inNetns(NS, () => ifIndex('up0'));
  obj = loadOvpnObject();
  for (const m of ['ovpn_config', 'ovpn_peers', 'ovpn_keys', 'ovpn_secrets', 'ovpn_gaps', 'ovpn_route4', 'ovpn_route6', 'ovpn_by_addr', 'ovpn_counts']) maps[m] = BpfMap.fromFd(bpf.mapFd(obj, m), m);
  const k = crypto.randomBytes(32), iv = crypto.randomBytes(8), k2 = crypto.randomBytes(32), iv2 = crypto.randomBytes(8);
  rx = { cipher: 'CHACHA20-POLY1305', key: k, iv };
  tx = { cipher: 'CHACHA20-POLY1305', key: k2, iv: iv2 };
  maps.ovpn_config.update(0, { tun: 1, seg_outer: 0, seg_inner: 0, port: 1194, pad: 0 });
  setPeer(40000);
  maps.ovpn_route4.update('192.0.2.2', PEER);
  setKey(0, 0, 'OVPN_CHACHA20_POLY1305');
});
afterAll(() => {
  for (const m of Object.values(maps)) m.close();
  if (obj) bpf.closeObject(obj);
  try { sh('ip', 'netns', 'del', NS); } catch { /* gone */ }
});

describe('uplink ingress: decrypt into the tun', () => {
  test('a data packet decrypts to the client\'s IP packet, the outer headers gone, redirected into the tun', () => {
    const inner = ipv4('192.0.2.2', '203.0.113.2', crypto.randomBytes(56));
    let r: ReturnType<typeof runRx> | undefined;
    expect(delta(() => { r = runRx(arriving(data(inner))); })).toEqual({ rx_delivered: 1 });
    expect(r!.retval).toBe(TC_ACT_REDIRECT);
    expect(r!.data.subarray(14)).toEqual(inner);
    const peer = formatJson(maps.ovpn_peers.btf!, maps.ovpn_peers.info.valueTypeId, maps.ovpn_peers.lookup(PEER)![0]) as Record<string, number>;
    expect(Number(peer.rx_packets)).toBe(1);
  });

  test('random sizes from 20 bytes to 3000 (as much as a test run takes), IPv4 and IPv6 inside, all equal to what node:crypto encrypted', () => {
    const r = rng(9);
    for (const n of [0, 1, 43, 44, 63, 64, 65, 1400, 1452, 2980, ...Array.from({ length: 20 }, () => r.int(1480))]) {
      const inner = n % 2 ? ipv6(VPN6, VPN6, crypto.randomBytes(n)) : ipv4('192.0.2.2', '203.0.113.2', crypto.randomBytes(n));
      const out = runRx(arriving(data(inner)));
      expect(out.retval).toBe(TC_ACT_REDIRECT);
      expect(out.data.subarray(14)).toEqual(inner);
    }
  });

  test('refusals, each counted by reason: forged tag, replay (duplicate, too old), spoofed source, truncated, ping consumed', () => {
    const inner = ipv4('192.0.2.2', '203.0.113.2', Buffer.alloc(30));
    const good = arriving(data(inner));
    const forged = Buffer.from(good); forged[forged.length - 1] ^= 0x80;
    expect(delta(() => expect(runRx(forged).retval).toBe(TC_ACT_SHOT))).toEqual({ rx_bad_tag: 1 });
    expect(runRx(good).retval).toBe(TC_ACT_REDIRECT);
    expect(delta(() => expect(runRx(good).retval).toBe(TC_ACT_SHOT))).toEqual({ rx_replay: 1 });
    pid += 100;
    expect(runRx(arriving(data(inner))).retval).toBe(TC_ACT_REDIRECT);
    const old = arriving(data(inner, 0, PEER, rx, pid - 70)); // 70 behind the highest: outside the 64-id window
    expect(delta(() => expect(runRx(old).retval).toBe(TC_ACT_SHOT))).toEqual({ rx_replay: 1 });
    const inWindow = arriving(data(inner, 0, PEER, rx, pid - 30)); // a gap inside the window: accepted once
    expect(runRx(inWindow).retval).toBe(TC_ACT_REDIRECT);
    expect(runRx(inWindow).retval).toBe(TC_ACT_SHOT);
    const zero = arriving(data(inner, 0, PEER, rx, 1)).fill(0, 14 + 28 + 4, 14 + 28 + 8);
    expect(delta(() => runRx(zero))).toEqual({ rx_replay: 1 });
    const spoofed = arriving(data(ipv4('192.0.2.99', '203.0.113.2', Buffer.alloc(30))));
    expect(delta(() => expect(runRx(spoofed).retval).toBe(TC_ACT_SHOT))).toEqual({ rx_spoofed: 1 });
    const v6spoof = arriving(data(ipv6(Buffer.alloc(16, 1), VPN6, Buffer.alloc(8))));
    expect(delta(() => expect(runRx(v6spoof).retval).toBe(TC_ACT_SHOT))).toEqual({ rx_spoofed: 1 });
    const longer = arriving(data(inner), 10); // UDP claims more than arrived
    expect(delta(() => expect(runRx(longer).retval).toBe(TC_ACT_SHOT))).toEqual({ rx_truncated: 1 });
    const notIp = arriving(data(Buffer.alloc(30, 0x11)));
    expect(delta(() => expect(runRx(notIp).retval).toBe(TC_ACT_SHOT))).toEqual({ rx_truncated: 1 });
    expect(delta(() => expect(runRx(arriving(data(PING))).retval).toBe(TC_ACT_SHOT))).toEqual({ rx_ping: 1 });
  });

  test('what is not ours reaches the daemon unchanged: unknown peer, unknown key id, control packets, an AES key without its context, other ports', () => {
    const inner = ipv4('192.0.2.2', '203.0.113.2', Buffer.alloc(30));
    for (const f of [arriving(data(inner, 0, 77)), arriving(data(inner, 3))]) {
      const r = runRx(f);
      expect(r.retval).toBe(TC_ACT_OK);
      expect(r.data).toEqual(f);
    }
    const control = arriving(Buffer.concat([Buffer.from([0x38]), Buffer.alloc(30)]));
    expect(delta(() => expect(runRx(control).retval).toBe(TC_ACT_OK))).toEqual({});
    const other = arriving(data(inner)); other.writeUInt16BE(1195, 14 + 20 + 2);
    expect(runRx(other).retval).toBe(TC_ACT_OK);
    setKey(1, 2, 'OVPN_AES_256_GCM'); // an AES key whose kernel context is not made (yet)
    expect(delta(() => expect(runRx(arriving(data(inner, 2))).retval).toBe(TC_ACT_OK))).toEqual({ rx_to_daemon: 1 });
    maps.ovpn_keys.delete(PEER << 1 | 1);
  });

  test('one replay window for both paths: the daemon checks ids through ovpn_replay_check, an id is accepted once by either', () => {
    const check = (id: number) => { const q = Buffer.alloc(16); q.writeUInt32LE(PEER << 1, 0); q.writeUInt32LE(id, 4); bpf.syscallRun(bpf.programFd(obj, 'ovpn_replay_check'), q); return q.readInt32LE(8); };
    const inner = ipv4('192.0.2.2', '203.0.113.2', Buffer.alloc(30));
    const id = pid++;
    expect(runRx(arriving(data(inner, 0, PEER, rx, id))).retval).toBe(TC_ACT_REDIRECT);
    expect(check(id)).toBe(0); // BPF saw it: the daemon must refuse it
    const next = pid++;
    expect(check(next)).toBe(1); // the daemon saw it first
    expect(delta(() => expect(runRx(arriving(data(inner, 0, PEER, rx, next))).retval).toBe(TC_ACT_SHOT))).toEqual({ rx_replay: 1 });
    const q = Buffer.alloc(16); q.writeUInt32LE(77 << 1, 0); q.writeUInt32LE(5, 4);
    bpf.syscallRun(bpf.programFd(obj, 'ovpn_replay_check'), q);
    expect(q.readInt32LE(8)).toBe(-1); // no such key: the daemon keeps its own window
  });

  test('two CPUs taking one peer\'s packets at once: every id is accepted exactly once, the other copy refused as a replay', async () => {
    // Two threads pinned to CPUs 0 and 1 test-run the uplink program over the
    // same 5,000 datagrams (ids 1..N on a fresh key), in lockstep: both
    // decrypt the same id at the same moment, and only the commit under the
    // key's lock decides which copy is delivered.
    expect(os.cpus().length).toBeGreaterThanOrEqual(2);
    const N = 5000, KID = 1;
    setKey(1, KID, 'OVPN_CHACHA20_POLY1305');
    const inner = ipv4('192.0.2.2', '203.0.113.2', Buffer.alloc(1400, 7));
    const frames = Array.from({ length: N }, (_, i) => arriving(data(inner, KID, PEER, rx, i + 1)));
    const before = counts();
    const peerRx = () => Number((formatJson(maps.ovpn_peers.btf!, maps.ovpn_peers.info.valueTypeId, maps.ovpn_peers.lookup(PEER)![0]) as Record<string, number>).rx_packets);
    const peerBefore = peerRx();
    try {
      const sync = new SharedArrayBuffer(8);
      const run = (me: number) => new Promise<number[]>((res, rej) => {
        const w = new Worker(path.join(__dirname, '../helpers/testrun-thread.js'), { workerData: { fd: bpf.programFd(obj, 'ovpn_uplink_in'), cpu: me, me, frames, sync } });
        w.once('message', (m: { ret?: number[]; error?: string }) => { void w.terminate(); if (m.ret) res(m.ret); else rej(new Error(m.error)); });
        w.once('error', rej);
      });
      const [a, b] = await Promise.all([run(0), run(1)]);
      const once = a.filter((r, i) => (r === TC_ACT_REDIRECT) !== (b[i] === TC_ACT_REDIRECT)).length;
      expect({ once, bothShot: a.filter((r, i) => r === TC_ACT_SHOT && b[i] === TC_ACT_SHOT).length }).toEqual({ once: N, bothShot: 0 });
      const after = counts(), d = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
      expect({ delivered: d('rx_delivered'), refused: d('rx_replay') + d('rx_replay_raced') }).toEqual({ delivered: N, refused: N });
      if (process.env.OVPN_CPU_SPLIT) console.log(`CPU 0 won ${a.filter((r) => r === TC_ACT_REDIRECT).length} of ${N}; ${d('rx_replay_raced')} lost the race after decrypting`);
      expect(d('rx_replay_raced')).toBeGreaterThan(0); // the two did decrypt one id at once: the lock decided
      expect(peerRx() - peerBefore).toBe(N);
    } finally {
      maps.ovpn_keys.delete(PEER << 1 | 1);
    }
  });

  describe('--replay-window 1024 T, OpenVPN\'s rule (packet_id.c) in BPF', () => {
    const SLOT = PEER << 1 | 1;
    const check = (id: number, kid = 4) => { const q = Buffer.alloc(16); q.writeUInt32LE(SLOT, 0); q.writeUInt32LE(id >>> 0, 4); q.writeUInt32LE(kid, 12); bpf.syscallRun(bpf.programFd(obj, 'ovpn_replay_check'), q); return q.readInt32LE(8); };
    const fresh1 = (id: number) => check(id) === 1;
    const fresh = (window: number, backtrackMs: number) => {
      setKey(1, 4, 'OVPN_CHACHA20_POLY1305');
      const k = formatJson(maps.ovpn_keys.btf!, maps.ovpn_keys.info.valueTypeId, maps.ovpn_keys.lookup(SLOT)![0]) as Record<string, unknown>;
      maps.ovpn_keys.update(SLOT, { ...k, replay: { highest: 0, window, backtrack_ns: BigInt(backtrackMs) * 1000000n } } as never);
    };
    afterAll(() => maps.ovpn_keys.delete(SLOT));

    test('window edges: 1023 behind is taken, 1024 behind is too old; id 0 never; a jump wider than the bitmap leaves no stale bits', () => {
      fresh(1024, 0);
      expect(fresh1(0)).toBe(false);
      expect(fresh1(3000)).toBe(true);
      expect(fresh1(3000 - 1023)).toBe(true);
      expect(fresh1(3000 - 1023)).toBe(false);
      expect(fresh1(3000 - 1024)).toBe(false);
      expect(fresh1(3000 + 2048)).toBe(true); // the same bit as 3000
      expect(fresh1(3000 + 2048 - 1)).toBe(true);
      expect(fresh1(3000 + 2048)).toBe(false);
      expect(fresh1(0xffffffff)).toBe(true);
      expect(fresh1(0xffffffff - 1023)).toBe(true);
    });

    test('random reordering, duplicates and jumps: BPF decides as the TypeScript window (no time limit) for 30,000 ids', () => {
      fresh(1024, 0);
      const model = new ReplayWindow(1024, 0);
      const r = rng(77);
      let top = 1, differ = 0, taken = 0;
      for (let n = 0; n < 30000; n++) {
        const roll = r.int(100);
        if (roll < 60) top += 1 + r.int(3);
        else if (roll < 62) top += 500 + r.int(3000);
        const id = roll < 62 ? top : Math.max(1, top - r.int(1100));
        const m = model.accept(id), b = check(id) === 1;
        if (m !== b) differ++;
        if (b) taken++;
      }
      expect({ differ }).toEqual({ differ: 0 });
      expect(taken).toBeGreaterThan(15000); // the walk did take ids, and refused some
      expect(taken).toBeLessThan(30000);
    });

    test('T: a gap is refused once the jump over it is older than T, also across words', async () => {
      fresh(1024, 300);
      expect(fresh1(1)).toBe(true);
      expect(fresh1(5)).toBe(true); // jumps over 2..4
      expect(fresh1(3)).toBe(true);
      expect(fresh1(200)).toBe(true); // jumps over 6..199, into a later word
      expect(fresh1(150)).toBe(true);
      expect(fresh1(100)).toBe(true);
      await new Promise((res) => setTimeout(res, 450));
      expect(fresh1(4)).toBe(false);
      expect(fresh1(201)).toBe(true); // in order: always
      expect(fresh1(170)).toBe(false); // the jump over it (to 200) is 450 ms old
      expect(fresh1(202 + 64)).toBe(true); // jumps over 202..265, now
      expect(fresh1(230)).toBe(true); // its jump is new, though 200 and 201 beside it are old
      expect(fresh1(202)).toBe(true);
    });

    test('the window is the key\'s that decrypted: another key id in the slot (a renegotiation since) takes and records nothing', () => {
      fresh(1024, 0);
      expect(check(5000, 4)).toBe(1);
      expect(check(9000, 3)).toBe(-1); // key id 3 is not in the slot
      expect(check(4000, 4)).toBe(1); // the window did not move to 9000
    });

    test('a gap another CPU jumped over after this one read the clock (its time ahead of ours) is fresh, not ancient', () => {
      fresh(1024, 15000);
      expect(check(100)).toBe(1);
      const g = formatJson(maps.ovpn_gaps.btf!, maps.ovpn_gaps.info.valueTypeId, maps.ovpn_gaps.lookup(SLOT)![0]) as { jumped: number[] };
      const ahead = Number(process.hrtime.bigint() >> 20n) + 100; // CLOCK_MONOTONIC, as bpf_ktime_get_ns; ~0.1 s ahead
      g.jumped[50] = ahead >>> 0;
      maps.ovpn_gaps.update(SLOT, g);
      expect(check(50)).toBe(1);
    });

    test('a key whose gap times are missing refuses every gap (never accepts late), yet takes new ids', () => {
      fresh(1024, 300);
      maps.ovpn_gaps.delete(SLOT);
      expect(fresh1(10)).toBe(true);
      expect(fresh1(8)).toBe(false);
      expect(fresh1(11)).toBe(true);
    });

    test('the same rule on the packet path: a reordered datagram inside the window is delivered, a replayed one refused', () => {
      fresh(1024, 0);
      const inner = ipv4('192.0.2.2', '203.0.113.2', Buffer.alloc(30));
      const send = (id: number) => runRx(arriving(data(inner, 4, PEER, rx, id))).retval;
      expect(send(2000)).toBe(TC_ACT_REDIRECT);
      expect(send(1100)).toBe(TC_ACT_REDIRECT); // 900 behind
      expect(delta(() => expect(send(1100)).toBe(TC_ACT_SHOT))).toEqual({ rx_replay: 1 });
      expect(delta(() => expect(send(900)).toBe(TC_ACT_SHOT))).toEqual({ rx_replay: 1 }); // 1100 behind
    });
  });

  test('a packet that authenticates from a new address moves the peer (float), as a 2.6 server does', () => {
    const f = arriving(data(ipv4('192.0.2.2', '203.0.113.2', Buffer.alloc(30))));
    f.writeUInt16BE(40001, 14 + 20);
    expect(delta(() => expect(runRx(f).retval).toBe(TC_ACT_REDIRECT))).toEqual({ rx_delivered: 1, rx_float: 1 });
    const peer = formatJson(maps.ovpn_peers.btf!, maps.ovpn_peers.info.valueTypeId, maps.ovpn_peers.lookup(PEER)![0]) as Record<string, number>;
    expect(Number(peer.rport)).toBe(40001);
    const back = arriving(data(ipv4('192.0.2.2', '203.0.113.2', Buffer.alloc(30))));
    expect(runRx(back).retval).toBe(TC_ACT_REDIRECT);
  });
});

describe('segmenter inner end: encrypt out of the uplink', () => {
  beforeAll(() => setPeer(40001));
  test('a reply becomes the datagram node:crypto makes with the next packet id, addressed to the peer through the FIB', () => {
    sh('ip', 'netns', 'exec', NS, 'sysctl', '-qw', 'net.ipv4.conf.all.forwarding=1');
    inNetns(NS, () => {
      for (const n of [20, 64, 100, 1400]) {
        const inner = ipv4('203.0.113.2', '192.0.2.2', crypto.randomBytes(n));
        const frame = Buffer.concat([Buffer.from('0000000000000000000000000800', 'hex'), inner]);
        const key = formatJson(maps.ovpn_keys.btf!, maps.ovpn_keys.info.valueTypeId, maps.ovpn_keys.lookup(PEER << 1)![0]) as Record<string, number>;
        let r: ReturnType<typeof bpf.testRun> | undefined;
        const d = delta(() => { r = bpf.testRun(bpf.programFd(obj, 'ovpn_seg_in'), { data: frame, dataOutSize: frame.length + 256 }); });
        expect(d).toEqual({ tx_sent: 1 });
        expect(r!.retval).toBe(TC_ACT_REDIRECT);
        const out = r!.data;
        expect(out.subarray(0, 6).toString('hex')).toBe('02000000000b'); // the neighbour's MAC
        expect(out.readUInt16BE(12)).toBe(0x0800);
        const ip = out.subarray(14, 34);
        expect([...ip.subarray(12, 16)].join('.')).toBe('198.51.100.1');
        expect([...ip.subarray(16, 20)].join('.')).toBe('198.51.100.11');
        expect(out.readUInt16BE(34)).toBe(1194);
        expect(out.readUInt16BE(36)).toBe(40001);
        const datagram = out.subarray(42);
        expect(datagram).toEqual(encryptData(tx, { opcode: P_DATA_V2, keyId: 0, peerId: PEER, packetId: Number(key.tx_pid) }, inner));
        expect(decryptData(tx, datagram)).toEqual(inner);
      }
    });
  });

  test('with forwarding off (a server that only talks to its clients) the reply goes out through the neighbour path', () => {
    sh('ip', 'netns', 'exec', NS, 'sysctl', '-qw', 'net.ipv4.conf.all.forwarding=0');
    inNetns(NS, () => {
      const frame = Buffer.concat([Buffer.from('0000000000000000000000000800', 'hex'), ipv4('203.0.113.2', '192.0.2.2', Buffer.alloc(40))]);
      let r: ReturnType<typeof bpf.testRun> | undefined;
      expect(delta(() => { r = bpf.testRun(bpf.programFd(obj, 'ovpn_seg_in'), { data: frame, dataOutSize: frame.length + 256 }); })).toEqual({ tx_sent: 1 });
      expect(r!.retval).toBe(TC_ACT_REDIRECT);
      expect(decryptData(tx, r!.data.subarray(42))).toEqual(frame.subarray(14));
    });
  });

  test('the daemon takes packet ids from the same counter (ovpn_take_pids): no id is used twice', () => {
    const take = (n: number) => { const c = Buffer.alloc(16); c.writeUInt32LE(PEER << 1, 0); c.writeUInt32LE(n, 4); bpf.syscallRun(bpf.programFd(obj, 'ovpn_take_pids'), c); return Number(c.readBigUInt64LE(8)); };
    const a = take(1), b = take(10);
    expect(b).toBe(a + 1);
    inNetns(NS, () => {
      const frame = Buffer.concat([Buffer.from('0000000000000000000000000800', 'hex'), ipv4('203.0.113.2', '192.0.2.2', Buffer.alloc(10))]);
      const r = bpf.testRun(bpf.programFd(obj, 'ovpn_seg_in'), { data: frame, dataOutSize: frame.length + 256 });
      expect(r.data.readUInt32BE(42 + 4)).toBe(b + 10);
    });
  });

  test('no peer for the destination, or no route to the peer: dropped and counted', () => {
    inNetns(NS, () => {
      const frame = Buffer.concat([Buffer.from('0000000000000000000000000800', 'hex'), ipv4('203.0.113.2', '192.0.2.77', Buffer.alloc(10))]);
      expect(delta(() => expect(bpf.testRun(bpf.programFd(obj, 'ovpn_seg_in'), { data: frame }).retval).toBe(TC_ACT_SHOT))).toEqual({ tx_no_peer: 1 });
    });
  });
});

describe.each(<Array<['AES-256-GCM' | 'AES-128-GCM', string, number]>>[
  ['AES-256-GCM', 'OVPN_AES_256_GCM', 32],
  ['AES-128-GCM', 'OVPN_AES_128_GCM', 16],
])('%s in BPF (kernel AES, GHASH here)', (cipher, enumName, bytes) => {
  let arx: DirectionKey, atx: DirectionKey;
  beforeAll(() => {
    arx = { cipher, key: crypto.randomBytes(bytes), iv: crypto.randomBytes(8) };
    atx = { cipher, key: crypto.randomBytes(bytes), iv: crypto.randomBytes(8) };
    const sk = PEER << 1;
    maps.ovpn_keys.update(sk, {
      lock: { val: 0 }, key_id: 4, cipher: Number([...maps.ovpn_keys.btf!.enumNames('ovpn_cipher')].find(([, n]) => n === enumName)![0]), pad: [0, 0],
      tx_pid: 1n, rx_packets: 0n, replay: { highest: 0, window: 64, backtrack_ns: 15000000000n },
    });
    maps.ovpn_secrets.update(sk, { rx_key: Buffer.alloc(32), rx_iv: arx.iv, tx_key: Buffer.alloc(32), tx_iv: atx.iv, rx_h: ghashTable(arx.key), tx_h: ghashTable(atx.key) });
    for (const [dir, k] of [[0, arx.key], [1, atx.key]] as const) {
      const c = Buffer.alloc(48);
      c.writeUInt32LE((sk << 1) | dir, 0); c.writeUInt32LE(k.length, 4); k.copy(c, 8);
      bpf.syscallRun(bpf.programFd(obj, 'ovpn_aes_key'), c);
      expect(c.readInt32LE(40)).toBe(0);
    }
    setPeer(40001);
  });

  test('decrypts what node:crypto encrypted, every length class up to 2032 bytes; a forged tag is refused; longer goes to the daemon', () => {
    const r = rng(bytes);
    for (const n of [0, 1, 15, 16, 17, 44, 64, 100, 1400, 1452, 2012, ...Array.from({ length: 12 }, () => r.int(1480))]) {
      const inner = ipv4('192.0.2.2', '203.0.113.2', crypto.randomBytes(n));
      const out = runRx(arriving(data(inner, 4, PEER, arx)));
      expect(out.retval).toBe(TC_ACT_REDIRECT);
      expect(out.data.subarray(14)).toEqual(inner);
    }
    const forged = arriving(data(ipv4('192.0.2.2', '203.0.113.2', Buffer.alloc(200)), 4, PEER, arx));
    forged[forged.length - 20] ^= 4;
    expect(delta(() => expect(runRx(forged).retval).toBe(TC_ACT_SHOT))).toEqual({ rx_bad_tag: 1 });
    const big = arriving(data(ipv4('192.0.2.2', '203.0.113.2', Buffer.alloc(2100)), 4, PEER, arx));
    expect(delta(() => expect(runRx(big).retval).toBe(TC_ACT_OK))).toEqual({ rx_to_daemon: 1 });
  });

  test('encrypts replies byte-identical to node:crypto', () => {
    setPeer(40001); // as seen on up0 again (the decrypt tests' test runs arrive on loopback)
    inNetns(NS, () => {
      for (const n of [20, 64, 100, 1400]) {
        const inner = ipv4('203.0.113.2', '192.0.2.2', crypto.randomBytes(n));
        const frame = Buffer.concat([Buffer.from('0000000000000000000000000800', 'hex'), inner]);
        const key = formatJson(maps.ovpn_keys.btf!, maps.ovpn_keys.info.valueTypeId, maps.ovpn_keys.lookup(PEER << 1)![0]) as Record<string, number>;
        const r = bpf.testRun(bpf.programFd(obj, 'ovpn_seg_in'), { data: frame, dataOutSize: frame.length + 256 });
        expect(r.retval).toBe(TC_ACT_REDIRECT);
        expect(r.data.subarray(42)).toEqual(encryptData(atx, { opcode: P_DATA_V2, keyId: 4, peerId: PEER, packetId: Number(key.tx_pid) }, inner));
      }
    });
  });
});

describe('P_DATA_V1 (no peer-id pushed): the peer found by its address', () => {
  const V1 = 6, SPORT = 40007;
  let k1: DirectionKey, k2: DirectionKey;
  /** As the daemon installs it; a test run's ingress (loopback) becomes its uplink, so the replies' test sets it again. */
  const setV1Peer = () => maps.ovpn_peers.update(V1, {
    remote4: '198.51.100.11', local4: '198.51.100.1', rport: SPORT, tx_slot: 0, family: 4, uplink, data_v1: 1, pad1: [0, 0, 0], vpn4: '192.0.2.3', vpn6: '::',
    rx_packets: 0n, rx_bytes: 0n, tx_packets: 0n, tx_bytes: 0n, last_rx_ns: 0n, last_tx_ns: 0n,
  });
  beforeAll(() => {
    k1 = { cipher: 'CHACHA20-POLY1305', key: crypto.randomBytes(32), iv: crypto.randomBytes(8) };
    k2 = { cipher: 'CHACHA20-POLY1305', key: crypto.randomBytes(32), iv: crypto.randomBytes(8) };
    setV1Peer();
    maps.ovpn_by_addr.update({ addr: '::ffff:198.51.100.11', port: SPORT, pad: 0 }, V1);
    maps.ovpn_route4.update('192.0.2.3', V1);
    maps.ovpn_keys.update(V1 << 1, {
      lock: { val: 0 }, key_id: 0, cipher: Number([...maps.ovpn_keys.btf!.enumNames('ovpn_cipher')].find(([, n]) => n === 'OVPN_CHACHA20_POLY1305')![0]), pad: [0, 0],
      tx_pid: 1n, rx_packets: 0n, replay: { highest: 0, window: 64, backtrack_ns: 15000000000n },
    });
    maps.ovpn_secrets.update(V1 << 1, { rx_key: k1.key, rx_iv: k1.iv, tx_key: k2.key, tx_iv: k2.iv });
    maps.ovpn_gaps.update(V1 << 1, {});
  });
  afterAll(() => {
    maps.ovpn_by_addr.delete({ addr: '::ffff:198.51.100.11', port: SPORT, pad: 0 });
    maps.ovpn_route4.delete('192.0.2.3');
    maps.ovpn_peers.delete(V1);
    maps.ovpn_keys.delete(V1 << 1);
    maps.ovpn_secrets.delete(V1 << 1);
    maps.ovpn_gaps.delete(V1 << 1);
  });
  const v1 = (plain: Buffer, id: number) => encryptData(k1, { opcode: P_DATA_V1, keyId: 0, packetId: id }, plain);

  test('decrypts what node:crypto made (AAD = the packet id alone, header 5 bytes); replay, forged tag, spoofed source refused; another port goes to the daemon', () => {
    for (const n of [20, 64, 1400]) {
      const inner = ipv4('192.0.2.3', '203.0.113.2', crypto.randomBytes(n));
      let r: ReturnType<typeof runRx> | undefined;
      expect(delta(() => { r = runRx(arriving(v1(inner, n), 0, SPORT)); })).toEqual({ rx_delivered: 1 });
      expect(r!.retval).toBe(TC_ACT_REDIRECT);
      expect(r!.data.subarray(14)).toEqual(inner);
    }
    const inner = ipv4('192.0.2.3', '203.0.113.2', Buffer.alloc(30));
    expect(delta(() => expect(runRx(arriving(v1(inner, 64), 0, SPORT)).retval).toBe(TC_ACT_SHOT))).toEqual({ rx_replay: 1 });
    const forged = v1(inner, 2000); forged[5 + 16 + 3] ^= 1;
    expect(delta(() => expect(runRx(arriving(forged, 0, SPORT)).retval).toBe(TC_ACT_SHOT))).toEqual({ rx_bad_tag: 1 });
    const pidFlipped = v1(inner, 2001); pidFlipped[4] ^= 1; // the AAD: the packet id
    expect(delta(() => expect(runRx(arriving(pidFlipped, 0, SPORT)).retval).toBe(TC_ACT_SHOT))).toEqual({ rx_bad_tag: 1 });
    expect(delta(() => expect(runRx(arriving(v1(ipv4('192.0.2.9', '203.0.113.2', Buffer.alloc(30)), 2002), 0, SPORT)).retval).toBe(TC_ACT_SHOT))).toEqual({ rx_spoofed: 1 });
    const elsewhere = arriving(v1(inner, 2003), 0, SPORT + 1); // no V1 peer at that port: the daemon's
    let r: ReturnType<typeof runRx> | undefined;
    expect(delta(() => { r = runRx(elsewhere); })).toEqual({ rx_to_daemon: 1 });
    expect(r!.retval).toBe(TC_ACT_OK);
    expect(r!.data).toEqual(elsewhere);
    const fromV2Peer = arriving(v1(inner, 2004), 0, 40000); // a V2 peer's address: V1 from it is the daemon's too
    expect(delta(() => expect(runRx(fromV2Peer).retval).toBe(TC_ACT_OK))).toEqual({ rx_to_daemon: 1 });
    // an address entry that names a peer without data_v1 (a stale or wrong one) is not taken for V1
    maps.ovpn_by_addr.update({ addr: '::ffff:198.51.100.11', port: 40000, pad: 0 }, PEER);
    try {
      expect(delta(() => expect(runRx(arriving(encryptData(rx, { opcode: P_DATA_V1, keyId: 0, packetId: 900000 }, ipv4('192.0.2.2', '203.0.113.2', Buffer.alloc(30))), 0, 40000)).retval).toBe(TC_ACT_OK))).toEqual({ rx_to_daemon: 1 });
    } finally {
      maps.ovpn_by_addr.delete({ addr: '::ffff:198.51.100.11', port: 40000, pad: 0 });
    }
  });

  test('replies go out as P_DATA_V1, byte-identical to node:crypto with the next packet id', () => {
    setV1Peer();
    sh('ip', 'netns', 'exec', NS, 'sysctl', '-qw', 'net.ipv4.conf.all.forwarding=1');
    inNetns(NS, () => {
      for (const n of [20, 1400]) {
        const inner = ipv4('203.0.113.2', '192.0.2.3', crypto.randomBytes(n));
        const frame = Buffer.concat([Buffer.from('0000000000000000000000000800', 'hex'), inner]);
        const key = formatJson(maps.ovpn_keys.btf!, maps.ovpn_keys.info.valueTypeId, maps.ovpn_keys.lookup(V1 << 1)![0]) as Record<string, number>;
        let r: ReturnType<typeof bpf.testRun> | undefined;
        expect(delta(() => { r = bpf.testRun(bpf.programFd(obj, 'ovpn_seg_in'), { data: frame, dataOutSize: frame.length + 256 }); })).toEqual({ tx_sent: 1 });
        expect(r!.retval).toBe(TC_ACT_REDIRECT);
        const out = r!.data;
        expect(out.readUInt16BE(14 + 2)).toBe(out.length - 14); // IPv4 total length
        let sum = 0; for (let i = 14; i < 34; i += 2) sum += out.readUInt16BE(i);
        while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
        expect(sum).toBe(0xffff); // the IPv4 header checksum holds
        expect(out.readUInt16BE(34 + 2)).toBe(SPORT);
        expect(out.readUInt16BE(34 + 4)).toBe(out.length - 34); // UDP length
        expect(out.subarray(42)).toEqual(encryptData(k2, { opcode: P_DATA_V1, keyId: 0, packetId: Number(key.tx_pid) }, inner));
      }
    });
  });
});

describe('an IPv6 uplink (proto udp6)', () => {
  const C6 = Buffer.from('20010db8000300000000000000000011', 'hex'), S6 = Buffer.from('20010db8000300000000000000000001', 'hex');
  function arriving6(datagram: Buffer): Buffer {
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(40002, 0); udp.writeUInt16BE(1194, 2); udp.writeUInt16BE(8 + datagram.length, 4);
    const ip = Buffer.alloc(40);
    ip[0] = 0x60; ip.writeUInt16BE(8 + datagram.length, 4); ip[6] = 17; ip[7] = 64; C6.copy(ip, 8); S6.copy(ip, 24);
    return Buffer.concat([Buffer.from('02000000000102000000000c86dd', 'hex'), ip, udp, datagram]);
  }
  beforeAll(() => { setPeer(40001); setKey(0, 0, 'OVPN_CHACHA20_POLY1305'); });

  test('a datagram over IPv6 decrypts into the tun, and the peer moves to its IPv6 address', () => {
    const inner = ipv4('192.0.2.2', '203.0.113.2', crypto.randomBytes(80));
    let r: ReturnType<typeof runRx> | undefined;
    expect(delta(() => { r = runRx(arriving6(data(inner))); })).toEqual({ rx_delivered: 1, rx_float: 1 });
    expect(r!.retval).toBe(TC_ACT_REDIRECT);
    expect(r!.data.subarray(14)).toEqual(inner);
    const peer = formatJson(maps.ovpn_peers.btf!, maps.ovpn_peers.info.valueTypeId, maps.ovpn_peers.lookup(PEER)![0]) as Record<string, unknown>;
    expect(Number(peer.family)).toBe(6);
    expect(Number(peer.rport)).toBe(40002);
  });

  test('replies go out over IPv6 with a valid UDP checksum, the datagram as node:crypto makes it', () => {
    const raw = maps.ovpn_peers.lookup(PEER)![0];
    const t = maps.ovpn_peers.btf!.type(maps.ovpn_peers.btf!.resolve(maps.ovpn_peers.info.valueTypeId));
    const at = (f: string) => ('members' in t ? t.members.find((m) => m.name === f)!.bitOffset / 8 : 0);
    raw.writeUInt32LE(uplink, at('uplink')); // as seen on up0 (a test run arrives on loopback)
    maps.ovpn_peers.update(PEER, raw);
    sh('ip', 'netns', 'exec', NS, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1');
    inNetns(NS, () => {
      const inner = ipv4('203.0.113.2', '192.0.2.2', crypto.randomBytes(333));
      const frame = Buffer.concat([Buffer.from('0000000000000000000000000800', 'hex'), inner]);
      const key = formatJson(maps.ovpn_keys.btf!, maps.ovpn_keys.info.valueTypeId, maps.ovpn_keys.lookup(PEER << 1)![0]) as Record<string, number>;
      const r = bpf.testRun(bpf.programFd(obj, 'ovpn_seg_in'), { data: frame, dataOutSize: frame.length + 256 });
      expect(r.retval).toBe(TC_ACT_REDIRECT);
      const out = r.data;
      expect(out.readUInt16BE(12)).toBe(0x86dd);
      expect(out.subarray(0, 6).toString('hex')).toBe('02000000000c');
      expect(out.subarray(14 + 8, 14 + 24)).toEqual(S6);
      expect(out.subarray(14 + 24, 14 + 40)).toEqual(C6);
      const udp = out.subarray(54);
      expect(udp.readUInt16BE(2)).toBe(40002);
      // the checksum, recomputed over the pseudo header and the datagram, folds to 0
      const pseudo = Buffer.concat([S6, C6, Buffer.from([0, 0, udp.length >> 8, udp.length & 255, 0, 0, 0, 17]), udp]);
      let sum = 0;
      for (let i = 0; i < pseudo.length; i += 2) sum += (pseudo[i] << 8) + (pseudo[i + 1] ?? 0);
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
      expect(sum).toBe(0xffff);
      expect(udp.subarray(8)).toEqual(encryptData(tx, { opcode: P_DATA_V2, keyId: 0, peerId: PEER, packetId: Number(key.tx_pid) }, inner));
    });
  });
});
