import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import fp from 'fastify-plugin';
import { AdmissionLoop } from '../admission/admission-loop.js';
import { ClosedLoopController } from '../admission/closed-loop-controller.js';
import { Reconciler } from '../purchase/reconciler.js';
import { RedisRecovery } from '../admission/recovery.js';
import { RedisCommands } from '../redis/commands.js';
import { ReportRecorder } from '../report/report-recorder.js';
import { SaleRetirer } from '../sales/retirement.js';

declare module 'fastify' {
  interface FastifyInstance {
    admissionLoop: AdmissionLoop;
    retirer: SaleRetirer;
  }
}

export interface AdmissionPluginOptions {
  /** false: build the loop but do not start it (tests drive ticks by hand) */
  readonly autostart?: boolean;
}

/**
 * The admission loop and the outbox reconciler, led per sale by one gateway at a time; and
 * the retirer, which takes finished sales out of Redis (sales/retirement.ts).
 */
export default fp<AdmissionPluginOptions>(
  async (app, opts) => {
    const ownerId = `${hostname()}:${process.pid}:${randomBytes(6).toString('hex')}`;
    const reconciler = new Reconciler(app.redis, app.keyspace, app.publisher, app.log, app.config.republishAfterMs);
    const report = new ReportRecorder(new RedisCommands(app.redis, app.keyspace), app.pg);
    const loop = new AdmissionLoop({
      redis: app.redis,
      keyspace: app.keyspace,
      publisher: app.publisher,
      reconciler,
      recovery: new RedisRecovery(
        app.redis,
        app.keyspace,
        app.sales,
        app.republisher,
        app.orders,
        app.admissionRecords,
        app.publisher,
        app.log,
      ),
      closedLoop: new ClosedLoopController(app.redis, app.keyspace, app.publisher, app.log),
      logger: app.log,
      tickMs: app.config.tickMs,
      oversubscription: app.config.oversubscription,
      maxOversubscription: app.config.maxOversubscription,
      abandonGraceMs: app.config.abandonGraceSeconds * 1_000,
      ownerId,
      onTick: (tick) => {
        app.metrics.observeTick(tick);
        return app.realtime.broadcastTick(tick);
      },
      onLeadership: (saleId, leading) => app.metrics.leadership(saleId, leading),
      recordAdmissions: (saleId, admitted) => app.admissionRecords.recordAdmissions(saleId, admitted),
      shardsOf: (saleId) => app.sales.shardsOf(saleId),
      recordReport: (saleId, figures) => report.record(saleId, figures),
    });
    app.decorate('admissionLoop', loop);
    const retirer = new SaleRetirer({
      pool: app.pg,
      redis: app.redis,
      keyspace: app.keyspace,
      audit: app.audit,
      archive: app.sales.archive,
      logger: app.log,
      retentionMs: app.config.saleRetentionMs,
      ownerId,
      // counts that came after the sale's last tick (a late refusal, the last sweep) go to
      // PostgreSQL before its keys go; the row keeps the final figures for the series
      flush: async (saleId) => {
        const live = await app.sales.live(saleId);
        await report.record(saleId, {
          ratePerMinute: live?.effectiveRatePerMinute ?? 0,
          waiting: live?.waiting ?? 0,
          remaining: live?.remaining ?? 0,
        });
      },
    });
    app.decorate('retirer', retirer);
    if (opts.autostart !== false) {
      app.addHook('onReady', async () => {
        loop.start();
        retirer.start();
      });
    }
    // before the connections close: hand leadership over instead of letting it expire
    app.addHook('preClose', async () => {
      await Promise.all([loop.stop(), retirer.stop()]);
    });
  },
  { name: 'admission', dependencies: ['redis', 'amqp', 'services', 'realtime', 'metrics'] },
);
