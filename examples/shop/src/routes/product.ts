/**
 * `GET /`: the product page, whose "Join the drop" links to the sale's waiting room on Velvet Rope.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ShopConfig } from '../config.js';
import { escapeHtml, productPage } from '../pages.js';

export function productRoutes(config: ShopConfig) {
  return async function routes(app: FastifyInstance): Promise<void> {
    const saleId = config.saleIds[0];
    const waitingRoom = saleId === undefined ? undefined : `${config.velvetRopeUrl}/sales/${encodeURIComponent(saleId)}`;
    app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(productPage(config.productName, waitingRoom)));
    // the drop's own page, for a deployment that puts Velvet Rope's gate in front of the shop
    // (PROTECTED_ORIGIN = this shop, the sale's protectedPaths = ["/drop"]): only shoppers whose
    // turn it is reach it through the gateway
    const drop = async (_request: FastifyRequest, reply: FastifyReply) =>
      reply
        .type('text/html; charset=utf-8')
        .header('x-shop-page', 'drop')
        .send(
          `<!doctype html><html lang="en"><meta charset="utf-8"><title>The drop</title><h1>${escapeHtml(config.productName)}: the drop</h1><p>Your turn: the drop is yours to shop.</p></html>`,
        );
    app.get('/drop', drop);
    app.get('/drop/*', drop);
    // what the shop received, as it received it (the gate streams a request body through)
    app.post('/drop/*', async (request) => ({ received: request.body ?? null, contentType: request.headers['content-type'] ?? null }));
  };
}
