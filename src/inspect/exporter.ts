// `l2bpf exporter`: serves /metrics (Prometheus text) for every instance,
// read fresh at each scrape. Stops cleanly on SIGTERM/SIGINT.
import http from 'http';
import { toPrometheus } from './prometheus';
import { Stats } from './stats';

export interface Exporter { server: http.Server; address: string; close(): Promise<void> }

/** Listens on host:port; `collect` gives the stats of every instance. */
export function startExporter(listen: string, collect: () => Stats[]): Promise<Exporter> {
  const m = listen.match(/^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/);
  if (!m) throw new Error(`--listen wants ADDR:PORT (e.g. 127.0.0.1:9431), not '${listen}'`);
  const host = m[1] ?? (m[2] || '0.0.0.0'), port = Number(m[3]);
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('l2bpf exporter: metrics are at /metrics\n');
      return;
    }
    try {
      const body = toPrometheus(collect());
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`l2bpf exporter: ${(e as Error).message}\n`);
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const a = server.address();
      const address = typeof a === 'object' && a ? `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : listen;
      resolve({ server, address, close: () => new Promise((r) => { server.close(() => r()); server.closeAllConnections(); }) });
    });
  });
}
