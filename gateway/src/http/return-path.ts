/**
 * Where a sign-in sends the shopper back (`/auth/login?sale=<id>` or `?return=<path>`): a path
 * of this gateway only, never another site (an open redirect would let a phishing link borrow
 * the shop's sign-in). A sale id becomes its waiting room; a return path must be an absolute
 * path that stays on the origin however a browser reads it: no `//host`, no `/\host`, no
 * backslash, control character or scheme. Anything else is refused, not rewritten.
 */
import { isSaleId } from '@velvet-rope/contracts';

/** the longest return path taken */
const MAX_RETURN_PATH = 512;
/** any origin: what a path resolves against must still be this one */
const PROBE_ORIGIN = 'http://return-path.invalid';

export type ReturnPath = { readonly ok: true; readonly path: string } | { readonly ok: false; readonly reason: string };

/** The waiting room of a sale, or a same-origin path; neither given: the console's root `/`. */
export function returnPath(query: { readonly sale?: unknown; readonly return?: unknown }): ReturnPath {
  if (query.sale !== undefined) {
    if (typeof query.sale !== 'string' || !isSaleId(query.sale)) return { ok: false, reason: 'sale is not a sale id' };
    return { ok: true, path: `/sales/${encodeURIComponent(query.sale)}` };
  }
  if (query.return === undefined) return { ok: true, path: '/' };
  const given = query.return;
  if (typeof given !== 'string' || given.length === 0 || given.length > MAX_RETURN_PATH)
    return { ok: false, reason: 'return must be a path' };
  const path = sameOriginPath(given);
  if (path === undefined) return { ok: false, reason: 'return must be a path of this site (starting with a single /)' };
  // percent-encoding may lengthen it: the bound holds for what is kept (and sent as Location)
  return path.length > MAX_RETURN_PATH ? { ok: false, reason: 'return must be a path' } : { ok: true, path };
}

/**
 * The path as a browser would send it (`/café` is `/caf%C3%A9`: a Location header is ASCII),
 * when it stays on this origin; undefined when it would leave it.
 */
export function sameOriginPath(path: string): string | undefined {
  if (!path.startsWith('/') || path.startsWith('//')) return undefined;
  // browsers read `\` as `/` (`/\evil.example` is `//evil.example`) and drop tabs and newlines
  // eslint-disable-next-line no-control-regex
  if (/[\\\u0000-\u001f\u007f]/.test(path)) return undefined;
  try {
    const url = new URL(path, PROBE_ORIGIN);
    return url.origin === PROBE_ORIGIN ? `${url.pathname}${url.search}${url.hash}` : undefined;
  } catch {
    return undefined;
  }
}
