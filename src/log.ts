// Progress and diagnostics go to stderr, so stdout stays clean for --json.
type Level = 'error' | 'warn' | 'info' | 'debug' | 'trace';
const order: Level[] = ['error', 'warn', 'info', 'debug', 'trace'];
let threshold = order.indexOf((process.env.L2BPF_LOG as Level) ?? 'info');
if (threshold < 0) threshold = 2;

function emit(level: Level, msg: string): void {
  if (order.indexOf(level) > threshold) return;
  const tag = level === 'info' ? '' : `${level}: `;
  process.stderr.write(`${tag}${msg}\n`);
}

export const log = {
  setLevel(level: Level): void { threshold = order.indexOf(level); },
  error: (m: string) => emit('error', m),
  warn: (m: string) => emit('warn', m),
  info: (m: string) => emit('info', m),
  debug: (m: string) => emit('debug', m),
  trace: (m: string) => emit('trace', m),
};
