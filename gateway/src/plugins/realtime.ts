import { createAdapter } from '@socket.io/redis-adapter';
import { duplicateRedisClient, parseSaleEvent, saleEventsPattern, type SaleUpdate, type SocketData } from '@velvet-rope/contracts';
import fp from 'fastify-plugin';
import { Server } from 'socket.io';
import type { Handshake, SocketRefusal } from '../http/identity.js';
import { originAllowed } from '../http/origin.js';
import { Realtime, saleRoom, saleUpdate, visitorRoom, type LiveServer } from '../realtime/live-updates.js';
import { Presence } from '../realtime/presence.js';
import { parseNoticeMessage } from '../sales/sale-notice.js';

declare module 'fastify' {
  interface FastifyInstance {
    realtime: Realtime;
  }
}

/** a refused handshake: the client's `connect_error`, with the code in `err.data.code` */
function refusal(code: SocketRefusal): Error {
  return Object.assign(new Error(code), { data: { code } });
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

    const io: LiveServer = new Server(app.server, {
      serveClient: false,
      adapter: createAdapter(pub, sub, { key: `${app.keyspace.prefix}:socket.io` }),
      // clients send nothing but the handshake
      maxHttpBufferSize: 10_000,
      pingInterval: 25_000,
      pingTimeout: 20_000,
      // a page on another origin must not speak with the shopper's cookies (http/origin.ts);
      // refused: 403 `{ code: 4, message: "FORBIDDEN_ORIGIN: ..." }` to the handshake
      allowRequest: (req, callback) => {
        let ok: boolean;
        try {
          ok = originAllowed(req, app.config.allowedOrigins, app.config.trustProxy);
        } catch {
          ok = false;
        }
        callback(ok ? null : "FORBIDDEN_ORIGIN: this page's origin may not connect (PUBLIC_URL, ALLOWED_ORIGINS)", ok);
      },
    });
    const realtime = new Realtime(io, app.admissions, (err) => app.log.warn({ err }, "another gateway's turns were not pushed"));

    // Who a socket speaks for: http/identity.ts. socket.io runs the middleware inside its async
    // namespace join, so an exception thrown here would be an unhandled rejection: the
    // identity's answer is total, and anything else is still caught below.
    const authenticate = (socket: { handshake: Handshake }): SocketData | Error => {
      const outcome = app.identity.socket(socket.handshake);
      return typeof outcome === 'string' ? refusal(outcome) : outcome;
    };
    io.use((socket, next) => {
      let outcome: SocketData | Error;
      try {
        outcome = authenticate(socket);
      } catch (err) {
        app.log.warn({ err }, 'a socket.io handshake could not be read');
        outcome = refusal('INVALID_TICKET');
      }
      if (outcome instanceof Error) return next(outcome);
      socket.data = outcome;
      return next();
    });

    // the figures a newly connected page starts from, shared by the connections of one tick
    const snapshots = new Map<string, { at: number; value: Promise<SaleUpdate | undefined> }>();
    const snapshot = (saleId: string) => {
      const hit = snapshots.get(saleId);
      if (hit && Date.now() - hit.at < app.config.tickMs) return hit.value;
      const value = app.sales
        .liveOrRetired(saleId)
        .then((s) =>
          s
            ? saleUpdate({
                saleId,
                status: s.status,
                waiting: s.waiting,
                active: s.admitted,
                remaining: s.remaining,
                ratePerMinute: s.effectiveRatePerMinute,
                admittedTotal: s.admittedTotal,
                admittedNow: 0,
              })
            : undefined,
        )
        .catch(() => undefined);
      snapshots.set(saleId, { at: Date.now(), value });
      if (snapshots.size > 1000) snapshots.delete(snapshots.keys().next().value!);
      return value;
    };

    // nothing a connection sets off may fail unhandled (issue 12 item 1)
    const joinFailed = (err: unknown) => app.log.warn({ err }, 'a socket could not join its rooms');
    // a shopper's pages, counted across gateways, so that a turn whose pages are all gone is
    // freed after the grace (realtime/presence.ts; ABANDON_GRACE_SECONDS=0: not tracked)
    const presence = app.config.abandonGraceSeconds > 0 ? new Presence(app.redis, app.keyspace, app.log) : undefined;
    io.on('connection', (socket) => {
      const { saleId, visitorId } = socket.data;
      Promise.resolve(socket.join(saleRoom(saleId))).catch(joinFailed);
      if (visitorId) Promise.resolve(socket.join(visitorRoom(saleId, visitorId))).catch(joinFailed);
      if (visitorId && presence) socket.once('disconnect', presence.opened(saleId, visitorId));
      snapshot(saleId)
        .then((s) => {
          if (s && socket.connected) socket.emit('sale:update', s);
        })
        .catch(joinFailed);
      // a latecomer sees the notice that is up
      app.notices
        .current(saleId)
        .then((notice) => {
          if (notice && socket.connected) socket.emit('sale:notice', { saleId, notice });
        })
        .catch(joinFailed);
    });

    // the worker's order events, and the marketer's notices (sales/sale-notice.ts)
    await events.psubscribe(saleEventsPattern(app.keyspace.prefix));
    // a listener that throws would be an uncaught exception: a message that is not an order
    // event (parseSaleEvent checks every field) is dropped, logged and counted
    events.on('pmessage', (_pattern: string, channel: string, message: string) => {
      const notice = parseNoticeMessage(message);
      if (notice) {
        try {
          app.notices.heard(notice);
          realtime.deliverNotice(notice.saleId, notice.notice);
        } catch (err) {
          app.log.warn({ err }, 'a sale notice could not be delivered');
        }
        return;
      }
      const event = parseSaleEvent(message);
      if (!event) {
        app.metrics.malformedSaleEvents.inc();
        app.log.warn({ channel, bytes: message.length }, 'a message on a sale events channel is not an order event; dropped');
        return;
      }
      try {
        realtime.deliverOrderOutcomes(event);
      } catch (err) {
        app.log.warn({ err }, 'an order event could not be delivered');
      }
    });

    app.decorate('realtime', realtime);
    app.metrics.socketConnections(() => realtime.connections);
    // sockets first, so that the HTTP server can finish closing
    app.addHook('preClose', async () => {
      io.local.disconnectSockets(true);
      io.engine.close();
      // the closes reach Redis before it closes: these shoppers' pages reconnect elsewhere
      // within the grace, or their turns are freed
      await presence?.drain();
    });
    app.addHook('onClose', async () => {
      await Promise.all([pub, sub, events].map((c) => c.quit().catch(() => c.disconnect())));
    });
  },
  { name: 'realtime', dependencies: ['redis', 'tokens', 'services', 'metrics'] },
);
