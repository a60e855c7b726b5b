/**
 * Live updates over socket.io. Rooms: `sale:<id>` (everyone looking at a sale) and
 * `visitor:<sale>:<visitor>` (one shopper's tabs).
 *
 * Three paths:
 * - what a gateway originates for a whole sale (the leader's tick, sold-out) is emitted through
 *   the Redis adapter, which carries one message per emit to every gateway, and each delivers
 *   it to its own sockets: one message per tick per sale, whatever the number of shoppers;
 * - a tick's turns go to every gateway in one inter-server message (`queue:turns`), and the
 *   gateway holding a shopper's page signs their admission token and pushes it (`local`): its
 *   socket knows the shopper's account (the token's `acct`), the leader does not;
 * - what the order worker originates (`order:update`) arrives on the sale's Redis events
 *   channel, which every gateway hears, so each emits it to its own sockets only (`local`).
 */
import type { AdmissionTick } from '../admission/admission-loop.js';
import { stillWaiting } from '../sales/sale.js';
import type { AdmissionTokens } from '../tokens/admission-token.js';
import { outcomesOf, type SaleEvent } from '@velvet-rope/contracts';
import type {
  AdmittedTurns,
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
    onFailure: (err: unknown) => void = () => {},
  ) {
    // another gateway's tick (a gateway of another version may send another shape: checked)
    io.on('queue:turns', (t: unknown) => {
      if (isAdmittedTurns(t)) this.pushTurns(t).catch(onFailure);
    });
  }

  /** The leader's tick: one broadcast to the sale, the turns to every gateway, pushed here to the pages this gateway holds. */
  async broadcastTick(tick: AdmissionTick): Promise<void> {
    this.io.to(saleRoom(tick.saleId)).emit('sale:update', saleUpdate({ ...tick, admittedNow: tick.admissions.length }));
    if (tick.admissions.length === 0) return;
    const turns: AdmittedTurns = {
      saleId: tick.saleId,
      maxPerShopper: tick.maxPerShopper,
      turns: tick.admissions.map((a) => [a.visitorId, a.jti, a.sequence, a.expiresAt] as const),
    };
    this.io.serverSideEmit('queue:turns', turns);
    await this.pushTurns(turns);
  }

  /**
   * A tick's turns, each to the shopper's pages on this gateway, if any: signed here, with the
   * account the shopper's socket was opened with (every socket of a visitor room is the same
   * shopper's). Most gateways hold none of a given shopper's pages: a map lookup each.
   */
  async pushTurns(t: AdmittedTurns): Promise<void> {
    const nsp = this.io.of('/');
    for (const [visitorId, jti, sequence, expiresAt] of t.turns) {
      const room = visitorRoom(t.saleId, visitorId);
      const members = nsp.adapter.rooms.get(room);
      if (members === undefined || members.size === 0) continue;
      const first: string = members.values().next().value!;
      const token = await this.admissions.sign({
        visitorId,
        saleId: t.saleId,
        jti,
        maxQuantity: t.maxPerShopper,
        sequence,
        expiresAt,
        account: nsp.sockets.get(first)?.data.account,
      });
      this.io.local.to(room).emit('queue:admitted', { saleId: t.saleId, token, expiresAt: new Date(expiresAt).toISOString() });
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

function isAdmittedTurns(v: unknown): v is AdmittedTurns {
  if (typeof v !== 'object' || v === null) return false;
  const t = v as Partial<AdmittedTurns>;
  return (
    typeof t.saleId === 'string' &&
    Number.isSafeInteger(t.maxPerShopper) &&
    Array.isArray(t.turns) &&
    t.turns.every(
      (e) =>
        Array.isArray(e) &&
        e.length === 4 &&
        typeof e[0] === 'string' &&
        typeof e[1] === 'string' &&
        Number.isSafeInteger(e[2]) &&
        Number.isFinite(e[3]),
    )
  );
}
