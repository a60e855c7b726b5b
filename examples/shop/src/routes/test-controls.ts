/**
 * Switches for end-to-end tests, served only with SHOP_TEST_CONTROLS=1:
 * `POST /api/test/outage { seconds }` makes the webhook endpoint answer 503 for that long
 * (0 ends it), so a test takes the shop down and up without restarting it;
 * `POST /api/test/rotate-identity-key` rotates the key shopper identities are signed with.
 */
import type { FastifyInstance } from 'fastify';
import type { IdentitySigner } from '../identity.js';
import type { WebhookInbox } from '../webhook-inbox.js';

export function testControlRoutes(inbox: WebhookInbox, identities: IdentitySigner) {
  return async function routes(app: FastifyInstance): Promise<void> {
    // a new signing key for shopper identities; the old one leaves /.well-known/jwks.json
    app.post('/api/test/rotate-identity-key', async () => ({ kid: await identities.rotate() }));
    // an identity with the shop's own key but claims of the test's choosing (expired, another
    // issuer or audience, too long-lived): what Velvet Rope must refuse although it verifies
    app.post('/api/test/sign-identity', async (request) => {
      const b = (request.body ?? {}) as { account?: string; lifetimeSeconds?: number; iss?: string; aud?: string };
      return identities.sign(String(b.account ?? 'test'), Number(b.lifetimeSeconds ?? 600), {
        ...(b.iss !== undefined ? { iss: b.iss } : {}),
        ...(b.aud !== undefined ? { aud: b.aud } : {}),
      });
    });

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
