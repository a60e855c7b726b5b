/**
 * The worker's Prometheus metrics, on a registry of its own (a test can run several workers
 * in one process without their metrics colliding).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type OrderOutcome = 'confirmed' | 'rejected' | 'duplicate' | 'deadlettered';

export interface WorkerMetrics {
  readonly registry: Registry;
  /** orders settled, by outcome (a duplicate counts as duplicate only) */
  readonly orders: Counter<'outcome'>;
  readonly batchSize: Histogram;
  readonly commitSeconds: Histogram;
  /** failed commit attempts that the worker retries (PostgreSQL away, deadlock, ...) */
  readonly commitRetries: Counter;
  /** batch loops committing now: one at a steady pace, up to COMMITS_IN_FLIGHT while full batches wait */
  readonly commitsInFlight: Gauge;
  /** orders received from RabbitMQ and not yet taken into a batch (at most PREFETCH messages' worth) */
  readonly bufferedOrders: Gauge;
  /** confirm-orders calls to Redis that failed (the outbox re-publishes; harmless) */
  readonly redisConfirmErrors: Counter;
  readonly amqpReconnects: Counter;
  /** promises that failed with nobody awaiting them: bugs, logged; the worker serves on */
  readonly unhandledRejections: Counter;
  // --- telling the shop (issue 14) ---
  /** events dispatched (published to the exchange and fanned out to the endpoints), by type */
  readonly shopEvents: Counter<'type'>;
  /** webhook delivery attempts by outcome: delivered, retried (failed, will retry), failed (given up) */
  readonly webhookDeliveries: Counter<'outcome'>;
  readonly webhookDeliverySeconds: Histogram;
  /** deliveries pending now (due or waiting for their retry) */
  readonly webhookDeliveriesDue: Gauge;
  /** orders this worker cancelled, by reason (the worker's is payment_timeout) */
  readonly ordersCancelled: Counter<'reason'>;
  /** units of cancelled orders this worker put back in Redis */
  readonly unitsReturned: Counter;
}

export function createWorkerMetrics(opts: { defaultMetrics?: boolean } = {}): WorkerMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'order_worker_' });
  const registers = [registry];
  return {
    registry,
    orders: new Counter({
      name: 'order_worker_orders_total',
      help: 'Orders settled, by outcome',
      labelNames: ['outcome'],
      registers,
    }),
    batchSize: new Histogram({
      name: 'order_worker_batch_size',
      help: 'Messages per committed batch',
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500],
      registers,
    }),
    commitSeconds: new Histogram({
      name: 'order_worker_commit_seconds',
      help: 'Duration of a successful batch commit to PostgreSQL',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    commitsInFlight: new Gauge({
      name: 'order_worker_commits_in_flight',
      help: 'Batch loops committing now (grows to COMMITS_IN_FLIGHT while full batches wait, back to 0 when idle)',
      registers,
    }),
    bufferedOrders: new Gauge({
      name: 'order_worker_buffered_orders',
      help: 'Orders received and not yet taken into a batch',
      registers,
    }),
    commitRetries: new Counter({
      name: 'order_worker_commit_retries_total',
      help: 'Failed batch commits that will be retried',
      registers,
    }),
    redisConfirmErrors: new Counter({
      name: 'order_worker_redis_confirm_errors_total',
      help: 'Failed confirm-orders calls to Redis',
      registers,
    }),
    amqpReconnects: new Counter({
      name: 'order_worker_amqp_reconnects_total',
      help: 'Reconnections to RabbitMQ after a lost connection',
      registers,
    }),
    unhandledRejections: new Counter({
      name: 'order_worker_unhandled_rejections_total',
      help: 'Promise rejections nobody handled (each a bug, logged with its stack; the worker serves on)',
      registers,
    }),
    shopEvents: new Counter({
      name: 'vr_shop_events_total',
      help: "Shop events dispatched (published to the events exchange and fanned out to the shop's endpoints), by type",
      labelNames: ['type'],
      registers,
    }),
    webhookDeliveries: new Counter({
      name: 'vr_webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome (delivered, retried: failed and retried later, failed: given up)',
      labelNames: ['outcome'],
      registers,
    }),
    webhookDeliverySeconds: new Histogram({
      name: 'vr_webhook_delivery_seconds',
      help: 'Duration of one webhook delivery attempt, whatever its outcome',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    webhookDeliveriesDue: new Gauge({
      name: 'vr_webhook_deliveries_due',
      help: 'Webhook deliveries pending now (due, or waiting for their retry), as this worker last counted',
      registers,
    }),
    ordersCancelled: new Counter({
      name: 'vr_orders_cancelled_total',
      help: 'Orders this worker cancelled, by reason',
      labelNames: ['reason'],
      registers,
    }),
    unitsReturned: new Counter({
      name: 'vr_units_returned_total',
      help: 'Units of cancelled orders this worker put back on sale in Redis',
      registers,
    }),
  };
}
