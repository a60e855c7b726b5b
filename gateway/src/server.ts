/**
 * The gateway process: read the configuration, check the services, build the app, listen,
 * and close gracefully on SIGTERM (stop accepting, finish in-flight requests, hand the
 * admission lead over, close pools).
 */
import { requireService } from '@velvet-rope/contracts';
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
      requireService(
        'Redis',
        config.redisClusterNodes ? `redis://${config.redisClusterNodes[0]!.host}:${config.redisClusterNodes[0]!.port}` : config.redisUrl,
        6379,
      ),
      requireService('RabbitMQ', config.amqpUrl, 5672),
    ]);
  } catch (err) {
    process.stderr.write(`velvet-rope gateway: ${(err as Error).message}\n`);
    process.exit(1);
  }

  const app = await buildApp(config);
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      app.log.error('graceful shutdown took too long; exiting');
      process.exit(1);
    }, 15_000);
    force.unref();
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        app.log.error({ err }, 'error while closing');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  const address = await app.listen({ port: config.port, host: config.host });
  app.log.info({ address }, 'gateway listening');
}

main().catch((err: unknown) => {
  process.stderr.write(`velvet-rope gateway failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
