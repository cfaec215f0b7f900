// lab/bench-min.ts: puts the least a wire can do (bpf/bench_min.bpf.c)
// between two ports for `make bench`, through the same kind of links l2bpf
// uses, pinned so they outlive this process.
//   node dist/lab/bench-min.js attach xdp|tc NETNS PORT1 PORT2 PIN_DIR
//   node dist/lab/bench-min.js detach PIN_DIR
// xdp: native XDP links, devmap redirect; tc: tcx ingress links, bpf_redirect.
import fs from 'fs';
import path from 'path';
import * as bpf from '../src/bpf/libbpf';
import { ifIndex, inNetns } from '../src/bpf/sys';

const OBJ = process.env.BENCH_MIN_OBJ ?? path.resolve(__dirname, '../../build/bench_min.bpf.o');
const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };

function attach(hook: string, netns: string, ports: string[], dir: string): void {
  if (hook !== 'xdp' && hook !== 'tc') throw new Error(`hook must be xdp or tc, not '${hook}'`);
  const obj = bpf.openObject(OBJ);
  bpf.loadObject(obj);
  const prog = bpf.programFd(obj, hook === 'xdp' ? 'bench_min_xdp' : 'bench_min_tc');
  const map = bpf.mapFd(obj, hook === 'xdp' ? 'bench_devmap' : 'bench_peer');
  fs.mkdirSync(dir, { recursive: true });
  // devmap entries resolve their ifindex in the caller's namespace: fill inside it
  inNetns(netns, () => {
    const idx = ports.map((p) => { const i = ifIndex(p); if (!i) throw new Error(`no port ${p} in ${netns}`); return i; });
    bpf.mapUpdate(map, u32(idx[0]), u32(idx[1]));
    bpf.mapUpdate(map, u32(idx[1]), u32(idx[0]));
    idx.forEach((i, n) => {
      const link = hook === 'xdp' ? bpf.xdpLinkCreate(prog, i, bpf.XDP_FLAGS_DRV_MODE) : bpf.tcxLinkCreate(prog, i);
      bpf.pin(link, path.join(dir, `${hook}_${ports[n]}`));
      bpf.closeFd(link);
    });
  });
  bpf.closeObject(obj);
}

function detach(dir: string): void {
  if (fs.existsSync(dir)) fs.rmSync(dir, { recursive: true, force: true }); // unpinning a link detaches it
}

const [cmd, ...args] = process.argv.slice(2);
try {
  if (cmd === 'attach' && args.length === 5) attach(args[0], args[1], [args[2], args[3]], args[4]);
  else if (cmd === 'detach' && args.length === 1) detach(args[0]);
  else { process.stderr.write('usage: bench-min attach xdp|tc NETNS PORT1 PORT2 PIN_DIR | detach PIN_DIR\n'); process.exit(2); }
} catch (e) {
  process.stderr.write(`bench-min: ${(e as Error).message}\n`);
  process.exit(1);
}
