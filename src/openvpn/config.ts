// OpenVPN's own server config syntax (issue 9), so an admin can reuse the
// file they have: one option per line, `#` or `;` comments, "quoted" and
// 'quoted' words, inline <ca>...</ca> blocks. Every option l2bpf honours is
// read into OvpnServerConfig; harmless ones are accepted with a notice;
// anything else, or a value l2bpf cannot honour, is refused before anything
// is attached, with one ConfigError naming file:line, the option and why.
import { isIPv4 } from 'node:net';
import { ConfigError } from '../config';
import { OVPN_LIMITS } from '../generated/bpf';

const REPLAY_MAX = OVPN_LIMITS.OVPN_REPLAY_MAX;

export type DataCipher = 'AES-256-GCM' | 'AES-128-GCM' | 'CHACHA20-POLY1305';
export const DATA_CIPHERS: readonly DataCipher[] = ['AES-256-GCM', 'AES-128-GCM', 'CHACHA20-POLY1305'];

/** A file or an inline block's text. */
export type Material = { file: string } | { inline: string };

export interface OvpnServerConfig {
  port: number;
  proto: 'udp' | 'udp4' | 'udp6';
  local?: string;
  dev: string;                     // tun | tunN | NAME
  topology: 'subnet';
  server?: { network: string; netmask: string };
  serverIpv6?: string;
  ca?: Material; cert?: Material; key?: Material; dh?: Material | 'none'; crlVerify?: string;
  tlsAuth?: { material: Material; direction?: 0 | 1 };
  tlsCrypt?: Material;
  auth?: string;
  dataCiphers: DataCipher[];
  tlsVersionMin?: '1.2' | '1.3';
  keepalive?: { interval: number; timeout: number };
  ping?: number; pingRestart?: number;
  renegSec: number; handWindow: number; transitionWindow: number;
  replayWindow: { size: number; seconds: number };
  push: string[];
  routes: Array<{ network: string; netmask: string }>;
  clientToClient: boolean; maxClients?: number; duplicateCn: boolean;
  explicitExitNotify: number;
  status?: { file: string; seconds: number }; statusVersion: 1 | 2 | 3;
  verb: number; mute?: number;
  /** Options accepted because they change nothing here, with what was said. */
  notices: string[];
}

interface Line { no: number; words: string[] }
const ACCEPTED = new Set(['persist-key', 'persist-tun', 'user', 'group', 'ifconfig-pool-persist', 'fast-io', 'mute-replay-warnings',
  'script-security', 'sndbuf', 'rcvbuf', 'txqueuelen', 'float', 'tun-mtu-extra', 'disable-dco', 'multihome', 'writepid', 'log', 'log-append', 'daemon', 'cd', 'chroot']);
const INLINE = new Set(['ca', 'cert', 'key', 'dh', 'tls-auth', 'tls-crypt', 'crl-verify']);

/** Splits the text into option lines and inline blocks, OpenVPN's way. */
function lex(text: string, file: string): { lines: Line[]; inline: Map<string, { no: number; text: string }> } {
  const lines: Line[] = [];
  const inline = new Map<string, { no: number; text: string }>();
  const src = text.split(/\r?\n/);
  for (let i = 0; i < src.length; i++) {
    const raw = src[i].trim();
    const open = raw.match(/^<([a-z-]+)>$/);
    if (open) {
      const tag = open[1], body: string[] = [];
      const start = i + 1;
      for (i++; i < src.length && src[i].trim() !== `</${tag}>`; i++) body.push(src[i]);
      if (i >= src.length) throw new ConfigError({ file, line: start, field: tag }, `<${tag}> has no </${tag}>`);
      if (!INLINE.has(tag)) throw new ConfigError({ file, line: start, field: tag }, 'is not an option that takes an inline block');
      inline.set(tag, { no: start, text: `${body.join('\n')}\n` });
      continue;
    }
    if (raw === '' || raw.startsWith('#') || raw.startsWith(';')) continue;
    lines.push({ no: i + 1, words: words(raw, file, i + 1) });
  }
  return { lines, inline };
}

function words(raw: string, file: string, line: number): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < raw.length) {
    while (i < raw.length && /\s/.test(raw[i])) i++;
    if (i >= raw.length || raw[i] === '#' || raw[i] === ';') break; // a comment after the words
    let w = '';
    if (raw[i] === '"' || raw[i] === "'") {
      const q = raw[i++];
      while (i < raw.length && raw[i] !== q) {
        if (q === '"' && raw[i] === '\\' && i + 1 < raw.length) i++;
        w += raw[i++];
      }
      if (i >= raw.length) throw new ConfigError({ file, line }, `unterminated ${q === '"' ? 'double' : 'single'} quote`);
      i++;
    } else {
      while (i < raw.length && !/\s/.test(raw[i])) w += raw[i++];
    }
    out.push(w);
  }
  if (out[0]?.startsWith('--')) out[0] = out[0].slice(2); // `--port 1194` in a file is read as `port 1194`
  return out;
}

const int = (v: string | undefined, min: number, max: number): number | undefined =>
  v !== undefined && /^\d+$/.test(v) && Number(v) >= min && Number(v) <= max ? Number(v) : undefined;

/** Parses a server config; `file` names it in errors. */
export function parseOvpnConfig(text: string, file: string): OvpnServerConfig {
  const { lines, inline } = lex(text, file);
  const c: OvpnServerConfig = {
    port: 1194, proto: 'udp', dev: 'tun', topology: 'subnet', dataCiphers: ['AES-256-GCM', 'AES-128-GCM', 'CHACHA20-POLY1305'],
    renegSec: 3600, handWindow: 60, transitionWindow: 3600, replayWindow: { size: 64, seconds: 15 }, push: [], routes: [],
    clientToClient: false, duplicateCn: false, explicitExitNotify: 0, statusVersion: 1, verb: 1, notices: [],
  };
  let topologySeen = false;
  let keyDirection: 0 | 1 | undefined;
  for (const { no, words: [opt, ...args] } of lines) {
    const bad = (why: string): never => { throw new ConfigError({ file, line: no, field: opt }, why); };
    const want = (n: number, m = n) => { if (args.length < n || args.length > m) bad(n === m ? `takes ${n} argument${n === 1 ? '' : 's'}, not ${args.length}` : `takes ${n} to ${m} arguments, not ${args.length}`); };
    const num = (i: number, min: number, max: number) => int(args[i], min, max) ?? bad(`'${args[i]}' is not a whole number in ${min}..${max}`);
    const material = (): Material => {
      const block = inline.get(opt);
      if (args[0] === '[inline]' || (args.length === 0 && block)) return block ? { inline: block.text } : bad('says [inline] but there is no inline block');
      if (!args[0]) bad('needs a file (or an inline block)');
      return { file: args[0] };
    };
    const ipv4 = (v: string) => (isIPv4(v) ? v : bad(`'${v}' is not an IPv4 address`));
    switch (opt) {
    case 'port': want(1); c.port = num(0, 1, 65535); break;
    case 'proto':
      want(1);
      if (!['udp', 'udp4', 'udp6'].includes(args[0])) bad(`${args[0]} is not supported: l2bpf's data channel is UDP (udp, udp4 or udp6)`);
      c.proto = args[0] as OvpnServerConfig['proto'];
      break;
    case 'local': want(1); c.local = args[0]; break;
    case 'dev':
      want(1);
      if (/^tap/.test(args[0])) bad('tap (layer 2) is not supported: the data channel carries IP packets (dev tun)');
      c.dev = args[0];
      break;
    case 'dev-type': want(1); if (args[0] !== 'tun') bad(`${args[0]} is not supported: dev-type tun only`); break;
    case 'topology': want(1); if (args[0] !== 'subnet') bad(`${args[0]} is not supported: topology subnet only`); topologySeen = true; break;
    case 'server': want(2, 3); c.server = { network: ipv4(args[0]), netmask: ipv4(args[1]) }; if (args[2] && args[2] !== 'nopool') bad(`unknown flag '${args[2]}'`); break;
    case 'server-ipv6': want(1); if (!/^[0-9a-fA-F:]+\/\d{1,3}$/.test(args[0])) bad(`'${args[0]}' is not an IPv6 prefix`); c.serverIpv6 = args[0]; break;
    case 'ca': want(0, 1); c.ca = material(); break;
    case 'cert': want(0, 1); c.cert = material(); break;
    case 'key': want(0, 1); c.key = material(); break;
    case 'dh': want(0, 1); c.dh = args[0] === 'none' ? 'none' : material(); break;
    case 'crl-verify': want(1, 2); if (args[1] && args[1] !== 'dir') bad(`unknown flag '${args[1]}'`); c.crlVerify = args[0]; break;
    case 'tls-auth': {
      want(0, 2);
      const dir = args[1];
      if (dir !== undefined && dir !== '0' && dir !== '1') bad(`direction must be 0 or 1, not '${dir}'`);
      c.tlsAuth = { material: material(), direction: dir === undefined ? undefined : (Number(dir) as 0 | 1) };
      break;
    }
    case 'key-direction': want(1); if (!/^[01]$/.test(args[0])) bad('must be 0 or 1'); keyDirection = Number(args[0]) as 0 | 1; break;
    case 'tls-crypt': want(0, 1); c.tlsCrypt = material(); break;
    case 'auth': want(1); c.auth = args[0]; break;
    case 'data-ciphers': case 'ncp-ciphers': {
      want(1);
      const list = args[0].split(':').map((x) => x.toUpperCase());
      const other = list.filter((x) => !(DATA_CIPHERS as readonly string[]).includes(x));
      if (other.length) bad(`${other.join(', ')} cannot be honoured: the BPF data channel does ${DATA_CIPHERS.join(', ')}`);
      c.dataCiphers = list as DataCipher[];
      break;
    }
    case 'cipher':
      want(1);
      if (!(DATA_CIPHERS as readonly string[]).includes(args[0].toUpperCase())) bad(`${args[0]} is not an AEAD cipher l2bpf runs (${DATA_CIPHERS.join(', ')}); use data-ciphers`);
      break;
    case 'tls-version-min': want(1, 2); if (args[0] !== '1.2' && args[0] !== '1.3') bad(`'${args[0]}' is not supported: 1.2 or 1.3`); c.tlsVersionMin = args[0] as '1.2' | '1.3'; break;
    case 'keepalive': want(2); c.keepalive = { interval: num(0, 1, 86400), timeout: num(1, 1, 86400) }; break;
    case 'ping': want(1); c.ping = num(0, 1, 86400); break;
    case 'ping-restart': want(1); c.pingRestart = num(0, 1, 86400); break;
    case 'reneg-sec': want(1, 2); c.renegSec = num(0, 0, 1 << 30); break;
    case 'hand-window': want(1); c.handWindow = num(0, 1, 86400); break;
    case 'transition-window': want(1); c.transitionWindow = num(0, 1, 86400); break;
    case 'replay-window':
      want(1, 2);
      if (int(args[0], REPLAY_MAX + 1, 1 << 30) !== undefined) bad(`${args[0]} cannot be honoured: the BPF replay window holds at most ${REPLAY_MAX} packet ids`);
      // T = 0: no time limit, as OpenVPN (packet_id.c reaps only with a time_backtrack)
      c.replayWindow = { size: num(0, 1, REPLAY_MAX), seconds: args[1] ? num(1, 0, 86400) : 15 };
      break;
    case 'push':
      want(1);
      if (/^(compress|comp-lzo)\b/.test(args[0])) bad(`pushing '${args[0]}' cannot be honoured: the data channel does no compression`);
      c.push.push(args[0]);
      break;
    case 'route': want(1, 4); c.routes.push({ network: ipv4(args[0]), netmask: args[1] ? ipv4(args[1]) : '255.255.255.255' }); break;
    case 'client-to-client': want(0); c.clientToClient = true; break;
    case 'max-clients': want(1); c.maxClients = num(0, 1, 1 << 20); break;
    case 'duplicate-cn': want(0); c.duplicateCn = true; break;
    case 'explicit-exit-notify': want(0, 1); c.explicitExitNotify = args[0] ? num(0, 0, 10) : 1; break;
    case 'status': want(1, 2); c.status = { file: args[0], seconds: args[1] ? num(1, 1, 86400) : 60 }; break;
    case 'status-version': want(1); c.statusVersion = num(0, 1, 3) as 1 | 2 | 3; break;
    case 'verb': want(1); c.verb = num(0, 0, 11); break;
    case 'mute': want(1); c.mute = num(0, 1, 1 << 20); break;
    case 'compress': case 'comp-lzo': return bad('cannot be honoured: the data channel does no compression');
    default:
      if (ACCEPTED.has(opt)) { c.notices.push(`${file}:${no}: ${opt}: accepted, changes nothing here`); break; }
      bad('is not an option l2bpf supports');
    }
  }
  if (!topologySeen) c.notices.push(`${file}: topology: subnet (the only one l2bpf runs; OpenVPN's default net30 is not)`);
  for (const [tag, b] of inline) {
    const used = (tag === 'ca' && c.ca) || (tag === 'cert' && c.cert) || (tag === 'key' && c.key) || (tag === 'dh' && c.dh) ||
      (tag === 'tls-auth' && c.tlsAuth) || (tag === 'tls-crypt' && c.tlsCrypt) || (tag === 'crl-verify' && c.crlVerify);
    if (!used) {
      const m: Material = { inline: b.text };
      if (tag === 'ca') c.ca = m; else if (tag === 'cert') c.cert = m; else if (tag === 'key') c.key = m;
      else if (tag === 'dh') c.dh = m; else if (tag === 'tls-auth') c.tlsAuth = { material: m }; else if (tag === 'tls-crypt') c.tlsCrypt = m;
    }
  }
  if (c.tlsAuth && c.tlsAuth.direction === undefined) c.tlsAuth.direction = keyDirection;
  if (c.tlsAuth && c.tlsCrypt) throw new ConfigError({ file, field: 'tls-crypt' }, 'tls-auth and tls-crypt cannot both be used');
  if (!c.server) throw new ConfigError({ file, field: 'server' }, 'is missing: `server NET MASK` gives the clients their addresses');
  for (const need of ['ca', 'cert', 'key'] as const) if (!c[need]) throw new ConfigError({ file, field: need }, 'is missing');
  return c;
}
