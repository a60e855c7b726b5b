/**
 * The order worker process: a thin shell. Reads and validates the configuration, checks
 * that PostgreSQL, Redis and RabbitMQ answer (naming the one that does not), prepares the
 * database, starts the worker, and stops it gracefully on SIGTERM/SIGINT.
 */
import { pino } from 'pino';
import { createRedisClient, installProcessPolicy, prepareDatabase, redactUrl, redisAddress, requireService } from '@velvet-rope/contracts';
import { ConfigError, loadConfig, type WorkerConfig } from './config.js';
import { OrderWorker } from './worker.js';

let config: WorkerConfig;
try {
  config = loadConfig(process.env);
} catch (err) {
  // before the logger exists (its level is configuration too): plain words on stderr
  const what = err instanceof ConfigError ? `invalid configuration: ${err.message}` : String(err);
  process.stderr.write(`order-worker: ${what}\n`);
  process.exit(1);
}

const logger = pino({ name: 'order-worker', level: config.logLevel });

try {
  await Promise.all([
    requireService('PostgreSQL', config.databaseUrl, 5432),
    requireService(
      'Redis',
      config.redisClusterNodes ? `redis://${config.redisClusterNodes[0]!.host}:${config.redisClusterNodes[0]!.port}` : config.redisUrl,
      6379,
    ),
    requireService('RabbitMQ', config.amqpUrl, config.amqpUrl.startsWith('amqps:') ? 5671 : 5672),
  ]);
} catch (err) {
  logger.fatal({ err }, (err as Error).message);
  process.exit(1);
}

const pool = await prepareDatabase(config.databaseUrl).catch((err: unknown) => {
  logger.fatal({ err, database: redactUrl(config.databaseUrl) }, 'preparing the database failed');
  process.exit(1);
});

// Fail fast instead of queueing while Redis is away: the worker only logs a failed
// confirmation (the outbox makes up for it) and must not stall its batches behind Redis.
const redis = createRedisClient({ url: config.redisUrl, clusterNodes: config.redisClusterNodes }, { commandTimeout: 2_000 });
redis.on('error', (err: Error) => logger.warn({ err }, 'Redis connection error'));
await redis.connect().catch((err: unknown) => {
  logger.fatal(
    { err, redis: redactUrl(redisAddress({ url: config.redisUrl, clusterNodes: config.redisClusterNodes })) },
    'connecting to Redis failed',
  );
  process.exit(1);
});

const worker = new OrderWorker(config, pool, redis, logger.child({ component: 'worker' }), { defaultMetrics: true });
await worker.start().catch((err: unknown) => {
  logger.fatal({ err, amqp: redactUrl(config.amqpUrl) }, 'connecting to RabbitMQ failed');
  process.exit(1);
});
logger.info(
  { queue: config.ordersQueue, batchMax: config.batchMax, batchMs: config.batchMs, commitsInFlight: config.commitsInFlight },
  'order-worker ready',
);

// an unhandled rejection is logged and counted, and the worker serves on; an uncaught
// exception closes it (bounded) and exits 1 for the supervisor (docs/operations.md)
installProcessPolicy({
  logger,
  rejections: worker.metrics.unhandledRejections,
  close: () => worker.stop().then(() => Promise.allSettled([pool.end(), redis.quit()])),
});

let shuttingDown = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (shuttingDown) {
    logger.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  shuttingDown = true;
  logger.info({ signal }, 'stopping');
  try {
    await worker.stop();
    await Promise.allSettled([pool.end(), redis.quit()]);
    logger.info('order-worker stopped');
    process.exit(0);
  } catch (err) {
    logger.error({ err }, 'stopping failed');
    process.exit(1);
  }
}
process.on('SIGTERM', (signal) => void shutdown(signal));
process.on('SIGINT', (signal) => void shutdown(signal));
