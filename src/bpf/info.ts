// Decoders for the kernel's bpf_{map,prog,link}_info (uapi linux/bpf.h).
// Offsets are checked against the C headers by test/unit/layout.test.ts.
import * as bpf from './libbpf';

export const MAP_INFO = { size: 88, type: 0, id: 4, key_size: 8, value_size: 12, max_entries: 16, map_flags: 20, name: 24, btf_id: 64, btf_key_type_id: 68, btf_value_type_id: 72 };
export const PROG_INFO = { size: 80, type: 0, id: 4, tag: 8, load_time: 40, name: 64 };
export const LINK_INFO = { size: 24, type: 0, id: 4, prog_id: 8, xdp_ifindex: 16 };

export const MAP_TYPES: Record<number, string> = {
  1: 'hash', 2: 'array', 3: 'prog_array', 4: 'perf_event_array', 5: 'percpu_hash', 6: 'percpu_array',
  9: 'lru_hash', 10: 'lru_percpu_hash', 11: 'lpm_trie', 14: 'devmap', 25: 'devmap_hash', 27: 'ringbuf',
};
const PERCPU = new Set([5, 6, 10, 15 /* percpu_cgroup_storage */]);
export const LINK_TYPE_XDP = 6;
export const LINK_TYPE_TCX = 11;

function cstr(b: Buffer, off: number, len: number): string {
  return b.subarray(off, off + len).toString('utf8').replace(/\0.*$/s, '');
}

export interface MapInfo {
  type: number; typeName: string; id: number; keySize: number; valueSize: number; maxEntries: number;
  flags: number; name: string; btfId: number; keyTypeId: number; valueTypeId: number; perCpu: boolean;
}
export function mapInfo(fd: number): MapInfo {
  const b = bpf.objInfo(fd, MAP_INFO.size);
  const type = b.readUInt32LE(MAP_INFO.type);
  return {
    type, typeName: MAP_TYPES[type] ?? `type ${type}`, id: b.readUInt32LE(MAP_INFO.id),
    keySize: b.readUInt32LE(MAP_INFO.key_size), valueSize: b.readUInt32LE(MAP_INFO.value_size),
    maxEntries: b.readUInt32LE(MAP_INFO.max_entries), flags: b.readUInt32LE(MAP_INFO.map_flags),
    name: cstr(b, MAP_INFO.name, 16), btfId: b.readUInt32LE(MAP_INFO.btf_id),
    keyTypeId: b.readUInt32LE(MAP_INFO.btf_key_type_id), valueTypeId: b.readUInt32LE(MAP_INFO.btf_value_type_id),
    perCpu: PERCPU.has(type),
  };
}

export interface ProgInfo { type: number; id: number; tag: string; name: string; loadTimeNs: bigint }
export function progInfo(fd: number): ProgInfo {
  const b = bpf.objInfo(fd, PROG_INFO.size);
  return {
    type: b.readUInt32LE(PROG_INFO.type), id: b.readUInt32LE(PROG_INFO.id),
    tag: b.subarray(PROG_INFO.tag, PROG_INFO.tag + 8).toString('hex'),
    name: cstr(b, PROG_INFO.name, 16), loadTimeNs: b.readBigUInt64LE(PROG_INFO.load_time),
  };
}
export function progInfoById(id: number): ProgInfo | undefined {
  let fd = -1;
  try {
    fd = bpf.progFdById(id);
    return progInfo(fd);
  } catch {
    return undefined;
  } finally {
    bpf.closeFd(fd);
  }
}

export interface LinkInfo { type: number; id: number; progId: number; ifindex: number }
export function linkInfo(fd: number): LinkInfo {
  const b = bpf.objInfo(fd, LINK_INFO.size);
  const type = b.readUInt32LE(LINK_INFO.type);
  return {
    type, id: b.readUInt32LE(LINK_INFO.id), progId: b.readUInt32LE(LINK_INFO.prog_id),
    // xdp {ifindex} and tcx {ifindex, attach_type} share the union's offset
    ifindex: type === LINK_TYPE_XDP || type === LINK_TYPE_TCX ? b.readUInt32LE(LINK_INFO.xdp_ifindex) : 0,
  };
}
