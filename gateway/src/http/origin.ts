/**
 * Whether a browser page may open a socket.io connection, from the handshake's Origin header.
 * A page on another origin that the shopper visits sends the shopper's cookies along (the
 * ticket cookie is SameSite=Lax, and a sibling subdomain is same-site): without this check it
 * received `queue:admitted { token }` (issue 12 item 10).
 */
export interface OriginRequest {
  readonly headers: {
    readonly origin?: string | undefined;
    readonly host?: string | undefined;
    readonly 'x-forwarded-host'?: string | string[] | undefined;
  };
}

/**
 * - no Origin: not a browser page (load tools, apps, server-side clients): allowed;
 * - `allowed` not empty (PUBLIC_URL, ALLOWED_ORIGINS): the Origin must be one of them;
 * - otherwise the page must be the gateway's own: the Origin's host is the request's Host
 *   (or X-Forwarded-Host when the proxy is trusted).
 */
export function originAllowed(req: OriginRequest, allowed: readonly string[], trustProxy: boolean): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    // `null` (a sandboxed frame, a file) and anything unparsable
    return false;
  }
  if (allowed.length > 0) return allowed.includes(url.origin);
  const forwarded = req.headers['x-forwarded-host'];
  const host =
    trustProxy && forwarded !== undefined ? (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim() : req.headers.host;
  return host !== undefined && url.host === host.toLowerCase();
}

export interface FormRequest extends OriginRequest {
  readonly headers: OriginRequest['headers'] & { readonly 'sec-fetch-site'?: string | undefined };
}

/**
 * Whether a form POST of the pages without JavaScript (routes/no-script.ts) may act for the
 * shopper whose cookies it carries. A browser's Sec-Fetch-Site (which no page can set) is
 * asked first: `same-origin` (or `none`: typed by the user) passes; another site passes only
 * with an Origin in PUBLIC_URL/ALLOWED_ORIGINS. Its Origin is not enough alone: under the
 * pages' `Referrer-Policy: no-referrer` Chromium sends `Origin: null` even for the page's own
 * form. Without Sec-Fetch-Site (an older browser) the Origin must be allowed as a socket's is
 * (above); a request with neither (curl) is allowed, as the JSON API allows it: the cookies
 * are SameSite=Lax, which a cross-site POST does not carry.
 */
export function formPostAllowed(req: FormRequest, allowed: readonly string[], trustProxy: boolean): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site === 'same-origin' || site === 'none') return true;
  if (site !== undefined) return allowed.length > 0 && req.headers.origin !== undefined && originAllowed(req, allowed, trustProxy);
  return originAllowed(req, allowed, trustProxy);
}
