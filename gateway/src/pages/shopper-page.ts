/**
 * The shopper's page in the shopper's language (issue 15 item 5). waiting-room-ui's build writes
 * it once per language of its catalogue (dist/sale.html in the fallback language,
 * dist/sale.<lang>.html for the others, each with its `<html lang dir>`); the gateway reads
 * them at boot, adds the deployment's branding to each once, and per request only picks one:
 * `?lang=` wins, then the Accept-Language header, then the fallback. The page's scripts read
 * the language from `<html lang>`, so the server's choice is the page's.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brandPage, type BrandMarks } from './branding.js';

export interface ShopperPages {
  /** the fallback first */
  readonly languages: readonly string[];
  /** the branded page in this language (one of `languages`) */
  page(lang: string): string;
  /** its strong ETag (a hash of the page: the same on every gateway of a deployment), for a 304 on reload */
  etag(lang: string): string;
}

const langOf = (html: string): string | undefined => /<html[^>]*\slang="([^"]+)"/.exec(html)?.[1]?.toLowerCase();

/** the built pages under `root`, branded; undefined when sale.html is not built */
export function loadShopperPages(root: string, marks: BrandMarks): ShopperPages | undefined {
  let files: string[];
  try {
    files = readdirSync(root);
  } catch {
    return undefined;
  }
  if (!files.includes('sale.html')) return undefined;
  const fallbackHtml = readFileSync(join(root, 'sale.html'), 'utf8');
  const fallback = langOf(fallbackHtml) ?? 'en';
  const pages = new Map<string, string>([[fallback, brandPage(fallbackHtml, marks)]]);
  for (const f of files.sort()) {
    const m = /^sale\.([a-z]{2,3}(?:-[a-z0-9]{2,8})?)\.html$/i.exec(f);
    if (m) pages.set(m[1]!.toLowerCase(), brandPage(readFileSync(join(root, f), 'utf8'), marks));
  }
  const etags = new Map(
    [...pages].map(([lang, html]) => [lang, `"${createHash('sha256').update(html).digest('base64url').slice(0, 27)}"`]),
  );
  return {
    languages: [...pages.keys()],
    page: (lang) => pages.get(lang) ?? pages.get(fallback)!,
    etag: (lang) => etags.get(lang) ?? etags.get(fallback)!,
  };
}

/** the available language a tag asks for: itself, or its primary subtag (`de-AT` -> `de`) */
function match(tag: string, available: readonly string[]): string | undefined {
  const t = tag.trim().toLowerCase();
  if (t === '' || t === '*') return undefined;
  if (available.includes(t)) return t;
  const primary = t.split('-')[0]!;
  return available.includes(primary) ? primary : undefined;
}

/**
 * `?lang=` if it names an available language, else the best of Accept-Language (RFC 9110
 * 12.5.4: by `q`, then in order; `q=0` is "not this"), else the first available.
 */
export function pickLanguage(query: unknown, acceptLanguage: string | undefined, available: readonly string[]): string {
  if (typeof query === 'string') {
    const asked = match(query, available);
    if (asked) return asked;
  }
  if (acceptLanguage) {
    const ranges = acceptLanguage
      .slice(0, 1_000)
      .split(',')
      .map((part, i) => {
        const [tag = '', ...params] = part.split(';');
        const q = params.map((p) => /^\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
        return { tag, q: q === undefined ? 1 : Number(q), i };
      })
      .filter((r) => r.q > 0)
      .sort((a, b) => b.q - a.q || a.i - b.i);
    for (const r of ranges) {
      const found = match(r.tag, available);
      if (found) return found;
    }
  }
  return available[0]!;
}
