/**
 * The shop's side of "shoppers from the shop": its public keys, and a pretend sign-in that
 * hands a shopper the signed identity and the waiting-room link carrying it.
 */
import type { FastifyInstance } from 'fastify';
import type { ShopConfig } from '../config.js';
import type { IdentitySigner } from '../identity.js';

const ACCOUNT_RE = /^[A-Za-z0-9._@+-]{1,128}$/;

export function identityRoutes(config: ShopConfig, signer: IdentitySigner) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get('/.well-known/jwks.json', async (_request, reply) => {
      // a rotation must reach Velvet Rope within its refetch: short caching only
      reply.header('cache-control', 'public, max-age=60');
      return signer.jwks();
    });

    // pretend sign-in: any account name signs in (a real shop checks a password first)
    app.post('/api/sign-in', async (request, reply) => {
      const account = (request.body as { account?: unknown } | undefined)?.account;
      if (typeof account !== 'string' || !ACCOUNT_RE.test(account)) {
        return reply.code(400).send({
          statusCode: 400,
          code: 'VALIDATION_FAILED',
          error: 'Bad Request',
          message: 'account: 1 to 128 letters, digits or . _ @ + -',
        });
      }
      const { identity, expiresAt } = await signer.sign(account);
      const saleId = config.saleIds[0];
      return {
        account,
        identity,
        expiresAt: new Date(expiresAt).toISOString(),
        ...(saleId ? { waitingRoom: `${config.velvetRopeUrl}/sales/${encodeURIComponent(saleId)}?identity=${identity}` } : {}),
      };
    });
  };
}
