// `l2bpf dump` text views of the maps that read badly raw (rules, drops),
// decoded with the BTF of the program's own maps, on entries the program
// really counted.
import { LoadedObject, TC_ENTRY } from '../helpers/wire';
import { PC, runWire, setupBox, udp } from '../helpers/onebox';
import { VIEWS } from '../../src/inspect/views';
import { sumValues } from '../../src/btf';

describe('dump views', () => {
  let o: LoadedObject;
  beforeEach(() => { o = new LoadedObject(TC_ENTRY.object); setupBox(o); });
  afterEach(() => o.close());
  const lines = (name: string) => {
    const m = o.map(name);
    const view = VIEWS[name]({ btf: m.btf!, tunnelName: (id) => (id === 1 ? 'pop' : `#${id}`) });
    return [...m.entries()].map((e) => view(e.key, m.info.perCpu ? sumValues(m.btf!, m.info.valueTypeId, e.values) : e.values[0])).filter(Boolean).sort();
  };

  test('rules: dotted IPv4 and RFC 5952 IPv6 prefixes, tunnels by name, only the alternatives in use', () => {
    o.map('l2_rules').update({ prefixlen: 8 + 24, family: 4, addr: [198, 51, 100, 0, ...Array(12).fill(0)] }, {
      count: 2, alt: [{ src: [192, 0, 2, 0, ...Array(12).fill(0)], src_plen: 24, action: 'L2_ACT_DROP' }, { src_plen: 0, tunnel: 1, action: 'L2_ACT_TUNNEL' }],
    });
    expect(lines('l2_rules')).toEqual([
      '192.0.2.66/32 -> drop',
      '198.51.100.0/24 -> [from 192.0.2.0/24: drop; tunnel pop]',
      '2001:db8:200::/48 -> tunnel pop',
      '203.0.113.128/26 -> tunnel pop',
    ]);
  });

  test('drops: by reason name, only the reasons that counted', () => {
    const f = udp(PC, '192.0.2.66', 8); // the drop rule
    runWire(TC_ENTRY, o, f);
    runWire(TC_ENTRY, o, f);
    expect(lines('l2_drops')).toEqual([`rule -> 2 packets, ${2 * f.length} bytes`]);
  });
});
