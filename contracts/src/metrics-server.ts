/**
 * A bare `GET /metrics` endpoint on a port of its own, for every service: metrics list sale
 * ids, live stock and descriptor counts, so they are served apart from the public port and
 * left for Prometheus to reach on the private network.
 */
import { createServer, type Server } from 'node:http';

/** what the endpoint needs of a prom-client Registry */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

export function serveMetrics(
  registry: MetricsSource,
  port: number,
  logger: { error(obj: object, msg: string): void },
  host?: string,
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: unknown) => {
        logger.error({ err }, 'collecting metrics failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error\n');
      },
    );
  });
  // a scrape that never finishes its headers is not kept
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const listening = () => {
      server.off('error', reject);
      // an accept that fails later (EMFILE) must not end the process
      server.on('error', (err: Error) => logger.error({ err }, 'metrics listener error'));
      resolve(server);
    };
    if (host === undefined) server.listen(port, listening);
    else server.listen(port, host, listening);
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
