// What the project's typedef names mean, shared by formatText and sumValues:
// a field typed l2_mac is an address to print (and never to add up), even
// though BTF only says "array of 6 u8".
import { Btf } from './parse';

export type L2Semantic = 'l2_ifindex' | 'l2_mac' | 'l2_ipv4' | 'l2_ipv6';

const SEMANTIC_SIZES: Record<L2Semantic, number> = {
  l2_ifindex: 4, l2_mac: 6, l2_ipv4: 4, l2_ipv6: 16,
};

/** The first l2_* typedef met on the way from id to the real type. */
export function semanticOf(btf: Btf, id: number): L2Semantic | undefined {
  for (const name of btf.typedefChain(id)) {
    if (name in SEMANTIC_SIZES) {
      const sem = name as L2Semantic;
      // A typedef with an unexpected size is printed as what it really is.
      return btf.sizeOf(id) === SEMANTIC_SIZES[sem] ? sem : undefined;
    }
  }
  return undefined;
}

/** True for `char`-like elements: text, not numbers. */
export function isCharType(btf: Btf, id: number): boolean {
  const t = btf.type(btf.resolve(id));
  return t.kind === 'int' && t.size === 1 && (t.char || t.name === 'char');
}
