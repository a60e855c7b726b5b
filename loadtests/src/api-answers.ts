/**
 * The gateway's answers as the load tools read them: parsed and checked, never cast. A body
 * that does not have the documented shape parses to undefined and is counted as a protocol
 * error by the caller.
 */

export type VisitorStatus = 'prequeue' | 'queued' | 'admitted' | 'expired' | 'ordered' | 'sold_out' | 'ended';
const VISITOR_STATUSES: readonly string[] = ['prequeue', 'queued', 'admitted', 'expired', 'ordered', 'sold_out', 'ended'];

export interface Standing {
  readonly status: VisitorStatus;
  readonly position: number | null;
  readonly waiting: number;
  readonly retryAfterMs: number | null;
  readonly admission?: { readonly token: string; readonly expiresAt: string };
  readonly orderId?: string;
}

export interface JoinAnswer extends Standing {
  readonly visitorId: string;
  readonly ticket: string;
}

export interface PurchaseAnswer {
  readonly orderId: string;
  readonly status: string;
}

export interface ErrorAnswer {
  readonly code: string;
  readonly orderId?: string;
}

export interface SaleStats {
  readonly status: string;
  readonly stock: number;
  readonly waiting: number;
  readonly admitted: number;
  readonly admittedTotal: number;
  readonly remaining: number;
  readonly pending: number;
  readonly sold: number;
  readonly confirmedOrders: number;
  readonly rejectedOrders: number;
}

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
}
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const numOrNull = (v: unknown): number | null | undefined => (v === null ? null : isNum(v) ? v : undefined);

export function parseStanding(body: unknown): Standing | undefined {
  const b = obj(body);
  if (!b || !isStr(b.status) || !VISITOR_STATUSES.includes(b.status)) return undefined;
  const position = numOrNull(b.position);
  const retryAfterMs = numOrNull(b.retryAfterMs);
  if (position === undefined || retryAfterMs === undefined || !isNum(b.waiting)) return undefined;
  let admission: Standing['admission'];
  if (b.admission !== undefined) {
    const a = obj(b.admission);
    if (!a || !isStr(a.token) || !isStr(a.expiresAt)) return undefined;
    admission = { token: a.token, expiresAt: a.expiresAt };
  }
  return {
    status: b.status as VisitorStatus,
    position,
    waiting: b.waiting,
    retryAfterMs,
    ...(admission ? { admission } : {}),
    ...(isStr(b.orderId) ? { orderId: b.orderId } : {}),
  };
}

export function parseJoin(body: unknown): JoinAnswer | undefined {
  const b = obj(body);
  const standing = parseStanding(body);
  if (!b || !standing || !isStr(b.visitorId) || !isStr(b.ticket)) return undefined;
  return { ...standing, visitorId: b.visitorId, ticket: b.ticket };
}

export function parsePurchase(body: unknown): PurchaseAnswer | undefined {
  const b = obj(body);
  if (!b || !isStr(b.orderId) || !isStr(b.status)) return undefined;
  return { orderId: b.orderId, status: b.status };
}

export function parseError(body: unknown): ErrorAnswer | undefined {
  const b = obj(body);
  if (!b || !isStr(b.code)) return undefined;
  return { code: b.code, ...(isStr(b.orderId) ? { orderId: b.orderId } : {}) };
}

export function parseStats(body: unknown): SaleStats | undefined {
  const b = obj(body);
  if (!b || !isStr(b.status)) return undefined;
  const fields = [
    'stock',
    'waiting',
    'admitted',
    'admittedTotal',
    'remaining',
    'pending',
    'sold',
    'confirmedOrders',
    'rejectedOrders',
  ] as const;
  for (const f of fields) if (!isNum(b[f])) return undefined;
  return {
    status: b.status,
    stock: b.stock as number,
    waiting: b.waiting as number,
    admitted: b.admitted as number,
    admittedTotal: b.admittedTotal as number,
    remaining: b.remaining as number,
    pending: b.pending as number,
    sold: b.sold as number,
    confirmedOrders: b.confirmedOrders as number,
    rejectedOrders: b.rejectedOrders as number,
  };
}

/** `Retry-After` in ms (delta-seconds or an HTTP date); undefined when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
