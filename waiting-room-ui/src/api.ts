/**
 * HTTP calls to the gateway. Every outcome is a value: an answer, or a failure with the
 * gateway's stable error `code` (or NETWORK / BAD_ANSWER when there is none) and, for 429 and
 * 503, how long the gateway asked us to wait. Pages switch on `code`; nothing here throws.
 */
import {
  parseJoined,
  parseOrder,
  parsePublicSale,
  parseMyOrders,
  type MyOrder,
  parseStanding,
  ShapeError,
  type Joined,
  type Order,
  type OrderStatus,
  type PublicSale,
  type Standing,
} from './shapes.js';
import { solveChallenge } from './proof-of-work.js';

export interface Failure {
  ok: false;
  /** HTTP status, 0 when the gateway could not be reached */
  status: number;
  code: string;
  message: string;
  /** from Retry-After (429, 503), when given */
  retryAfterMs: number | null;
  /** the error body, for codes that carry more (orderId, remaining) */
  body: Record<string, unknown>;
}
export interface Success<T> {
  ok: true;
  status: number;
  value: T;
  /** when the request was sent and answered (client clock), to correct for the server's */
  sentAt: number;
  receivedAt: number;
}
export type Result<T> = Success<T> | Failure;

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  token?: string | null;
  body?: unknown;
  /** a body sent as it is, with its content type (a CSV upload), instead of `body` as JSON */
  raw?: { type: string; data: Blob | string };
  timeoutMs?: number;
  headers?: Record<string, string>;
}

function retryAfter(res: Response): number | null {
  const h = res.headers.get('retry-after');
  if (h === null) return null;
  const s = Number(h);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const t = Date.parse(h);
  return Number.isNaN(t) ? null : Math.max(0, t - Date.now());
}

export async function request<T>(path: string, parse: (v: unknown) => T, opts: RequestOptions = {}): Promise<Result<T>> {
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.raw) headers['content-type'] = opts.raw.type;
  else if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), opts.timeoutMs ?? 15_000);
  const sentAt = Date.now();
  let res: Response;
  let text: string;
  try {
    res = await fetch(path, {
      method: opts.method ?? 'GET',
      headers,
      body: opts.raw ? opts.raw.data : opts.body === undefined ? undefined : JSON.stringify(opts.body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal: ctl.signal,
    });
    text = await res.text();
  } catch (err) {
    return {
      ok: false,
      status: 0,
      code: 'NETWORK',
      message: err instanceof Error ? err.message : String(err),
      retryAfterMs: null,
      body: {},
    };
  } finally {
    clearTimeout(timer);
  }
  const receivedAt = Date.now();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const body = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {};
    return {
      ok: false,
      status: res.status,
      code: typeof body.code === 'string' ? body.code : `HTTP_${res.status}`,
      message: typeof body.message === 'string' ? body.message : res.statusText,
      retryAfterMs: retryAfter(res),
      body,
    };
  }
  try {
    return { ok: true, status: res.status, value: parse(json), sentAt, receivedAt };
  } catch (err) {
    if (!(err instanceof ShapeError)) throw err;
    return { ok: false, status: res.status, code: 'BAD_ANSWER', message: err.message, retryAfterMs: null, body: {} };
  }
}

/** worth trying again later: the gateway is away, busy or briefly unable */
export function isTransient(f: Failure): boolean {
  return f.status === 0 || f.status === 429 || f.status >= 500 || f.code === 'BAD_ANSWER';
}

const sale = (saleId: string) => `/api/sales/${encodeURIComponent(saleId)}`;

function parseChallenge(v: unknown): { challenge: string; difficulty: number } {
  const o = v as { challenge?: unknown; difficulty?: unknown } | null;
  if (!o || typeof o.challenge !== 'string' || typeof o.difficulty !== 'number') throw new ShapeError('challenge');
  return { challenge: o.challenge, difficulty: o.difficulty };
}

export const shopperApi = {
  sale: (saleId: string) => request<PublicSale>(sale(saleId), parsePublicSale),
  /** joins; when the sale asks for a proof of work, fetches a challenge, solves it and joins with it */
  /**
   * `identity`: the shopper identity the shop signed (the link's `?identity=`), for sales of the
   * shop's signed-in shoppers; the gateway then keeps the account in an HttpOnly session cookie
   */
  join: async (saleId: string, ticket: string | null, identity: string | null = null): Promise<Result<Joined>> => {
    const account: Record<string, string> = identity ? { 'x-shopper-identity': identity } : {};
    const first = await request<Joined>(`${sale(saleId)}/queue`, parseJoined, {
      method: 'POST',
      token: ticket,
      body: {},
      headers: account,
    });
    if (first.ok || first.code !== 'POW_REQUIRED') return first;
    const challenge = await request(`${sale(saleId)}/challenge`, parseChallenge);
    if (!challenge.ok) return challenge;
    const solution = await solveChallenge(challenge.value.challenge, challenge.value.difficulty);
    return request<Joined>(`${sale(saleId)}/queue`, parseJoined, {
      method: 'POST',
      token: ticket,
      body: {},
      headers: { ...account, 'x-proof-of-work': `${challenge.value.challenge}:${solution}` },
    });
  },
  me: (saleId: string, ticket: string | null) => request<Standing>(`${sale(saleId)}/queue/me`, parseStanding, { token: ticket }),
  purchase: (saleId: string, admissionToken: string, quantity: number) =>
    request<{ orderId: string; status: OrderStatus }>(`${sale(saleId)}/purchases`, parseOrder, {
      method: 'POST',
      token: admissionToken,
      body: { quantity },
    }),
  /** a signed-in account's orders across sales (the gateway's session cookie speaks for it) */
  myOrders: () => request<MyOrder[]>('/api/me/orders', parseMyOrders),
  order: (orderId: string, token: string | null) => request<Order>(`/api/orders/${encodeURIComponent(orderId)}`, parseOrder, { token }),
};
