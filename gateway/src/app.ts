/**
 * The gateway as a Fastify plugin tree. It never listens: `server.ts` does, and tests use
 * `app.inject()`. The load order tells the story: configuration, external plugins,
 * infrastructure (PostgreSQL, Redis, RabbitMQ, keys), domain services, the admission loop,
 * then routes.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ERROR_CODES, type ErrorCode } from '@velvet-rope/contracts';
import Fastify, { LogController, type FastifyError, type FastifyReply, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import type { GatewayConfig } from './config.js';
import { AppError, errorBody } from './errors.js';
import { lazyChildLogger } from './http/lazy-logger.js';
import admissionPlugin, { type AdmissionPluginOptions } from './plugins/admission.js';
import amqpPlugin from './plugins/amqp.js';
import metricsPlugin from './plugins/metrics.js';
import protectionPlugin from './plugins/protection.js';
import openapiPlugin from './plugins/openapi.js';
import pageLookPlugin from './plugins/page-look.js';
import pagesPlugin from './routes/pages.js';
import noScriptRoutes from './routes/no-script.js';
import postgresPlugin from './plugins/postgres.js';
import realtimePlugin from './plugins/realtime.js';
import redisPlugin from './plugins/redis.js';
import reportPlugin from './plugins/report.js';
import gatePlugin from './plugins/gate.js';
import servicesPlugin from './plugins/services.js';
import tokensPlugin from './plugins/tokens.js';
import adminRoutes from './routes/admin.js';
import authRoutes from './routes/auth.js';
import healthRoutes from './routes/health.js';
import shopperRoutes from './routes/shopper.js';
import shopRoutes from './routes/shop.js';
import webhookRoutes from './routes/webhooks.js';

declare module 'fastify' {
  interface FastifyInstance {
    config: GatewayConfig;
  }
}

export interface BuildOptions {
  readonly logger?: FastifyServerOptions['logger'];
  readonly admission?: AdmissionPluginOptions;
}

/** Fastify's own error codes that are the client's fault, and the code we answer with. */
const CLIENT_ERRORS: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_VALIDATION: 'VALIDATION_FAILED',
};

export async function buildApp(config: GatewayConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? {
      level: config.logLevel,
      // no secret in any log line: tokens, tickets, keys and cookies are redacted
      redact: [
        'req.headers.authorization',
        'req.headers.cookie',
        'res.headers["set-cookie"]',
        '*.ticket',
        '*.token',
        '*.adminApiKey',
        '*.shopApiKey',
        '*.secret',
      ],
    },
    trustProxy: config.trustProxy,
    bodyLimit: 16 * 1024,
    // What bounds a slow or idle client (sized for a waiting room; README, "Configuration"):
    // the headers must arrive within HEADERS_TIMEOUT_MS and the whole request (a join's body is
    // a few bytes) within REQUEST_TIMEOUT_MS, else 408 and the connection is closed; an idle
    // kept-alive connection closes after KEEP_ALIVE_TIMEOUT_MS (longer than a load balancer's
    // idle timeout, so the balancer closes first), and a silent socket after
    // CONNECTION_TIMEOUT_MS (longer than socket.io's ping interval plus its timeout).
    requestTimeout: config.http.requestTimeoutMs,
    keepAliveTimeout: config.http.keepAliveTimeoutMs,
    connectionTimeout: config.http.connectionTimeoutMs,
    http: {
      headersTimeout: config.http.headersTimeoutMs,
      requestTimeout: config.http.requestTimeoutMs,
      // Node checks those timeouts every 30 s by default, which would let a slow client keep
      // its connection up to 30 s past them
      connectionsCheckingInterval: Math.max(250, Math.min(5_000, Math.floor(config.http.headersTimeoutMs / 4))),
    },
    // our own answer while draining (below): Fastify's skips the hooks and has no Retry-After
    return503OnClosing: false,
    // a log line per request would cost more than the hot paths themselves; errors are logged
    logController: new LogController({ disableRequestLogging: true }),
    // a request id per request, carried by every log line it causes; the request's logger is
    // made only when it writes a line (most requests never do)
    requestIdHeader: 'x-request-id',
    childLoggerFactory: lazyChildLogger,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    // the router's own refusals (a malformed URL, an over-long path parameter) in our shape too
    frameworkErrors: (err, _req, reply) => {
      const tooLong = err.code === 'FST_ERR_MAX_PARAM_LENGTH';
      const code = tooLong ? 'URI_TOO_LONG' : 'VALIDATION_FAILED';
      const r = reply as unknown as FastifyReply;
      void r.code(ERROR_CODES[code]).send(errorBody(code, tooLong ? 'a path parameter is too long' : 'the URL is malformed'));
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorate('config', config);
  await app.register(fp(async () => undefined, { name: 'config' }));

  // Connections past MAX_CONNECTIONS (below the descriptor limit) are closed as soon as they
  // are accepted, so a flood of idle connections cannot take the descriptors the process needs.
  // An accept that fails anyway (EMFILE: the limit was set too high, or something else holds
  // descriptors) is logged and the server keeps listening: libuv drops the pending connection
  // and accepts again once descriptors come back.
  app.server.maxConnections = config.http.maxConnections;
  let refusedLogged = 0;
  app.server.on('drop', () => {
    const now = Date.now();
    if (now - refusedLogged < 10_000) return;
    refusedLogged = now;
    app.log.warn({ maxConnections: config.http.maxConnections }, 'refusing connections past MAX_CONNECTIONS');
  });
  app.server.on('error', (err: NodeJS.ErrnoException) => {
    if (err.syscall === 'accept') app.log.error({ err: err.message, code: err.code }, 'accepting a connection failed; serving on');
    else app.log.error({ err }, 'HTTP server error');
  });

  // Draining (SIGTERM): requests in flight finish; a new request on a kept-alive connection is
  // told to go elsewhere, with Retry-After, and the connection is closed behind it.
  let draining = false;
  app.addHook('preClose', async () => {
    draining = true;
  });
  app.addHook('onRequest', (_req, reply, done) => {
    if (!draining) return done();
    reply.header('connection', 'close').header('retry-after', '1');
    reply.code(503).send(errorBody('UNAVAILABLE', 'this gateway is restarting; retry'));
  });

  app.setErrorHandler((err: FastifyError | AppError, req, reply) => {
    if (err instanceof AppError) {
      if (err.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.retryAfterSeconds));
      return reply.code(err.statusCode).send({ ...errorBody(err.code, err.message), ...err.details });
    }
    const code = err.validation ? 'VALIDATION_FAILED' : err.code ? CLIENT_ERRORS[err.code] : undefined;
    if (code) {
      return reply.code(ERROR_CODES[code]).send(errorBody(code, err.message));
    }
    if (err.statusCode === 429) {
      reply.header('retry-after', String(reply.getHeader('retry-after') ?? 1));
      return reply.code(429).send(errorBody('RATE_LIMITED', err.message));
    }
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      req.log.info({ err }, 'client error');
      return reply.code(400).send(errorBody('VALIDATION_FAILED', err.message));
    }
    // a dependency that is away is a 503 the client can retry, not a 500
    if (isUnavailable(err)) {
      req.log.warn({ err: err.message }, 'dependency unavailable');
      reply.header('retry-after', '2');
      return reply.code(503).send(errorBody('UNAVAILABLE', 'a service Velvet Rope depends on is unavailable; retry shortly'));
    }
    req.log.error({ err }, 'unhandled error');
    // 5xx bodies say nothing internal; the log has the detail
    return reply.code(500).send(errorBody('INTERNAL', 'something went wrong on our side'));
  });

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(errorBody('ROUTE_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`));
  });

  await app.register(metricsPlugin);
  await app.register(postgresPlugin);
  await app.register(redisPlugin);
  await app.register(reportPlugin);
  await app.register(amqpPlugin);
  await app.register(tokensPlugin);
  await app.register(servicesPlugin);
  await app.register(protectionPlugin);
  await app.register(gatePlugin);
  await app.register(realtimePlugin);
  await app.register(admissionPlugin, options.admission ?? {});
  await app.register(pageLookPlugin);

  await app.register(openapiPlugin);
  await app.register(healthRoutes);
  await app.register(shopperRoutes);
  await app.register(adminRoutes);
  await app.register(webhookRoutes);
  await app.register(shopRoutes);
  // OpenID Connect sign-in, when OIDC_ISSUER is set
  await app.register(authRoutes);
  await app.register(pagesPlugin);
  await app.register(noScriptRoutes);
  return app;
}

/** Errors that mean Redis or PostgreSQL could not be reached or answered. */
function isUnavailable(err: Error & { code?: string }): boolean {
  const m = err.message ?? '';
  return (
    /Stream isn't writeable|Connection is closed|enableOfflineQueue|ECONNREFUSED|ECONNRESET|ETIMEDOUT|MaxRetriesPerRequest|Command timed out/i.test(
      m,
    ) ||
    // a Redis Cluster while one of its masters is away (seen when a shard restarts)
    /CLUSTERDOWN|TRYAGAIN|Too many Cluster redirections|Failed to refresh slots cache|None of startup nodes is available/.test(m) ||
    err.code === 'ECONNREFUSED' ||
    err.code === '57P01' ||
    /Connection terminated|timeout exceeded when trying to connect/i.test(m)
  );
}
