import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';

/**
 * The OpenAPI document, generated from the routes' own schemas (the schemas that validate
 * requests and serialise answers), served as JSON at /docs/json and browsable at /docs.
 * Registered before the routes, so it sees every one.
 */
export default fp(
  async (app) => {
    await app.register(swagger, {
      hideUntagged: true,
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'Velvet Rope',
          version: '1',
          description:
            'A virtual waiting room for flash sales. Errors are `{ statusCode, code, error, message }` with a stable `code`; ' +
            '429 and 503 carry `Retry-After`. Shopper identity: the queue ticket as `Authorization: Bearer <ticket>` or the ' +
            '`vr_ticket` cookie. Marketer routes: `Authorization: Bearer <ADMIN_API_KEY>`.',
        },
        tags: [
          { name: 'shopper', description: 'joining, waiting, buying' },
          { name: 'admin', description: 'the marketer’s API' },
          { name: 'operations', description: 'health, readiness, keys' },
        ],
        components: {
          securitySchemes: {
            bearer: { type: 'http', scheme: 'bearer', description: 'queue ticket, admission token or admin key' },
          },
        },
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  },
  { name: 'openapi' },
);
