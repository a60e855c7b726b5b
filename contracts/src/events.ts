/**
 * What the order worker tells the gateways over Redis pub/sub (the sale's `events` channel):
 * the outcome of each committed order, and later of each paid or cancelled one (contracts'
 * order-lifecycle.ts, after its commit). The worker's batch event is built in Lua
 * (order-worker's confirm-orders.lua, whose header is its format); a gateway reads every
 * message with `parseSaleEvent`, which checks it rather than trusting it.
 *
 * What the gateways then send to browsers is in socket-events.ts.
 */

/**
 * `suspended`: the marketer switched the sale's flow to maintenance (joins and purchases
 * answer 503 SALE_SUSPENDED, nobody is admitted, places are kept).
 * `held` (a sale with a checkout URL): every unit is in someone's checkout, and unpaid ones
 * come back; `sold_out` means every unit is paid (or, without a checkout URL, sold).
 */
export type SaleStatus = 'scheduled' | 'prequeue' | 'open' | 'paused' | 'suspended' | 'held' | 'sold_out' | 'ended';
/** `paid` and `cancelled` only for a sale with a checkout URL (order-lifecycle.ts) */
export type OrderStatus = 'pending' | 'confirmed' | 'rejected' | 'paid' | 'cancelled';
/**
 * what an order became once committed (`pending` is the gateway's answer before that): the
 * worker's commit (confirmed, rejected), then the shop's answer or a lapsed payment window
 * (paid, cancelled; order-lifecycle.ts publishes those)
 */
export type OrderOutcomeStatus = Exclude<OrderStatus, 'pending'>;

/**
 * An order's outcome: the one shape the worker hands to Redis (confirm-orders.ts), the batch
 * event carries (`orders`) and the gateway delivers, each order to its buyer.
 */
export interface OrderOutcome {
  readonly visitorId: string;
  readonly orderId: string;
  readonly status: OrderOutcomeStatus;
}

/**
 * From the worker: the outcomes of one committed batch of a sale, in one message (one
 * publish and one parse per batch instead of per order, at thousands of orders a second).
 */
export interface OrderUpdatesEvent {
  readonly type: 'order:updates';
  readonly saleId: string;
  readonly orders: readonly OrderOutcome[];
}

/** One order's outcome in an event of its own: what workers before batching published; still understood. */
export interface OrderUpdateEvent extends OrderOutcome {
  readonly type: 'order:update';
  readonly saleId: string;
}

/** Every message a sale's events channel carries. */
export type SaleEvent = OrderUpdatesEvent | OrderUpdateEvent;

const OUTCOME_STATUSES: ReadonlySet<unknown> = new Set<OrderOutcomeStatus>(['confirmed', 'rejected', 'paid', 'cancelled']);

function isOutcome(v: unknown): v is OrderOutcome {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.visitorId === 'string' && typeof o.orderId === 'string' && OUTCOME_STATUSES.has(o.status);
}

/**
 * A message of a sale's events channel, checked: an `order:updates` batch whose every order
 * is an outcome, or a single `order:update`. Anything else (not JSON, another type, a field
 * missing or of the wrong type) is `undefined`, for the caller to drop. Never throws.
 */
export function parseSaleEvent(json: string): SaleEvent | undefined {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const e = v as Record<string, unknown>;
  if (typeof e.saleId !== 'string') return undefined;
  if (e.type === 'order:updates') {
    const { orders } = e;
    if (!Array.isArray(orders)) return undefined;
    for (const o of orders) if (!isOutcome(o)) return undefined;
    return v as OrderUpdatesEvent;
  }
  if (e.type === 'order:update') return isOutcome(v) ? (v as OrderUpdateEvent) : undefined;
  return undefined;
}

/** The outcomes an event carries, as they are in it (nothing copied): a batch's, or the single event itself. */
export function outcomesOf(event: SaleEvent): readonly OrderOutcome[] {
  return event.type === 'order:updates' ? event.orders : [event];
}

/** The outcomes an event carries, each as an `order:update` event of its own. */
export function orderUpdatesOf(event: SaleEvent): OrderUpdateEvent[] {
  return outcomesOf(event).map((o) => ({
    type: 'order:update',
    saleId: event.saleId,
    visitorId: o.visitorId,
    orderId: o.orderId,
    status: o.status,
  }));
}
