// Stage two of the routing instance (bpf/lib/route.h, issue 10), frame in,
// frame out with BPF_PROG_TEST_RUN inside a namespace whose routes, policy
// rules (`ip rule iif`) and neighbours the kernel's FIB holds: the program
// asks that FIB with the packet's original input port.
//
//   lan0 192.0.2.1/26, 2001:db8:1::1/64     wan0 203.0.113.1/24, 2001:db8:2::1/64
//   lan1 192.0.2.65/26                       gateways 203.0.113.2 (main), .3 (table 100 for iif lan1)
// 192.0.2.200 stands for a host out on the WAN (off-link: through the gateway).
// Stage one (NAT) rules: masquerade lan0+lan1 -> wan0 for 192.0.2.0/24; a port
// forward of wan0's 203.0.113.1:8080/tcp to the LAN server 192.0.2.10:80.
import { execFileSync } from 'child_process';
import * as bpf from '../../src/bpf/libbpf';
import { ifIndex, inNetns } from '../../src/bpf/sys';
import { countsDelta, enumCounts, LoadedObject, SKB, skbCtx, TC_ACT_OK, TC_ACT_REDIRECT, TC_ACT_SHOT } from '../helpers/wire';
import { csum, pkt, withIpCsum } from '../helpers/packet';
import { formatJson } from '../../src/btf';

const NS = `rt${process.pid % 100000}`;
const sh = (...a: string[]) => execFileSync(a[0], a.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const ipn = (...a: string[]) => sh('ip', '-n', NS, ...a);
const GW_MAIN = '02:00:00:00:00:02', GW_T100 = '02:00:00:00:00:03', GW6 = '02:00:00:00:00:06';
const LAN10 = '02:00:00:00:00:0a', LAN11 = '02:00:00:00:00:0b', LAN70 = '02:00:00:00:00:46';
const MARK_OFF = 8; // __sk_buff.mark (uapi linux/bpf.h)
let o: LoadedObject;
const idx: Record<string, number> = {};
let wanMac = '';

/** rt_config as an instance would have it; no NAT rules unless nat is set. */
function config(over: Record<string, number> = {}): void {
  o.map('rt_config').update(0, {
    flags: 0, port_min: 1024, port_max: 65535, n_snat: 0, n_dnat: 0,
    udp_timeout: 30, tcp_established: 7440, tcp_closing: 10, tcp_syn: 120, icmp_timeout: 30, ct_size: 0, ...over,
  });
}
const counts = () => enumCounts(o.map('rt_counts'), 'rt_count', 'RT_');
const delta = (f: () => void) => countsDelta(counts, f);
const run = (frame: Buffer, port: string) => inNetns(NS, () => bpf.testRun(o.prog('rt_tc_in'), { data: frame, ctx: skbCtx(idx[port]), ctxOutSize: SKB.size, dataOutSize: frame.length + 64 }));
const mac = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
const v4 = (src: string, dst: string, opts: { ttl?: number; len?: number; df?: boolean } = {}) => {
  const f = pkt().eth('02:00:5e:00:53:01', '02:00:00:00:00:10', 0x0800).ipv4(src, dst, 17, 8 + (opts.len ?? 20)).udp(40000, 53, opts.len ?? 20).payload(opts.len ?? 20).build();
  if (opts.ttl !== undefined) f[14 + 8] = opts.ttl;
  if (opts.df) f.writeUInt16BE(0x4000, 14 + 6);
  return withIpCsum(f);
};
/** A TCP or ICMP echo frame (checksums valid). */
const tcp4 = (src: string, dst: string, sport: number, dport: number, flags: number) => {
  const t = Buffer.alloc(20); t.writeUInt16BE(sport, 0); t.writeUInt16BE(dport, 2); t.writeUInt32BE(1000, 4); t[12] = 5 << 4; t[13] = flags; t.writeUInt16BE(65535, 14);
  return withL4Csum(withIpCsum(pkt().eth('02:00:5e:00:53:01', '02:00:00:00:00:10', 0x0800).ipv4(src, dst, 6, 20).bytes(t).build()));
};
const echo4 = (src: string, dst: string, type: number, id: number) => {
  const e = Buffer.alloc(16); e[0] = type; e.writeUInt16BE(id, 4); e.writeUInt16BE(1, 6);
  e.writeUInt16BE(csum(e), 2);
  return withIpCsum(pkt().eth('02:00:5e:00:53:01', '02:00:00:00:00:10', 0x0800).ipv4(src, dst, 1, 16).bytes(e).build());
};
/** The frame with its TCP/UDP checksum (IPv4 pseudo header) filled in. */
function withL4Csum(f: Buffer): Buffer {
  const g = Buffer.from(f), off = f[14 + 9] === 6 ? 16 : 6;
  g.writeUInt16BE(0, 34 + off);
  g.writeUInt16BE(l4sum(g), 34 + off);
  return g;
}
/** TCP/UDP checksum over the IPv4 pseudo header and segment: 0 when it verifies. */
function l4sum(f: Buffer): number {
  const seg = f.subarray(34, 14 + f.readUInt16BE(16)), pseudo = Buffer.alloc(12);
  f.copy(pseudo, 0, 26, 34); pseudo[9] = f[23]; pseudo.writeUInt16BE(seg.length, 10);
  return csum(Buffer.concat([pseudo, seg]));
}
const addrs = (f: Buffer) => [[...f.subarray(26, 30)].join('.'), f.readUInt16BE(34), [...f.subarray(30, 34)].join('.'), f.readUInt16BE(36)];
const udp4 = (src: string, dst: string, sport: number, dport: number) => {
  const f = v4(src, dst); f.writeUInt16BE(sport, 34); f.writeUInt16BE(dport, 36);
  return withL4Csum(withIpCsum(f));
};

beforeAll(() => {
  try { sh('ip', 'netns', 'del', NS); } catch { /* none */ }
  sh('ip', 'netns', 'add', NS);
  for (const p of ['lan0', 'lan1', 'wan0']) {
    sh('ip', 'link', 'add', p, 'netns', NS, 'type', 'veth', 'peer', 'name', `${p}p`, 'netns', NS);
    ipn('link', 'set', p, 'up'); ipn('link', 'set', `${p}p`, 'up');
  }
  ipn('addr', 'add', '192.0.2.1/26', 'dev', 'lan0');
  ipn('addr', 'add', '192.0.2.65/26', 'dev', 'lan1');
  ipn('addr', 'add', '203.0.113.1/24', 'dev', 'wan0');
  ipn('addr', 'add', '2001:db8:1::1/64', 'dev', 'lan0', 'nodad');
  ipn('addr', 'add', '2001:db8:2::1/64', 'dev', 'wan0', 'nodad');
  ipn('neigh', 'add', '203.0.113.2', 'lladdr', GW_MAIN, 'dev', 'wan0', 'nud', 'permanent');
  ipn('neigh', 'add', '203.0.113.3', 'lladdr', GW_T100, 'dev', 'wan0', 'nud', 'permanent');
  ipn('neigh', 'add', '2001:db8:2::2', 'lladdr', GW6, 'dev', 'wan0', 'nud', 'permanent');
  ipn('neigh', 'add', '192.0.2.10', 'lladdr', LAN10, 'dev', 'lan0', 'nud', 'permanent');
  ipn('neigh', 'add', '192.0.2.11', 'lladdr', LAN11, 'dev', 'lan0', 'nud', 'permanent');
  ipn('neigh', 'add', '192.0.2.70', 'lladdr', LAN70, 'dev', 'lan1', 'nud', 'permanent');
  ipn('route', 'add', 'default', 'via', '203.0.113.2', 'dev', 'wan0');
  ipn('-6', 'route', 'add', 'default', 'via', '2001:db8:2::2', 'dev', 'wan0');
  ipn('route', 'add', 'default', 'via', '203.0.113.3', 'dev', 'wan0', 'table', '100');
  ipn('rule', 'add', 'iif', 'lan1', 'lookup', '100');
  ipn('route', 'add', 'unreachable', '198.51.100.0/25');
  ipn('route', 'add', '198.51.100.128/25', 'via', '203.0.113.9', 'dev', 'wan0'); // no neighbour entry yet
  sh('ip', 'netns', 'exec', NS, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1');
  inNetns(NS, () => { for (const p of ['lan0', 'lan1', 'wan0', 'wan0p']) idx[p] = ifIndex(p); });
  wanMac = JSON.parse(ipn('-j', 'link', 'show', 'wan0'))[0].address;
  o = new LoadedObject('router_tc.bpf.o');
  config();
  for (const [i, p] of ['lan0', 'lan1', 'wan0'].entries()) o.map('rt_ports').update(idx[p], { index: i, addr4: p === 'wan0' ? '203.0.113.1' : '0.0.0.0' });
});
afterAll(() => {
  o?.close();
  try { sh('ip', 'netns', 'del', NS); } catch { /* gone */ }
});

describe('stage two: the route, with the original input port', () => {
  test('forwarded out of wan0 to the main table\'s gateway: its MAC, wan0\'s MAC, TTL 63, header checksum valid', () => {
    const f = v4('192.0.2.10', '192.0.2.200');
    let r: ReturnType<typeof run> | undefined;
    expect(delta(() => { r = run(f, 'lan0'); })).toEqual({ forwarded: 1 });
    expect(r!.retval).toBe(TC_ACT_REDIRECT);
    expect(mac(r!.data.subarray(0, 6))).toBe(GW_MAIN);
    expect(mac(r!.data.subarray(6, 12))).toBe(wanMac);
    expect(r!.data[14 + 8]).toBe(63);
    expect(csum(r!.data.subarray(14, 34))).toBe(0);
    expect(r!.data.subarray(34)).toEqual(f.subarray(34)); // UDP untouched
  });

  test('`ip rule iif lan1` policy routing applies: from lan1 the same destination goes to table 100\'s gateway', () => {
    expect(mac(run(v4('192.0.2.70', '192.0.2.200'), 'lan1').data.subarray(0, 6))).toBe(GW_T100);
    expect(mac(run(v4('192.0.2.70', '192.0.2.200'), 'lan0').data.subarray(0, 6))).toBe(GW_MAIN); // same packet, other port
  });

  test('mark_iif: the original input ifindex in skb->mark, the packet handed to the kernel\'s forwarding unchanged (it routes, decrements TTL); without it the mark is left alone', () => {
    const f = v4('192.0.2.70', '192.0.2.200');
    const before = run(f, 'lan1');
    expect(before.retval).toBe(TC_ACT_REDIRECT);
    expect(before.ctx!.readUInt32LE(MARK_OFF)).toBe(0);
    config({ flags: 1 });
    try {
      let r: ReturnType<typeof run> | undefined;
      expect(delta(() => { r = run(f, 'lan1'); })).toEqual({ forwarded_kernel: 1 });
      expect(r!.retval).toBe(TC_ACT_OK);
      expect(r!.ctx!.readUInt32LE(MARK_OFF)).toBe(idx.lan1);
      expect(r!.data).toEqual(f);
    } finally {
      config();
    }
  });

  test('a policy rule on the original input port drops exactly that port\'s traffic (in: lan1, and in: lan1 out: wan0)', () => {
    for (const key of [{ in: idx.lan1, out: 0 }, { in: idx.lan1, out: idx.wan0 }]) {
      o.map('rt_policy').update(key, { action: 1, pad: 0 });
      try {
        expect(delta(() => expect(run(v4('192.0.2.70', '192.0.2.200'), 'lan1').retval).toBe(TC_ACT_SHOT))).toEqual({ drop_policy: 1 });
        expect(delta(() => expect(run(v4('192.0.2.10', '192.0.2.200'), 'lan0').retval).toBe(TC_ACT_REDIRECT))).toEqual({ forwarded: 1 });
      } finally {
        o.map('rt_policy').delete(key);
      }
    }
    o.map('rt_policy').update({ in: idx.lan1, out: idx.lan0 }, { action: 1, pad: 0 }); // another output: no match
    try {
      expect(run(v4('192.0.2.70', '192.0.2.200'), 'lan1').retval).toBe(TC_ACT_REDIRECT);
    } finally {
      o.map('rt_policy').delete({ in: idx.lan1, out: idx.lan0 });
    }
  });

  test('IPv6: hop limit 63, the gateway\'s MAC', () => {
    const f = pkt().eth('02:00:5e:00:53:01', '02:00:00:00:00:10', 0x86dd).ipv6('2001:db8:1::10', '2001:db8:3::5', 17, 28).udp(40000, 53, 20).payload(20).build();
    let r: ReturnType<typeof run> | undefined;
    expect(delta(() => { r = run(f, 'lan0'); })).toEqual({ forwarded: 1 });
    expect(r!.retval).toBe(TC_ACT_REDIRECT);
    expect(mac(r!.data.subarray(0, 6))).toBe(GW6);
    expect(r!.data[14 + 7]).toBe(63);
    expect(r!.data.subarray(14 + 8)).toEqual(f.subarray(14 + 8));
  });

  test('a gateway without a neighbour entry: out through bpf_redirect_neigh (the kernel resolves it)', () => {
    let r: ReturnType<typeof run> | undefined;
    expect(delta(() => { r = run(v4('192.0.2.10', '198.51.100.200'), 'lan0'); })).toEqual({ forwarded_neigh: 1 });
    expect(r!.retval).toBe(TC_ACT_REDIRECT);
    expect(r!.data[14 + 8]).toBe(63);
  });

  test('what a router answers goes to the kernel unchanged, counted: TTL 1, no route, too big with DF, for the box itself, ARP', () => {
    const cases: Array<[Buffer, string, string]> = [
      [v4('192.0.2.10', '192.0.2.200', { ttl: 1 }), 'lan0', 'to_kernel_ttl'],
      [v4('192.0.2.10', '198.51.100.5'), 'lan0', 'to_kernel_no_route'],
      [v4('192.0.2.10', '192.0.2.1'), 'lan0', 'to_kernel_local'],
      [v4('192.0.2.10', '203.0.113.1', { ttl: 1 }), 'lan0', 'to_kernel_local'], // TTL does not matter for the box itself
      [pkt().eth('ff:ff:ff:ff:ff:ff', '02:00:00:00:00:10', 0x0806).arpRequest('02:00:00:00:00:10', '192.0.2.10', '192.0.2.1').build(), 'lan0', 'to_kernel_local'],
    ];
    ipn('link', 'set', 'wan0', 'mtu', '1400');
    try {
      cases.push([v4('192.0.2.10', '192.0.2.200', { len: 1450, df: true }), 'lan0', 'to_kernel_frag']);
      for (const [f, port, why] of cases) {
        let r: ReturnType<typeof run> | undefined;
        expect([why, delta(() => { r = run(f, port); })]).toEqual([why, { [why]: 1 }]);
        expect(r!.retval).toBe(TC_ACT_OK);
        expect(r!.data).toEqual(f);
      }
    } finally {
      ipn('link', 'set', 'wan0', 'mtu', '1500');
    }
  });

  test('a header that claims more than the packet has is dropped as malformed; a port of no router is left alone, uncounted', () => {
    const f = v4('192.0.2.10', '192.0.2.200');
    f.writeUInt16BE(400, 14 + 2);
    expect(delta(() => expect(run(withIpCsum(f), 'lan0').retval).toBe(TC_ACT_SHOT))).toEqual({ drop_malformed: 1 });
    expect(delta(() => expect(run(v4('192.0.2.10', '192.0.2.200'), 'wan0p').retval).toBe(TC_ACT_OK))).toEqual({});
  });

  test('forwarding off on the input port: the kernel\'s (it would not forward either)', () => {
    sh('ip', 'netns', 'exec', NS, 'sysctl', '-qw', 'net.ipv4.conf.lan0.forwarding=0');
    try {
      expect(delta(() => expect(run(v4('192.0.2.10', '192.0.2.200'), 'lan0').retval).toBe(TC_ACT_OK))).toEqual({ to_kernel_other: 1 });
    } finally {
      sh('ip', 'netns', 'exec', NS, 'sysctl', '-qw', 'net.ipv4.conf.lan0.forwarding=1');
    }
  });
});

describe('stage one: NAT, then the route of the translated packet', () => {
  const MASQ = { in_ports: 0b011n, out: 0, src: '192.0.2.0', src_mask: '255.255.255.0', to_min: '0.0.0.0', to_max: '0.0.0.0', proto: 0, pad: [0, 0, 0] };
  const FWD = { in_ports: 0b100n, dst: '203.0.113.1', to_addr: '192.0.2.10', dport: 8080, to_port: 80, proto: 6, pad: [0, 0, 0] };
  const conn = (t: Buffer) => {
    const m = o.map('rt_conns'), key = { saddr: [...t.subarray(26, 30)].join('.'), daddr: [...t.subarray(30, 34)].join('.'), sport: t.readUInt16LE(34), dport: t.readUInt16LE(36), proto: t[23], pad: [0, 0, 0] }; // __be16: the bytes as they are
    const v = m.lookup(key as never);
    return v ? formatJson(m.btf!, m.info.valueTypeId, v[0]) as Record<string, unknown> : undefined;
  };
  beforeEach(() => {
    for (const e of [...o.map('rt_conns').entries()]) o.map('rt_conns').delete(e.key);
    o.map('rt_snat').update(0, { ...MASQ, out: idx.wan0 });
    o.map('rt_dnat').update(0, FWD);
    config({ n_snat: 1, n_dnat: 1 });
  });
  afterAll(() => config());

  test('masquerade: UDP out with wan0\'s address and the host\'s own port, the reply back to the host; checksums valid', () => {
    let r: ReturnType<typeof run> | undefined;
    expect(delta(() => { r = run(udp4('192.0.2.10', '192.0.2.200', 40000, 53), 'lan0'); })).toEqual({ nat_new_snat: 1, nat_port_kept: 1, nat_xlate: 1, forwarded: 1 });
    expect(r!.retval).toBe(TC_ACT_REDIRECT);
    expect(addrs(r!.data)).toEqual(['203.0.113.1', 40000, '192.0.2.200', 53]);
    expect([csum(r!.data.subarray(14, 34)), l4sum(r!.data)]).toEqual([0, 0]);
    expect(mac(r!.data.subarray(0, 6))).toBe(GW_MAIN);
    const back = udp4('192.0.2.200', '203.0.113.1', 53, 40000);
    expect(delta(() => { r = run(back, 'wan0'); })).toEqual({ nat_xlate: 1, forwarded: 1 });
    expect(addrs(r!.data)).toEqual(['192.0.2.200', 53, '192.0.2.10', 40000]);
    expect([csum(r!.data.subarray(14, 34)), l4sum(r!.data)]).toEqual([0, 0]);
    expect(mac(r!.data.subarray(0, 6))).toBe(LAN10); // routed to the LAN host after the translation
    expect(r!.data[14 + 8]).toBe(63);
  });

  test('mark_iif with masquerade: translated both ways, handed to the kernel with the original port in skb->mark, TTL left for the kernel', () => {
    config({ n_snat: 1, n_dnat: 1, flags: 1 });
    let r: ReturnType<typeof run> | undefined;
    expect(delta(() => { r = run(udp4('192.0.2.10', '192.0.2.200', 40001, 53), 'lan0'); })).toEqual({ nat_new_snat: 1, nat_port_kept: 1, nat_xlate: 1, forwarded_kernel: 1 });
    expect([r!.retval, r!.ctx!.readUInt32LE(MARK_OFF)]).toEqual([TC_ACT_OK, idx.lan0]);
    expect(addrs(r!.data)).toEqual(['203.0.113.1', 40001, '192.0.2.200', 53]);
    expect([r!.data[14 + 8], csum(r!.data.subarray(14, 34)), l4sum(r!.data)]).toEqual([64, 0, 0]);
    expect(delta(() => { r = run(udp4('192.0.2.200', '203.0.113.1', 53, 40001), 'wan0'); })).toEqual({ nat_xlate: 1, forwarded_kernel: 1 });
    expect([r!.retval, r!.ctx!.readUInt32LE(MARK_OFF)]).toEqual([TC_ACT_OK, idx.wan0]);
    expect(addrs(r!.data)).toEqual(['192.0.2.200', 53, '192.0.2.10', 40001]);
  });

  test('a new connection a policy rule drops leaves no entry behind (a blocked host cannot fill the table); an existing one is kept', () => {
    run(udp4('192.0.2.70', '192.0.2.200', 40005, 53), 'lan1');
    expect(conn(udp4('192.0.2.70', '192.0.2.200', 40005, 53))).toBeDefined();
    o.map('rt_policy').update({ in: idx.lan1, out: 0 }, { action: 1, pad: 0 });
    try {
      expect(delta(() => run(udp4('192.0.2.70', '192.0.2.200', 40006, 53), 'lan1'))).toEqual({ nat_new_snat: 1, nat_port_kept: 1, drop_policy: 1 });
      expect(conn(udp4('192.0.2.70', '192.0.2.200', 40006, 53))).toBeUndefined();
      expect(conn(udp4('192.0.2.200', '203.0.113.1', 53, 40006))).toBeUndefined();
      expect(delta(() => run(udp4('192.0.2.70', '192.0.2.200', 40005, 53), 'lan1'))).toEqual({ drop_policy: 1 });
      expect(conn(udp4('192.0.2.70', '192.0.2.200', 40005, 53))).toBeDefined();
    } finally {
      o.map('rt_policy').delete({ in: idx.lan1, out: 0 });
    }
  });

  test('the connection keeps its original input port; a second host on the same port gets another one, its reply finds it', () => {
    run(udp4('192.0.2.10', '192.0.2.200', 40000, 53), 'lan0');
    expect(conn(udp4('192.0.2.10', '192.0.2.200', 40000, 53))).toMatchObject({ iif: idx.lan0, reply: 0, nat: 1 });
    let r: ReturnType<typeof run> | undefined;
    expect(delta(() => { r = run(udp4('192.0.2.11', '192.0.2.200', 40000, 53), 'lan0'); })).toEqual({ nat_new_snat: 1, nat_port_collision: 1, nat_xlate: 1, forwarded: 1 });
    const [src, port] = addrs(r!.data);
    expect(src).toBe('203.0.113.1');
    expect(port).not.toBe(40000);
    expect(port).toBeGreaterThanOrEqual(1024);
    expect(l4sum(r!.data)).toBe(0);
    const back = run(udp4('192.0.2.200', '203.0.113.1', 53, port as number), 'wan0');
    expect(addrs(back.data)).toEqual(['192.0.2.200', 53, '192.0.2.11', 40000]);
    expect(mac(back.data.subarray(0, 6))).toBe(LAN11);
  });

  test('TCP: SYN out, SYN-ACK back makes it established, a FIN closing; checksums valid both ways', () => {
    const syn = run(tcp4('192.0.2.70', '192.0.2.200', 5555, 80, 0x02), 'lan1');
    expect(addrs(syn.data)).toEqual(['203.0.113.1', 5555, '192.0.2.200', 80]);
    expect(l4sum(syn.data)).toBe(0);
    expect(mac(syn.data.subarray(0, 6))).toBe(GW_T100); // policy routing by the original input port, after NAT
    const out = tcp4('192.0.2.70', '192.0.2.200', 5555, 80, 0x02);
    expect(conn(out)).toMatchObject({ state: 0 });
    const synack = run(tcp4('192.0.2.200', '203.0.113.1', 80, 5555, 0x12), 'wan0');
    expect(addrs(synack.data)).toEqual(['192.0.2.200', 80, '192.0.2.70', 5555]);
    expect(l4sum(synack.data)).toBe(0);
    expect(conn(out)).toMatchObject({ state: 1 });
    run(tcp4('192.0.2.70', '192.0.2.200', 5555, 80, 0x11), 'lan1');
    expect(conn(out)).toMatchObject({ state: 2 });
    expect(conn(tcp4('192.0.2.200', '203.0.113.1', 80, 5555, 0x10))).toMatchObject({ state: 2, reply: 1 });
  });

  test('ICMP echo by id: the request leaves with wan0\'s address, the reply comes back to the host; ICMP checksums valid', () => {
    const req = run(echo4('192.0.2.10', '192.0.2.200', 8, 0x1234), 'lan0');
    expect([...req.data.subarray(26, 30)].join('.')).toBe('203.0.113.1');
    expect(req.data.readUInt16BE(34 + 4)).toBe(0x1234);
    expect([csum(req.data.subarray(14, 34)), csum(req.data.subarray(34))]).toEqual([0, 0]);
    const rep = run(echo4('192.0.2.200', '203.0.113.1', 0, 0x1234), 'wan0');
    expect([...rep.data.subarray(30, 34)].join('.')).toBe('192.0.2.10');
    expect(csum(rep.data.subarray(34))).toBe(0);
    expect(mac(rep.data.subarray(0, 6))).toBe(LAN10);
    // a second host with the same id gets another one, and its reply finds it
    const req2 = run(echo4('192.0.2.11', '192.0.2.200', 8, 0x1234), 'lan0');
    const id2 = req2.data.readUInt16BE(34 + 4);
    expect(id2).not.toBe(0x1234);
    expect(csum(req2.data.subarray(34))).toBe(0);
    const rep2 = run(echo4('192.0.2.200', '203.0.113.1', 0, id2), 'wan0');
    expect([...rep2.data.subarray(30, 34)].join('.')).toBe('192.0.2.11');
    expect(rep2.data.readUInt16BE(34 + 4)).toBe(0x1234);
  });

  test('port forward: wan0\'s 203.0.113.1:8080 goes to the LAN server 192.0.2.10:80, its replies leave as 203.0.113.1:8080', () => {
    let r: ReturnType<typeof run> | undefined;
    expect(delta(() => { r = run(tcp4('192.0.2.200', '203.0.113.1', 33333, 8080, 0x02), 'wan0'); })).toEqual({ nat_new_dnat: 1, nat_xlate: 1, forwarded: 1 });
    expect(addrs(r!.data)).toEqual(['192.0.2.200', 33333, '192.0.2.10', 80]);
    expect([csum(r!.data.subarray(14, 34)), l4sum(r!.data)]).toEqual([0, 0]);
    expect(mac(r!.data.subarray(0, 6))).toBe(LAN10);
    const rep = run(tcp4('192.0.2.10', '192.0.2.200', 80, 33333, 0x12), 'lan0');
    expect(addrs(rep.data)).toEqual(['203.0.113.1', 8080, '192.0.2.200', 33333]);
    expect([csum(rep.data.subarray(14, 34)), l4sum(rep.data)]).toEqual([0, 0]);
    expect(mac(rep.data.subarray(0, 6))).toBe(GW_MAIN);
    // the same port over UDP, or another port: no rule, the box's own (to the kernel)
    expect(delta(() => run(udp4('192.0.2.200', '203.0.113.1', 33333, 8080), 'wan0'))).toEqual({ to_kernel_local: 1 });
  });

  test('traceroute and PMTU through the NAT: TTL 1 or DF-and-too-big go to the kernel untranslated (its ICMP error reaches the real source); without DF the kernel fragments the translated packet', () => {
    const ttl1 = udp4('192.0.2.10', '192.0.2.200', 41000, 33434); ttl1[14 + 8] = 1;
    const f1 = withIpCsum(ttl1);
    let r: ReturnType<typeof run> | undefined;
    expect(delta(() => { r = run(f1, 'lan0'); })).toEqual({ nat_new_snat: 1, nat_port_kept: 1, to_kernel_ttl: 1 });
    expect(r!.retval).toBe(TC_ACT_OK);
    expect(r!.data).toEqual(f1);
    ipn('link', 'set', 'wan0', 'mtu', '1400');
    try {
      const big = (df: boolean) => { const f = v4('192.0.2.10', '192.0.2.200', { len: 1450, df }); f.writeUInt16BE(41001, 34); return withL4Csum(withIpCsum(f)); };
      const withDf = big(true);
      expect(delta(() => { r = run(withDf, 'lan0'); })).toEqual({ nat_new_snat: 1, nat_port_kept: 1, to_kernel_frag: 1 });
      expect(r!.data).toEqual(withDf);
      expect(delta(() => { r = run(big(false), 'lan0'); })).toEqual({ nat_xlate: 1, to_kernel_frag: 1 });
      expect(r!.retval).toBe(TC_ACT_OK);
      expect(addrs(r!.data)).toEqual(['203.0.113.1', 41001, '192.0.2.200', 53]);
      expect([csum(r!.data.subarray(14, 34)), l4sum(r!.data)]).toEqual([0, 0]);
    } finally {
      ipn('link', 'set', 'wan0', 'mtu', '1500');
    }
  });

  test('ICMP errors from the WAN quoting a translated packet go back to the host, the quote as the host sent it; every checksum valid', () => {
    run(udp4('192.0.2.11', '192.0.2.200', 40000, 53), 'lan0'); // takes port 40000, so the next one is moved
    const sent = udp4('192.0.2.10', '192.0.2.200', 40000, 53);
    const left = run(sent, 'lan0').data;
    const port = left.readUInt16BE(34);
    expect(port).not.toBe(40000);
    const error = (type: number, quote: Buffer, dst = '203.0.113.1') => {
      const icmp = Buffer.concat([Buffer.from([type, 0, 0, 0, 0, 0, 0, 0]), quote]);
      icmp.writeUInt16BE(csum(icmp), 2);
      return withIpCsum(pkt().eth('02:00:5e:00:53:01', GW_MAIN, 0x0800).ipv4('192.0.2.201', dst, 1, icmp.length).bytes(icmp).build());
    };
    for (const type of [11, 3]) {
      let r: ReturnType<typeof run> | undefined;
      expect(delta(() => { r = run(error(type, left.subarray(14)), 'wan0'); })).toEqual({ nat_icmp_error: 1, forwarded: 1 });
      const out = r!.data;
      expect(r!.retval).toBe(TC_ACT_REDIRECT);
      expect(mac(out.subarray(0, 6))).toBe(LAN10);
      expect([...out.subarray(30, 34)].join('.')).toBe('192.0.2.10');
      expect([csum(out.subarray(14, 34)), csum(out.subarray(34))]).toEqual([0, 0]);
      const quote = out.subarray(42);
      expect(quote.subarray(0, 8)).toEqual(sent.subarray(14, 22)); // version .. TTL as the host sent it
      expect(addrs(Buffer.concat([Buffer.alloc(14), quote.subarray(0, 28)]))).toEqual(['192.0.2.10', 40000, '192.0.2.200', 53]);
      expect(csum(quote.subarray(0, 20))).toBe(0);
      expect(l4sum(Buffer.concat([Buffer.alloc(14), quote]))).toBe(0); // the quoted UDP datagram verifies again
    }
    // an echo request that left with a new id: the error comes back with the host's id
    run(echo4('192.0.2.11', '192.0.2.200', 8, 0x4242), 'lan0');
    const req = echo4('192.0.2.10', '192.0.2.200', 8, 0x4242);
    const reqOut = run(req, 'lan0').data;
    expect(reqOut.readUInt16BE(38)).not.toBe(0x4242);
    const back = run(error(11, reqOut.subarray(14)), 'wan0').data;
    expect([...back.subarray(30, 34)].join('.')).toBe('192.0.2.10');
    expect(back.readUInt16BE(42 + 20 + 4)).toBe(0x4242);
    expect([csum(back.subarray(34)), csum(back.subarray(42, 62))]).toEqual([0, 0]);
    // an error quoting nothing translated is routed as it is
    const stray = error(3, udp4('203.0.113.1', '192.0.2.200', 1111, 53).subarray(14), '192.0.2.10');
    let r: ReturnType<typeof run> | undefined;
    expect(delta(() => { r = run(stray, 'wan0'); })).toEqual({ forwarded: 1 });
    expect(r!.data.subarray(14 + 12)).toEqual(stray.subarray(14 + 12)); // all but the TTL and the header checksum
  });

  test('hairpin: a LAN host reaching the forwarded address from the server\'s own side is masqueraded behind lan0\'s address, so the answer comes back through the router', () => {
    o.map('rt_dnat').update(0, { ...FWD, in_ports: 0n }); // the forward from any port
    o.map('rt_ports').update(idx.lan0, { index: 0, addr4: '192.0.2.1' });
    try {
      let r: ReturnType<typeof run> | undefined;
      expect(delta(() => { r = run(tcp4('192.0.2.11', '203.0.113.1', 44444, 8080, 0x02), 'lan0'); })).toEqual({ nat_new_snat: 1, nat_new_dnat: 1, nat_hairpin: 1, nat_port_kept: 1, nat_xlate: 1, forwarded: 1 });
      expect(addrs(r!.data)).toEqual(['192.0.2.1', 44444, '192.0.2.10', 80]);
      expect([csum(r!.data.subarray(14, 34)), l4sum(r!.data)]).toEqual([0, 0]);
      expect(mac(r!.data.subarray(0, 6))).toBe(LAN10);
      const back = run(tcp4('192.0.2.10', '192.0.2.1', 80, 44444, 0x12), 'lan0');
      expect(addrs(back.data)).toEqual(['203.0.113.1', 8080, '192.0.2.11', 44444]);
      expect(l4sum(back.data)).toBe(0);
      expect(mac(back.data.subarray(0, 6))).toBe(LAN11);
      // from the WAN the same forward is not masqueraded: the server answers through the router anyway
      expect(addrs(run(tcp4('192.0.2.200', '203.0.113.1', 33334, 8080, 0x02), 'wan0').data)).toEqual(['192.0.2.200', 33334, '192.0.2.10', 80]);
    } finally {
      o.map('rt_ports').update(idx.lan0, { index: 0, addr4: '0.0.0.0' });
    }
  });

  test('exhaustion: with one port in the range and it taken, RT_PORT_TRIES more tries, then a counted drop', () => {
    config({ n_snat: 1, n_dnat: 1, port_min: 2000, port_max: 2000 });
    expect(delta(() => run(udp4('192.0.2.10', '192.0.2.200', 2000, 53), 'lan0'))).toEqual({ nat_new_snat: 1, nat_port_kept: 1, nat_xlate: 1, forwarded: 1 });
    let r: ReturnType<typeof run> | undefined;
    expect(delta(() => { r = run(udp4('192.0.2.11', '192.0.2.200', 2000, 53), 'lan0'); })).toEqual({ nat_port_collision: 9, drop_nat_exhausted: 1 });
    expect(r!.retval).toBe(TC_ACT_SHOT);
  });

  test('masquerade out of a port without an address is a counted drop; traffic no rule names is routed untranslated, no connection kept', () => {
    o.map('rt_ports').update(idx.wan0, { index: 2, addr4: '0.0.0.0' });
    try {
      expect(delta(() => expect(run(udp4('192.0.2.10', '192.0.2.200', 40001, 53), 'lan0').retval).toBe(TC_ACT_SHOT))).toEqual({ drop_nat_no_addr: 1 });
    } finally {
      o.map('rt_ports').update(idx.wan0, { index: 2, addr4: '203.0.113.1' });
    }
    const plain = udp4('192.0.2.200', '192.0.2.10', 53, 40002); // from the WAN straight to a LAN host: no rule
    let r: ReturnType<typeof run> | undefined;
    expect(delta(() => { r = run(plain, 'wan0'); })).toEqual({ forwarded: 1 });
    expect(addrs(r!.data)).toEqual(addrs(plain));
    expect([...o.map('rt_conns').entries()].length).toBe(0);
  });

  test('a connection stamped by another CPU after this one read the clock is not taken for expired', () => {
    run(udp4('192.0.2.10', '192.0.2.200', 40004, 53), 'lan0');
    const m = o.map('rt_conns'), key = { saddr: '192.0.2.10', daddr: '192.0.2.200', sport: 0x449c, dport: 0x3500, proto: 17, pad: [0, 0, 0] }; // 40004, 53 as on the wire
    const v = formatJson(m.btf!, m.info.valueTypeId, m.lookup(key as never)![0]) as Record<string, unknown>;
    m.update(key as never, { ...v, last_ns: BigInt(v.last_ns as number) + 5000000000n } as never); // 5 s ahead of this CPU's clock
    expect(delta(() => run(udp4('192.0.2.10', '192.0.2.200', 40004, 53), 'lan0'))).toEqual({ nat_xlate: 1, forwarded: 1 });
  });

  test('a connection past its timeout starts again (UDP timeout 1 s)', async () => {
    config({ n_snat: 1, n_dnat: 1, udp_timeout: 1 });
    run(udp4('192.0.2.10', '192.0.2.200', 40003, 53), 'lan0');
    expect(delta(() => run(udp4('192.0.2.10', '192.0.2.200', 40003, 53), 'lan0'))).toEqual({ nat_xlate: 1, forwarded: 1 });
    await new Promise((res) => setTimeout(res, 1100));
    expect(delta(() => run(udp4('192.0.2.10', '192.0.2.200', 40003, 53), 'lan0'))).toEqual({ nat_expired: 1, nat_new_snat: 1, nat_port_kept: 1, nat_xlate: 1, forwarded: 1 });
  });
});

describe('a full connection table', () => {
  const SIZE = 1024;
  let small: LoadedObject;
  const runSmall = (frame: Buffer, port: string) => inNetns(NS, () => bpf.testRun(small.prog('rt_tc_in'), { data: frame, ctx: skbCtx(idx[port]), ctxOutSize: SKB.size, dataOutSize: frame.length + 64 }));
  const smallCounts = () => enumCounts(small.map('rt_counts'), 'rt_count', 'RT_');
  beforeAll(() => {
    small = new LoadedObject('router_tc.bpf.o', { rt_conns: SIZE });
    small.map('rt_config').update(0, { flags: 0, port_min: 1024, port_max: 65535, n_snat: 1, n_dnat: 0, udp_timeout: 30, tcp_established: 7440, tcp_closing: 10, tcp_syn: 120, icmp_timeout: 30, ct_size: SIZE });
    for (const [i, p] of ['lan0', 'lan1', 'wan0'].entries()) small.map('rt_ports').update(idx[p], { index: i, addr4: p === 'wan0' ? '203.0.113.1' : '0.0.0.0' });
    small.map('rt_snat').update(0, { in_ports: 0b011n, out: idx.wan0, src: '192.0.2.0', src_mask: '255.255.255.0', to_min: '0.0.0.0', to_max: '0.0.0.0', proto: 0, pad: [0, 0, 0] });
  });
  afterAll(() => small?.close());

  test('evicts the least recently used and never wedges: 3 times its size in new connections each get translated both ways; a live connection whose reply half was evicted gets it back (counted)', () => {
    const live = udp4('192.0.2.10', '192.0.2.200', 40000, 53), liveBack = udp4('192.0.2.200', '203.0.113.1', 53, 40000);
    expect(runSmall(live, 'lan0').retval).toBe(TC_ACT_REDIRECT);
    let lost = 0;
    for (let i = 0; i < 3 * SIZE; i++) {
      const sport = 1024 + i;
      const out = runSmall(udp4('192.0.2.11', '192.0.2.200', sport, 53), 'lan0');
      const back = runSmall(udp4('192.0.2.200', '203.0.113.1', 53, out.data.readUInt16BE(34)), 'wan0');
      if (addrs(back.data)[2] !== '192.0.2.11' || back.data.readUInt16BE(36) !== sport) lost++;
      if (i % 64 === 0) runSmall(live, 'lan0'); // the live connection's outgoing half stays recent, its reply half is never used
    }
    expect(lost).toBe(0);
    // what the table evicted to make room: 2 entries per connection (and any half the live one got
    // back when its packets crossed a second), less what it still holds
    const entriesNow = [...bpf.mapKeys(small.map('rt_conns').fd, small.map('rt_conns').info.keySize)].length;
    const c = smallCounts();
    expect(c.nat_evicted_entries).toBe(2 * (3 * SIZE + 1) + c.nat_evicted - entriesNow);
    const entries = [...bpf.mapKeys(small.map('rt_conns').fd, small.map('rt_conns').info.keySize)].length;
    expect(entries).toBeLessThanOrEqual(SIZE);
    // the reply half is gone: its answer would reach the box itself, untranslated
    const key = { saddr: '192.0.2.10', daddr: '192.0.2.200', sport: 0x409c, dport: 0x3500, proto: 17, pad: [0, 0, 0] }; // 40000, 53 as on the wire
    const m = small.map('rt_conns'), v = formatJson(m.btf!, m.info.valueTypeId, m.lookup(key as never)![0]) as Record<string, unknown>;
    expect(addrs(runSmall(liveBack, 'wan0').data)[2]).toBe('203.0.113.1');
    // its next packet a second later finds the half missing and puts it back
    m.update(key as never, { ...v, last_ns: BigInt(v.last_ns as number) - 2000000000n } as never);
    const d = countsDelta(smallCounts, () => runSmall(live, 'lan0'));
    delete d.nat_evicted_entries; // putting it back into a full table may evict others (counted, as above)
    expect(d).toEqual({ nat_evicted: 1, nat_xlate: 1, forwarded: 1 });
    const back = runSmall(liveBack, 'wan0');
    expect(addrs(back.data)).toEqual(['192.0.2.200', 53, '192.0.2.10', 40000]);
  });
});
