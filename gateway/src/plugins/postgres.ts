import { prepareDatabase } from '@velvet-rope/contracts';
import fp from 'fastify-plugin';
import type pg from 'pg';
import { ReadPool } from '../postgres/read-pool.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** the primary: everything that writes, and every read of the admission and purchase path */
    pg: pg.Pool;
    /**
     * the reads that may be a little behind (postgres/read-pool.ts): on a replica of
     * DATABASE_READ_URL when one is up, else the primary
     */
    pgRead: ReadPool;
  }
}

/** PostgreSQL: the database is created when missing and migrated before anything uses it. */
export default fp(
  async (app) => {
    const pool = await prepareDatabase(app.config.databaseUrl, app.config.pgPoolMax);
    pool.on('error', (err) => app.log.warn({ err: err.message }, 'idle PostgreSQL client failed'));
    app.decorate('pg', pool);
    // replicas are not asked at boot: one that is down is found so by its first read, which
    // the primary then answers
    const reads = new ReadPool(pool, app.config.databaseReadUrls, app.config.pgReadPoolMax, app.metrics.reads);
    app.decorate('pgRead', reads);
    if (reads.hasReplicas) {
      app.metrics.replicas(reads);
      app.log.info(
        { replicas: reads.status().map((r) => r.name) },
        'PostgreSQL read replicas: order look-ups, stats, reports and audits read there',
      );
    }
    app.addHook('onClose', async () => {
      await reads.end();
      await pool.end();
    });
  },
  { name: 'postgres', dependencies: ['config', 'metrics'] },
);
