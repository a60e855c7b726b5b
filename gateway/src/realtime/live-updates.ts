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
import type { AdmissionTokens } from '../tokens/admission-token.js';
import type { SaleStatus, SaleUpdateEvent, OrderUpdateEvent } from '@velvet-rope/contracts';
import type { Server } from 'socket.io';

export const saleRoom = (saleId: string) => `sale:${saleId}`;
export const visitorRoom = (saleId: string, visitorId: string) => `visitor:${saleId}:${visitorId}`;

/** What the server sends (typed events, shared with the page and the simulator). */
export interface ServerToClientEvents {
  'sale:update': (e: Omit<SaleUpdateEvent, 'type'>) => void;
  'queue:admitted': (e: { saleId: string; token: string; expiresAt: string }) => void;
  'order:update': (e: { saleId: string; orderId: string; status: OrderUpdateEvent['status'] }) => void;
}
export type ClientToServerEvents = Record<string, never>;
export interface SocketData {
  saleId: string;
  visitorId?: string;
}

export function saleUpdate(tick: Pick<AdmissionTick, 'saleId' | 'status' | 'waiting' | 'active' | 'remaining' | 'ratePerMinute' | 'admittedTotal'> & { admittedNow: number }): Omit<SaleUpdateEvent, 'type'> {
  return {
    saleId: tick.saleId,
    status: tick.status as SaleStatus,
    waiting: tick.waiting,
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
    readonly io: Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>,
    private readonly admissions: AdmissionTokens,
  ) {}

  /** The leader's tick: one broadcast to the sale, one push per admitted shopper. */
  async broadcastTick(tick: AdmissionTick): Promise<void> {
    this.io.to(saleRoom(tick.saleId)).emit('sale:update', saleUpdate({ ...tick, admittedNow: tick.admitted.length }));
    for (const a of tick.admitted) {
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
   * The worker's order event, heard on the events channel by every gateway: to the buyer's
   * pages on this gateway, if any (most gateways hold none of a given buyer's sockets, and
   * an emit to an empty room still encodes the packet).
   */
  deliverOrderUpdate(e: OrderUpdateEvent): void {
    const room = visitorRoom(e.saleId, e.visitorId);
    if (!this.io.of('/').adapter.rooms.has(room)) return;
    this.io.local.to(room).emit('order:update', { saleId: e.saleId, orderId: e.orderId, status: e.status });
  }

  /** Told at once, not at the next tick: the last unit just went. */
  soldOut(saleId: string, figures: { waiting: number; admitted: number; ratePerMinute: number; admittedTotal: number }): void {
    this.io.to(saleRoom(saleId)).emit(
      'sale:update',
      saleUpdate({ saleId, status: 'sold_out', remaining: 0, active: figures.admitted, admittedNow: 0, ...figures }),
    );
  }

  get connections(): number {
    return this.io.engine.clientsCount;
  }
}
