// The koffi struct layouts in src/bpf/libbpf.ts and the info offsets in
// src/bpf/info.ts must match the C headers they mirror: compile a probe with
// the system compiler against the installed libbpf and uapi headers.
import { execFileSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import koffi from 'koffi';
import * as lb from '../../src/bpf/libbpf';
import { LINK_INFO, MAP_INFO, PROG_INFO } from '../../src/bpf/info';
import { SKB } from '../helpers/wire';

const structs: Array<[string, unknown, string[]]> = [
  ['bpf_object_open_opts', lb.ObjectOpenOpts, ['object_name', 'relaxed_maps', 'pin_root_path', 'kconfig', 'btf_custom_path', 'kernel_log_buf', 'kernel_log_size', 'kernel_log_level']],
  ['bpf_xdp_query_opts', lb.XdpQueryOpts, ['prog_id', 'drv_prog_id', 'hw_prog_id', 'skb_prog_id', 'attach_mode']],
  ['bpf_xdp_attach_opts', lb.XdpAttachOpts, ['old_prog_fd']],
  ['bpf_link_create_opts', lb.LinkCreateOpts, ['flags', 'iter_info', 'iter_info_len', 'target_btf_id']],
  ['bpf_link_update_opts', lb.LinkUpdateOpts, ['flags', 'old_prog_fd']],
  ['bpf_test_run_opts', lb.TestRunOpts, ['data_in', 'data_out', 'data_size_in', 'data_size_out', 'ctx_in', 'ctx_out', 'ctx_size_in', 'ctx_size_out', 'retval', 'repeat', 'duration', 'flags', 'cpu', 'batch_size']],
  ['bpf_prog_query_opts', lb.ProgQueryOpts, ['query_flags', 'attach_flags', 'prog_ids', 'prog_cnt', 'prog_attach_flags']],
  ['bpf_tc_hook', lb.TcHook, ['ifindex', 'attach_point', 'parent']],
  ['bpf_tc_opts', lb.TcOpts, ['prog_fd', 'flags', 'prog_id', 'handle', 'priority']],
];
const infos: Array<[string, Record<string, number>, Record<string, string>]> = [
  ['bpf_map_info', MAP_INFO, { type: 'type', id: 'id', key_size: 'key_size', value_size: 'value_size', max_entries: 'max_entries', map_flags: 'map_flags', name: 'name', btf_id: 'btf_id', btf_key_type_id: 'btf_key_type_id', btf_value_type_id: 'btf_value_type_id' }],
  ['bpf_prog_info', PROG_INFO, { type: 'type', id: 'id', tag: 'tag', load_time: 'load_time', name: 'name' }],
  ['bpf_link_info', LINK_INFO, { type: 'type', id: 'id', prog_id: 'prog_id', xdp_ifindex: 'xdp.ifindex' }],
  // the test-run context the TC program tests build (test/helpers/wire.ts)
  ['__sk_buff', SKB, { ingress_ifindex: 'ingress_ifindex', ifindex: 'ifindex', gso_segs: 'gso_segs', gso_size: 'gso_size' }],
];

function cLayout(): Record<string, number> {
  const lines: string[] = [];
  for (const [name, , fields] of structs) {
    lines.push(`P("${name}", sizeof(struct ${name}));`);
    for (const f of fields) lines.push(`P("${name}.${f}", offsetof(struct ${name}, ${f}));`);
  }
  for (const [name, , fields] of infos) for (const [k, f] of Object.entries(fields)) lines.push(`P("${name}.${k}", offsetof(struct ${name}, ${f}));`);
  lines.push('P("__sk_buff.size", sizeof(struct __sk_buff));');
  const src = `#include <stdio.h>\n#include <stddef.h>\n#include <bpf/libbpf.h>\n#include <bpf/bpf.h>\n#define P(n, v) printf("%s %zu\\n", n, (size_t)(v))\nint main(void) {\n${lines.join('\n')}\nreturn 0; }\n`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l2bpf-layout-'));
  try {
    fs.writeFileSync(path.join(dir, 'probe.c'), src);
    execFileSync('cc', ['-o', path.join(dir, 'probe'), path.join(dir, 'probe.c')]);
    const out = execFileSync(path.join(dir, 'probe'), { encoding: 'utf8' });
    return Object.fromEntries(out.trim().split('\n').map((l) => { const [k, v] = l.split(' '); return [k, Number(v)]; }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('native layouts match the C headers', () => {
  const c = cLayout();
  test.each(structs)('%s', (name, type, fields) => {
    expect(koffi.sizeof(type as Parameters<typeof koffi.sizeof>[0])).toBe(c[name]);
    for (const f of fields) expect([f, koffi.offsetof(type as Parameters<typeof koffi.offsetof>[0], f)]).toEqual([f, c[`${name}.${f}`]]);
  });
  test.each(infos)('%s offsets', (name, ours, fields) => {
    for (const k of Object.keys(fields)) expect([k, ours[k]]).toEqual([k, c[`${name}.${k}`]]);
  });
  test('__sk_buff size', () => expect(SKB.size).toBe(c['__sk_buff.size']));
});
