// A worker thread that test-runs one program over a list of frames on one
// CPU, in lockstep with a second such thread on another CPU: BPF_PROG_TEST_RUN
// runs a TC program on the calling CPU, so two threads pinned apart run it
// truly at once, and the barrier before every frame makes them take the same
// frame at the same moment. Program fds are per process: the thread uses the
// test's. workerData: { fd, cpu, me (0|1), frames: Buffer[], sync: SharedArrayBuffer }.
// Posts { ret: number[] } (each frame's retval) or { error }.
import { parentPort, workerData } from 'worker_threads';
import * as bpf from '../../src/bpf/libbpf';
import { pinThreadToCpu } from '../../src/bpf/sys';

const { fd, cpu, me, frames, sync } = workerData as { fd: number; cpu: number; me: number; frames: Uint8Array[]; sync: SharedArrayBuffer };
const at = new Int32Array(sync); // at[i]: the frame thread i is about to run
try {
  pinThreadToCpu(cpu);
  const ret: number[] = [];
  const deadline = Date.now() + 60000;
  for (let i = 0; i < frames.length; i++) {
    Atomics.store(at, me, i);
    while (Atomics.load(at, 1 - me) < i) if (Date.now() > deadline) throw new Error(`the other thread stopped before frame ${i}`);
    const data = Buffer.from(frames[i]);
    ret.push(bpf.testRun(fd, { data, dataOutSize: data.length + 256 }).retval);
  }
  Atomics.store(at, me, frames.length); // the other may wait for this one's last frame
  parentPort!.postMessage({ ret });
} catch (e) {
  Atomics.store(at, me, 1 << 30);
  parentPort!.postMessage({ error: String(e) });
}
