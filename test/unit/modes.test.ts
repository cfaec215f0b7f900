// planModes: which hook each port gets, from the facts the kernel gives
// (device kind, veth peer, XDP features), and which requests are refused.
import { planModes, PortFacts, refuseVethLoop } from '../../src/loader/modes';
import { XDP_ACT } from '../../src/net/netdev';
import { UsageError } from '../../src/errors';

const NIC_XDP = XDP_ACT.BASIC | XDP_ACT.REDIRECT | XDP_ACT.NDO_XMIT;
const veth = (name: string, napiPeer: boolean, peer: PortFacts['vethPeer'] = { ifindex: 7, sameNetns: false }): PortFacts => ({
  name, ifindex: 2, kind: 'veth', vethPeer: peer,
  xdpFeatures: XDP_ACT.BASIC | XDP_ACT.REDIRECT | XDP_ACT.RX_SG | (napiPeer ? XDP_ACT.NDO_XMIT | XDP_ACT.NDO_XMIT_SG : 0n),
});
const nic = (name: string, f: bigint | null = NIC_XDP): PortFacts => ({ name, ifindex: 3, ...(f === null ? {} : { xdpFeatures: f }) });

describe('planModes', () => {
  test('auto: TC on veths, whatever their peers can do', () => {
    for (const napi of [false, true]) {
      const p = planModes('auto', [veth('eth2', napi), veth('eth3', napi)], false);
      expect(p.map((x) => x.mode)).toEqual(['tc', 'tc']);
      expect(p[0].reason).toMatch(/veth is a virtual device/);
    }
  });
  test('auto: native XDP on NICs whose driver has it, when the other port takes redirects', () => {
    const p = planModes('auto', [nic('eth2'), nic('eth3')], false);
    expect(p.map((x) => x.mode)).toEqual(['native', 'native']);
    expect(p[0].reason).toMatch(/driver has it and eth3 takes redirected frames/);
  });
  test('auto: a NIC facing a veth that cannot take redirects gets TC; the veth gets TC', () => {
    const p = planModes('auto', [nic('eth2'), veth('eth3', false)], false);
    expect(p.map((x) => x.mode)).toEqual(['tc', 'tc']);
    expect(p[0].reason).toMatch(/eth3 cannot take XDP-redirected frames/);
  });
  test('auto: mixed hooks where one side can redirect and the other cannot', () => {
    // eth3 (a NIC without XDP) can always be redirected into from TC; eth2's
    // XDP may redirect into eth3 only if eth3 has ndo_xdp_xmit
    const p = planModes('auto', [nic('eth2'), nic('eth3', XDP_ACT.NDO_XMIT)], false);
    expect(p.map((x) => x.mode)).toEqual(['native', 'tc']);
    expect(p[1].reason).toMatch(/no native XDP/);
  });
  test('auto: unknown features (no netdev family) means TC', () => {
    expect(planModes('auto', [nic('eth2', null), nic('eth3', null)], false).map((x) => x.mode)).toEqual(['tc', 'tc']);
  });
  test('native on veths whose peers have no NAPI is refused with the cause and both remedies', () => {
    const run = () => planModes('native', [veth('eth2', false), veth('eth3', false)], false);
    expect(run).toThrow(UsageError);
    try { run(); } catch (e) {
      expect((e as Error).message).toMatch(/eth3 cannot take XDP-redirected frames: its veth peer \(ifindex 7 in another namespace\) runs no XDP program and has GRO off/);
      expect((e as UsageError).hint).toMatch(/ethtool -K <peer> gro on.*--mode tc/);
    }
  });
  test('native with --force goes ahead, flagged and warned', () => {
    // eth2 -> eth3 works (eth3's peer has NAPI); eth3 -> eth2 does not
    const p = planModes('native', [veth('eth2', false), veth('eth3', true)], true);
    expect(p.map((x) => [x.mode, x.forced])).toEqual([['native', false], ['native', true]]);
    expect(p[1].warnings[0]).toMatch(/--force: eth2 cannot take XDP-redirected frames: .*; frames from eth3 will be dropped/);
  });
  test('native where the peers have NAPI is fine', () => {
    expect(planModes('native', [veth('eth2', true), veth('eth3', true)], false).map((x) => x.mode)).toEqual(['native', 'native']);
  });
  test('native on a driver without XDP is refused', () => {
    expect(() => planModes('native', [nic('eth2', XDP_ACT.NDO_XMIT), nic('eth3')], false)).toThrow(/eth2 does not support native XDP/);
  });
  test('generic on a veth warns about checksum offload', () => {
    const p = planModes('generic', [veth('eth2', false), nic('eth3')], false);
    expect(p.map((x) => x.mode)).toEqual(['generic', 'generic']);
    expect(p[0].warnings[0]).toMatch(/checksum-offload state .* TCP .* stalls/);
    expect(p[1].warnings).toEqual([]);
  });
  test('tc is always possible', () => {
    expect(planModes('tc', [veth('eth2', false), nic('eth3')], false).map((x) => x.mode)).toEqual(['tc', 'tc']);
  });
});

describe('refuseVethLoop', () => {
  test('the two ends of one pair in one namespace, either order, any mode, even with --force', () => {
    const a = veth('eth8', false, { name: 'eth9', sameNetns: true });
    const b = veth('eth9', false, { name: 'eth8', sameNetns: true });
    expect(() => refuseVethLoop(a, b)).toThrow(/eth8 and eth9 are the two ends of one veth pair/);
    for (const m of ['auto', 'native', 'tc', 'generic'] as const) expect(() => planModes(m, [b, a], true)).toThrow(/two ends of one veth pair/);
  });
  test('two veths of different pairs are fine', () => {
    expect(() => refuseVethLoop(veth('eth2', false, { name: 'x', sameNetns: true }), veth('eth3', false, { name: 'y', sameNetns: true }))).not.toThrow();
  });
});
