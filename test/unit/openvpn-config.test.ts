// OpenVPN's server config syntax as l2bpf reads it (issue 9): what is
// honoured, what is accepted with a notice, and the one-line refusal
// (file:line:col: option: why) of everything else.
import { parseOvpnConfig } from '../../src/openvpn/config';
import { ConfigError } from '../../src/config';

const FILE = 'server.conf';
const BASE = 'dev tun\nproto udp\nserver 192.0.2.0 255.255.255.0\nca ca.crt\ncert srv.crt\nkey srv.key\ndh none\n';
const refusal = (text: string): string => {
  try { parseOvpnConfig(text, FILE); } catch (e) { if (e instanceof ConfigError) return e.message; throw e; }
  throw new Error('accepted');
};

test('the reference server of the interop recipe', () => {
  const c = parseOvpnConfig('# the wire doc\'s reference\nport 1194\n' + BASE + 'local 198.51.100.1\ntopology subnet\nkeepalive 10 60\ndisable-dco\n', FILE);
  expect(c).toMatchObject({
    port: 1194, proto: 'udp', dev: 'tun', local: '198.51.100.1', topology: 'subnet',
    server: { network: '192.0.2.0', netmask: '255.255.255.0' }, ca: { file: 'ca.crt' }, cert: { file: 'srv.crt' }, key: { file: 'srv.key' }, dh: 'none',
    keepalive: { interval: 10, timeout: 60 }, dataCiphers: ['AES-256-GCM', 'AES-128-GCM', 'CHACHA20-POLY1305'], replayWindow: { size: 64, seconds: 15 },
  });
  expect(c.notices).toEqual([`${FILE}:13: disable-dco: accepted, changes nothing here`]);
});

test('inline blocks, quoted words, comments after the words, key-direction for an inline tls-auth', () => {
  const c = parseOvpnConfig([
    'server 192.0.2.0 255.255.255.0', 'push "route 198.51.100.0 255.255.255.0" # to the LAN', "push 'dhcp-option DNS 192.0.2.53'",
    '<ca>', '-----BEGIN CERTIFICATE-----', 'AAAA', '-----END CERTIFICATE-----', '</ca>', 'cert srv.crt', 'key srv.key',
    '<tls-auth>', 'ta key', '</tls-auth>', 'key-direction 0', 'data-ciphers AES-256-GCM:chacha20-poly1305', 'replay-window 48 30', 'topology subnet', '',
  ].join('\n'), FILE);
  expect(c.push).toEqual(['route 198.51.100.0 255.255.255.0', 'dhcp-option DNS 192.0.2.53']);
  expect(c.ca).toEqual({ inline: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' });
  expect(c.tlsAuth).toEqual({ material: { inline: 'ta key\n' }, direction: 0 });
  expect(c.dataCiphers).toEqual(['AES-256-GCM', 'CHACHA20-POLY1305']);
  expect(c.replayWindow).toEqual({ size: 48, seconds: 30 });
});

test.each([
  ['proto tcp-server', 'proto tcp-server\n', `${FILE}:1:1: proto: tcp-server is not supported: l2bpf's data channel is UDP (udp, udp4 or udp6)`],
  ['dev tap', 'dev tap0\n', `${FILE}:1:1: dev: tap (layer 2) is not supported: the data channel carries IP packets (dev tun)`],
  ['topology net30', 'topology net30\n', `${FILE}:1:1: topology: net30 is not supported: topology subnet only`],
  ['a replay window BPF cannot hold', 'replay-window 1025\n', `${FILE}:1:1: replay-window: 1025 cannot be honoured: the BPF replay window holds at most 1024 packet ids`],
  ['a non-AEAD cipher', 'cipher BF-CBC\n', `${FILE}:1:1: cipher: BF-CBC is not an AEAD cipher l2bpf runs (AES-256-GCM, AES-128-GCM, CHACHA20-POLY1305); use data-ciphers`],
  ['data-ciphers with a CBC one', 'data-ciphers AES-256-GCM:AES-256-CBC\n', `${FILE}:1:1: data-ciphers: AES-256-CBC cannot be honoured: the BPF data channel does AES-256-GCM, AES-128-GCM, CHACHA20-POLY1305`],
  ['compression pushed', 'push "compress lz4-v2"\n', `${FILE}:1:1: push: pushing 'compress lz4-v2' cannot be honoured: the data channel does no compression`],
  ['comp-lzo', 'comp-lzo\n', `${FILE}:1:1: comp-lzo: cannot be honoured: the data channel does no compression`],
  ['an unknown option', 'management 127.0.0.1 7505\n', `${FILE}:1:1: management: is not an option l2bpf supports`],
  ['an unterminated quote', 'push "route 1.2.3.0\n', `${FILE}:1:1: unterminated double quote`],
  ['a port out of range', 'port 70000\n', `${FILE}:1:1: port: '70000' is not a whole number in 1..65535`],
  ['keepalive with one number', 'keepalive 10\n', `${FILE}:1:1: keepalive: takes 2 arguments, not 1`],
  ['an open inline block', '<ca>\nAAAA\n', `${FILE}:1:1: ca: <ca> has no </ca>`],
  ['tls-auth with a bad direction', 'tls-auth ta.key 2\n', `${FILE}:1:1: tls-auth: direction must be 0 or 1, not '2'`],
])('refused: %s', (_n, line, msg) => {
  expect(refusal(line + BASE)).toBe(msg);
});

test.each([
  ['no server line', 'ca a\ncert b\nkey c\n', `${FILE}: server: is missing: \`server NET MASK\` gives the clients their addresses`],
  ['no key', 'server 192.0.2.0 255.255.255.0\nca a\ncert b\n', `${FILE}: key: is missing`],
  ['tls-auth and tls-crypt', `${BASE}tls-auth ta.key 0\ntls-crypt tc.key\n`, `${FILE}: tls-crypt: tls-auth and tls-crypt cannot both be used`],
])('refused as a whole: %s', (_n, text, msg) => {
  expect(refusal(text)).toBe(msg);
});

test('harmless options are accepted with a notice naming the line', () => {
  const c = parseOvpnConfig(`${BASE}persist-key\npersist-tun\nuser nobody\ngroup nogroup\nifconfig-pool-persist ipp.txt\n`, FILE);
  expect(c.notices.filter((n) => n.includes('accepted'))).toEqual(
    ['persist-key', 'persist-tun', 'user', 'group', 'ifconfig-pool-persist'].map((o, i) => `${FILE}:${8 + i}: ${o}: accepted, changes nothing here`));
});
