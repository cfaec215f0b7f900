// The OpenVPN lab: a PKI made with openssl (CA, server, clients, a revoked
// client and its CRL), namespaces
//
//   cliN (198.51.100.1N) --\
//                           br in srv-side ns "sw" -- srv uplink 198.51.100.1 [l2bpf openvpn, tun 192.0.2.1] lan0 203.0.113.1 -- lan 203.0.113.2
//
// and helpers that run Debian's stock openvpn as the clients and
// `l2bpf openvpn` as the server (each bounded in time, killed by PID).
import fs from 'fs';
import path from 'path';
import { ChildProcess, execFileSync, spawn } from 'child_process';
import { CLI, ip, sh } from './netns';

export function makePki(dir: string, clients: string[]): void {
  fs.mkdirSync(dir, { recursive: true });
  const o = (...a: string[]) => execFileSync('openssl', a, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  o('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '30', '-subj', '/CN=l2bpf-test-ca');
  fs.writeFileSync(path.join(dir, 'srv.ext'), 'keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n');
  fs.writeFileSync(path.join(dir, 'cli.ext'), 'keyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n');
  const cert = (cn: string, ext: string) => {
    o('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${cn}.key`, '-out', `${cn}.csr`, '-subj', `/CN=${cn}`);
    o('x509', '-req', '-in', `${cn}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${cn}.crt`, '-days', '30', '-extfile', ext);
  };
  cert('server', 'srv.ext');
  for (const c of [...clients, 'revoked']) cert(c, 'cli.ext');
  fs.writeFileSync(path.join(dir, 'index.txt'), '');
  fs.writeFileSync(path.join(dir, 'crlnumber'), '01\n');
  fs.writeFileSync(path.join(dir, 'ca.cnf'), [
    '[ ca ]', 'default_ca = d', '[ d ]', `dir = ${dir}`, 'database = $dir/index.txt', 'crlnumber = $dir/crlnumber',
    'certificate = $dir/ca.crt', 'private_key = $dir/ca.key', 'default_md = sha256', 'default_crl_days = 30', '',
  ].join('\n'));
  o('ca', '-config', 'ca.cnf', '-revoke', 'revoked.crt');
  o('ca', '-config', 'ca.cnf', '-gencrl', '-out', 'crl.pem');
  for (const k of ['ta.key', 'tc.key']) execFileSync('openvpn', ['--genkey', 'secret', path.join(dir, k)], { stdio: 'ignore' });
}

export interface OvLab { prefix: string; srv: string; lan: string; cli: (i: number) => string; clients: number }

const nsList = () => ip('netns', 'list').split('\n').map((l) => l.split(' ')[0]);

export function buildOvLab(prefix: string, clients: number): OvLab {
  const lab: OvLab = { prefix, srv: `${prefix}srv`, lan: `${prefix}lan`, cli: (i) => `${prefix}c${i}`, clients };
  destroyOvLab(lab);
  const sw = `${prefix}sw`;
  for (const n of [lab.srv, lab.lan, sw, ...Array.from({ length: clients }, (_, i) => lab.cli(i + 1))]) { ip('netns', 'add', n); ip('-n', n, 'link', 'set', 'lo', 'up'); }
  ip('-n', sw, 'link', 'add', 'br0', 'type', 'bridge');
  ip('-n', sw, 'link', 'set', 'br0', 'up');
  const port = (peerNs: string, peerName: string, swName: string) => {
    ip('link', 'add', swName, 'netns', sw, 'type', 'veth', 'peer', 'name', peerName, 'netns', peerNs);
    ip('-n', sw, 'link', 'set', swName, 'master', 'br0', 'up');
    ip('-n', peerNs, 'link', 'set', peerName, 'up');
  };
  port(lab.srv, 'up0', 'sws');
  ip('-n', lab.srv, 'addr', 'add', '198.51.100.1/24', 'dev', 'up0');
  ip('-n', lab.srv, 'addr', 'add', '2001:db8:3::1/64', 'dev', 'up0', 'nodad');
  for (let i = 1; i <= clients; i++) {
    port(lab.cli(i), 'eth0', `swc${i}`);
    ip('-n', lab.cli(i), 'addr', 'add', `198.51.100.${10 + i}/24`, 'dev', 'eth0');
    ip('-n', lab.cli(i), 'addr', 'add', `2001:db8:3::${10 + i}/64`, 'dev', 'eth0', 'nodad');
  }
  ip('link', 'add', 'lan0', 'netns', lab.srv, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', lab.lan);
  ip('-n', lab.srv, 'addr', 'add', '203.0.113.1/24', 'dev', 'lan0');
  ip('-n', lab.srv, 'addr', 'add', '2001:db8:2::1/64', 'dev', 'lan0', 'nodad');
  ip('-n', lab.srv, 'link', 'set', 'lan0', 'up');
  ip('-n', lab.lan, 'addr', 'add', '203.0.113.2/24', 'dev', 'eth0');
  ip('-n', lab.lan, 'addr', 'add', '2001:db8:2::2/64', 'dev', 'eth0', 'nodad');
  ip('-n', lab.lan, 'link', 'set', 'eth0', 'up');
  ip('-n', lab.lan, 'route', 'add', '192.0.2.0/24', 'via', '203.0.113.1');
  ip('-n', lab.lan, '-6', 'route', 'add', '2001:db8:1::/64', 'via', '2001:db8:2::1');
  sh('ip', ['netns', 'exec', lab.srv, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
  return lab;
}

export function destroyOvLab(lab: OvLab): void {
  const have = nsList();
  const mine = [lab.srv, lab.lan, `${lab.prefix}sw`, ...Array.from({ length: lab.clients }, (_, i) => lab.cli(i + 1))];
  for (const n of mine) if (have.includes(n)) sh('ip', ['netns', 'del', n], { allowFail: true });
}

/** A process we started in its own process group (so a SIGKILL reaches what
 * `timeout` runs too), its output collected. */
export class Proc {
  out = '';
  readonly done: Promise<number>;
  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (d) => { this.out += d; });
    child.stderr?.on('data', (d) => { this.out += d; });
    this.done = new Promise((r) => child.on('close', (c) => r(c ?? -1)));
  }
  async waitFor(re: RegExp, ms: number, text: () => string = () => this.out): Promise<boolean> {
    for (const end = Date.now() + ms; Date.now() < end;) {
      if (re.test(text())) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return re.test(text());
  }
  async stop(sig: NodeJS.Signals = 'SIGTERM', ms = 5000): Promise<number> {
    const group = (s: NodeJS.Signals) => { try { process.kill(-(this.child.pid as number), s); } catch { /* gone */ } };
    // A signal a process can handle goes to the child alone (`timeout` passes it on once; a second
    // SIGTERM would cut openvpn's explicit-exit-notify short); SIGKILL to the whole group.
    if (this.child.exitCode === null && this.child.signalCode === null) { if (sig === 'SIGKILL') group(sig); else this.child.kill(sig); }
    const t = setTimeout(() => group('SIGKILL'), ms);
    const code = await this.done;
    clearTimeout(t);
    return code;
  }
}

/** `l2bpf openvpn CONF --netns srv` (bounded by `timeout`). */
export function startServer(lab: OvLab, conf: string, env: Record<string, string>, extra: string[] = []): Proc {
  return new Proc(spawn('timeout', ['-s', 'TERM', '600', process.execPath, CLI, 'openvpn', conf, '--netns', lab.srv, ...extra], { env: { ...process.env, ...env }, detached: true }));
}

/** Debian's openvpn as client i, logging to dir/cliI.log. */
export function startClient(lab: OvLab, i: number, dir: string, extra: string[] = [], cn = `cli${i}`, remote = ['udp', '198.51.100.1']): Proc & { log: () => string } {
  const log = path.join(dir, `${cn}-${i}-${Date.now()}.log`);
  fs.writeFileSync(log, '');
  const args = ['netns', 'exec', lab.cli(i), 'timeout', '300', 'openvpn', '--client', '--dev', 'tun', '--proto', remote[0], '--remote', remote[1], '1194',
    '--nobind', '--ca', path.join(dir, 'ca.crt'), '--cert', path.join(dir, `${cn}.crt`), '--key', path.join(dir, `${cn}.key`),
    '--remote-cert-tls', 'server', '--disable-dco', '--verb', '4', '--log', log, ...extra];
  const p = new Proc(spawn('ip', args, { detached: true })) as Proc & { log: () => string };
  p.log = () => fs.readFileSync(log, 'utf8');
  return p;
}

/** ovpn_counts by name, read with bpftool (the independent reader). */
export function bpfCounts(pinDir: string): Record<string, number> {
  // the names, in order, from the header that defines them (maps/ is the source of truth)
  const header = fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'maps', 'ovpn_types.h'), 'utf8');
  const body = header.slice(header.indexOf('enum ovpn_count {'), header.indexOf('OVPN_COUNT__MAX'));
  const names = [...body.matchAll(/^\s*OVPN_([A-Z_]+)/gm)].map((m) => m[1].toLowerCase());
  const r = sh('bpftool', ['map', 'dump', 'pinned', path.join(pinDir, 'maps', 'ovpn_counts'), '-j']);
  const out: Record<string, number> = {};
  for (const e of JSON.parse(r.out) as Array<{ formatted: { key: number; values: Array<{ value: number }> } }>) {
    out[names[e.formatted.key]] = e.formatted.values.reduce((a, v) => a + v.value, 0);
  }
  return out;
}

/** The data-channel cipher keys a stock client logs at --verb 7 and up
 * (init_key_ctx's D_SHOW_KEYS "CIPHER KEY" lines), in the order it made them:
 * `out` is what it encrypts with (the server's rx key), `in` the server's tx key. */
export function loggedKeys(log: string): Array<{ out: Buffer; in: Buffer }> {
  const hex = (dir: string) => [...log.matchAll(new RegExp(`${dir} Data Channel: CIPHER KEY: ([0-9a-f ]+)`, 'g'))].map((m) => Buffer.from(m[1].replace(/ /g, ''), 'hex'));
  const o = hex('Outgoing'), i = hex('Incoming');
  return o.map((out, n) => ({ out, in: i[n] }));
}

/** A peer's key slot as bpftool shows it: the ovpn_keys entry whose key_id is kid and
 * the ovpn_secrets entry of the same slot (root reads the 0600 pin). */
export function bpfKeySlot(pinDir: string, peerId: number, kid: number): { cipher: string; secret: Record<string, number[]> } | undefined {
  type Entry<V> = { formatted: { key: number; value: V } };
  // u64s beyond 2^53 (the GHASH table) kept exact: quoted before JSON.parse, then BigInt
  const dump = <V>(m: string) => JSON.parse(sh('bpftool', ['map', 'dump', 'pinned', path.join(pinDir, 'maps', m), '-j']).out.replace(/([:[,]\s*)(\d{16,})/g, '$1"$2"')) as Array<Entry<V>>;
  const key = dump<{ key_id: number; cipher: string }>('ovpn_keys').find((e) => e.formatted.key >> 1 === peerId && e.formatted.value.key_id === kid);
  if (!key) return undefined;
  const sec = dump<Record<string, unknown>>('ovpn_secrets').find((e) => e.formatted.key === key.formatted.key);
  // the cipher's name from the header that defines the enum (maps/ is the source of truth)
  const header = fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'maps', 'ovpn_types.h'), 'utf8');
  const cipher = new RegExp(`(OVPN_\\w+) = ${Number(key.formatted.value.cipher)},`).exec(header.slice(header.indexOf('enum ovpn_cipher {')))?.[1] ?? String(key.formatted.value.cipher);
  return sec && { cipher, secret: sec.formatted.value as Record<string, number[]> };
}
