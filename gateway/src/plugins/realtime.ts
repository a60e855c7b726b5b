import { createAdapter } from '@socket.io/redis-adapter';
import { duplicateRedisClient, isSaleId, orderUpdatesOf, saleEventsPattern, type SaleEvent } from '@velvet-rope/contracts';
import fp from 'fastify-plugin';
import { Server } from 'socket.io';
import { TICKET_COOKIE } from '../http/credentials.js';
import {
  Realtime,
  saleRoom,
  saleUpdate,
  visitorRoom,
  type ClientToServerEvents,
  type ServerToClientEvents,
  type SocketData,
} from '../realtime.js';

declare module 'fastify' {
  interface FastifyInstance {
    realtime: Realtime;
  }
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/**
 * socket.io on the gateway's own HTTP server, with the Redis adapter so that a broadcast
 * reaches the shoppers of every gateway. A shopper authenticates with the queue ticket
 * (`auth: { ticket }` or the `vr_ticket` cookie); a page without one (the countdown before
 * joining, the console) may follow a sale's room only (`auth: { saleId }`).
 */
export default fp(
  async (app) => {
    const pub = duplicateRedisClient(app.redis);
    const sub = duplicateRedisClient(app.redis);
    const events = duplicateRedisClient(app.redis);
    for (const c of [pub, sub, events]) c.on('error', (err: Error) => app.log.warn({ err: err.message }, 'Redis (realtime) error'));
    // the adapter publishes without awaiting; a publish that fails (Redis away, or the client
    // closing during a rolling restart) would be an unhandled rejection, which ends a Node
    // process. A lost live message is harmless: the page re-syncs by polling.
    const publish = pub.publish.bind(pub) as (channel: string | Buffer, message: string | Buffer) => Promise<number>;
    (pub as unknown as { publish: typeof publish }).publish = (channel, message) =>
      publish(channel, message).catch((err: Error) => {
        app.log.debug({ err: err.message }, 'a live update was not published');
        return 0;
      });
    await Promise.all([pub.connect(), sub.connect(), events.connect()]);

    const io = new Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>(app.server, {
      serveClient: false,
      adapter: createAdapter(pub, sub, { key: `${app.keyspace.prefix}:socket.io` }),
      // clients send nothing but the handshake
      maxHttpBufferSize: 10_000,
      pingInterval: 25_000,
      pingTimeout: 20_000,
    });
    const realtime = new Realtime(io, app.admissions);

    io.use((socket, next) => {
      const auth = (socket.handshake.auth ?? {}) as { ticket?: unknown; saleId?: unknown };
      const wantedSale = typeof auth.saleId === 'string' && isSaleId(auth.saleId) ? auth.saleId : undefined;
      if (typeof auth.ticket === 'string') {
        const result = app.tickets.verify(auth.ticket, wantedSale);
        if (!result.ok) return next(Object.assign(new Error(result.code), { data: { code: result.code } }));
        socket.data = { saleId: result.claims.sale, visitorId: result.claims.sub };
        return next();
      }
      // the cookie holds the ticket of the sale joined last: it speaks for this socket only
      // when it is for the sale the page asks about
      const cookie = cookieValue(socket.handshake.headers.cookie, TICKET_COOKIE);
      const fromCookie = cookie ? app.tickets.verify(cookie, wantedSale) : undefined;
      if (fromCookie?.ok) {
        socket.data = { saleId: fromCookie.claims.sale, visitorId: fromCookie.claims.sub };
        return next();
      }
      if (wantedSale) {
        socket.data = { saleId: wantedSale };
        return next();
      }
      return next(Object.assign(new Error('INVALID_TICKET'), { data: { code: 'INVALID_TICKET' } }));
    });

    // the figures a newly connected page starts from, shared by the connections of one tick
    const snapshots = new Map<string, { at: number; value: Promise<ReturnType<typeof saleUpdate> | undefined> }>();
    const snapshot = (saleId: string) => {
      const hit = snapshots.get(saleId);
      if (hit && Date.now() - hit.at < app.config.tickMs) return hit.value;
      const value = app.sales
        .live(saleId)
        .then((s) =>
          s
            ? saleUpdate({ saleId, status: s.status, waiting: s.waiting, active: s.admitted, remaining: s.remaining, ratePerMinute: s.effectiveRatePerMinute, admittedTotal: s.admittedTotal, admittedNow: 0 })
            : undefined,
        )
        .catch(() => undefined);
      snapshots.set(saleId, { at: Date.now(), value });
      if (snapshots.size > 1000) snapshots.delete(snapshots.keys().next().value!);
      return value;
    };

    io.on('connection', (socket) => {
      const { saleId, visitorId } = socket.data;
      void socket.join(saleRoom(saleId));
      if (visitorId) void socket.join(visitorRoom(saleId, visitorId));
      void snapshot(saleId).then((s) => {
        if (s && socket.connected) socket.emit('sale:update', s);
      });
    });

    // the worker's order events
    await events.psubscribe(saleEventsPattern(app.keyspace.prefix));
    events.on('pmessage', (_pattern: string, _channel: string, message: string) => {
      let event: SaleEvent;
      try {
        event = JSON.parse(message) as SaleEvent;
      } catch {
        return;
      }
      for (const update of orderUpdatesOf(event)) realtime.deliverOrderUpdate(update);
    });

    app.decorate('realtime', realtime);
    app.metrics.socketConnections(() => realtime.connections);
    // sockets first, so that the HTTP server can finish closing
    app.addHook('preClose', async () => {
      io.local.disconnectSockets(true);
      io.engine.close();
    });
    app.addHook('onClose', async () => {
      await Promise.all([pub, sub, events].map((c) => c.quit().catch(() => c.disconnect())));
    });
  },
  { name: 'realtime', dependencies: ['redis', 'tokens', 'services', 'metrics'] },
);
