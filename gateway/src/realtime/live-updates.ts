/**
 * Live updates over socket.io. Rooms: `sale:<id>` (everyone looking at a sale) and
 * `visitor:<sale>:<visitor>` (one shopper's tabs).
 *
 * Two paths, one per origin:
 * - what a gateway originates (the leader's tick, an admission, sold-out) is emitted through
 *   the Redis adapter, which carries one message per emit to every gateway, and each delivers
 *   it to its own sockets: one message per tick per sale, whatever the number of shoppers;
 * - what the order worker originates (`order:update`) arrives on the sale's Redis events
 *   channel, which every gateway hears, so each emits it to its own sockets only (`local`).
 */
import type { AdmissionTick } from '../admission/admission-loop.js';
import { stillWaiting } from '../sales/sale.js';
import type { AdmissionTokens } from '../tokens/admission-token.js';
import { outcomesOf, type SaleEvent } from '@velvet-rope/contracts';
import type {
  ClientToServerEvents,
  InterServerEvents,
  Notice,
  SaleStatus,
  SaleUpdate,
  ServerToClientEvents,
  SocketData,
} from '@velvet-rope/contracts';
import type { Server } from 'socket.io';

export type LiveServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

export const saleRoom = (saleId: string) => `sale:${saleId}`;
export const visitorRoom = (saleId: string, visitorId: string) => `visitor:${saleId}:${visitorId}`;

export function saleUpdate(
  tick: Pick<AdmissionTick, 'saleId' | 'status' | 'waiting' | 'active' | 'remaining' | 'ratePerMinute' | 'admittedTotal'> & {
    admittedNow: number;
  },
): SaleUpdate {
  return {
    saleId: tick.saleId,
    status: tick.status,
    waiting: stillWaiting(tick.status, tick.waiting),
    admitted: tick.active,
    remaining: tick.remaining,
    ratePerMinute: tick.ratePerMinute,
    admittedNow: tick.admittedNow,
    admittedTotal: tick.admittedTotal,
    at: Date.now(),
  };
}

export class Realtime {
  constructor(
    readonly io: LiveServer,
    private readonly admissions: AdmissionTokens,
  ) {}

  /** The leader's tick: one broadcast to the sale, one push per admitted shopper. */
  async broadcastTick(tick: AdmissionTick): Promise<void> {
    this.io.to(saleRoom(tick.saleId)).emit('sale:update', saleUpdate({ ...tick, admittedNow: tick.admissions.length }));
    for (const a of tick.admissions) {
      const token = await this.admissions.sign({
        visitorId: a.visitorId,
        saleId: tick.saleId,
        jti: a.jti,
        maxQuantity: tick.maxPerShopper,
        sequence: a.sequence,
        expiresAt: a.expiresAt,
      });
      this.io
        .to(visitorRoom(tick.saleId, a.visitorId))
        .emit('queue:admitted', { saleId: tick.saleId, token, expiresAt: new Date(a.expiresAt).toISOString() });
    }
  }

  /**
   * The worker's order event (checked by `parseSaleEvent`), heard on the events channel by
   * every gateway: each outcome to its buyer's pages on this gateway, if any (most gateways
   * hold none of a given buyer's sockets, and an emit to an empty room still encodes the packet).
   */
  deliverOrderOutcomes(event: SaleEvent): void {
    const { saleId } = event;
    const { rooms } = this.io.of('/').adapter;
    for (const o of outcomesOf(event)) {
      const room = visitorRoom(saleId, o.visitorId);
      if (!rooms.has(room)) continue;
      this.io.local.to(room).emit('order:update', { saleId, orderId: o.orderId, status: o.status });
    }
  }

  /**
   * Told at once, not at the next tick: the last unit just went. `status` is the sale's as
   * Redis tells it now: `sold_out`, or `held` when the sale hands orders to a shop and unpaid
   * units may come back.
   */
  soldOut(
    saleId: string,
    figures: { status: SaleStatus; waiting: number; admitted: number; ratePerMinute: number; admittedTotal: number },
  ): void {
    const status = figures.status === 'held' ? 'held' : 'sold_out';
    this.io
      .to(saleRoom(saleId))
      .emit('sale:update', saleUpdate({ ...figures, saleId, status, remaining: 0, active: figures.admitted, admittedNow: 0 }));
  }

  /**
   * The marketer's notice (set, or null: cleared), heard on the sale's events channel by every
   * gateway: each tells its own sockets of the sale.
   */
  deliverNotice(saleId: string, notice: Notice | null): void {
    this.io.local.to(saleRoom(saleId)).emit('sale:notice', { saleId, notice });
  }

  get connections(): number {
    return this.io.engine.clientsCount;
  }
}
