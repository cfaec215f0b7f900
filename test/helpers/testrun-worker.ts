// A child process that test-runs one pinned program over a file of frames, so
// that two of them pinned to different CPUs (taskset) run it at the same time:
// BPF_PROG_TEST_RUN runs a TC program on the calling CPU, and only another
// process on another CPU makes the two runs truly concurrent.
//   node testrun-worker.js PINNED_PROG FRAMES_FILE
// FRAMES_FILE holds frames as u32-LE length + bytes. The worker prints
// "ready", waits for a line on stdin, runs every frame once and prints a JSON
// array: the retval of each frame, indexed as in the file.
import fs from 'fs';
import * as bpf from '../../src/bpf/libbpf';

const [progPath, framesPath] = process.argv.slice(2);
const raw = fs.readFileSync(framesPath);
const frames: Buffer[] = [];
for (let off = 0; off < raw.length;) {
  const n = raw.readUInt32LE(off);
  frames.push(raw.subarray(off + 4, off + 4 + n));
  off += 4 + n;
}
const fd = bpf.getPinned(progPath);
process.stdout.write('ready\n');
process.stdin.once('data', () => {
  const ret: number[] = new Array(frames.length);
  for (let i = 0; i < frames.length; i++) ret[i] = bpf.testRun(fd, { data: frames[i], dataOutSize: frames[i].length + 256 }).retval;
  process.stdout.write(JSON.stringify(ret) + '\n');
  process.exit(0);
});
