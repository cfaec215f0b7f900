// The `role: router` config (src/router/config.ts): what is accepted, the
// exact file:line:col: field: message of what is not, and the map entries a
// config becomes (src/router/plan.ts; layouts encoded through the object's
// BTF, as attach writes them).
import { parseConfig } from '../../src/config';
import { messageOf as configMessage } from '../helpers/config-errors';
import { parseRouterConfig, planRouter, RouterConfig } from '../../src/router';
import { LoadedObject } from '../helpers/wire';

const FILE = 'router.yaml';
const HEAD = 'role: router\nports: [lan0, lan1, wan0]\n';
const messageOf = (text: string) => configMessage(text, FILE, parseRouterConfig);

describe('valid router configs', () => {
  const cases: Array<[string, string, Partial<RouterConfig>]> = [
    ['two ports, nothing else', 'role: router\nports: [a, b]\n', { ports: ['a', 'b'] }],
    ['the issue\'s example', `instance: edge\n${HEAD}nat:\n  - { in: [lan0, lan1], out: wan0, src: 192.0.2.0/24, snat: masquerade }\n  - { in: wan0, proto: tcp, dst: 203.0.113.5, dport: 8080, dnat: "192.0.2.10:80" }\npolicy:\n  - { in: lan1, out: wan0, action: drop }\nmark_iif: true\nconntrack: { size: 262144, udp_timeout: 30, tcp_established: 7440 }\n`,
      { instance: 'edge', mark_iif: true, conntrack: { size: 262144, udp_timeout: 30, tcp_established: 7440 } }],
    ['an snat address range, one input port as a string', `${HEAD}nat:\n  - { in: lan0, snat: 203.0.113.5-203.0.113.9 }\n`, { nat: [{ in: 'lan0', snat: '203.0.113.5-203.0.113.9' }] }],
    ['a dnat to another address, same port', `${HEAD}nat:\n  - { dst: 203.0.113.5, dnat: 192.0.2.10 }\n`, { nat: [{ dst: '203.0.113.5', dnat: '192.0.2.10' }] }],
    ['a port range for SNAT', `${HEAD}nat_ports: 20000-29999\n`, { nat_ports: '20000-29999' }],
  ];
  test.each(cases)('%s', (_n, text, want) => {
    expect(parseRouterConfig(text, FILE)).toMatchObject(want);
  });
});

describe('refused router configs name the file, line, column and field', () => {
  const cases: Array<[string, string, string]> = [
    ['one port', 'role: router\nports: [lan0]\n', 'router.yaml:2:8: ports: must list at least 2 interfaces'],
    ['a port twice', 'role: router\nports: [lan0, lan0]\n', 'router.yaml:2:15: ports[1]: must not name a port twice'],
    ['no ports', 'role: router\n', "router.yaml:1:1: (top level): missing required key 'ports'"],
    ['an unknown field', `${HEAD}nat_port: 1-2\n`, 'router.yaml:3:1: nat_port: unknown key (allowed: instance, role, netns, ports, nat, policy, mark_iif, conntrack, nat_ports)'],
    ['nat in a port not listed', `${HEAD}nat:\n  - { in: [lan0, lan9], snat: masquerade }\n`, 'router.yaml:4:18: nat[0].in[1]: lan9 is not one of the ports (lan0, lan1, wan0)'],
    ['nat out a port not listed', `${HEAD}nat:\n  - { out: wan9, snat: masquerade }\n`, 'router.yaml:4:12: nat[0].out: wan9 is not one of the ports (lan0, lan1, wan0)'],
    ['both snat and dnat', `${HEAD}nat:\n  - { snat: masquerade, dnat: 192.0.2.1 }\n`, 'router.yaml:4:5: nat[0]: needs exactly one of snat: (masquerade, an address or a range) and dnat: (address[:port])'],
    ['a bad snat', `${HEAD}nat:\n  - { snat: masq }\n`, 'router.yaml:4:13: nat[0].snat: must be masquerade, an IPv4 address, or a range like 203.0.113.5-203.0.113.9'],
    ['a range backwards', `${HEAD}nat:\n  - { snat: 203.0.113.9-203.0.113.5 }\n`, 'router.yaml:4:13: nat[0].snat: range 203.0.113.9-203.0.113.5 runs backwards'],
    ['an IPv6 source', `${HEAD}nat:\n  - { src: "2001:db8::/32", snat: masquerade }\n`, 'router.yaml:4:12: nat[0].src: must be an IPv4 prefix like 192.0.2.0/24'],
    ['dnat without dst', `${HEAD}nat:\n  - { dnat: 192.0.2.10 }\n`, 'router.yaml:4:5: nat[0]: a dnat rule needs dst: (the address to forward)'],
    ['dnat to a new port without dport', `${HEAD}nat:\n  - { proto: tcp, dst: 203.0.113.5, dnat: "192.0.2.10:80" }\n`, 'router.yaml:4:43: nat[0].dnat: a new port needs dport: (the port to forward)'],
    ['dport without tcp or udp', `${HEAD}nat:\n  - { dst: 203.0.113.5, dport: 80, dnat: 192.0.2.10 }\n`, 'router.yaml:4:32: nat[0].dport: needs proto: tcp or udp'],
    ['a bad dnat target', `${HEAD}nat:\n  - { dst: 203.0.113.5, dnat: "192.0.2.10:99999" }\n`, 'router.yaml:4:31: nat[0].dnat: port must be 1-65535'],
    ['policy on a port not listed', `${HEAD}policy:\n  - { in: lan7, action: drop }\n`, 'router.yaml:4:11: policy[0].in: lan7 is not one of the ports (lan0, lan1, wan0)'],
    ['policy twice for one pair', `${HEAD}policy:\n  - { in: lan1, action: drop }\n  - { in: lan1, action: accept }\n`, 'router.yaml:5:5: policy[1]: repeats policy[0] (in lan1)'],
    ['a bad action', `${HEAD}policy:\n  - { in: lan1, action: reject }\n`, 'router.yaml:4:25: policy[0].action: must be one of drop, accept'],
    ['a table too small', `${HEAD}conntrack: { size: 10 }\n`, 'router.yaml:3:20: conntrack.size: must be at least 1024'],
    ['a port range backwards', `${HEAD}nat_ports: 3000-2000\n`, 'router.yaml:3:12: nat_ports: must be low-high within 1-65535'],
  ];
  test.each(cases)('%s', (_n, text, want) => {
    expect(messageOf(text)).toBe(want);
  });

  test('the wire\'s loader names the roles there are', () => {
    expect(() => parseConfig('role: bridge\n', FILE)).toThrow('router.yaml:1:7: role: must be one of wire, router');
  });
});

describe('a config becomes map entries', () => {
  const ports = [{ name: 'lan0', ifindex: 12, addr4: '192.0.2.1' }, { name: 'lan1', ifindex: 13 }, { name: 'wan0', ifindex: 14, addr4: '203.0.113.1' }];
  const c = parseRouterConfig(`${HEAD}nat:\n  - { in: [lan0, lan1], out: wan0, src: 192.0.2.77/24, snat: masquerade }\n  - { in: wan0, proto: udp, dst: 203.0.113.1, dport: 53, dnat: "192.0.2.53:5353" }\n  - { in: lan1, proto: tcp, snat: 203.0.113.5-203.0.113.9 }\npolicy:\n  - { in: lan1, out: wan0, action: drop }\nmark_iif: true\nconntrack: { size: 4096, udp_timeout: 60 }\nnat_ports: 20000-29999\n`, FILE);
  const plan = planRouter(c, ports);

  test('rules in order with input ports as bits by position, the source network masked, defaults for what is not given', () => {
    expect(plan.maps.rt_snat).toEqual([
      { key: 0, value: { in_ports: 0b011n, out: 14, src: '192.0.2.0', src_mask: '255.255.255.0', to_min: '0.0.0.0', to_max: '0.0.0.0', proto: 0, pad: [0, 0, 0] } },
      { key: 1, value: { in_ports: 0b010n, out: 0, src: '0.0.0.0', src_mask: '0.0.0.0', to_min: '203.0.113.5', to_max: '203.0.113.9', proto: 6, pad: [0, 0, 0] } },
    ]);
    expect(plan.maps.rt_dnat).toEqual([{ key: 0, value: { in_ports: 0b100n, dst: '203.0.113.1', to_addr: '192.0.2.53', dport: 53, to_port: 5353, proto: 17, pad: [0, 0, 0] } }]);
    expect(plan.maps.rt_policy).toEqual([{ key: { in: 13, out: 14 }, value: { action: 1, pad: 0 } }]);
    expect(plan.maps.rt_ports).toEqual([{ key: 12, value: { index: 0, addr4: '192.0.2.1' } }, { key: 13, value: { index: 1, addr4: '0.0.0.0' } }, { key: 14, value: { index: 2, addr4: '203.0.113.1' } }]);
    expect(plan.maps.rt_config[0].value).toEqual({ flags: 1, port_min: 20000, port_max: 29999, n_snat: 2, n_dnat: 1, udp_timeout: 60, tcp_established: 7440, tcp_closing: 10, tcp_syn: 120, icmp_timeout: 30, ct_size: 4096 });
    expect([plan.conntrackSize, plan.masqueradeOut]).toEqual([4096, ['wan0']]);
  });

  test('every entry encodes with the program\'s own BTF (the layouts in maps/router_types.h)', () => {
    const o = new LoadedObject('router_tc.bpf.o');
    try {
      for (const [name, entries] of Object.entries(plan.maps)) {
        const m = o.map(name);
        for (const e of entries) {
          expect(m.encodeKey(e.key as never).length).toBe(m.info.keySize);
          expect(m.encodeVal(e.value as never).length).toBe(m.info.valueSize);
        }
      }
    } finally {
      o.close();
    }
  });
});
