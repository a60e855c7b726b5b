/**
 * A gate in front of the shop's own pages (issue 15 item 6, what Cloudflare's Waiting Room
 * does). The deployment names the shop (`PROTECTED_ORIGIN`) and a sale names the path prefixes
 * it gates (`protectedPaths`). A request under a live sale's prefix is proxied to the shop, its
 * answer streamed back untouched, only for a visitor holding a live admission of that sale: the
 * `vr_gate_<saleId>` cookie (HttpOnly) the gateway sets when it tells the visitor they are
 * admitted, carrying the visitor, the admission's end and a MAC. Others are sent to the waiting
 * room (a page: 302 to `/sales/<id>?return=<path>`; `Accept: application/json`: 429 with
 * Retry-After and where to wait). Per request the gate costs a prefix match and one cookie
 * check in memory: no Redis round trip. The prefixes of live sales are read from PostgreSQL
 * every 2 s (at once after a change through this gateway).
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type pg from 'pg';
import { GATE_COOKIE_PREFIX, cookieValue } from '../http/credentials.js';
import { HmacSha256 } from '../tokens/hmac.js';
import { VISITOR_ID_RE } from '../tokens/visitor-id.js';
import { underPrefix } from './protected-paths.js';

const REFRESH_MS = 2_000;

interface Gated {
  readonly prefix: string;
  readonly saleId: string;
}

/** The cookie that opens the gate: `<visitorId>.<admission end in s, base 36>.<mac>` */
export class GateCookie {
  readonly #mac: HmacSha256;
  constructor(secret: string) {
    this.#mac = new HmacSha256(`gate-cookie:${secret}`);
  }

  seal(saleId: string, visitorId: string, expiresAt: number): string {
    const body = `${visitorId}.${Math.floor(expiresAt / 1000).toString(36)}`;
    return `${body}.${this.#sign(saleId, body)}`;
  }

  /** whether the value opens the gate of `saleId` now */
  opens(saleId: string, value: string | undefined, now = Date.now()): boolean {
    if (!value || value.length > 100) return false;
    const last = value.lastIndexOf('.');
    if (last < 0) return false;
    const body = value.slice(0, last);
    const given = Buffer.from(value.slice(last + 1), 'utf8');
    const want = Buffer.from(this.#sign(saleId, body), 'utf8');
    if (given.length !== want.length || !timingSafeEqual(given, want)) return false;
    const [visitorId, exp] = body.split('.');
    if (!visitorId || !VISITOR_ID_RE.test(visitorId) || !exp || !/^[0-9a-z]{1,10}$/.test(exp)) return false;
    return parseInt(exp, 36) * 1000 > now;
  }

  #sign(saleId: string, body: string): string {
    return this.#mac.digest(`${saleId}\n${body}`).toString('base64url').slice(0, 32);
  }
}

/** Which live sale gates a path: the longest prefix wins. */
export class GateTable {
  #gated: readonly Gated[] = [];
  #sales = new Set<string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly pool: pg.Pool) {}

  async start(onError: (err: unknown) => void): Promise<void> {
    await this.refresh();
    const loop = () => {
      this.#timer = setTimeout(() => {
        this.refresh()
          .catch(onError)
          .finally(() => {
            if (this.#timer) loop();
          });
      }, REFRESH_MS);
      this.#timer.unref();
    };
    loop();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The live sales' prefixes from PostgreSQL: not retired, not ended. */
  async refresh(): Promise<void> {
    const { rows } = await this.pool.query<{ id: string; protected_paths: string[] }>(
      `SELECT id, protected_paths FROM sales
        WHERE retired_at IS NULL AND protected_paths <> '[]'::jsonb AND (ends_at IS NULL OR ends_at > now())`,
    );
    const gated = rows.flatMap((r) => r.protected_paths.map((prefix) => ({ prefix, saleId: r.id })));
    gated.sort((a, b) => b.prefix.length - a.prefix.length || a.saleId.localeCompare(b.saleId));
    this.#gated = gated;
    this.#sales = new Set(rows.map((r) => r.id));
  }

  match(path: string): string | undefined {
    for (const g of this.#gated) if (underPrefix(path, g.prefix)) return g.saleId;
    return undefined;
  }

  gates(saleId: string): boolean {
    return this.#sales.has(saleId);
  }

  /** a prefix of these that another live sale gates already (one page, one sale's gate), if any */
  clash(saleId: string, paths: readonly string[]): { readonly path: string; readonly saleId: string } | undefined {
    for (const path of paths) {
      for (const g of this.#gated) {
        if (g.saleId !== saleId && (underPrefix(path, g.prefix) || underPrefix(g.prefix, path))) return { path, saleId: g.saleId };
      }
    }
    return undefined;
  }
}

/** where a refused visitor waits for the gated `url` */
export function waitingRoomFor(saleId: string, url: string): string {
  return `/sales/${encodeURIComponent(saleId)}?return=${encodeURIComponent(url)}`;
}

export function wantsJson(req: FastifyRequest): boolean {
  const accept = req.headers.accept ?? '';
  return accept.includes('application/json') && !accept.includes('text/html');
}

/** the path of a request URL, without its query (as the client sent it: not decoded) */
export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

export function gateCookieOf(req: FastifyRequest, saleId: string): string | undefined {
  return cookieValue(req, `${GATE_COOKIE_PREFIX}${saleId}`);
}
