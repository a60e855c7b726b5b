import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import underPressure from '@fastify/under-pressure';
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { decodeJwt } from 'jose';
import { AppError, errorBody } from '../../errors.js';
import { bearerToken, TICKET_COOKIE } from '../../http/credentials.js';

const NO_VISITOR = 'anonymous';

declare module 'fastify' {
  interface FastifyInstance {
    /** per-route limiters for the shopper routes (empty when limits are off) */
    limits: { join: onRequestHookHandler[]; status: onRequestHookHandler[]; purchase: onRequestHookHandler[] };
  }
}

/**
 * What keeps the gateway up when clients misbehave or load spikes:
 * - helmet's headers, with a content security policy that allows the pages' own files only;
 * - load shedding: past the event-loop delay limit, answer `503` + `Retry-After` at once
 *   rather than queueing work the process cannot finish in time;
 * - rate limits on the shopper routes, in Redis so that every gateway counts the same:
 *   per visitor (the ticket's or admission token's subject) and, when configured, per IP.
 */
export default fp(
  async (app) => {
    const { config } = app;

    await app.register(helmet, {
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          connectSrc: ["'self'"],
          fontSrc: ["'self'"],
          objectSrc: ["'none'"],
          frameAncestors: ["'none'"],
          baseUri: ["'self'"],
          formAction: ["'self'"],
        },
      },
      // the JWKS is meant to be fetched by a shop's own services
      crossOriginResourcePolicy: { policy: 'same-site' },
    });

    if (config.maxEventLoopDelayMs > 0) {
      await app.register(underPressure, {
        maxEventLoopDelay: config.maxEventLoopDelayMs,
        exposeStatusRoute: false,
        pressureHandler: (_req: FastifyRequest, reply: FastifyReply) => {
          reply
            .code(503)
            .header('retry-after', '2')
            .send(errorBody('UNAVAILABLE', 'the waiting room is under heavy load; retry shortly'));
        },
      });
    }

    const limits: { join: onRequestHookHandler[]; status: onRequestHookHandler[]; purchase: onRequestHookHandler[] } = {
      join: [],
      status: [],
      purchase: [],
    };
    if (config.rateLimits.enabled) {
      await app.register(rateLimit, {
        global: false,
        ...(config.rateLimits.store === 'redis' ? { redis: app.redis, nameSpace: `${app.keyspace.prefix}:rl:` } : {}),
        // a Redis that is away fails the route itself with 503; the limiter need not fail first
        skipOnError: true,
        errorResponseBuilder: (_req, ctx) =>
          new AppError('RATE_LIMITED', `too many requests: at most ${ctx.max} per ${ctx.after}`, undefined, Math.max(1, Math.ceil(ctx.ttl / 1000))),
      });

      /** the visitor a request speaks for: ticket (header or cookie) or admission token subject */
      const visitorKey = (req: FastifyRequest): string => {
        const token = bearerToken(req) ?? req.cookies[TICKET_COOKIE];
        if (token) {
          const ticket = app.tickets.verify(token);
          if (ticket.ok) return `v:${ticket.claims.sub}`;
          try {
            // an admission token: its subject is only a bucket name here; the token itself is
            // verified by the route
            const sub = decodeJwt(token).sub;
            if (typeof sub === 'string' && sub.length <= 64) return `v:${sub}`;
          } catch {
            // not a JWT: fall through to the address
          }
        }
        // a new visitor has no identity yet: the per-IP limit (when configured) covers them
        return NO_VISITOR;
      };
      const perVisitor = (max: number, groupId: string) =>
        app.rateLimit({
          max,
          timeWindow: 60_000,
          keyGenerator: visitorKey,
          groupId,
          allowList: (_req, key) => key === NO_VISITOR,
        }) as onRequestHookHandler;
      const perIp = (groupId: string) =>
        app.rateLimit({ max: config.rateLimits.perIpPerMinute, timeWindow: 60_000, groupId: `${groupId}-ip` }) as onRequestHookHandler;

      limits.join.push(perVisitor(config.rateLimits.joinPerVisitorPerMinute, 'join'));
      limits.status.push(perVisitor(config.rateLimits.statusPerVisitorPerMinute, 'status'));
      limits.purchase.push(perVisitor(config.rateLimits.purchasePerVisitorPerMinute, 'purchase'));
      if (config.rateLimits.perIpPerMinute > 0) {
        limits.join.push(perIp('join'));
        limits.status.push(perIp('status'));
        limits.purchase.push(perIp('purchase'));
      }
    }
    app.decorate('limits', limits);
  },
  { name: 'protection', dependencies: ['config', 'redis', 'tokens'] },
);
