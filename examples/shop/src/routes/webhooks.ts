/**
 * `POST /webhooks/velvet-rope`: Velvet Rope's signed deliveries. The signature covers the exact
 * bytes sent, so this scope keeps JSON bodies as the raw string (a parsed and re-serialised
 * body would not verify). 200 once recorded or already seen; 400 for a bad signature (nothing
 * recorded; Velvet Rope retries, and a forger learns nothing); 503 during a test outage.
 */
import type { FastifyInstance } from 'fastify';
import type { WebhookInbox } from '../webhook-inbox.js';

export function webhookRoutes(inbox: WebhookInbox) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 1_048_576 }, (_request, body, done) => done(null, body));

    app.post('/webhooks/velvet-rope', async (request, reply) => {
      const raw = typeof request.body === 'string' ? request.body : '';
      const receipt = inbox.receive(raw, request.headers);
      switch (receipt.outcome) {
        case 'unavailable':
          return reply.code(503).header('retry-after', String(receipt.retryAfterSeconds)).send({
            statusCode: 503,
            code: 'UNAVAILABLE',
            error: 'Service Unavailable',
            message: 'the shop is down for a while (test outage)',
          });
        case 'bad_signature':
          request.log.warn({ reason: receipt.reason }, 'webhook refused: bad signature');
          return reply
            .code(400)
            .send({ statusCode: 400, code: 'INVALID_SIGNATURE', error: 'Bad Request', message: `webhook not verified: ${receipt.reason}` });
        default:
          return reply.code(200).send({ received: receipt.event.webhookId, duplicate: receipt.outcome === 'duplicate' });
      }
    });
  };
}
