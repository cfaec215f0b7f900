// The only module that touches libbpf: a narrow, typed surface over
// libbpf.so.1 (Debian's 1.1.x) through koffi. Every call that can fail throws
// a BpfError naming the operation; libbpf's own messages go to our logger and
// the last ones ride along on errors, so a verifier rejection shows its log.
import koffi from 'koffi';
import { BpfError } from '../errors';
import { log } from '../log';

const lib = koffi.load('libbpf.so.1');
const libc = koffi.load('libc.so.6');

// koffi's type registry lives in the native module, which a process loads
// once even when this file is evaluated again (jest): reuse named types.
function named<T>(name: string, make: () => T): T {
  try {
    return koffi.type(name) as T;
  } catch {
    return make();
  }
}

// ---- struct layouts (libbpf 1.1 headers; test/unit/layout.test.ts checks them against C)
export const ObjectOpenOpts = named('bpf_object_open_opts', () => koffi.struct('bpf_object_open_opts', {
  sz: 'size_t',
  object_name: 'const char *',
  relaxed_maps: 'bool',
  pin_root_path: 'const char *',
  _attach_prog_fd: 'uint32_t',
  kconfig: 'const char *',
  btf_custom_path: 'const char *',
  kernel_log_buf: 'void *',
  kernel_log_size: 'size_t',
  kernel_log_level: 'uint32_t',
}));
export const XdpQueryOpts = named('bpf_xdp_query_opts', () => koffi.struct('bpf_xdp_query_opts', {
  sz: 'size_t',
  prog_id: 'uint32_t',
  drv_prog_id: 'uint32_t',
  hw_prog_id: 'uint32_t',
  skb_prog_id: 'uint32_t',
  attach_mode: 'uint8_t',
}));
export const XdpAttachOpts = named('bpf_xdp_attach_opts', () => koffi.struct('bpf_xdp_attach_opts', {
  sz: 'size_t',
  old_prog_fd: 'int',
}));
export const LinkCreateOpts = named('bpf_link_create_opts', () => koffi.struct('bpf_link_create_opts', {
  sz: 'size_t',
  flags: 'uint32_t',
  iter_info: 'void *',
  iter_info_len: 'uint32_t',
  target_btf_id: 'uint32_t',
  u: koffi.array('uint64_t', 4), // the per-attach-type union (largest: kprobe_multi)
}));
export const LinkUpdateOpts = named('bpf_link_update_opts', () => koffi.struct('bpf_link_update_opts', {
  sz: 'size_t',
  flags: 'uint32_t',
  old_prog_fd: 'uint32_t',
}));
export const TestRunOpts = named('bpf_test_run_opts', () => koffi.struct('bpf_test_run_opts', {
  sz: 'size_t',
  data_in: 'void *',
  data_out: 'void *',
  data_size_in: 'uint32_t',
  data_size_out: 'uint32_t',
  ctx_in: 'void *',
  ctx_out: 'void *',
  ctx_size_in: 'uint32_t',
  ctx_size_out: 'uint32_t',
  retval: 'uint32_t',
  repeat: 'int',
  duration: 'uint32_t',
  flags: 'uint32_t',
  cpu: 'uint32_t',
  batch_size: 'uint32_t',
}));
export const ProgQueryOpts = named('bpf_prog_query_opts', () => koffi.struct('bpf_prog_query_opts', {
  sz: 'size_t',
  query_flags: 'uint32_t',
  attach_flags: 'uint32_t',
  prog_ids: 'void *',
  prog_cnt: 'uint32_t',
  prog_attach_flags: 'void *',
}));
export const TcHook = named('bpf_tc_hook', () => koffi.struct('bpf_tc_hook', {
  sz: 'size_t',
  ifindex: 'int',
  attach_point: 'uint32_t',
  parent: 'uint32_t',
}));
export const TcOpts = named('bpf_tc_opts', () => koffi.struct('bpf_tc_opts', {
  sz: 'size_t',
  prog_fd: 'int',
  flags: 'uint32_t',
  prog_id: 'uint32_t',
  handle: 'uint32_t',
  priority: 'uint32_t',
}));

const PrintFn = named('l2_libbpf_print_fn', () => koffi.proto('int l2_libbpf_print_fn(int level, const char *fmt, void *args)'));

const f = {
  open_file: lib.func('void *bpf_object__open_file(const char *path, const bpf_object_open_opts *opts)'),
  load: lib.func('int bpf_object__load(void *obj)'),
  close: lib.func('void bpf_object__close(void *obj)'),
  find_prog: lib.func('void *bpf_object__find_program_by_name(void *obj, const char *name)'),
  next_prog: lib.func('void *bpf_object__next_program(void *obj, void *prev)'),
  prog_name: lib.func('const char *bpf_program__name(void *prog)'),
  prog_fd: lib.func('int bpf_program__fd(void *prog)'),
  find_map: lib.func('void *bpf_object__find_map_by_name(void *obj, const char *name)'),
  next_map: lib.func('void *bpf_object__next_map(void *obj, void *prev)'),
  map_name: lib.func('const char *bpf_map__name(void *map)'),
  map_fd: lib.func('int bpf_map__fd(void *map)'),
  map_set_pin_path: lib.func('int bpf_map__set_pin_path(void *map, const char *path)'),
  map_set_max_entries: lib.func('int bpf_map__set_max_entries(void *map, uint32_t n)'),
  map_set_autocreate: lib.func('int bpf_map__set_autocreate(void *map, bool autocreate)'),
  map_reuse_fd: lib.func('int bpf_map__reuse_fd(void *map, int fd)'),
  map_type: lib.func('int bpf_map__type(void *map)'),
  map_key_size: lib.func('uint32_t bpf_map__key_size(void *map)'),
  map_value_size: lib.func('uint32_t bpf_map__value_size(void *map)'),
  map_max_entries: lib.func('uint32_t bpf_map__max_entries(void *map)'),
  map_value_type_id: lib.func('uint32_t bpf_map__btf_value_type_id(void *map)'),
  obj_btf: lib.func('void *bpf_object__btf(void *obj)'),
  obj_pin: lib.func('int bpf_obj_pin(int fd, const char *path)'),
  obj_get: lib.func('int bpf_obj_get(const char *path)'),
  obj_info: lib.func('int bpf_obj_get_info_by_fd(int fd, _Inout_ uint8_t *info, _Inout_ uint32_t *len)'),
  prog_by_id: lib.func('int bpf_prog_get_fd_by_id(uint32_t id)'),
  map_by_id: lib.func('int bpf_map_get_fd_by_id(uint32_t id)'),
  link_by_id: lib.func('int bpf_link_get_fd_by_id(uint32_t id)'),
  link_create: lib.func('int bpf_link_create(int prog_fd, int target, int type, const bpf_link_create_opts *opts)'),
  link_update: lib.func('int bpf_link_update(int link_fd, int prog_fd, const bpf_link_update_opts *opts)'),
  link_detach: lib.func('int bpf_link_detach(int link_fd)'),
  xdp_attach: lib.func('int bpf_xdp_attach(int ifindex, int prog_fd, uint32_t flags, const bpf_xdp_attach_opts *opts)'),
  xdp_detach: lib.func('int bpf_xdp_detach(int ifindex, uint32_t flags, const bpf_xdp_attach_opts *opts)'),
  xdp_query: lib.func('int bpf_xdp_query(int ifindex, int flags, _Inout_ bpf_xdp_query_opts *opts)'),
  raw_tp_open: lib.func('int bpf_raw_tracepoint_open(const char *name, int prog_fd)'),
  prog_query: lib.func('int bpf_prog_query_opts(int target, int type, _Inout_ bpf_prog_query_opts *opts)'),
  tc_hook_create: lib.func('int bpf_tc_hook_create(bpf_tc_hook *hook)'),
  tc_hook_destroy: lib.func('int bpf_tc_hook_destroy(bpf_tc_hook *hook)'),
  tc_attach: lib.func('int bpf_tc_attach(bpf_tc_hook *hook, _Inout_ bpf_tc_opts *opts)'),
  tc_detach: lib.func('int bpf_tc_detach(bpf_tc_hook *hook, bpf_tc_opts *opts)'),
  tc_query: lib.func('int bpf_tc_query(bpf_tc_hook *hook, _Inout_ bpf_tc_opts *opts)'),
  lookup: lib.func('int bpf_map_lookup_elem(int fd, const uint8_t *key, _Out_ uint8_t *value)'),
  update: lib.func('int bpf_map_update_elem(int fd, const uint8_t *key, const uint8_t *value, uint64_t flags)'),
  del: lib.func('int bpf_map_delete_elem(int fd, const uint8_t *key)'),
  next_key: lib.func('int bpf_map_get_next_key(int fd, const uint8_t *key, _Out_ uint8_t *next)'),
  btf_load_by_id: lib.func('void *btf__load_from_kernel_by_id(uint32_t id)'),
  btf_raw: lib.func('const void *btf__raw_data(void *btf, _Out_ uint32_t *size)'),
  btf_free: lib.func('void btf__free(void *btf)'),
  test_run: lib.func('int bpf_prog_test_run_opts(int prog_fd, _Inout_ bpf_test_run_opts *opts)'),
  possible_cpus: lib.func('int libbpf_num_possible_cpus(void)'),
  strerror: lib.func('int libbpf_strerror(int err, _Out_ uint8_t *buf, size_t size)'),
  set_print: lib.func('void *libbpf_set_print(l2_libbpf_print_fn *fn)'),
  close_fd: libc.func('int close(int fd)'),
  vsnprintf: libc.func('int vsnprintf(_Out_ uint8_t *buf, size_t n, const char *fmt, void *ap)'),
};

// ---- libbpf's print callback -> our logger; the tail is kept for errors.
const recent: string[] = [];
let printSeq = 0;
const printBuf = Buffer.alloc(4 << 20); // a verifier log arrives as one message
const printCb = koffi.register((level: number, fmt: string, args: unknown) => {
  const n = f.vsnprintf(printBuf, printBuf.length, fmt, args);
  const text = printBuf.subarray(0, Math.max(0, Math.min(n, printBuf.length - 1))).toString('utf8');
  for (const line of text.replace(/\n$/, '').split('\n')) {
    recent.push(line);
    printSeq++;
    if (recent.length > 2000) recent.shift();
    // libbpf levels: 0 warn, 1 info, 2 debug
    if (level === 0) log.debug(line);
    else log.trace(line);
  }
  return 0;
}, koffi.pointer(PrintFn));
f.set_print(printCb);

export function libbpfLogMark(): number { return printSeq; }
/** libbpf output since `mark`, e.g. the verifier log of a failed load. */
export function libbpfLogSince(mark: number): string[] {
  const n = Math.min(printSeq - mark, recent.length);
  return recent.slice(recent.length - n);
}

export function strerror(err: number): string {
  const buf = Buffer.alloc(256);
  f.strerror(err, buf, buf.length);
  return buf.toString('utf8').replace(/\0.*$/s, '');
}

function check(op: string, rc: number): number {
  if (rc < 0) throw new BpfError(op, -rc, strerror(rc));
  return rc;
}
function checkPtr(op: string, p: unknown, mark?: number): unknown {
  if (p === null) {
    const errno = koffi.errno();
    throw new BpfError(op, errno, strerror(-errno), mark === undefined ? undefined : libbpfLogSince(mark));
  }
  return p;
}

// ---- objects
export interface BpfObject { ptr: unknown; path: string }

export function openObject(path: string, pinRoot?: string): BpfObject {
  const opts = { sz: koffi.sizeof(ObjectOpenOpts), pin_root_path: pinRoot ?? null };
  const mark = libbpfLogMark();
  return { ptr: checkPtr(`open ${path}`, f.open_file(path, opts), mark), path };
}

export function loadObject(obj: BpfObject): void {
  const mark = libbpfLogMark();
  const rc = f.load(obj.ptr);
  if (rc < 0) throw new BpfError(`load ${obj.path}`, -rc, strerror(rc), libbpfLogSince(mark));
}

export function closeObject(obj: BpfObject): void { f.close(obj.ptr); }

export function programFd(obj: BpfObject, name: string): number {
  const p = f.find_prog(obj.ptr, name);
  if (!p) throw new BpfError(`find program ${name}`, 2, 'no such program in object');
  return check(`fd of program ${name}`, f.prog_fd(p));
}

export function programNames(obj: BpfObject): string[] {
  const out: string[] = [];
  for (let p = f.next_prog(obj.ptr, null); p; p = f.next_prog(obj.ptr, p)) out.push(f.prog_name(p));
  return out;
}

function mapPtr(obj: BpfObject, name: string): unknown {
  const m = f.find_map(obj.ptr, name);
  if (!m) throw new BpfError(`find map ${name}`, 2, 'no such map in object');
  return m;
}
export function mapFd(obj: BpfObject, name: string): number {
  return check(`fd of map ${name}`, f.map_fd(mapPtr(obj, name)));
}
export function mapNames(obj: BpfObject): string[] {
  const out: string[] = [];
  for (let m = f.next_map(obj.ptr, null); m; m = f.next_map(obj.ptr, m)) out.push(f.map_name(m));
  return out;
}
/** What an opened (not yet loaded) object declares for map `name`. */
export interface MapDef { name: string; type: number; keySize: number; valueSize: number; maxEntries: number; valueTypeId: number }
export function mapDef(obj: BpfObject, name: string): MapDef {
  const m = mapPtr(obj, name);
  return {
    name, type: f.map_type(m), keySize: f.map_key_size(m), valueSize: f.map_value_size(m),
    maxEntries: f.map_max_entries(m), valueTypeId: f.map_value_type_id(m),
  };
}
/** The object's own BTF (raw), before it is loaded; undefined without BTF. */
export function objectBtfRaw(obj: BpfObject): Buffer | undefined {
  const btf = f.obj_btf(obj.ptr);
  if (!btf) return undefined;
  const size = [0];
  const p = f.btf_raw(btf, size);
  return p ? Buffer.from(koffi.view(p, size[0])) : undefined;
}

export function setMaxEntries(obj: BpfObject, name: string, n: number): void {
  check(`set max_entries of ${name}`, f.map_set_max_entries(mapPtr(obj, name), n));
}
export function setMapPinPath(obj: BpfObject, name: string, path: string | null): void {
  check(`set pin path of ${name}`, f.map_set_pin_path(mapPtr(obj, name), path));
}
/** Leaves a map of the object uncreated (one the loaded programs never use). */
export function skipMap(obj: BpfObject, name: string): void {
  check(`skip map ${name}`, f.map_set_autocreate(mapPtr(obj, name), false));
}
export function reuseMapFd(obj: BpfObject, name: string, fd: number): void {
  check(`reuse fd for map ${name}`, f.map_reuse_fd(mapPtr(obj, name), fd));
}

// ---- fds and pins
export function closeFd(fd: number): void { if (fd >= 0) f.close_fd(fd); }
export function pin(fd: number, path: string): void { check(`pin ${path}`, f.obj_pin(fd, path)); }
export function getPinned(path: string): number { return check(`open pinned ${path}`, f.obj_get(path)); }
export function progFdById(id: number): number { return check(`open program id ${id}`, f.prog_by_id(id)); }
export function mapFdById(id: number): number { return check(`open map id ${id}`, f.map_by_id(id)); }
export function linkFdById(id: number): number { return check(`open link id ${id}`, f.link_by_id(id)); }

/** Raw bpf_{prog,map,link}_info bytes of an fd (decode with src/bpf/info.ts). */
export function objInfo(fd: number, size: number): Buffer {
  const buf = Buffer.alloc(size);
  const len = [size];
  check('get object info', f.obj_info(fd, buf, len));
  return buf;
}

// ---- XDP through bpf_link: the link is pinned, so attachment outlives us
// and detaching is unpinning.
export const BPF_XDP = 37;
export const XDP_FLAGS_SKB_MODE = 1 << 1;
export const XDP_FLAGS_DRV_MODE = 1 << 2;

export function xdpLinkCreate(progFd: number, ifindex: number, flags: number): number {
  const opts = { sz: koffi.sizeof(LinkCreateOpts), flags };
  return check(`attach XDP to ifindex ${ifindex}`, f.link_create(progFd, ifindex, BPF_XDP, opts));
}
export function linkUpdate(linkFd: number, progFd: number): void {
  check('update link', f.link_update(linkFd, progFd, { sz: koffi.sizeof(LinkUpdateOpts), flags: 0, old_prog_fd: 0 }));
}
export function linkDetach(linkFd: number): void { check('detach link', f.link_detach(linkFd)); }

// ---- TC through tcx links (6.6+): libbpf 1.1 has no bpf_program__attach_tcx
// and Debian's uapi header predates the attach types, but bpf_link_create
// with them works; the links pin and update like XDP links.
export const BPF_TCX_INGRESS = 46;
export const BPF_TCX_EGRESS = 47;
export const BPF_F_BEFORE = 1 << 3; // with no relative program: first in the chain

export function tcxLinkCreate(progFd: number, ifindex: number, attachType = BPF_TCX_INGRESS, flags = 0): number {
  const opts = { sz: koffi.sizeof(LinkCreateOpts), flags };
  return check(`attach TC (tcx) to ifindex ${ifindex}`, f.link_create(progFd, ifindex, attachType, opts));
}

/** A raw tracepoint link (pinnable; closing its last fd detaches it). */
export function rawTracepointOpen(name: string, progFd: number): number {
  return check(`attach raw tracepoint ${name}`, f.raw_tp_open(name, progFd));
}

/** Program ids attached to a device hook through bpf_prog_query (tcx: in order). */
export function progQuery(ifindex: number, attachType: number): number[] {
  const ids = Buffer.alloc(4 * 64);
  const o = { sz: koffi.sizeof(ProgQueryOpts), query_flags: 0, attach_flags: 0, prog_ids: ids, prog_cnt: 64, prog_attach_flags: null };
  const rc = f.prog_query(ifindex, attachType, o);
  if (rc === -2 || rc === -22) return []; // ENOENT, or EINVAL on kernels without the hook
  check(`query programs on ifindex ${ifindex}`, rc);
  return Array.from({ length: o.prog_cnt }, (_, i) => ids.readUInt32LE(4 * i));
}

export interface XdpQuery { progId: number; drvProgId: number; skbProgId: number; hwProgId: number; mode: number }
export function xdpQuery(ifindex: number): XdpQuery {
  const o = { sz: koffi.sizeof(XdpQueryOpts), prog_id: 0, drv_prog_id: 0, hw_prog_id: 0, skb_prog_id: 0, attach_mode: 0 };
  check(`query XDP on ifindex ${ifindex}`, f.xdp_query(ifindex, 0, o));
  return { progId: o.prog_id, drvProgId: o.drv_prog_id, skbProgId: o.skb_prog_id, hwProgId: o.hw_prog_id, mode: o.attach_mode };
}
export function xdpAttachLegacy(ifindex: number, progFd: number, flags: number): void {
  check(`attach XDP (netlink) to ifindex ${ifindex}`, f.xdp_attach(ifindex, progFd, flags, null));
}
export function xdpDetachLegacy(ifindex: number, flags: number): void {
  check(`detach XDP (netlink) from ifindex ${ifindex}`, f.xdp_detach(ifindex, flags, null));
}

// ---- TC (clsact + cls_bpf direct-action) through libbpf's netlink helpers
export const BPF_TC_INGRESS = 1;
export const BPF_TC_EGRESS = 2;
function tcHook(ifindex: number, point: number) {
  return { sz: koffi.sizeof(TcHook), ifindex, attach_point: point, parent: 0 };
}
/** Creates the clsact qdisc; returns false if it already existed (not ours to remove). */
export function tcHookCreate(ifindex: number): boolean {
  const rc = f.tc_hook_create(tcHook(ifindex, BPF_TC_INGRESS | BPF_TC_EGRESS));
  if (rc === -17) return false; // EEXIST
  check(`create clsact on ifindex ${ifindex}`, rc);
  return true;
}
export function tcHookDestroy(ifindex: number): void {
  check(`remove clsact from ifindex ${ifindex}`, f.tc_hook_destroy(tcHook(ifindex, BPF_TC_INGRESS | BPF_TC_EGRESS)));
}
export interface TcFilter { handle: number; priority: number; progId: number }
export function tcAttach(ifindex: number, point: number, progFd: number, handle = 1, priority = 1): TcFilter {
  const o = { sz: koffi.sizeof(TcOpts), prog_fd: progFd, flags: 0, prog_id: 0, handle, priority };
  check(`attach TC on ifindex ${ifindex}`, f.tc_attach(tcHook(ifindex, point), o));
  return { handle: o.handle, priority: o.priority, progId: o.prog_id };
}
export function tcDetach(ifindex: number, point: number, handle = 1, priority = 1): void {
  const o = { sz: koffi.sizeof(TcOpts), prog_fd: 0, flags: 0, prog_id: 0, handle, priority };
  check(`detach TC on ifindex ${ifindex}`, f.tc_detach(tcHook(ifindex, point), o));
}
/** Program id of our filter at handle/priority, or 0 when there is none. */
export function tcQuery(ifindex: number, point: number, handle = 1, priority = 1): number {
  const o = { sz: koffi.sizeof(TcOpts), prog_fd: 0, flags: 0, prog_id: 0, handle, priority };
  const rc = f.tc_query(tcHook(ifindex, point), o);
  if (rc === -2 || rc === -22) return 0; // ENOENT, or EINVAL when no clsact qdisc
  check(`query TC on ifindex ${ifindex}`, rc);
  return o.prog_id;
}

// ---- maps
export function mapLookup(fd: number, key: Buffer, valueSize: number): Buffer | undefined {
  const v = Buffer.alloc(valueSize);
  const rc = f.lookup(fd, key, v);
  if (rc === -2) return undefined;
  check('map lookup', rc);
  return v;
}
export function mapUpdate(fd: number, key: Buffer, value: Buffer, flags = 0): void {
  check('map update', f.update(fd, key, value, flags));
}
export function mapDelete(fd: number, key: Buffer): boolean {
  const rc = f.del(fd, key);
  if (rc === -2) return false;
  check('map delete', rc);
  return true;
}
export function* mapKeys(fd: number, keySize: number): Generator<Buffer> {
  let prev: Buffer | null = null;
  for (;;) {
    const next = Buffer.alloc(keySize);
    const rc = f.next_key(fd, prev, next);
    if (rc === -2) return;
    check('map iterate', rc);
    yield next;
    prev = next;
  }
}
export function possibleCpus(): number { return check('count possible CPUs', f.possible_cpus()); }

// ---- BTF
/** Raw bytes of the BTF object the kernel holds under this id. */
export function btfRawById(id: number): Buffer {
  const btf = checkPtr(`load BTF id ${id}`, f.btf_load_by_id(id));
  try {
    const size = [0];
    const p = f.btf_raw(btf, size);
    return Buffer.from(koffi.decode(p, koffi.array('uint8_t', size[0])) as number[]);
  } finally {
    f.btf_free(btf);
  }
}

// ---- BPF_PROG_TEST_RUN
export interface TestRunIn { data: Buffer; ctx?: Buffer; ctxOutSize?: number; repeat?: number; dataOutSize?: number; flags?: number }
/** The skb starts CHECKSUM_COMPLETE; the run fails (EBADMSG) unless skb->csum still matches the data after it. */
export const BPF_F_TEST_SKB_CHECKSUM_COMPLETE = 1 << 2;
export interface TestRunOut { retval: number; data: Buffer; ctx?: Buffer; duration: number }
export function testRun(progFd: number, input: TestRunIn): TestRunOut {
  const out = Buffer.alloc(input.dataOutSize ?? input.data.length + 4096);
  const ctxOut = input.ctx ? Buffer.alloc(input.ctxOutSize ?? input.ctx.length) : null;
  const o = {
    sz: koffi.sizeof(TestRunOpts), data_in: input.data, data_out: out,
    data_size_in: input.data.length, data_size_out: out.length,
    ctx_in: input.ctx ?? null, ctx_out: ctxOut, ctx_size_in: input.ctx?.length ?? 0,
    ctx_size_out: ctxOut?.length ?? 0, retval: 0, repeat: input.repeat ?? 1, duration: 0,
    flags: input.flags ?? 0, cpu: 0, batch_size: 0,
  };
  check('test run', f.test_run(progFd, o));
  return {
    retval: o.retval, duration: o.duration,
    data: out.subarray(0, o.data_size_out),
    ctx: ctxOut ? ctxOut.subarray(0, o.ctx_size_out) : undefined,
  };
}

/** Runs a SEC("syscall") program once on ctx, which the program may change
 * (the kernel copies it back into the same buffer). Returns its retval. */
export function syscallRun(progFd: number, ctx: Buffer): number {
  const o = {
    sz: koffi.sizeof(TestRunOpts), data_in: null, data_out: null, data_size_in: 0, data_size_out: 0,
    ctx_in: ctx, ctx_out: null, ctx_size_in: ctx.length, ctx_size_out: 0, retval: 0, repeat: 0, duration: 0, flags: 0, cpu: 0, batch_size: 0,
  };
  check('run syscall program', f.test_run(progFd, o));
  return o.retval;
}

// ---- BPF ring buffer (events from programs to the control plane). Reading
// never blocks: consume() takes what is there and returns, and a running
// reader calls it from a timer, so a daemon's event loop keeps turning.
const SampleFn = named('l2_ring_sample_fn', () => koffi.proto('int l2_ring_sample_fn(void *ctx, void *data, size_t size)'));
const rb = {
  create: lib.func('void *ring_buffer__new(int map_fd, l2_ring_sample_fn *cb, void *ctx, const void *opts)'),
  consume: lib.func('int ring_buffer__consume(void *rb)'),
  free: lib.func('void ring_buffer__free(void *rb)'),
};

export class RingBufferReader {
  private ptr: unknown;
  private cb?: ReturnType<typeof koffi.register>;
  private timer?: NodeJS.Timeout;

  /** `onEvent` gets a copy of each record, in the order the programs wrote them. */
  constructor(mapFd: number, onEvent: (data: Buffer) => void) {
    this.cb = koffi.register((_ctx: unknown, data: unknown, size: number) => {
      onEvent(Buffer.from(koffi.view(data, Number(size))));
      return 0;
    }, koffi.pointer(SampleFn));
    const mark = libbpfLogMark();
    try {
      this.ptr = checkPtr(`open ring buffer (map fd ${mapFd})`, rb.create(mapFd, this.cb, null, null), mark);
    } catch (e) {
      koffi.unregister(this.cb);
      throw e;
    }
  }

  /** Delivers every record waiting now; returns how many. Never waits. */
  consume(): number {
    if (!this.ptr) throw new Error('ring buffer reader is closed');
    return check('consume ring buffer', rb.consume(this.ptr));
  }

  /** Consumes every `intervalMs` on a timer that does not keep the process alive. */
  start(intervalMs = 50): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.consume(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  close(): void {
    this.stop();
    if (this.ptr) rb.free(this.ptr);
    this.ptr = undefined;
    if (this.cb) koffi.unregister(this.cb);
    this.cb = undefined;
  }
}
