/**
 * `GET /`: the product page, whose "Join the drop" links to the sale's waiting room on Velvet Rope.
 */
import type { FastifyInstance } from 'fastify';
import type { ShopConfig } from '../config.js';
import { productPage } from '../pages.js';

export function productRoutes(config: ShopConfig) {
  return async function routes(app: FastifyInstance): Promise<void> {
    const saleId = config.saleIds[0];
    const waitingRoom = saleId === undefined ? undefined : `${config.velvetRopeUrl}/sales/${encodeURIComponent(saleId)}`;
    app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(productPage(config.productName, waitingRoom)));
  };
}
