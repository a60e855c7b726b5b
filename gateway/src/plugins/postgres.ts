import { prepareDatabase } from '@velvet-rope/contracts';
import fp from 'fastify-plugin';
import type pg from 'pg';

declare module 'fastify' {
  interface FastifyInstance {
    pg: pg.Pool;
  }
}

/** PostgreSQL: the database is created when missing and migrated before anything uses it. */
export default fp(
  async (app) => {
    const pool = await prepareDatabase(app.config.databaseUrl, app.config.pgPoolMax);
    pool.on('error', (err) => app.log.warn({ err: err.message }, 'idle PostgreSQL client failed'));
    app.decorate('pg', pool);
    app.addHook('onClose', async () => {
      await pool.end();
    });
  },
  { name: 'postgres', dependencies: ['config'] },
);
