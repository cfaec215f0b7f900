// How `l2bpf dump` (text) shows maps whose raw form reads badly: rules as
// prefixes with their alternatives and tunnel names, drops by reason name.
// Offsets come from the map's BTF, not from a copy of the C structs; JSON
// stays bpftool's raw layout.
import { Btf } from '../btf';
import { formatAddress } from '../net/address';
import { reasonLabel } from './stats';

/** A text view: one line for an entry, or undefined to leave it out. */
export type View = (key: Buffer, value: Buffer) => string | undefined;
export interface ViewContext { btf: Btf; tunnelName: (id: number) => string }

/** Byte offset of member `name` of `struct sname`. */
function offsetOf(btf: Btf, sname: string, name: string): number {
  const t = btf.findByName('struct', sname);
  const m = t?.members.find((x) => x.name === name);
  if (!t || !m) throw new Error(`BTF: struct ${sname} has no member ${name}`);
  return m.bitOffset >> 3;
}
const sizeOf = (btf: Btf, sname: string) => {
  const t = btf.findByName('struct', sname);
  if (!t) throw new Error(`BTF: no struct ${sname}`);
  return t.size;
};

function address(family: number, b: Buffer): string {
  return formatAddress(family === 4 ? { family: 4, bytes: [...b.subarray(0, 4)] } : { family: 6, bytes: [...b.subarray(0, 16)] });
}

function rules(c: ViewContext): View {
  const { btf } = c;
  const k = { plen: offsetOf(btf, 'l2_rule_key', 'prefixlen'), family: offsetOf(btf, 'l2_rule_key', 'family'), addr: offsetOf(btf, 'l2_rule_key', 'addr') };
  const v = { count: offsetOf(btf, 'l2_rule', 'count'), alt: offsetOf(btf, 'l2_rule', 'alt') };
  const a = {
    size: sizeOf(btf, 'l2_rule_alt'), src: offsetOf(btf, 'l2_rule_alt', 'src'), plen: offsetOf(btf, 'l2_rule_alt', 'src_plen'),
    tunnel: offsetOf(btf, 'l2_rule_alt', 'tunnel'), action: offsetOf(btf, 'l2_rule_alt', 'action'),
  };
  const actions = btf.enumNames('l2_action');
  return (key, value) => {
    const family = key[k.family];
    const dst = `${address(family, key.subarray(k.addr))}/${key.readUInt32LE(k.plen) - 8}`;
    const alts = Array.from({ length: value.readUInt32LE(v.count) }, (_, i) => {
      const at = v.alt + i * a.size;
      const plen = value[at + a.plen];
      const act = (actions.get(value.readUInt32LE(at + a.action)) ?? '?').replace(/^L2_ACT_/, '').toLowerCase();
      const what = act === 'tunnel' ? `tunnel ${c.tunnelName(value.readUInt16LE(at + a.tunnel))}` : act;
      return plen ? `from ${address(family, value.subarray(at + a.src))}/${plen}: ${what}` : what;
    });
    return `${dst} -> ${alts.length === 1 && !alts[0].startsWith('from') ? alts[0] : `[${alts.join('; ')}]`}`;
  };
}

function drops(c: ViewContext): View {
  const names = c.btf.enumNames('l2_drop_reason');
  const packets = offsetOf(c.btf, 'l2_drop_stats', 'packets'), bytes = offsetOf(c.btf, 'l2_drop_stats', 'bytes');
  return (key, value) => {
    const name = names.get(key.readUInt32LE(0));
    const p = value.readBigUInt64LE(packets);
    if (!name || name.endsWith('__MAX') || !p) return undefined;
    return `${reasonLabel(name)} -> ${p} packets, ${value.readBigUInt64LE(bytes)} bytes`;
  };
}

export const VIEWS: Record<string, (c: ViewContext) => View> = { l2_rules: rules, l2_drops: drops };
