// The box's one address as the l2_local map holds it (array, key 0).

import { analyseLocal, Config, formatAddress, throwFirst } from '../config';

/** struct l2_local; addresses as text, which the map writer encodes. */
export interface LocalValue {
  ipv4: string;
  ipv4_plen: number;
  ipv6_plen: number;
  pad: number;
  ipv6: string;
}

/** Absent addresses are all zero, which the BPF side reads as "none". */
export function localEntry(local: Config['local']): LocalValue {
  const { value, problems } = analyseLocal(local);
  throwFirst(problems);
  return {
    ipv4: value.ipv4 !== undefined ? formatAddress(value.ipv4) : '0.0.0.0',
    ipv4_plen: value.ipv4?.len ?? 0,
    ipv6_plen: value.ipv6?.len ?? 0,
    pad: 0,
    ipv6: value.ipv6 !== undefined ? formatAddress(value.ipv6) : '::',
  };
}
