/**
 * Switches for end-to-end tests, served only with SHOP_TEST_CONTROLS=1:
 * `POST /api/test/outage { seconds }` makes the webhook endpoint answer 503 for that long
 * (0 ends it), so a test takes the shop down and up without restarting it.
 */
import type { FastifyInstance } from 'fastify';
import type { WebhookInbox } from '../webhook-inbox.js';

export function testControlRoutes(inbox: WebhookInbox) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.post('/api/test/outage', async (request, reply) => {
      const seconds = (request.body as { seconds?: unknown } | undefined)?.seconds;
      if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0 || seconds > 3600) {
        return reply
          .code(400)
          .send({ statusCode: 400, code: 'VALIDATION_FAILED', error: 'Bad Request', message: 'seconds: a number from 0 to 3600' });
      }
      inbox.outage(seconds);
      return { outageSeconds: seconds };
    });
  };
}
