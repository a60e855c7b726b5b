/**
 * The gateway's answers as the pages use them, parsed at the boundary: a field that is missing
 * or of the wrong type throws here, not three functions later as `undefined`.
 */

/** `held`: every unit is in someone's checkout; unpaid ones come back (a sale that hands orders to a shop) */
export type SaleStatus = 'scheduled' | 'prequeue' | 'open' | 'paused' | 'suspended' | 'held' | 'sold_out' | 'ended';
export type VisitorStatus = 'prequeue' | 'queued' | 'admitted' | 'expired' | 'ordered' | 'sold_out' | 'ended';
/** `paid` and `cancelled`: an order of a sale that hands orders to the shop's checkout */
export type OrderStatus = 'pending' | 'confirmed' | 'rejected' | 'paid' | 'cancelled';
export type QueueMode = 'prequeue-random' | 'fifo' | 'random';
/** how shoppers reach their turn (the sale's `flow`, issue 16) */
export type SaleFlow = 'queue' | 'standby' | 'passthrough' | 'suspended';
export const SALE_FLOWS: readonly SaleFlow[] = ['queue', 'standby', 'passthrough', 'suspended'];

const SALE_STATUSES: readonly SaleStatus[] = ['scheduled', 'prequeue', 'open', 'paused', 'suspended', 'held', 'sold_out', 'ended'];
const VISITOR_STATUSES: readonly VisitorStatus[] = ['prequeue', 'queued', 'admitted', 'expired', 'ordered', 'sold_out', 'ended'];
const ORDER_STATUSES: readonly OrderStatus[] = ['pending', 'confirmed', 'rejected', 'paid', 'cancelled'];
const QUEUE_MODES: readonly QueueMode[] = ['prequeue-random', 'fifo', 'random'];

export class ShapeError extends Error {}

type Obj = Record<string, unknown>;

export function obj(v: unknown, what = 'answer'): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ShapeError(`${what} is not an object`);
  return v as Obj;
}
export function num(o: Obj, k: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ShapeError(`${k} is not a number`);
  return v;
}
export function str(o: Obj, k: string): string {
  const v = o[k];
  if (typeof v !== 'string') throw new ShapeError(`${k} is not a string`);
  return v;
}
export function bool(o: Obj, k: string): boolean {
  const v = o[k];
  if (typeof v !== 'boolean') throw new ShapeError(`${k} is not a boolean`);
  return v;
}
function nullable<T>(o: Obj, k: string, read: (o: Obj, k: string) => T): T | null {
  return o[k] === null || o[k] === undefined ? null : read(o, k);
}
/** an ISO date-time as epoch milliseconds */
function time(o: Obj, k: string): number {
  const t = Date.parse(str(o, k));
  if (Number.isNaN(t)) throw new ShapeError(`${k} is not a date`);
  return t;
}
function oneOf<T extends string>(o: Obj, k: string, allowed: readonly T[]): T {
  const v = str(o, k);
  if (!(allowed as readonly string[]).includes(v)) throw new ShapeError(`${k} has an unknown value ${v}`);
  return v as T;
}

export interface PublicSale {
  id: string;
  name: string;
  status: SaleStatus;
  startsAt: number;
  prequeueOpensAt: number | null;
  endsAt: number | null;
  stock: number;
  remaining: number;
  waiting: number;
  admittedTotal: number;
  ratePerMinute: number;
  maxPerShopper: number;
  checkoutSeconds: number;
  queueMode: QueueMode;
  serverTime: number;
  /** the marketer's notice, null when none */
  notice: Notice | null;
  /** `shop`: the sale is for the shop's signed-in accounts (who then see their orders) */
  identity: 'anonymous' | 'shop';
  /** what the sale sells (issue 15 item 5): null when the marketer gave nothing */
  product: Product | null;
}

export function parsePublicSale(v: unknown): PublicSale {
  const o = obj(v, 'sale');
  return {
    id: str(o, 'id'),
    name: str(o, 'name'),
    status: oneOf(o, 'status', SALE_STATUSES),
    startsAt: time(o, 'startsAt'),
    prequeueOpensAt: nullable(o, 'prequeueOpensAt', time),
    endsAt: nullable(o, 'endsAt', time),
    stock: num(o, 'stock'),
    remaining: num(o, 'remaining'),
    waiting: num(o, 'waiting'),
    admittedTotal: num(o, 'admittedTotal'),
    ratePerMinute: num(o, 'ratePerMinute'),
    maxPerShopper: num(o, 'maxPerShopper'),
    checkoutSeconds: num(o, 'checkoutSeconds'),
    queueMode: oneOf(o, 'queueMode', QUEUE_MODES),
    serverTime: time(o, 'serverTime'),
    notice: nullable(o, 'notice', (x, k) => parseNotice(x[k])),
    identity: o.identity === 'shop' ? 'shop' : 'anonymous',
    product: nullable(o, 'product', (x, k) => parseProduct(x[k])),
  };
}

export interface Admission {
  token: string;
  expiresAt: number;
}

/** `/queue/me`, and the standing part of a join answer */
export interface Standing {
  status: VisitorStatus;
  position: number | null;
  waiting: number;
  admittedTotal: number;
  etaSeconds: number | null;
  retryAfterMs: number | null;
  admission: Admission | null;
  orderId: string | null;
  /** the marketer's notice (`/queue/me` carries it; a join answer does not: null) */
  notice: Notice | null;
}

export function parseStanding(v: unknown): Standing {
  const o = obj(v, 'standing');
  const a = o.admission === undefined ? null : obj(o.admission, 'admission');
  return {
    status: oneOf(o, 'status', VISITOR_STATUSES),
    position: nullable(o, 'position', num),
    waiting: num(o, 'waiting'),
    admittedTotal: num(o, 'admittedTotal'),
    etaSeconds: nullable(o, 'etaSeconds', num),
    retryAfterMs: nullable(o, 'retryAfterMs', num),
    admission: a ? { token: str(a, 'token'), expiresAt: time(a, 'expiresAt') } : null,
    orderId: o.orderId === undefined ? null : str(o, 'orderId'),
    notice: nullable(o, 'notice', (x, k) => parseNotice(x[k])),
  };
}

export interface Joined extends Standing {
  visitorId: string;
  ticket: string;
}

export function parseJoined(v: unknown): Joined {
  const o = obj(v, 'join answer');
  return { ...parseStanding(o), visitorId: str(o, 'visitorId'), ticket: str(o, 'ticket') };
}

/** the shop's checkout for a confirmed order: its page with the order and its token in the query */
export interface CheckoutLink {
  url: string;
  token: string;
}

export type CancelReason = 'shop' | 'payment_timeout';

export interface Order {
  orderId: string;
  status: OrderStatus;
  quantity: number | null;
  /** the end of the payment window (a sale that hands off), epoch ms */
  paymentDueAt: number | null;
  cancelReason: CancelReason | null;
  /** while the order is confirmed and waits for payment at the shop */
  checkout: CheckoutLink | null;
}

function checkoutLink(o: Obj): CheckoutLink | null {
  if (o.checkout === undefined || o.checkout === null) return null;
  const c = obj(o.checkout, 'checkout');
  const url = str(c, 'url');
  // only a web address is followed: never javascript: or data:, whatever the answer says
  if (!/^https?:\/\//i.test(url)) throw new ShapeError('checkout.url is not an http(s) address');
  return { url, token: str(c, 'token') };
}

/** `GET /api/orders/:id`, and the purchase answer (which carries only the id and the status) */
export function parseOrder(v: unknown): Order {
  const o = obj(v, 'order');
  return {
    orderId: str(o, 'orderId'),
    status: oneOf(o, 'status', ORDER_STATUSES),
    quantity: typeof o.quantity === 'number' ? o.quantity : null,
    paymentDueAt: nullable(o, 'paymentDueAt', time),
    cancelReason: nullable(o, 'cancelReason', (x, k) => oneOf<CancelReason>(x, k, ['shop', 'payment_timeout'])),
    checkout: checkoutLink(o),
  };
}

/** one of a signed-in account's orders (`GET /api/me/orders`) */
export interface MyOrder {
  orderId: string;
  saleName: string;
  status: OrderStatus;
  quantity: number;
}

export function parseMyOrders(v: unknown): MyOrder[] {
  const o = obj(v, 'orders');
  if (!Array.isArray(o.orders)) throw new ShapeError('orders: not a list');
  return o.orders.map((x: unknown) => {
    const r = obj(x, 'order');
    return {
      orderId: str(r, 'orderId'),
      saleName: str(r, 'saleName'),
      status: oneOf(r, 'status', ORDER_STATUSES),
      quantity: num(r, 'quantity'),
    };
  });
}

/** socket.io `sale:update`: once per admission tick */
export interface SaleUpdate {
  saleId: string;
  status: SaleStatus;
  waiting: number;
  admitted: number;
  remaining: number;
  ratePerMinute: number;
  admittedTotal: number;
  /** server clock, epoch ms */
  at: number;
}

export function parseSaleUpdate(v: unknown): SaleUpdate {
  const o = obj(v, 'sale:update');
  return {
    saleId: str(o, 'saleId'),
    status: oneOf(o, 'status', SALE_STATUSES),
    waiting: num(o, 'waiting'),
    admitted: num(o, 'admitted'),
    remaining: num(o, 'remaining'),
    ratePerMinute: num(o, 'ratePerMinute'),
    admittedTotal: num(o, 'admittedTotal'),
    at: num(o, 'at'),
  };
}

export function parseAdmitted(v: unknown): Admission & { saleId: string } {
  const o = obj(v, 'queue:admitted');
  return { saleId: str(o, 'saleId'), token: str(o, 'token'), expiresAt: time(o, 'expiresAt') };
}

export function parseOrderUpdate(v: unknown): { saleId: string; orderId: string; status: OrderStatus } {
  const o = obj(v, 'order:update');
  return { saleId: str(o, 'saleId'), orderId: str(o, 'orderId'), status: oneOf(o, 'status', ORDER_STATUSES) };
}

export interface AdminSale {
  id: string;
  name: string;
  stock: number;
  sold: number;
  startsAt: number;
  prequeueOpensAt: number | null;
  endsAt: number | null;
  ratePerMinute: number;
  maxActive: number;
  checkoutSeconds: number;
  maxPerShopper: number;
  queueMode: QueueMode;
  windowSeconds: number;
  paused: boolean;
  /** the shop's checkout page: set, each confirmed order is handed to it and held for payment */
  checkoutUrl: string | null;
  /** the payment window after an order is confirmed (sales that hand off) */
  paymentSeconds: number;
  flow: SaleFlow;
  /** the longest the queue may grow; null: no cap */
  maxQueue: number | null;
  /** when the finished sale left Redis (its figures and audit now come from PostgreSQL); null: not retired */
  retiredAt: number | null;
  /** `shop`: the sale is for the shop's signed-in accounts; set at creation, never changed */
  identity: SaleIdentity;
  /** only the accounts on the sale's invite list may take a place (needs identity `shop`) */
  inviteOnly: boolean;
  /** what the sale sells; null: nothing said */
  product: Product | null;
}

export type SaleIdentity = 'anonymous' | 'shop';
const SALE_IDENTITIES: readonly SaleIdentity[] = ['anonymous', 'shop'];

/** what a sale sells (issue 15 item 5): each part optional; a price always has its ISO 4217 currency */
export interface Product {
  description?: string;
  imageUrl?: string;
  /** a decimal string, as the marketer gave it ("19.90") */
  price?: string;
  currency?: string;
}

export function parseProduct(v: unknown): Product {
  const o = obj(v, 'product');
  const p: Product = {};
  for (const k of ['description', 'imageUrl', 'price', 'currency'] as const) if (o[k] !== undefined) p[k] = str(o, k);
  return p;
}

/** whether a sale hands its confirmed orders to the shop's checkout (issue 14) */
export const handsOff = (s: AdminSale): boolean => s.checkoutUrl !== null;

export function parseAdminSale(v: unknown): AdminSale {
  const o = obj(v, 'sale');
  return {
    id: str(o, 'id'),
    name: str(o, 'name'),
    stock: num(o, 'stock'),
    sold: num(o, 'sold'),
    startsAt: time(o, 'startsAt'),
    prequeueOpensAt: nullable(o, 'prequeueOpensAt', time),
    endsAt: nullable(o, 'endsAt', time),
    ratePerMinute: num(o, 'ratePerMinute'),
    maxActive: num(o, 'maxActive'),
    checkoutSeconds: num(o, 'checkoutSeconds'),
    maxPerShopper: num(o, 'maxPerShopper'),
    queueMode: oneOf(o, 'queueMode', QUEUE_MODES),
    windowSeconds: num(o, 'windowSeconds'),
    paused: bool(o, 'paused'),
    checkoutUrl: nullable(o, 'checkoutUrl', str),
    paymentSeconds: num(o, 'paymentSeconds'),
    flow: oneOf(o, 'flow', SALE_FLOWS),
    maxQueue: nullable(o, 'maxQueue', num),
    retiredAt: o.retiredAt === undefined ? null : time(o, 'retiredAt'),
    identity: oneOf(o, 'identity', SALE_IDENTITIES),
    inviteOnly: bool(o, 'inviteOnly'),
    product: nullable(o, 'product', (x, k) => parseProduct(x[k])),
  };
}

export interface SaleStats {
  status: SaleStatus;
  stock: number;
  /** shoppers in line still waiting for a unit: 0 once the sale is sold out or ended */
  waiting: number;
  /** shoppers still in line who were told the sale sold out or ended */
  toldSoldOut: number;
  admitted: number;
  admittedTotal: number;
  remaining: number;
  pending: number;
  sold: number;
  confirmedOrders: number;
  rejectedOrders: number;
  /** units paid (a sale without a checkout: every sold unit) */
  paid: number;
  /** units confirmed and waiting for payment in the shop's checkout */
  held: number;
  /** units of cancelled orders, back on sale */
  returned: number;
  ratePerMinute: number;
  /** the rate in force: the closed loop's when adaptiveRate is on */
  effectiveRatePerMinute: number;
  adaptiveRate: boolean;
  maxActive: number;
  paused: boolean;
  flow: SaleFlow;
  /** whether joins take a place in the queue now (standby: only once a threshold was passed) */
  queueing: boolean;
  /** server clock, epoch ms */
  at: number;
}

export function parseSaleStats(v: unknown): SaleStats {
  const o = obj(v, 'stats');
  return {
    status: oneOf(o, 'status', SALE_STATUSES),
    stock: num(o, 'stock'),
    waiting: num(o, 'waiting'),
    toldSoldOut: num(o, 'toldSoldOut'),
    admitted: num(o, 'admitted'),
    admittedTotal: num(o, 'admittedTotal'),
    remaining: num(o, 'remaining'),
    pending: num(o, 'pending'),
    sold: num(o, 'sold'),
    confirmedOrders: num(o, 'confirmedOrders'),
    rejectedOrders: num(o, 'rejectedOrders'),
    paid: num(o, 'paid'),
    held: num(o, 'held'),
    returned: num(o, 'returned'),
    ratePerMinute: num(o, 'ratePerMinute'),
    effectiveRatePerMinute: num(o, 'effectiveRatePerMinute'),
    adaptiveRate: bool(o, 'adaptiveRate'),
    maxActive: num(o, 'maxActive'),
    paused: bool(o, 'paused'),
    flow: oneOf(o, 'flow', SALE_FLOWS),
    queueing: bool(o, 'queueing'),
    at: time(o, 'at'),
  };
}

// ---- the shop's webhook endpoints (issue 14) ---------------------------------------------

export type ShopEventType =
  'order.confirmed' | 'order.paid' | 'order.cancelled' | 'order.rejected' | 'sale.held' | 'sale.sold_out' | 'sale.ended';
export type DeliveryStatus = 'pending' | 'delivering' | 'delivered' | 'failed';

export const SHOP_EVENT_TYPES: readonly ShopEventType[] = [
  'order.confirmed',
  'order.paid',
  'order.cancelled',
  'order.rejected',
  'sale.held',
  'sale.sold_out',
  'sale.ended',
];
const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'delivering', 'delivered', 'failed'];
const WEBHOOK_SOURCES: readonly ('api' | 'config')[] = ['api', 'config'];

function list<T>(o: Obj, k: string, parse: (v: unknown) => T): T[] {
  const v = o[k];
  if (!Array.isArray(v)) throw new ShapeError(`${k} is not a list`);
  return v.map(parse);
}

export interface Webhook {
  id: string;
  url: string;
  /** the event types it receives (all of them when it was added without a list) */
  events: ShopEventType[];
  /** 'config': registered from the gateway's WEBHOOK_URL at boot */
  source: 'api' | 'config';
  createdAt: number;
}

export function parseWebhook(v: unknown): Webhook {
  const o = obj(v, 'webhook');
  return {
    id: str(o, 'id'),
    url: str(o, 'url'),
    events: list(o, 'events', (e) => oneOf({ event: e }, 'event', SHOP_EVENT_TYPES)),
    source: oneOf(o, 'source', WEBHOOK_SOURCES),
    createdAt: time(o, 'createdAt'),
  };
}

/** a new endpoint: the one answer that carries its signing secret */
export function parseCreatedWebhook(v: unknown): Webhook & { secret: string } {
  const o = obj(v, 'webhook');
  return { ...parseWebhook(o), secret: str(o, 'secret') };
}

export function parseWebhooks(v: unknown): Webhook[] {
  return list(obj(v, 'webhooks'), 'webhooks', parseWebhook);
}

export interface WebhookDelivery {
  id: number;
  /** the webhook-id header: the same on every attempt */
  eventId: string;
  eventType: ShopEventType;
  status: DeliveryStatus;
  attempts: number;
  responseStatus: number | null;
  lastError: string | null;
  latencyMs: number | null;
  createdAt: number;
  deliveredAt: number | null;
  /** when it is tried next (null once delivered or failed) */
  nextAttemptAt: number | null;
}

export function parseDelivery(v: unknown): WebhookDelivery {
  const o = obj(v, 'delivery');
  return {
    id: num(o, 'id'),
    eventId: str(o, 'eventId'),
    eventType: oneOf(o, 'eventType', SHOP_EVENT_TYPES),
    status: oneOf(o, 'status', DELIVERY_STATUSES),
    attempts: num(o, 'attempts'),
    responseStatus: nullable(o, 'responseStatus', num),
    lastError: nullable(o, 'lastError', str),
    latencyMs: nullable(o, 'latencyMs', num),
    createdAt: time(o, 'createdAt'),
    deliveredAt: nullable(o, 'deliveredAt', time),
    nextAttemptAt: nullable(o, 'nextAttemptAt', time),
  };
}

export function parseDeliveries(v: unknown): WebhookDelivery[] {
  return list(obj(v, 'deliveries'), 'deliveries', parseDelivery);
}

/** an answer without a body (204) */
export function parseNothing(v: unknown): null {
  if (v !== undefined && v !== null) throw new ShapeError('expected no body');
  return null;
}

/** The marketer's notice to every page of the sale: plain text, shown as text only. */
export interface Notice {
  message: string;
  level: 'info' | 'warning';
  /** when it was set, epoch ms */
  at: number;
}

export function parseNotice(v: unknown): Notice {
  const o = obj(v, 'notice');
  return { message: str(o, 'message'), level: oneOf(o, 'level', ['info', 'warning'] as const), at: time(o, 'at') };
}

/** socket.io `sale:notice`: set (or null: cleared) */
export function parseSaleNotice(v: unknown): { saleId: string; notice: Notice | null } {
  const o = obj(v, 'sale:notice');
  return { saleId: str(o, 'saleId'), notice: o.notice === null ? null : parseNotice(o.notice) };
}
