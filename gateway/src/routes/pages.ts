import { existsSync } from 'node:fs';
import fastifyStatic from '@fastify/static';
import { SALE_ID_PATTERN } from '@velvet-rope/contracts';
import fp from 'fastify-plugin';
import { AppError } from '../errors.js';
import { loadShopperPages, pickLanguage } from '../pages/shopper-page.js';
import { languageHeaders } from '../plugins/page-look.js';

const saleIdRe = new RegExp(SALE_ID_PATTERN);

/**
 * The shopper's waiting room (`/sales/:saleId`) and the marketer's console (`/admin`): static
 * files built by waiting-room-ui. Pages are never cached (they name the current assets);
 * assets have content hashes in their names and are cached for good. A CDN can serve the same
 * files. The shopper's page comes in the shopper's language (pages/shopper-page.ts) with the
 * deployment's branding (pages/branding.ts, through plugins/page-look.ts), both worked out at
 * boot: a request only picks.
 */
export default fp(
  async (app) => {
    const { root, marks } = app.pageLook;
    const built = existsSync(`${root}/sale.html`) && existsSync(`${root}/admin.html`);
    if (!built) app.log.warn({ root }, 'waiting-room-ui is not built: the pages answer 404 (npm run build)');
    const shopperPages = built ? loadShopperPages(root, marks) : undefined;

    await app.register(fastifyStatic, {
      root: built ? `${root}/assets` : root,
      prefix: '/assets/',
      wildcard: true,
      index: false,
      immutable: true,
      maxAge: '365d',
    });

    const page = (file: string) => async (_req: unknown, reply: import('fastify').FastifyReply) => {
      if (!built) throw new AppError('ROUTE_NOT_FOUND', 'the waiting-room page is not built (npm run build)');
      // exactly no-cache (revalidate every time): send's own Cache-Control would replace it
      // with `public, max-age=0`, so it is turned off for pages
      reply.header('cache-control', 'no-cache');
      return reply.sendFile(file, root, { cacheControl: false });
    };

    app.get('/sales/:saleId', async (req, reply) => {
      const { saleId } = req.params as { saleId: string };
      if (!saleIdRe.test(saleId)) throw new AppError('SALE_NOT_FOUND', 'no such sale');
      if (!shopperPages) throw new AppError('ROUTE_NOT_FOUND', 'the waiting-room page is not built (npm run build)');
      const lang = pickLanguage((req.query as { lang?: unknown }).lang, req.headers['accept-language'], shopperPages.languages);
      const etag = shopperPages.etag(lang);
      languageHeaders(reply.header('cache-control', 'no-cache'), lang).header('etag', etag);
      // a reload during a drop revalidates (no-cache): the page unchanged is a 304, not 30 KB again
      if (req.headers['if-none-match']?.split(',').some((t) => t.trim() === etag)) return reply.code(304).send();
      return reply.type('text/html; charset=utf-8').send(shopperPages.page(lang));
    });
    // the brand's accent (BRAND_ACCENT); its address carries a hash of it, so it is cached for good
    const sheet = marks.stylesheet;
    if (sheet) {
      app.get('/brand.css', async (_req, reply) =>
        reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=31536000, immutable').send(sheet.css),
      );
    }
    app.get('/admin', page('admin.html'));
    app.get('/', async (_req, reply) => reply.redirect('/admin'));
  },
  { name: 'pages', dependencies: ['config', 'page-look'] },
);
