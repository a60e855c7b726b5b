import fp from 'fastify-plugin';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AdmissionTick } from '../admission/admission-loop.js';
import type { ReadPool, ReadPoolEvents } from '../postgres/read-pool.js';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: GatewayMetrics;
  }
}

export interface GatewayMetrics {
  readonly registry: Registry;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly purchases: Counter<'outcome'>;
  /** the shop's paid and cancel calls: `changed` (the order moved), `repeated`, or the refusal code */
  readonly shopSettlements: Counter<'action' | 'outcome'>;
  readonly publishConfirm: Histogram<'result'>;
  /** joins and status requests sent to Redis in one script call */
  readonly queueBatch: Histogram;
  /** promises that failed with nobody awaiting them: bugs, logged; the gateway serves on */
  readonly unhandledRejections: Counter;
  /** messages on a sale's events channel that are not a valid order event (dropped) */
  readonly malformedSaleEvents: Counter;
  /** the leader's figures after each tick of a sale */
  observeTick(tick: AdmissionTick): void;
  /** this gateway took or lost the lead of a sale */
  leadership(saleId: string, leading: boolean): void;
  /** what reads the live socket count */
  socketConnections(read: () => number): void;
  /** the read pool's reads, fallbacks and replicas going down (postgres/read-pool.ts) */
  readonly reads: ReadPoolEvents;
  /** what the replicas' up gauge and lag gauge read (postgres plugin) */
  replicas(pool: Pick<ReadPool, 'status' | 'lag'>): void;
}

/**
 * Prometheus metrics on a registry of this app's own (several apps can live in one test
 * process). HTTP latency is labelled by route pattern, never by raw URL. GET /metrics is
 * served apart from the public port (METRICS_PORT), unless METRICS_ON_PUBLIC_PORT opts in.
 */
export default fp(
  async (app) => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'vr_gateway_' });
    const httpDuration = new Histogram({
      name: 'vr_http_request_duration_seconds',
      help: 'HTTP request latency by route',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    const purchases = new Counter({
      name: 'vr_purchases_total',
      help: 'purchase answers by outcome (accepted, repeated, or the error code)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    });
    const shopSettlements = new Counter({
      name: 'vr_shop_settlements_total',
      help: "the shop's paid and cancel calls by outcome (changed, repeated, or the refusal code)",
      labelNames: ['action', 'outcome'] as const,
      registers: [registry],
    });
    const publishConfirm = new Histogram({
      name: 'vr_publish_confirm_duration_seconds',
      help: 'time from publishing an order to the broker confirm (or refusal)',
      labelNames: ['result'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    const queueBatch = new Histogram({
      name: 'vr_queue_batch_size',
      help: 'joins and status requests sent to Redis together in one script call',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers: [registry],
    });
    const unhandledRejections = new Counter({
      name: 'vr_unhandled_rejections_total',
      help: 'promise rejections nobody handled (each a bug, logged with its stack; the gateway serves on)',
      registers: [registry],
    });
    const malformedSaleEvents = new Counter({
      name: 'vr_sale_events_malformed_total',
      help: 'messages on a sale events channel that were not a valid order event: dropped, never sent to a page',
      registers: [registry],
    });
    // per-sale figures: only the sale's leader reports them, so a sum or max over gateways is
    // the sale's value; a gateway that loses the lead drops its series
    const gauge = (name: string, help: string) => new Gauge({ name, help, labelNames: ['sale'] as const, registers: [registry] });
    const waiting = gauge('vr_queue_waiting', 'shoppers waiting in the queue');
    const active = gauge('vr_admitted_active', 'shoppers admitted and inside their checkout window');
    const remaining = gauge('vr_stock_remaining', 'units still reservable');
    const effectiveRate = gauge('vr_admission_rate_per_minute', 'the admission rate in force (the marketer’s, or the closed loop’s)');
    const admissions = new Counter({
      name: 'vr_admissions_total',
      help: 'shoppers admitted (counted by the leader only)',
      labelNames: ['sale'] as const,
      registers: [registry],
    });
    const admittedPerTick = new Histogram({
      name: 'vr_admissions_per_tick',
      help: 'shoppers admitted in one tick',
      buckets: [0, 1, 2, 5, 10, 25, 50, 100, 250, 1000],
      registers: [registry],
    });
    const leaderChanges = new Counter({
      name: 'vr_admission_leader_changes_total',
      help: 'times this gateway took or lost the admission lead of a sale',
      labelNames: ['change'] as const,
      registers: [registry],
    });
    const leading = new Gauge({ name: 'vr_admission_leading', help: 'sales this gateway leads', registers: [registry] });
    let readSockets: () => number = () => 0;
    new Gauge({
      name: 'vr_socketio_connections',
      help: 'socket.io connections on this gateway',
      registers: [registry],
      collect() {
        this.set(readSockets());
      },
    });
    new Gauge({
      name: 'vr_rabbitmq_publishing_blocked',
      help: '1 while RabbitMQ blocks this gateway from publishing orders (a memory or disk alarm): purchases answer 503, admission pauses',
      registers: [registry],
      collect() {
        // the publisher is decorated after this plugin (it observes confirms here)
        this.set(app.hasDecorator('publisher') && app.publisher.blocked !== undefined ? 1 : 0);
      },
    });
    const ledSales = new Set<string>();
    // PostgreSQL read replicas (DATABASE_READ_URL): counted only when some are configured
    const pgReads = new Counter({
      name: 'vr_pg_reads_total',
      help: 'reads that may be a little behind (order look-ups, stats, reports, audit export), by who served them: replica or primary',
      labelNames: ['served_by'] as const,
      registers: [registry],
    });
    const pgReadFallbacks = new Counter({
      name: 'vr_pg_read_fallbacks_total',
      help: 'such reads sent on to the primary: the replica failed (error), or found nothing the primary might have (not_found)',
      labelNames: ['reason'] as const,
      registers: [registry],
    });
    const replicaMarkedDown = new Counter({
      name: 'vr_pg_replica_marked_down_total',
      help: 'times a read replica was left alone for a backoff after an error',
      labelNames: ['replica'] as const,
      registers: [registry],
    });
    let readPool: Pick<ReadPool, 'status' | 'lag'> | undefined;
    new Gauge({
      name: 'vr_pg_replica_up',
      help: '1 while this gateway sends reads to the replica, 0 while it is left alone after an error',
      labelNames: ['replica'] as const,
      registers: [registry],
      collect() {
        for (const r of readPool?.status() ?? []) this.set({ replica: r.name }, r.up ? 1 : 0);
      },
    });
    new Gauge({
      name: 'vr_pg_replica_lag_seconds',
      help: "how far the replica's replay is behind the WAL it received (0: caught up); absent while it is down",
      labelNames: ['replica'] as const,
      registers: [registry],
      async collect() {
        for (const r of (await readPool?.lag()) ?? []) {
          if (r.seconds === undefined) this.remove({ replica: r.name });
          else this.set({ replica: r.name }, r.seconds);
        }
      },
    });
    const reads: ReadPoolEvents = {
      served: (by) => pgReads.inc({ served_by: by }),
      fallback: (reason) => pgReadFallbacks.inc({ reason }),
      replica(name, change, err) {
        if (change === 'down') {
          replicaMarkedDown.inc({ replica: name });
          app.log.warn({ replica: name, err: err?.message }, 'PostgreSQL read replica failed: reads go to the primary for a while');
        } else app.log.info({ replica: name }, 'PostgreSQL read replica answers again');
      },
    };

    app.decorate('metrics', {
      registry,
      httpDuration,
      purchases,
      shopSettlements,
      publishConfirm,
      queueBatch,
      unhandledRejections,
      malformedSaleEvents,
      observeTick(tick: AdmissionTick) {
        const sale = { sale: tick.saleId };
        waiting.set(sale, tick.waiting);
        active.set(sale, tick.active);
        remaining.set(sale, tick.remaining);
        effectiveRate.set(sale, tick.ratePerMinute);
        admissions.inc(sale, tick.admissions.length);
        admittedPerTick.observe(tick.admissions.length);
      },
      leadership(saleId: string, isLeader: boolean) {
        leaderChanges.inc({ change: isLeader ? 'taken' : 'lost' });
        if (isLeader) ledSales.add(saleId);
        else {
          ledSales.delete(saleId);
          for (const g of [waiting, active, remaining, effectiveRate]) g.remove({ sale: saleId });
        }
        leading.set(ledSales.size);
      },
      socketConnections(read: () => number) {
        readSockets = read;
      },
      reads,
      replicas(pool) {
        readPool = pool;
      },
    });

    app.addHook('onResponse', (req, reply, done) => {
      const route = req.routeOptions.url ?? 'unmatched';
      httpDuration.observe({ method: req.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
      if (route === '/api/sales/:saleId/purchases') {
        const outcome = reply.statusCode === 202 ? 'accepted' : reply.statusCode === 200 ? 'repeated' : String(reply.statusCode);
        purchases.inc({ outcome });
      }
      done();
    });
  },
  { name: 'metrics', dependencies: ['config'] },
);
