// Stage two of the routing instance (bpf/lib/route.h, issue 10), frame in,
// frame out with BPF_PROG_TEST_RUN inside a namespace whose routes, policy
// rules (`ip rule iif`) and neighbours the kernel's FIB holds: the program
// asks that FIB with the packet's original input port.
//
//   lan0 192.0.2.1/26, 2001:db8:1::1/64     wan0 203.0.113.1/24, 2001:db8:2::1/64
//   lan1 192.0.2.65/26                       gateways 203.0.113.2 (main), .3 (table 100 for iif lan1)
// 192.0.2.200 stands for a host out on the WAN (off-link: through the gateway).
import { execFileSync } from 'child_process';
import * as bpf from '../../src/bpf/libbpf';
import { ifIndex, inNetns } from '../../src/bpf/sys';
import { LoadedObject, SKB, skbCtx, TC_ACT_OK, TC_ACT_REDIRECT, TC_ACT_SHOT } from '../helpers/wire';
import { csum, pkt, withIpCsum } from '../helpers/packet';

const NS = `rt${process.pid % 100000}`;
const sh = (...a: string[]) => execFileSync(a[0], a.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const ipn = (...a: string[]) => sh('ip', '-n', NS, ...a);
const GW_MAIN = '02:00:00:00:00:02', GW_T100 = '02:00:00:00:00:03', GW6 = '02:00:00:00:00:06';
const MARK_OFF = 8; // __sk_buff.mark (uapi linux/bpf.h)
let o: LoadedObject;
const idx: Record<string, number> = {};
let wanMac = '';

function counts(): Record<string, number> {
  const m = o.map('rt_counts'), out: Record<string, number> = {};
  for (const [v, n] of m.btf!.enumNames('rt_count')) {
    const vals = m.lookup(Number(v));
    if (vals) out[n.replace(/^RT_/, '').toLowerCase()] = vals.reduce((a, b) => a + Number(b.readBigUInt64LE(0)), 0);
  }
  return out;
}
function delta(f: () => void): Record<string, number> {
  const a = counts(); f(); const b = counts();
  return Object.fromEntries(Object.entries(b).filter(([k, v]) => v !== a[k]).map(([k, v]) => [k, v - a[k]]));
}
const run = (frame: Buffer, port: string) => inNetns(NS, () => bpf.testRun(o.prog('rt_tc_in'), { data: frame, ctx: skbCtx(idx[port]), ctxOutSize: SKB.size, dataOutSize: frame.length + 64 }));
const mac = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
const v4 = (src: string, dst: string, opts: { ttl?: number; len?: number; df?: boolean } = {}) => {
  const f = pkt().eth('02:00:5e:00:53:01', '02:00:00:00:00:10', 0x0800).ipv4(src, dst, 17, 8 + (opts.len ?? 20)).udp(40000, 53, opts.len ?? 20).payload(opts.len ?? 20).build();
  if (opts.ttl !== undefined) f[14 + 8] = opts.ttl;
  if (opts.df) f.writeUInt16BE(0x4000, 14 + 6);
  return withIpCsum(f);
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
  o.map('rt_config').update(0, { flags: 0, pad: 0 });
  for (const [i, p] of ['lan0', 'lan1', 'wan0'].entries()) o.map('rt_ports').update(idx[p], { index: i, pad: 0 });
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

  test('mark_iif: the original input ifindex in skb->mark; without it the mark is left alone', () => {
    const before = run(v4('192.0.2.70', '192.0.2.200'), 'lan1');
    expect(before.ctx!.readUInt32LE(MARK_OFF)).toBe(0);
    o.map('rt_config').update(0, { flags: 1, pad: 0 });
    try {
      const r = run(v4('192.0.2.70', '192.0.2.200'), 'lan1');
      expect(r.retval).toBe(TC_ACT_REDIRECT);
      expect(r.ctx!.readUInt32LE(MARK_OFF)).toBe(idx.lan1);
    } finally {
      o.map('rt_config').update(0, { flags: 0, pad: 0 });
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

