/**
 * The gateway process: read the configuration, check the services, build the app, listen,
 * and close gracefully on SIGTERM (stop accepting, finish in-flight requests, hand the
 * admission lead over, close pools).
 */
import type { Server } from 'node:http';
import {
  closeServer,
  installProcessPolicy,
  stopOnRequest,
  redisProbeUrl,
  requireAnyService,
  requireService,
  serveMetrics,
} from '@velvet-rope/contracts';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`velvet-rope gateway: bad configuration: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  try {
    await Promise.all([
      requireService('PostgreSQL', config.databaseUrl, 5432),
      requireService('Redis', redisProbeUrl(config.redisTarget), config.redisTarget.sentinels ? 26379 : 6379),
      requireAnyService('RabbitMQ', config.amqpUrls, (url) => (url.startsWith('amqps:') ? 5671 : 5672)),
    ]);
  } catch (err) {
    process.stderr.write(`velvet-rope gateway: ${(err as Error).message}\n`);
    process.exit(1);
  }

  const app = await buildApp(config);
  let metricsServer: Server | undefined;
  const close = async () => {
    await app.close();
    if (metricsServer) await closeServer(metricsServer);
  };
  // an unhandled rejection is logged and counted, and the gateway serves on; an uncaught
  // exception closes it (bounded) and exits 1 for the supervisor to restart (docs/operations.md)
  installProcessPolicy({ logger: app.log, rejections: app.metrics.unhandledRejections, close });

  // SIGTERM, Ctrl-C, or `npm start` (its IPC channel) gone: drain once, exit 0
  stopOnRequest({ logger: app.log, stop: close, timeoutMs: 15_000, stoppingMessage: 'shutting down' });

  const address = await app.listen({ port: config.port, host: config.host });
  app.log.info({ address, maxConnections: config.http.maxConnections }, 'gateway listening');
  if (config.metricsPort !== undefined) {
    metricsServer = await serveMetrics(app.metrics.registry, config.metricsPort, app.log, config.host);
    app.log.info({ port: config.metricsPort }, 'metrics served at /metrics');
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`velvet-rope gateway failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
