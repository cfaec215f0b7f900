// BTF in pure TypeScript: parse raw BTF, format values like bpftool -j,
// render them for people, and fold per-CPU copies.
export { Btf, BtfHeader } from './parse';
export * from './types';
export { formatJson, formatText, FormatTextOptions, sumValues } from './format';
export { JsonValue, parseJsonExact, stringifyJson } from './json';
export { formatIpv6, quoteCString } from './text';
