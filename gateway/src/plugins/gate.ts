import replyFrom from '@fastify/reply-from';
import fp from 'fastify-plugin';
import { AppError } from '../errors.js';
import { GateTable, gateCookieOf, pathOf, waitingRoomFor, wantsJson, type GateCookie } from '../gate/gate.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** the gate in front of the shop's pages (gate/gate.ts); undefined without PROTECTED_ORIGIN */
    gate: { readonly table: GateTable; readonly cookie: GateCookie } | undefined;
  }
}

/** seconds a refused visitor is told to wait before trying the gated page again */
const GATE_RETRY_SECONDS = 5;

/**
 * With PROTECTED_ORIGIN set: requests under a live sale's `protectedPaths` reach the shop
 * through this gateway only with a live admission's gate cookie (gate/gate.ts).
 */
export default fp(
  async (app) => {
    const origin = app.config.protectedOrigin;
    if (!origin) {
      app.decorate('gate', undefined);
      return;
    }
    const table = new GateTable(app.pg);
    const cookie = app.gateCookie;
    app.decorate('gate', { table, cookie });
    await table.start((err) => app.log.warn({ err }, 'gate: the protected paths could not be read; the last ones stay'));
    app.addHook('onClose', async () => table.stop());
    // the shop's answers stream back as they come (status, headers, body untouched)
    await app.register(replyFrom, {
      base: origin,
      undici: { connections: 256, pipelining: 1, headersTimeout: 30_000, bodyTimeout: 60_000 },
    });

    app.addHook('onRequest', async (req, reply) => {
      const saleId = table.match(pathOf(req.url));
      if (saleId === undefined) return;
      if (cookie.opens(saleId, gateCookieOf(req, saleId))) {
        // not parsed yet: the request body streams to the shop as it came (reply-from sends a
        // stream body as it is)
        if (req.method !== 'GET' && req.method !== 'HEAD') req.body = req.raw;
        reply.from(req.url);
        return reply;
      }
      const waitingRoom = waitingRoomFor(saleId, req.url);
      if (wantsJson(req)) {
        throw new AppError(
          'IN_WAITING_ROOM',
          `this page of the shop opens to shoppers whose turn it is: wait in the waiting room at ${waitingRoom}`,
          { saleId, waitingRoom },
          GATE_RETRY_SECONDS,
        );
      }
      reply.code(302).header('location', waitingRoom).header('cache-control', 'no-store');
      await reply.send();
      return reply;
    });
  },
  { name: 'gate', dependencies: ['config', 'postgres', 'tokens'] },
);
