import { hostname } from 'node:os';
import fp from 'fastify-plugin';
import { RequestStats } from '../report/request-stats.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** the sale report's per-second request figures of this gateway (report/request-stats.ts) */
    requestStats: RequestStats;
  }
}

/** The sale report's request figures: counted on every answer, written once a second. */
export default fp(
  async (app) => {
    const stats = new RequestStats(app.pg, app.redis, app.keyspace, `${hostname()}:${process.pid}`, app.log);
    app.decorate('requestStats', stats);
    // a callback hook: every answer runs it
    app.addHook('onResponse', (req, reply, done) => {
      stats.observe(req, reply);
      done();
    });
    app.addHook('onReady', async () => stats.start());
    // preClose: the last second's figures are written while PostgreSQL and Redis are still there
    app.addHook('preClose', async () => stats.stop());
  },
  { name: 'report', dependencies: ['postgres', 'redis'] },
);
