/**
 * The socket.io events between the gateway and the pages (the waiting room, the console) and
 * the simulator, as one typed map: the gateway's `Server<ClientToServerEvents,
 * ServerToClientEvents, InterServerEvents, SocketData>` and the clients'
 * `Socket<ServerToClientEvents, ClientToServerEvents>` compile against these (the pages and
 * the simulator with `import type`, so nothing of this package reaches a browser bundle).
 * The clients still check what arrives: a gateway of another version may send other shapes.
 *
 * Types only, importing nothing that needs Node.js: the page's compiler reads this file
 * through the `@velvet-rope/contracts/socket-events` entry.
 */
import type { OrderOutcome, SaleStatus } from './events.js';

/** `sale:update`, to the sale's room: once per admission tick, and at once when the last unit goes. */
export interface SaleUpdate {
  readonly saleId: string;
  readonly status: SaleStatus;
  readonly waiting: number;
  /** shoppers holding an admission now (a count) */
  readonly admitted: number;
  readonly remaining: number;
  readonly ratePerMinute: number;
  /** admitted in this tick */
  readonly admittedNow: number;
  /** total admitted since the sale began: the front of the queue has moved this far */
  readonly admittedTotal: number;
  /** the server's clock, epoch ms */
  readonly at: number;
}

/** `queue:admitted`, to one shopper's room when their turn comes. */
export interface QueueAdmitted {
  readonly saleId: string;
  /** the admission token (EdDSA JWT) to buy with */
  readonly token: string;
  /** the end of the checkout window, ISO 8601 */
  readonly expiresAt: string;
}

/** `order:update`, to the buyer's room: the worker's outcome of one order (without whose it is). */
export interface OrderUpdate extends Pick<OrderOutcome, 'orderId' | 'status'> {
  readonly saleId: string;
}

/** A message the marketer shows every page of a sale (issue 16 item 8): plain text, never HTML. */
export interface Notice {
  readonly message: string;
  /** `warning` is announced assertively to screen readers */
  readonly level: 'info' | 'warning';
  /** when it was set, ISO 8601 */
  readonly at: string;
}

/**
 * `sale:notice`, to the sale's room when the marketer sets or clears the notice (null), and to
 * a page as it connects while a notice is up.
 */
export interface SaleNotice {
  readonly saleId: string;
  readonly notice: Notice | null;
}

export interface ServerToClientEvents {
  'sale:update': (e: SaleUpdate) => void;
  'sale:notice': (e: SaleNotice) => void;
  'queue:admitted': (e: QueueAdmitted) => void;
  'order:update': (e: OrderUpdate) => void;
}

/** clients send nothing but the handshake */
export type ClientToServerEvents = Record<string, never>;

/**
 * One admission tick's turns, from the leader to every gateway (`io.serverSideEmit`, one
 * message a tick): each gateway signs and pushes `queue:admitted` to the pages it holds. The
 * gateway holding a shopper's socket signs, because its socket knows the shopper's account
 * (the admission token's `acct`, from the ticket) and the leader does not.
 */
export interface AdmittedTurns {
  readonly saleId: string;
  readonly maxPerShopper: number;
  /** `[visitorId, jti, sequence, expiresAt (epoch ms)]` each */
  readonly turns: readonly (readonly [string, string, number, number])[];
}

/** the gateways speak to each other through the Redis adapter only */
export interface InterServerEvents {
  'queue:turns': (t: AdmittedTurns) => void;
}

/**
 * The handshake's `auth`: a shopper's queue ticket (else the `vr_ticket` cookie is read), or,
 * for a page without one (the countdown before joining, the console), the sale to follow.
 */
export interface SocketAuth {
  readonly ticket?: string;
  readonly saleId?: string;
}

/** Who a socket speaks for, settled at the handshake (gateway http/identity.ts). */
export interface SocketData {
  saleId: string;
  visitorId?: string;
  /** the shop's account on the ticket (`acct`), on a sale for the shop's signed-in shoppers */
  account?: string;
}
