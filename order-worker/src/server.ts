/**
 * The order worker process: a thin shell. Reads and validates the configuration, checks
 * that PostgreSQL, Redis and RabbitMQ answer (naming the one that does not), prepares the
 * database, starts the worker, and stops it gracefully on SIGTERM/SIGINT.
 */
import pg from 'pg';
import { pino } from 'pino';
import {
  createRedisClient,
  installProcessPolicy,
  prepareDatabase,
  redactUrl,
  redisAddress,
  redisProbeUrl,
  requireAnyService,
  requireService,
  stopOnRequest,
} from '@velvet-rope/contracts';
import { ConfigError, loadConfig, type WorkerConfig } from './config.js';
import { ShopHandOff } from './shop/shop-hand-off.js';
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
    requireService('Redis', redisProbeUrl(config.redisTarget), config.redisTarget.sentinels ? 26379 : 6379),
    requireAnyService('RabbitMQ', config.amqpUrls, (url) => (url.startsWith('amqps:') ? 5671 : 5672)),
  ]);
} catch (err) {
  logger.fatal({ err }, (err as Error).message);
  process.exit(1);
}

const pool = await prepareDatabase(config.databaseUrl, config.pgPoolMax).catch((err: unknown) => {
  logger.fatal({ err, database: redactUrl(config.databaseUrl) }, 'preparing the database failed');
  process.exit(1);
});

// Fail fast instead of queueing while Redis is away: the worker only logs a failed
// confirmation (the outbox makes up for it) and must not stall its batches behind Redis.
const redis = createRedisClient(config.redisTarget, { commandTimeout: 2_000 });
redis.on('error', (err: Error) => logger.warn({ err }, 'Redis connection error'));
await redis.connect().catch((err: unknown) => {
  logger.fatal({ err, redis: redisAddress(config.redisTarget) }, 'connecting to Redis failed');
  process.exit(1);
});

const worker = new OrderWorker(config, pool, redis, logger.child({ component: 'worker' }), { defaultMetrics: true });
await worker.start().catch((err: unknown) => {
  logger.fatal({ err, amqp: config.amqpUrls.map(redactUrl) }, 'connecting to RabbitMQ failed');
  process.exit(1);
});
// telling the shop: on a pool of its own, so it never takes a connection a commit waits for
const shopPool = new pg.Pool({ connectionString: config.databaseUrl, max: 4 });
shopPool.on('error', (err) => logger.warn({ err }, 'idle PostgreSQL connection lost (shop hand-off)'));
const shop = new ShopHandOff(config, shopPool, redis, worker.metrics, logger.child({ component: 'shop' }), {
  commitsSaturated: () => worker.commitsSaturated,
});
await shop.start().catch((err: unknown) => {
  logger.fatal({ err, amqp: config.amqpUrls.map(redactUrl) }, 'connecting to RabbitMQ failed (events exchange)');
  process.exit(1);
});
logger.info(
  {
    queue: config.ordersQueue,
    batchMax: config.batchMax,
    batchMs: config.batchMs,
    commitsInFlight: config.commitsInFlight,
    eventsExchange: config.shop.eventsExchange,
  },
  'order-worker ready',
);

async function stopAll(): Promise<void> {
  await Promise.all([worker.stop(), shop.stop()]);
  await Promise.allSettled([pool.end(), shopPool.end(), redis.quit()]);
}

// an unhandled rejection is logged and counted, and the worker serves on; an uncaught
// exception closes it (bounded) and exits 1 for the supervisor (docs/operations.md)
installProcessPolicy({
  logger,
  rejections: worker.metrics.unhandledRejections,
  close: stopAll,
});

// SIGTERM, Ctrl-C, or `npm start` (its IPC channel) gone: drain once; a second signal exits at once
stopOnRequest({ logger, stop: stopAll, secondSignalExits: true, stoppingMessage: 'stopping', stoppedMessage: 'order-worker stopped' });
