import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet, { type HelmetOptions } from 'helmet';
import rateLimit from '@fastify/rate-limit';
import type { FastifyRequest, onRequestHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { limitsInScripts } from '../config.js';
import { EventLoopPressure } from '../http/event-loop-pressure.js';
import { AppError, errorBody } from '../errors.js';

interface Limits {
  readonly join: onRequestHookHandler[];
  readonly status: onRequestHookHandler[];
  readonly purchase: onRequestHookHandler[];
  readonly signIn: onRequestHookHandler[];
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: the route answers even while the gateway sheds load (liveness) */
    shedUnderLoad?: boolean;
  }
  interface FastifyInstance {
    /**
     * per-route limiters for the shopper routes (empty when limits are off or counted in the
     * routes' scripts) and for the OpenID Connect sign-in (per address; empty when limits are off)
     */
    limits: Limits;
  }
}

/**
 * What keeps the gateway up when clients misbehave or load spikes:
 * - helmet's headers, with a content security policy that allows the pages' own files only;
 * - load shedding: past the event-loop delay limit, answer `503` + `Retry-After` at once
 *   rather than queueing work the process cannot finish in time;
 * - rate limits on the shopper routes, in Redis so that every gateway counts the same: per
 *   visitor when the request proves who it is (a verified ticket or admission token), else
 *   per address. Join and status count inside their own script (queue-service.ts), and
 *   purchase inside reserve.lua, saving a round trip each; the plugin below counts them when
 *   the store is `memory`. New places per address are counted across sales by
 *   new-place-limit.ts. The OpenID Connect sign-in (`/auth/*`) is limited per address
 *   (RATE_LIMIT_SIGN_IN_PER_IP).
 */
export default fp(
  async (app) => {
    const { config } = app;

    // helmet's headers do not depend on the request: work them out once and set the same set
    // on every answer (running helmet per request cost ~4 % of a join's CPU in a profile)
    const securityHeaders = helmetHeaders({
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          // a sale's product image and the brand's logo may be on the shop's own https CDN
          imgSrc: ["'self'", 'data:', 'https:'],
          connectSrc: ["'self'"],
          fontSrc: ["'self'"],
          objectSrc: ["'none'"],
          frameAncestors: ["'none'"],
          baseUri: ["'self'"],
          formAction: ["'self'"],
          // TLS is the load balancer's choice: do not force https on pages served over http
          upgradeInsecureRequests: null,
        },
      },
      // the JWKS is meant to be fetched by a shop's own services
      crossOriginResourcePolicy: { policy: 'same-site' },
    });
    // JSON answers of the API are never rendered as documents: they get the headers OWASP's
    // REST security cheat sheet lists for APIs, not the pages' dozen (each header costs its
    // validation and bytes on every poll of every waiting shopper)
    const apiHeaders: Record<string, string> = {
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
      'cross-origin-resource-policy': securityHeaders['cross-origin-resource-policy']!,
      'strict-transport-security': securityHeaders['strict-transport-security']!,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
    };
    // Strict-Transport-Security means something only over https (RFC 6797 8.1: a browser
    // ignores it over http), and sent over http it tells a deployment still on http that it is
    // not: each set comes in an https variant and one without the header. `req.protocol` is the
    // client's scheme, X-Forwarded-Proto's when TRUST_PROXY is on.
    const withoutHsts = (headers: Record<string, string>) => {
      const { 'strict-transport-security': _hsts, ...rest } = headers;
      return rest;
    };
    const headerSets = {
      api: { https: apiHeaders, http: withoutHsts(apiHeaders) },
      page: { https: securityHeaders, http: withoutHsts(securityHeaders) },
    };
    // a callback hook, not an async one: every request runs it, and a promise per hook adds up
    app.addHook('onRequest', (req, reply, done) => {
      const set = req.url.startsWith('/api/') ? headerSets.api : headerSets.page;
      reply.headers(req.protocol === 'https' ? set.https : set.http);
      done();
    });

    if (config.maxEventLoopDelayMs > 0) {
      const pressure = new EventLoopPressure(config.maxEventLoopDelayMs);
      app.addHook('onRequest', (req, reply, done) => {
        if (!pressure.underPressure || req.routeOptions.config.shedUnderLoad === false) return done();
        // written as plain JSON, not through the route's response schema, which describes the
        // route's own answers (the readiness schema has no `code`: serialising the refusal
        // through it failed, and a shed /readyz became a 500 on a loaded machine)
        reply
          .code(503)
          .header('retry-after', '2')
          .serializer(JSON.stringify)
          .send(errorBody('UNAVAILABLE', 'the waiting room is under heavy load; retry shortly'));
      });
      app.addHook('onClose', async () => pressure.close());
    }

    const limits: Limits = { join: [], status: [], purchase: [], signIn: [] };
    if (config.rateLimits.enabled) {
      await app.register(rateLimit, {
        global: false,
        ...(config.rateLimits.store === 'redis' ? { redis: app.redis, nameSpace: `${app.keyspace.prefix}:rl:` } : {}),
        // a Redis that is away fails the route itself with 503; the limiter need not fail first
        skipOnError: true,
        errorResponseBuilder: (req, ctx) => {
          // a refused join counts in the sale report (the scripts count their own refusals)
          if (req.method === 'POST' && req.routeOptions.url === '/api/sales/:saleId/queue') {
            app.requestStats.refused((req.params as { saleId: string }).saleId);
          }
          return new AppError(
            'RATE_LIMITED',
            `too many requests: at most ${ctx.max} per ${ctx.after}`,
            undefined,
            Math.max(1, Math.ceil(ctx.ttl / 1000)),
          );
        },
      });

      /**
       * One limiter per route (the plugin runs only the first limiter a request meets): a
       * request that proves it speaks for a visitor (a ticket; on the purchase route an
       * admission token) counts against that visitor, any other against its address. Who is
       * asking is answered by http/identity.ts, which the route then asks again for free.
       */
      const { identity } = app;
      const requestKey = (req: FastifyRequest): string => identity.rateLimitKey(req);
      const purchaseKey = (req: FastifyRequest): Promise<string> => identity.purchaseRateLimitKey(req);
      const perIp = config.rateLimits.perIpPerMinute;
      const limiter = (
        perVisitor: number,
        groupId: string,
        keyGenerator: (req: FastifyRequest) => string | Promise<string>,
        countAddresses = true,
      ) =>
        app.rateLimit({
          timeWindow: 60_000,
          keyGenerator,
          groupId,
          max: async (_req, key) => (key.startsWith('ip:') ? perIp : perVisitor),
          // no per-IP limit configured (or counted elsewhere): requests by address are not counted here
          allowList: (_req, key) => (perIp === 0 || !countAddresses) && key.startsWith('ip:'),
        }) as onRequestHookHandler;

      // join, status and purchase count inside their scripts when the limits live in Redis;
      // a join's new places per address are counted by the new-place limit (queue-service.ts)
      if (!limitsInScripts(config.rateLimits)) {
        limits.join.push(limiter(config.rateLimits.joinPerVisitorPerMinute, 'join', requestKey, false));
        limits.status.push(limiter(config.rateLimits.statusPerVisitorPerMinute, 'status', requestKey));
        limits.purchase.push(limiter(config.rateLimits.purchasePerVisitorPerMinute, 'purchase', purchaseKey));
      }
      // the sign-in's routes, together, per address (a sign-in has no ticket to speak for a
      // visitor yet): each login and callback may cost the shop's provider a round trip
      limits.signIn.push(
        app.rateLimit({
          timeWindow: 60_000,
          groupId: 'sign-in',
          keyGenerator: (req) => `ip:${req.ip}`,
          max: config.rateLimits.signInPerIpPerMinute,
        }) as onRequestHookHandler,
      );
    }
    app.decorate('limits', limits);
  },
  { name: 'protection', dependencies: ['config', 'redis', 'tokens', 'report'] },
);

/** The headers helmet sets, computed once by running it against a recording response. */
export function helmetHeaders(options: HelmetOptions): Record<string, string> {
  const headers = new Map<string, string>();
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers.set(name.toLowerCase(), Array.isArray(value) ? value.join(', ') : String(value));
    },
    removeHeader(name: string) {
      headers.delete(name.toLowerCase());
    },
  };
  let failed: unknown;
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => {
    failed = err;
  });
  if (failed) throw failed;
  return Object.fromEntries(headers);
}
