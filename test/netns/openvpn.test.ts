// `l2bpf openvpn` against Debian's stock openvpn 2.6 clients, end to end in
// namespaces (lab: test/helpers/openvpn.ts). The server's data channel runs
// in BPF for CHACHA20-POLY1305 and in its TypeScript slow path for AES-GCM;
// counters are read with bpftool.
import crypto from 'crypto';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { spawn, spawnSync } from 'child_process';
import { BpfMap } from '../../src/bpf/maps';
import { sh, shaFetch, shaTransfer } from '../helpers/netns';
import { bpfCounts, bpfKeySlot, buildOvLab, destroyOvLab, loggedKeys, makePki, Proc, startClient, startServer } from '../helpers/openvpn';

const P = `ov${process.pid % 100000}-`;
const ROOT = `/sys/fs/bpf/l2bpf-ovpn-${process.pid}`;
const env = { L2BPF_PIN_ROOT: ROOT };
const lab = buildOvLab(P, 3);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l2bpf-ovpn-'));
makePki(dir, ['cli1', 'cli2', 'cli3']);
const x = (n: string, ...cmd: string[]) => sh('ip', ['netns', 'exec', n, ...cmd], { allowFail: true, timeoutMs: 60000 });
const INSTANCE = `${P}vpn`;
const l2 = (args: string[]) => sh(process.execPath, [path.resolve(__dirname, '..', '..', 'src', 'cli', 'main.js'), ...args], { env: { ...process.env, ...env }, allowFail: true });
const pins = path.join(ROOT, INSTANCE);

function serverConf(name: string, extra: string[]): string {
  const f = path.join(dir, `${name}.conf`);
  fs.writeFileSync(f, [
    'port 1194', 'proto udp', 'dev tun', 'topology subnet', 'server 192.0.2.0 255.255.255.0', 'server-ipv6 2001:db8:1::/64',
    'ca ca.crt', 'cert server.crt', 'key server.key', 'dh none', 'crl-verify crl.pem', 'keepalive 2 10',
    'push "route 203.0.113.0 255.255.255.0"', 'push "route-ipv6 2001:db8:2::/64"', 'explicit-exit-notify 1',
    'status status.txt 1', 'status-version 2', ...extra, '',
  ].join('\n'));
  return f;
}

let server: Proc | undefined;
const clients: Proc[] = [];
async function up(conf: string): Promise<Proc> {
  server = startServer(lab, conf, env, ['--name', INSTANCE, '--uplink', 'up0']);
  if (!(await server.waitFor(/Initialization Sequence Completed/, 15000))) throw new Error(`server did not start:\n${server.out}`);
  return server;
}
async function connect(i: number, extra: string[] = [], cn?: string, remote?: string[]) {
  const c = startClient(lab, i, dir, extra, cn, remote);
  clients.push(c);
  const ok = await c.waitFor(/Initialization Sequence Completed/, 20000, () => c.log());
  return { c, ok };
}
async function down(): Promise<void> {
  for (const c of clients.splice(0)) await c.stop();
  if (server) { await server.stop(); if (process.env.OVPN_TEST_LOG) fs.appendFileSync(process.env.OVPN_TEST_LOG, `${server.out}\n-----\n`); }
  server = undefined;
}

afterAll(async () => {
  await down();
  destroyOvLab(lab);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(ROOT, { recursive: true, force: true });
});

describe('CHACHA20-POLY1305 in BPF, TLS 1.3, no wrapping', () => {
  let cli: Proc & { log: () => string };
  beforeAll(async () => {
    await up(serverConf('chacha', ['data-ciphers CHACHA20-POLY1305:AES-256-GCM']));
    const r = await connect(1);
    if (!r.ok) throw new Error(`client did not connect:\n${r.c.log()}\nserver:\n${server!.out}`);
    cli = r.c as Proc & { log: () => string };
  });
  afterAll(down); // also when a filter skips the tests that stop it

  test('the client logs what a stock server gives it: push, cipher, EKM, peer-id', () => {
    const log = cli.log();
    expect(log).toMatch(/Data Channel: cipher 'CHACHA20-POLY1305', peer-id: 0/);
    expect(log).toMatch(/protocol-flags cc-exit tls-ekm/);
    expect(log).toMatch(/TLSv1\.3/);
    expect(server!.out).toMatch(/cli1\/198\.51\.100\.11:\d+ Peer Connection Initiated/);
  });

  test('ping the server and the LAN host, IPv4 and IPv6 inside the tunnel, and the BPF programs carried them', () => {
    const before = bpfCounts(pins);
    expect(x(lab.cli(1), 'ping', '-c', '3', '-i', '0.2', '-W', '2', '192.0.2.1').out).toMatch(/3 received/);
    expect(x(lab.cli(1), 'ping', '-c', '3', '-i', '0.2', '-W', '2', '203.0.113.2').out).toMatch(/3 received/);
    expect(x(lab.cli(1), 'ping', '-6', '-c', '3', '-i', '0.2', '-W', '2', '2001:db8:2::2').out).toMatch(/3 received/);
    const after = bpfCounts(pins);
    expect(after.rx_delivered - before.rx_delivered).toBeGreaterThanOrEqual(9);
    expect(after.tx_sent - before.tx_sent).toBeGreaterThanOrEqual(9);
    expect(after.rx_to_daemon - before.rx_to_daemon).toBe(0);
  });

  test('20 MB each way between the client and the LAN host, sha256 equal; the slow path carried ~0', async () => {
    const before = bpfCounts(pins);
    const up1 = await shaTransfer(lab.cli(1), lab.lan, '203.0.113.2', 5401, 20);
    expect(up1.got).toBe(up1.sent);
    expect(up1.sent).toMatch(/^20971520 [0-9a-f]{64}$/);
    const dn = await shaFetch(lab.lan, lab.cli(1), '203.0.113.2', 5402, 20);
    expect(dn.got).toBe(dn.sent);
    expect(dn.sent).toMatch(/^20971520 [0-9a-f]{64}$/);
    const after = bpfCounts(pins);
    const fast = after.rx_delivered - before.rx_delivered + after.tx_sent - before.tx_sent;
    const slow = after.rx_to_daemon - before.rx_to_daemon + after.tx_to_daemon - before.tx_to_daemon;
    expect(fast).toBeGreaterThan(20000);
    expect(slow).toBeLessThan(fast / 1000);
    expect(after.tx_failed - before.tx_failed).toBe(0);
  });

  test('20 MB each way over IPv6 inside the tunnel (client 2001:db8:1::1000 <-> LAN host 2001:db8:2::2), sha256 equal, through BPF', async () => {
    const before = bpfCounts(pins);
    const up6 = await shaTransfer(lab.cli(1), lab.lan, '2001:db8:2::2', 5403, 20);
    expect(up6.got).toBe(up6.sent);
    expect(up6.sent).toMatch(/^20971520 [0-9a-f]{64}$/);
    const dn6 = await shaFetch(lab.lan, lab.cli(1), '2001:db8:2::2', 5404, 20);
    expect(dn6.got).toBe(dn6.sent);
    const after = bpfCounts(pins);
    expect(after.rx_delivered - before.rx_delivered + after.tx_sent - before.tx_sent).toBeGreaterThan(20000);
    expect(after.tx_failed - before.tx_failed).toBe(0);
  });

  test('replayed and bit-flipped data datagrams captured from the wire are rejected and counted', async () => {
    const cap = spawn('ip', ['netns', 'exec', lab.srv, 'timeout', '10', 'tcpdump', '-i', 'up0', '-c', '3', '-w', path.join(dir, 'data.pcap'), '-U', 'udp dst port 1194 and udp[8] & 0xf8 = 0x48']);
    await new Promise((r) => setTimeout(r, 800));
    x(lab.cli(1), 'ping', '-c', '3', '-i', '0.2', '-W', '2', '192.0.2.1');
    await new Promise((r) => cap.on('close', r));
    const script = `
import sys
from struct import unpack
d=open(sys.argv[1],'rb').read(); o=24; out=[]
while o < len(d):
  incl=unpack('<I', d[o+8:o+12])[0]; pkt=d[o+16:o+16+incl]; o+=16+incl
  out.append(pkt[14+20+8:].hex())
print(' '.join(out))`;
    const datagrams = x(lab.srv, 'python3', '-c', script, path.join(dir, 'data.pcap')).out.trim().split(' ').map((h) => Buffer.from(h, 'hex'));
    expect(datagrams.length).toBe(3);
    const before = bpfCounts(pins);
    const send = (b: Buffer) => x(lab.cli(1), 'python3', '-c', `import socket,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.sendto(bytes.fromhex(sys.argv[1]),('198.51.100.1',1194))`, b.toString('hex'));
    for (const d of datagrams) send(d);
    // a packet id no one sent yet (it is in the AAD), so the tag check, not the replay window, refuses it
    const flipped = Buffer.from(datagrams[0]);
    flipped.writeUInt32BE(0x7fffffff, 4);
    send(flipped);
    await new Promise((r) => setTimeout(r, 300));
    const after = bpfCounts(pins);
    expect(after.rx_replay - before.rx_replay).toBe(3);
    expect(after.rx_bad_tag - before.rx_bad_tag).toBe(1);
    expect(after.rx_delivered - before.rx_delivered).toBe(0);
  });

  test('the status file (status-version 2) lists the client with its addresses and bytes', async () => {
    await new Promise((r) => setTimeout(r, 1200));
    const st = fs.readFileSync(path.join(dir, 'status.txt'), 'utf8');
    const row = st.split('\n').find((l) => l.startsWith('CLIENT_LIST,cli1,'));
    expect(row).toBeDefined();
    const f = row!.split(',');
    expect(f[3]).toBe('192.0.2.2');
    expect(f[4]).toBe('2001:db8:1::1000');
    expect(Number(f[5])).toBeGreaterThan(20e6);
    expect(Number(f[6])).toBeGreaterThan(20e6);
    expect(f[12]).toBe('CHACHA20-POLY1305');
  });

  test('dump of the key maps shows key ids and packet ids, never key bytes; secrets are pinned 0600', () => {
    const keys = l2(['dump', 'ovpn_keys', '--name', INSTANCE, '--json']);
    const k = JSON.parse(keys.out) as Array<{ value: { key_id: number; tx_pid: number } }>;
    expect(k.length).toBeGreaterThanOrEqual(1);
    expect(k[0].value.tx_pid).toBeGreaterThan(1000);
    const sec = l2(['dump', 'ovpn_secrets', '--name', INSTANCE]);
    expect(sec.out).toMatch(/secret \(not shown\)/);
    expect(fs.statSync(path.join(pins, 'maps', 'ovpn_secrets')).mode & 0o777).toBe(0o600);
  });

  test('status, stats and dump peers show the client: name, addresses, cipher, key ids, counters each way', async () => {
    await new Promise((r) => setTimeout(r, 1200)); // the daemon refreshes what status reads every second
    const st = JSON.parse(l2(['status', '--name', INSTANCE, '--json']).out)[0];
    expect(st.state).toBe('attached');
    expect(st.openvpn.pid).toBeGreaterThan(0);
    const c = st.openvpn.clients.find((x: { commonName: string }) => x.commonName === 'cli1');
    expect(c).toMatchObject({ vpn4: '192.0.2.2', vpn6: '2001:db8:1::1000', cipher: 'CHACHA20-POLY1305', keyIds: [0] });
    expect(c.realAddress).toMatch(/^198\.51\.100\.11:\d+$/);
    expect(c.rxBytes).toBeGreaterThan(20e6);
    expect(c.txBytes).toBeGreaterThan(20e6);
    const stats = JSON.parse(l2(['stats', '--name', INSTANCE, '--json']).out);
    expect(stats.openvpn.counts.rx_delivered).toBeGreaterThan(10000);
    expect(stats.openvpn.counts.rx_replay).toBe(3);
    expect(l2(['dump', 'peers', '--name', INSTANCE]).out).toMatch(/0 cli1 198\.51\.100\.11:\d+ 192\.0\.2\.2 2001:db8:1::1000 CHACHA20-POLY1305 keys 0/);
    const prom = l2(['stats', '--prometheus', '--name', INSTANCE]).out;
    const rx = prom.match(/^l2bpf_openvpn_client_rx_bytes_total\{l2bpf_instance="[^"]+",common_name="cli1",peer_id="0"\} (\d+)$/m);
    expect(Number(rx?.[1])).toBeGreaterThan(20e6);
    expect(prom).toMatch(/^l2bpf_openvpn_packets_total\{l2bpf_instance="[^"]+",outcome="rx_replay"\} 3$/m);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: prom, encoding: 'utf8' });
    expect(`${check.status} ${check.stdout}${check.stderr}`).toBe('0 ');
  });

  test('a revoked certificate is refused (crl-verify)', async () => {
    const { c, ok } = await connect(2, ['--connect-retry-max', '1'], 'revoked');
    expect(ok).toBe(false);
    expect(server!.out).toMatch(/198\.51\.100\.12:\d+ TLS error: client certificate refused \(CN=revoked\): CERT_REVOKED/);
    expect(server!.out).not.toMatch(/revoked\/\S+ Peer Connection Initiated/);
    await c.stop();
  });

  test('the data keys from TLS EKM are the ones a stock client logs at --verb 9: it encrypts with the server\'s rx key, decrypts with its tx key', async () => {
    const { c, ok } = await connect(2, ['--explicit-exit-notify', '1', '--verb', '9']);
    expect(ok).toBe(true);
    const log = c.log();
    expect(log).toMatch(/protocol-flags cc-exit tls-ekm/);
    const peerId = Number(/peer-id: (\d+)/.exec(log)![1]);
    const logged = loggedKeys(log);
    expect(logged.length).toBe(1);
    const slot = bpfKeySlot(pins, peerId, 0)!;
    expect(slot.cipher).toMatch(/CHACHA20_POLY1305/);
    expect(Buffer.from(slot.secret.rx_key)).toEqual(logged[0].out);
    expect(Buffer.from(slot.secret.tx_key)).toEqual(logged[0].in);
    await c.stop('SIGTERM');
    expect(await server!.waitFor(/cli2\/\S+ SIGTERM\[soft,peer EXIT\]/, 3000)).toBe(true);
  });

  test('an exiting client (explicit-exit-notify) is removed at once; a killed one by ping-restart', async () => {
    const two = await connect(2, ['--explicit-exit-notify', '1']);
    expect(two.ok).toBe(true);
    await two.c.stop('SIGTERM');
    expect(await server!.waitFor(/cli2\/\S+ SIGTERM\[soft,peer EXIT\]/, 3000)).toBe(true);
    const three = await connect(3);
    expect(three.ok).toBe(true);
    await three.c.stop('SIGKILL');
    // keepalive 2 10: the server restarts a peer after 20 s of silence
    expect(await server!.waitFor(/cli3\/\S+ SIGTERM\[soft,ping-restart/, 30000)).toBe(true);
  }, 60000);

  test('SIGTERM stops the server: clients told (explicit-exit-notify: RESTART), no pins, tun device or segmenter left', async () => {
    const stopping = server!;
    await stopping.stop();
    server = undefined;
    expect(stopping.out).toMatch(/SIGTERM\[hard,\] received, process exiting/);
    expect(await cli.waitFor(/SIGUSR1\[soft,server-pushed-connection-reset\]/, 5000, () => cli.log())).toBe(true);
    await down();
    expect(fs.existsSync(pins)).toBe(false);
    const links = x(lab.srv, 'ip', '-o', 'link').out;
    expect(links).not.toMatch(/tun0|l2s[0-9a-f]{8}[io]/);
    expect(x(lab.srv, 'bpftool', 'net', 'show').out).not.toMatch(/ovpn_/);
  });
});

describe.each(<Array<[string, string[], string[], RegExp, boolean]>>[
  ['AES-256-GCM in BPF, tls-auth, TLS 1.2', ['data-ciphers AES-256-GCM', 'tls-auth ta.key 0', 'auth SHA256'], ['--tls-auth', 'TA', '1', '--auth', 'SHA256', '--tls-version-max', '1.2'], /TLSv1\.2/, true],
  ['AES-128-GCM, tls-crypt, --no-bpf (the TypeScript data plane alone)', ['data-ciphers AES-128-GCM', 'tls-crypt tc.key'], ['--tls-crypt', 'TC'], /AES-128-GCM/, false],
])('%s', (_name, extra, cliExtra, logRe, bpfOn) => {
  beforeAll(async () => {
    server = startServer(lab, serverConf('aes', extra), env, ['--name', INSTANCE, '--uplink', 'up0', ...(bpfOn ? [] : ['--no-bpf'])]);
    if (!(await server.waitFor(/Initialization Sequence Completed/, 15000))) throw new Error(`server did not start:\n${server.out}`);
  });
  afterAll(down);

  test('connects and pings the LAN host; datagrams too big for one unfragmented datagram take the daemon\'s path, and status counts both', async () => {
    const args = cliExtra.map((a) => (a === 'TA' ? path.join(dir, 'ta.key') : a === 'TC' ? path.join(dir, 'tc.key') : a));
    const { c, ok } = await connect(1, args);
    if (!ok) throw new Error(`client did not connect:\n${c.log()}\nserver:\n${server!.out}`);
    expect(c.log()).toMatch(logRe);
    if (!bpfOn) {
      expect(x(lab.cli(1), 'ping', '-c', '5', '-i', '0.2', '-W', '2', '203.0.113.2').out).toMatch(/5 received/);
      expect(x(lab.cli(1), 'ping', '-c', '3', '-i', '0.2', '-W', '2', '-s', '1472', '203.0.113.2').out).toMatch(/3 received/);
      expect(fs.existsSync(pins)).toBe(false); // nothing of BPF
      return;
    }
    let before = bpfCounts(pins);
    expect(x(lab.cli(1), 'ping', '-c', '5', '-i', '0.2', '-W', '2', '203.0.113.2').out).toMatch(/5 received/);
    let after = bpfCounts(pins);
    expect(after.rx_delivered - before.rx_delivered).toBeGreaterThanOrEqual(5);
    expect(after.tx_sent - before.tx_sent).toBeGreaterThanOrEqual(5);
    expect(after.rx_to_daemon - before.rx_to_daemon).toBe(0);
    // 1500-byte packets: the client's datagram arrives fragmented (reassembled for the daemon's socket),
    // the reply does not fit the uplink whole (the daemon's socket fragments it)
    before = after;
    expect(x(lab.cli(1), 'ping', '-c', '3', '-i', '0.2', '-W', '2', '-s', '1472', '203.0.113.2').out).toMatch(/3 received/);
    after = bpfCounts(pins);
    expect(after.tx_to_daemon - before.tx_to_daemon).toBeGreaterThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 1200));
    const row = JSON.parse(l2(['status', '--name', INSTANCE, '--json']).out)[0].openvpn.clients[0];
    expect(row.rxPackets).toBeGreaterThanOrEqual(8); // BPF's and the daemon's together
    expect(row.txPackets).toBeGreaterThanOrEqual(8);
    expect(row.cipher).toBe('AES-256-GCM');
  });
});

describe('proto udp6: an IPv6 client and an IPv4 one on the dual-stack socket, both through BPF', () => {
  beforeAll(async () => { await up(serverConf('udp6', ['proto udp6', 'data-ciphers AES-256-GCM'])); });
  afterAll(down);

  test('the IPv6 client pings and moves 20 MB each way with BPF on an IPv6 uplink; the IPv4 one too', async () => {
    const six = await connect(1, [], 'cli1', ['udp6', '2001:db8:3::1']);
    if (!six.ok) throw new Error(`client did not connect:\n${six.c.log()}\nserver:\n${server!.out}`);
    expect(server!.out).toMatch(/cli1\/2001:db8:3::11:\d+ Peer Connection Initiated/);
    const four = await connect(2, [], 'cli2', ['udp', '198.51.100.1']);
    expect(four.ok).toBe(true);
    const before = bpfCounts(pins);
    expect(x(lab.cli(1), 'ping', '-c', '5', '-i', '0.2', '-W', '2', '203.0.113.2').out).toMatch(/5 received/);
    expect(x(lab.cli(2), 'ping', '-c', '5', '-i', '0.2', '-W', '2', '203.0.113.2').out).toMatch(/5 received/);
    const up6 = await shaTransfer(lab.cli(1), lab.lan, '203.0.113.2', 5411, 20);
    expect(up6.got).toBe(up6.sent);
    const dn6 = await shaFetch(lab.lan, lab.cli(1), '203.0.113.2', 5412, 20);
    expect(dn6.got).toBe(dn6.sent);
    expect(dn6.sent).toMatch(/^20971520 [0-9a-f]{64}$/);
    const after = bpfCounts(pins);
    expect(after.rx_delivered - before.rx_delivered).toBeGreaterThan(5000);
    expect(after.tx_sent - before.tx_sent).toBeGreaterThan(5000);
    expect(after.tx_failed - before.tx_failed).toBe(0);
    const st = JSON.parse(l2(['status', '--name', INSTANCE, '--json']).out)[0].openvpn.clients;
    expect(st.map((c: { realAddress: string }) => c.realAddress).sort().join(' ')).toMatch(/^2001:db8:3::11:\d+ ::ffff:198\.51\.100\.12:\d+$|^::ffff:198\.51\.100\.12:\d+ 2001:db8:3::11:\d+$/);
  }, 90000);
});

describe('max-clients and duplicate-cn', () => {
  afterAll(down);
  test('without duplicate-cn a second session with the same certificate replaces the first; max-clients 2 turns the third away', async () => {
    await up(serverConf('limits', ['data-ciphers CHACHA20-POLY1305', 'max-clients 2']));
    const a = await connect(1, [], 'cli1');
    expect(a.ok).toBe(true);
    const b = await connect(2, [], 'cli1'); // the same CN from another host
    expect(b.ok).toBe(true);
    expect(server!.out).toMatch(/cli1\/198\.51\.100\.11:\d+ SIGTERM\[soft,cli1 connected again \(no duplicate-cn\)\]/);
    const c3 = await connect(3, [], 'cli3');
    expect(c3.ok).toBe(true); // two sessions now: cli1 (from .12) and cli3
    await a.c.stop();
    const d = startClient(lab, 1, dir, [], 'cli2');
    clients.push(d);
    expect(await server!.waitFor(/198\.51\.100\.11:\d+ MULTI: new incoming connection would exceed maximum number of clients \(2\)/, 15000)).toBe(true);
    expect(await d.waitFor(/Initialization Sequence Completed/, 3000, () => d.log())).toBe(false);
  }, 90000);
});

describe('legacy PRF key derivation (as for a 2.4/2.5 client), AES-128-GCM in BPF', () => {
  beforeAll(async () => {
    server = startServer(lab, serverConf('prf', ['data-ciphers AES-128-GCM', 'reneg-sec 4']), { ...env, L2BPF_OVPN_PRF: '1' }, ['--name', INSTANCE, '--uplink', 'up0']);
    if (!(await server.waitFor(/Initialization Sequence Completed/, 15000))) throw new Error(`server did not start:\n${server.out}`);
  });
  afterAll(down);

  test('the stock client derives the same keys with OpenVPN\'s PRF (no tls-ekm pushed): ping works, across a renegotiation too', async () => {
    const { c, ok } = await connect(1, ['--verb', '9']);
    if (!ok) throw new Error(`client did not connect:\n${c.log()}\nserver:\n${server!.out}`);
    expect(c.log()).not.toMatch(/tls-ekm/);
    // the keys it logs are the server's: AES keys live in the kernel's cipher
    // contexts, so the map's GHASH subkey H = AES_K(0^128) is what is compared
    const logged = loggedKeys(c.log())[0];
    const slot = bpfKeySlot(pins, Number(/peer-id: (\d+)/.exec(c.log())![1]), 0)!;
    expect(slot.cipher).toMatch(/AES_128_GCM/);
    const h = (key: Buffer) => { const e = crypto.createCipheriv('aes-128-ecb', key, null).setAutoPadding(false); return Buffer.concat([e.update(Buffer.alloc(16)), e.final()]).toString('hex'); };
    const mapH = (t: unknown) => { const g = t as { hh: number[]; hl: number[] }; return [g.hh[8], g.hl[8]].map((v) => BigInt(v).toString(16).padStart(16, '0')).join(''); };
    expect(logged.out.length).toBe(16);
    expect(mapH(slot.secret.rx_h)).toBe(h(logged.out));
    expect(mapH(slot.secret.tx_h)).toBe(h(logged.in));
    const before = bpfCounts(pins);
    expect(x(lab.cli(1), 'ping', '-c', '3', '-i', '0.2', '-W', '2', '203.0.113.2').out).toMatch(/3 received/);
    expect(bpfCounts(pins).rx_delivered - before.rx_delivered).toBeGreaterThanOrEqual(3); // AES-128-GCM in BPF
    expect(await server!.waitFor(/cli1\/\S+ TLS: soft reset done, key_id 1 up/, 15000)).toBe(true);
    expect(x(lab.cli(1), 'ping', '-c', '10', '-i', '0.2', '-W', '2', '203.0.113.2').out).toMatch(/10 received/);
  }, 60000);
});

describe('P_DATA_V1 (no peer-id pushed, as for a client without IV_PROTO_DATA_V2), CHACHA20-POLY1305 in BPF, replay-window 512 5', () => {
  beforeAll(async () => {
    server = startServer(lab, serverConf('v1', ['data-ciphers CHACHA20-POLY1305', 'replay-window 512 5']), { ...env, L2BPF_OVPN_DATA_V1: '1' }, ['--name', INSTANCE, '--uplink', 'up0']);
    if (!(await server.waitFor(/Initialization Sequence Completed/, 15000))) throw new Error(`server did not start:\n${server.out}`);
  });
  afterAll(down);

  test('the stock client talks P_DATA_V1 both ways (tshark\'s dissector says so), BPF carries it: ping over IPv4 and IPv6, 20 MB each way', async () => {
    const { c, ok } = await connect(1);
    if (!ok) throw new Error(`client did not connect:\n${c.log()}\nserver:\n${server!.out}`);
    expect(c.log()).not.toMatch(/peer-id/);
    expect(server!.out).toMatch(/Data Channel: cipher 'CHACHA20-POLY1305' \(P_DATA_V1, no peer-id\)/);
    // replay-window 512 5 reached the key's window in BPF (bpftool reads it)
    const keys = JSON.parse(sh('bpftool', ['map', 'dump', 'pinned', path.join(pins, 'maps', 'ovpn_keys'), '-j']).out) as Array<{ formatted: { value: { replay: { window: number; backtrack_ns: number } } } }>;
    expect(keys.map((k) => [k.formatted.value.replay.window, k.formatted.value.replay.backtrack_ns])).toEqual([[512, 5e9]]);
    const pcap = path.join(dir, 'v1.pcap');
    const cap = spawn('ip', ['netns', 'exec', lab.srv, 'timeout', '10', 'tcpdump', '-i', 'up0', '-c', '12', '-w', pcap, '-U', 'udp port 1194 and udp[8] & 0xf8 != 0x28']);
    await new Promise((r) => setTimeout(r, 800));
    const before = bpfCounts(pins);
    expect(x(lab.cli(1), 'ping', '-c', '6', '-i', '0.2', '-W', '2', '203.0.113.2').out).toMatch(/6 received/);
    expect(x(lab.cli(1), 'ping', '-6', '-c', '3', '-i', '0.2', '-W', '2', '2001:db8:2::2').out).toMatch(/3 received/);
    await new Promise((r) => cap.on('close', r));
    const after = bpfCounts(pins);
    expect(after.rx_delivered - before.rx_delivered).toBeGreaterThanOrEqual(9);
    expect(after.tx_sent - before.tx_sent).toBeGreaterThanOrEqual(9);
    expect(after.rx_to_daemon - before.rx_to_daemon).toBe(0);
    const seen = sh('tshark', ['-r', pcap, '-d', 'udp.port==1194,openvpn', '-T', 'fields', '-e', 'ip.src', '-e', 'openvpn.opcode']).out.trim().split('\n');
    const from = (src: string) => new Set(seen.filter((l) => l.startsWith(`${src}\t`)).map((l) => l.split('\t')[1]));
    expect([...from('198.51.100.11')]).toEqual(['0x06']); // client to server: all P_DATA_V1
    expect([...from('198.51.100.1')]).toEqual(['0x06']); // and back, from BPF
    const b2 = bpfCounts(pins);
    const up = await shaTransfer(lab.cli(1), lab.lan, '203.0.113.2', 5411, 20);
    expect(up.sent).toMatch(/^20971520 [0-9a-f]{64}$/);
    expect(up.got).toBe(up.sent);
    const dn = await shaFetch(lab.lan, lab.cli(1), '203.0.113.2', 5412, 20);
    expect(dn.sent).toMatch(/^20971520 [0-9a-f]{64}$/);
    expect(dn.got).toBe(dn.sent);
    const a2 = bpfCounts(pins);
    const fast = a2.rx_delivered - b2.rx_delivered + a2.tx_sent - b2.tx_sent;
    const slow = a2.rx_to_daemon - b2.rx_to_daemon + a2.tx_to_daemon - b2.tx_to_daemon;
    expect(fast).toBeGreaterThan(20000);
    expect(slow).toBeLessThan(fast / 1000);
  }, 90000);
});

describe('renegotiation every 5 s (tls-crypt, CHACHA20-POLY1305 in BPF) and three clients at once', () => {
  beforeAll(async () => {
    await up(serverConf('reneg', ['data-ciphers CHACHA20-POLY1305', 'tls-crypt tc.key', 'reneg-sec 5', 'client-to-client']));
    for (const i of [1, 2, 3]) {
      const { c, ok } = await connect(i, ['--tls-crypt', path.join(dir, 'tc.key')]);
      if (!ok) throw new Error(`client ${i} did not connect:\n${c.log()}\nserver:\n${server!.out}`);
    }
  }, 90000);
  afterAll(down);

  test('a continuous ping and an iperf3 run across at least 3 renegotiations: no ping lost, no second without data; clients reach each other', async () => {
    const srv = spawn('ip', ['netns', 'exec', lab.lan, 'timeout', '40', 'iperf3', '-s', '-1', '-p', '5421']);
    const srvDone = new Promise((r) => srv.on('close', r));
    await new Promise((r) => setTimeout(r, 500));
    let iperfOut = '';
    const cli = spawn('ip', ['netns', 'exec', lab.cli(2), 'timeout', '40', 'iperf3', '-c', '203.0.113.2', '-p', '5421', '-t', '18', '-J']);
    cli.stdout.on('data', (d) => { iperfOut += d; });
    const iperfDone = new Promise((r) => cli.on('close', r));
    const ping = await new Promise<string>((resolve) => {
      let out = '';
      const p = spawn('ip', ['netns', 'exec', lab.cli(1), 'ping', '-c', '90', '-i', '0.2', '-W', '2', '203.0.113.2']);
      p.stdout.on('data', (d) => { out += d; });
      p.on('close', () => resolve(out));
    });
    await iperfDone;
    await srvDone;
    expect(ping).toMatch(/90 packets transmitted, 90 received/);
    const seconds = (JSON.parse(iperfOut).intervals as Array<{ sum: { bytes: number } }>).map((i) => i.sum.bytes);
    expect(seconds.length).toBeGreaterThanOrEqual(17);
    expect(seconds.filter((b) => b === 0)).toEqual([]);
    for (const c of ['cli1', 'cli2']) expect((server!.out.match(new RegExp(`${c}/\\S+ TLS: soft reset done`, 'g')) ?? []).length).toBeGreaterThanOrEqual(3);
    expect(x(lab.cli(2), 'ping', '-c', '3', '-i', '0.2', '-W', '2', '192.0.2.4').out).toMatch(/3 received/);
    expect(x(lab.cli(3), 'ping', '-c', '3', '-i', '0.2', '-W', '2', '192.0.2.2').out).toMatch(/3 received/);
  }, 90000);

  test('a SIGKILLed server: status says so, detach --name removes pins and segmenter, a new start serves again', async () => {
    expect(l2(['detach', '--name', INSTANCE]).code).toBe(2); // refused while it runs
    await server!.stop('SIGKILL');
    server = undefined;
    const st = JSON.parse(l2(['status', '--name', INSTANCE, '--json']).out)[0];
    expect(st.state).toBe('degraded');
    expect(st.problems.join(' ')).toMatch(/is gone/);
    expect(x(lab.srv, 'ip', '-o', 'link').out).toMatch(/l2s[0-9a-f]{8}o/);
    expect(x(lab.srv, 'ip', '-o', 'link').out).not.toMatch(/tun0/); // the tun went with the process
    expect(l2(['detach', '--name', INSTANCE]).code).toBe(0);
    expect(fs.existsSync(pins)).toBe(false);
    expect(x(lab.srv, 'ip', '-o', 'link').out).not.toMatch(/l2s[0-9a-f]{8}[io]/);
    for (const c of clients.splice(0)) await c.stop(); // the dead server's clients (their routes would take the new one's traffic)
    await up(serverConf('again', ['data-ciphers CHACHA20-POLY1305']));
    const { ok } = await connect(1);
    expect(ok).toBe(true);
  }, 60000);

  test('after a SIGKILL the next start cleans up by itself (pins, segmenter) and serves', async () => {
    await server!.stop('SIGKILL');
    server = undefined;
    for (const c of clients.splice(0)) await c.stop();
    expect(fs.existsSync(pins)).toBe(true); // what the killed one left
    await up(serverConf('again2', ['data-ciphers CHACHA20-POLY1305']));
    expect((x(lab.srv, 'ip', '-o', 'link').out.match(/: l2s[0-9a-f]{8}o@/g) ?? []).length).toBe(1); // one segmenter: the old one went
    const { ok } = await connect(1);
    expect(ok).toBe(true);
    expect(x(lab.cli(1), 'ping', '-c', '3', '-i', '0.2', '-W', '2', '203.0.113.2').out).toMatch(/3 received/);
  }, 60000);

  test('a tx packet id near the wrap starts a renegotiation; the new key starts again at 1 and traffic goes on', async () => {
    const keys = BpfMap.openPinned(path.join(pins, 'maps', 'ovpn_keys'));
    try {
      const t = keys.btf!.type(keys.btf!.resolve(keys.info.valueTypeId));
      const off = 'members' in t ? t.members.find((m) => m.name === 'tx_pid')!.bitOffset / 8 : -1;
      for (const e of keys.entries()) {
        const v = Buffer.from(e.values[0]);
        v.writeBigUInt64LE(0xff000000n, off);
        keys.update(e.key, v);
      }
    } finally {
      keys.close();
    }
    expect(await server!.waitFor(/cli1\/\S+ TLS: soft reset: packet id near wrap \(key_id 1\)/, 5000)).toBe(true);
    expect(await server!.waitFor(/cli1\/\S+ TLS: soft reset done, key_id 1 up/, 15000)).toBe(true);
    expect(x(lab.cli(1), 'ping', '-c', '5', '-i', '0.2', '-W', '2', '203.0.113.2').out).toMatch(/5 received/);
    await new Promise((r) => setTimeout(r, 300));
    expect(server!.out.match(/packet id near wrap/g)).toHaveLength(1); // once: the new key's ids are fresh
    const ids = JSON.parse(l2(['dump', 'ovpn_keys', '--name', INSTANCE, '--json']).out) as Array<{ value: { key_id: number; tx_pid: number } }>;
    const fresh = ids.find((k) => k.value.key_id === 1);
    expect(fresh).toBeDefined();
    expect(fresh!.value.tx_pid).toBeLessThan(1000);
  }, 60000);
});
