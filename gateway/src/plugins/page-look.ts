import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { brandMarks, type BrandMarks } from '../pages/branding.js';
import type { PageLook } from '../pages/no-script-page.js';
import { loadPageTexts } from '../pages/page-texts.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** how the shopper's pages look and speak, worked out once at boot (plugins/page-look.ts) */
    pageLook: PageLookKit;
  }
}

export interface PageLookKit {
  /** where the built pages are */
  readonly root: string;
  /** the deployment's branding at the built page's marks, and its stylesheet */
  readonly marks: BrandMarks;
  /** the gateway's own pages' look for this request (its language): undefined when not built */
  forRequest(req: FastifyRequest): PageLook | undefined;
  /** Content-Language and Vary of a page in the shopper's language */
}

/** the waiting-room-ui build, next to the gateway in the repository (UI_DIR overrides) */
const DEFAULT_UI_DIR = fileURLToPath(new URL('../../../waiting-room-ui/dist/', import.meta.url));

/** where the built pages are: UI_DIR, else the repository's waiting-room-ui/dist */
export const uiRoot = (configured: string | undefined): string => configured ?? DEFAULT_UI_DIR;

/** the built waiting-room page's stylesheets, so that the gateway's own pages look like it */
export function stylesheets(root: string): string[] {
  try {
    const html = readFileSync(`${root}/sale.html`, 'utf8');
    return [...html.matchAll(/<link rel="stylesheet" href="(\/assets\/[^"]+\.css)">/g)].map((m) => m[1]!);
  } catch {
    return [];
  }
}

/**
 * One home for what every shopper-facing page shares: the deployment's branding (BRAND_*,
 * pages/branding.ts), the waiting room's stylesheets and the catalogue in the shopper's
 * language (pages/page-texts.ts). The shopper's page (routes/pages.ts), the page without
 * JavaScript (routes/no-script.ts) and the sign-in's refusals (routes/auth.ts) all take them
 * from here, so a brand or a language is one change.
 */
/** A page in the language `lang` that Accept-Language chose (or `?lang=`): said so, and caches keep one copy per Accept-Language. */
export function languageHeaders(reply: FastifyReply, lang: string): FastifyReply {
  return reply.header('content-language', lang).header('vary', 'accept-language');
}

export default fp(
  async (app) => {
    const root = uiRoot(app.config.uiDir);
    const marks = brandMarks(app.config.brand);
    const texts = loadPageTexts(root);
    // the page's own stylesheets, then the deployment's accent (BRAND_ACCENT) over them
    const styles = [...stylesheets(root), ...(marks.stylesheet ? [marks.stylesheet.href] : [])];
    app.decorate('pageLook', {
      root,
      marks,
      forRequest(req: FastifyRequest): PageLook | undefined {
        if (!texts) return undefined;
        const { lang } = (req.query ?? {}) as { lang?: unknown };
        const text = texts.pick(lang, req.headers['accept-language']);
        // the address chose it: forms and refreshes keep it (Accept-Language comes with every request anyway)
        const chosen = typeof lang === 'string' && lang.toLowerCase().split('-')[0] === text.lang;
        return { text, styles, langQuery: chosen ? `?lang=${encodeURIComponent(text.lang)}` : '' };
      },
    } satisfies PageLookKit);
  },
  { name: 'page-look', dependencies: ['config'] },
);
