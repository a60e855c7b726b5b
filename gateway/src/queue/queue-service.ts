/**
 * Joining the queue and asking where one stands: one Lua script, one round trip each (the
 * requests of one event-loop turn share the script call: queue-batcher.ts), with the
 * per-visitor rate limit counted inside that same call.
 */
import type { SaleStatus } from '@velvet-rope/contracts';
import type { RedisClient as Redis } from '@velvet-rope/contracts';
import type { AdmissionTokens } from '../tokens/admission-token.js';
import { AppError } from '../errors.js';
import type { Identity } from '../http/identity.js';
import { auditPseudonym, pseudonymFraction } from './fairness-score.js';
import type { TicketClaims, TicketSigner } from '../tokens/queue-ticket.js';
import type { NewPlaceLimit } from './new-place-limit.js';
import type { KeySpace } from '../redis/keyspace.js';
import type { KnownVisitor, SaleStore } from '../sales/sale-store.js';
import { TurnBatcher } from '../lib/turn-batcher.js';
import { newVisitorId } from '../tokens/visitor-id.js';
import { NOT_FOUND, QueueBatcher, type QueueOp, type QueueReply } from './queue-batcher.js';

export type VisitorStatus = 'prequeue' | 'queued' | 'admitted' | 'expired' | 'ordered' | 'sold_out' | 'ended';

export interface Standing {
  readonly status: VisitorStatus;
  readonly saleStatus: SaleStatus;
  readonly position: number | null;
  readonly waiting: number;
  /** shoppers admitted so far in this sale: the front of the queue has moved this far */
  readonly admittedTotal: number;
  readonly etaSeconds: number | null;
  readonly retryAfterMs: number | null;
  readonly admission?: { readonly token: string; readonly expiresAt: string };
  readonly orderId?: string;
  /** the visitor's pseudonym in this sale's fairness audit (their line, once the sale ended) */
  readonly auditId: string;
}

export interface JoinResult {
  readonly created: boolean;
  readonly visitorId: string;
  readonly ticket: string;
  readonly standing: Standing;
}

/**
 * Rate limits counted in the join script, requests per minute (0: none). New places per
 * address are counted across sales by `NewPlaceLimit`, not here.
 */
export interface QueueLimits {
  readonly joinPerVisitor: number;
  readonly statusPerVisitor: number;
}

export const NO_LIMITS: QueueLimits = { joinPerVisitor: 0, statusPerVisitor: 0 };

const MIN_RETRY_MS = 1_000;
/** a poller far back asks at most every ten minutes (live updates tell it more often) */
const MAX_RETRY_MS = 600_000;
/** before the start, or while the line does not move, a page asks this often (the marketer may change either) */
const PREQUEUE_RECHECK_MS = 60_000;

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

export class QueueService {
  readonly #batcher: QueueBatcher;
  /** PostgreSQL lookups for restored visitors, one query per sale and event-loop turn */
  readonly #known: TurnBatcher<string, KnownVisitor>;

  constructor(
    private readonly redis: Redis,
    private readonly keyspace: KeySpace,
    private readonly sales: SaleStore,
    private readonly tickets: TicketSigner,
    private readonly admissions: AdmissionTokens,
    private readonly limits: QueueLimits = NO_LIMITS,
    observeBatch?: (size: number) => void,
    /** new places per address, across sales (none: not limited) */
    private readonly newPlaces?: NewPlaceLimit,
  ) {
    this.#batcher = new QueueBatcher(redis, keyspace, observeBatch);
    this.#known = new TurnBatcher((saleId, visitorIds) => this.sales.knownOf(saleId, visitorIds), 500);
  }

  /**
   * `address`: the client's IP. A join without a valid ticket of this sale may create a new
   * place, whoever the visitor claims to be (a new one, a sealed cookie, a ticket of another
   * sale): it counts against the address's new places first, and one over the limit is
   * refused before the queue is touched.
   */
  async join(saleId: string, who: Identity, address = ''): Promise<JoinResult> {
    const seed = await this.sales.seed(saleId);
    if (!seed) throw await this.sales.missing(saleId);
    if (this.newPlaces && !who.ticketOfThisSale) {
      const waitMs = await this.newPlaces.count(address);
      if (waitMs > 0) {
        throw new AppError(
          'RATE_LIMITED',
          `too many new places from this address: at most ${this.newPlaces.perMinute} per minute`,
          undefined,
          Math.max(1, Math.ceil(waitMs / 1000)),
        );
      }
    }
    const visitorId = who.visitorId ?? newVisitorId();
    // the pseudonym once: the fraction is derived from it, and the answer carries it
    const auditId = auditPseudonym(seed, visitorId);
    const [caller, limit] = who.visitorId ? [`v:${who.visitorId}`, this.limits.joinPerVisitor] : ['', 0];
    const reply = await this.#run(saleId, {
      visitorId,
      fraction: String(pseudonymFraction(seed, auditId)),
      ticketScore: who.ticketScore === undefined ? '' : String(who.ticketScore),
      op: 'join',
      powNonce: who.proof?.nonce ?? '',
      powBits: who.proof?.bits ?? 0,
      caller,
      limit,
    });
    const outcome = reply[0];
    if (outcome === 'POW_REQUIRED') {
      throw new AppError('POW_REQUIRED', 'this sale asks for a proof of work: solve a challenge first', {
        difficulty: Number(reply[1]),
        challengeUrl: `/api/sales/${saleId}/challenge`,
      });
    }
    if (outcome === 'POW_REUSED') throw new AppError('POW_INVALID', 'this proof of work was used already');
    if (outcome === 'REFUSED') {
      const status = reply[1] as SaleStatus;
      if (status === 'sold_out') throw new AppError('SOLD_OUT', 'this sale is sold out');
      if (status === 'ended') throw new AppError('SALE_ENDED', 'this sale has ended');
      throw new AppError('SALE_NOT_OPEN', 'the queue for this sale is not open yet');
    }
    const score = String(reply[3]);
    const standing =
      outcome === 'RESTORED' ? await this.#restored(saleId, visitorId, auditId, reply) : await this.#standing(saleId, visitorId, auditId, reply);
    // the ticket carries the score, so an emptied Redis can put the visitor back in place
    const ticket = this.tickets.sign(visitorId, saleId, score === '' ? -1 : Number(score));
    return { created: outcome === 'NEW', visitorId, ticket, standing };
  }

  async status(saleId: string, ticket: TicketClaims): Promise<Standing> {
    const seed = await this.sales.seed(saleId);
    if (!seed) throw await this.sales.missing(saleId);
    const auditId = auditPseudonym(seed, ticket.sub);
    const reply = await this.#run(saleId, {
      visitorId: ticket.sub,
      fraction: '0',
      ticketScore: ticket.scr >= 0 ? String(ticket.scr) : '',
      op: 'status',
      powNonce: '',
      powBits: 0,
      caller: `v:${ticket.sub}`,
      limit: this.limits.statusPerVisitor,
    });
    if (reply[0] === 'UNKNOWN') throw new AppError('INVALID_TICKET', 'this ticket holds no place in the queue');
    if (reply[0] === 'RESTORED') return this.#restored(saleId, ticket.sub, auditId, reply);
    return this.#standing(saleId, ticket.sub, auditId, reply);
  }

  async #run(saleId: string, op: QueueOp): Promise<QueueReply> {
    const reply = await this.#batcher.run(saleId, op);
    if (reply === NOT_FOUND) throw await this.sales.missing(saleId);
    if (reply[0] === 'RATE_LIMITED') {
      const perMinute = op.limit;
      throw new AppError('RATE_LIMITED', `too many requests: at most ${perMinute} per minute`, undefined, Math.max(1, Math.ceil(Number(reply[1]) / 1000)));
    }
    return reply;
  }

  /**
   * A visitor Redis had forgotten was put back at their ticket's score. If PostgreSQL already
   * holds an order of theirs, they bought before the loss: they are marked ordered, never
   * let in to buy again. If it holds an admission of theirs, their turn came already: lapsed,
   * they are expired (and may join again at the back); still live, admitted again with the
   * same jti, so the token they hold keeps working (restore.lua).
   */
  async #restored(saleId: string, visitorId: string, auditId: string, reply: (string | number)[]): Promise<Standing> {
    const known = await this.#known.add(saleId, visitorId);
    if (!known.orderId && !known.admission) return this.#standing(saleId, visitorId, auditId, reply);
    const k = this.keyspace.sale(saleId);
    const a = known.admission;
    const [state, jti, expiresAt, seq] = await this.redis.restore(
      k.config,
      k.visitors,
      k.queue,
      k.admitted,
      visitorId,
      known.orderId ?? '',
      a?.jti ?? '',
      a?.expiresAt ?? '',
      a?.sequence ?? '',
    );
    if (state === 'queued' || state === undefined) return this.#standing(saleId, visitorId, auditId, reply);
    const restored = [...reply];
    restored[2] = state;
    if (state === 'ordered') restored[12] = known.orderId!;
    if (state === 'admitted') {
      restored[9] = jti!;
      restored[10] = expiresAt!;
      restored[11] = seq!;
    }
    return this.#standing(saleId, visitorId, auditId, restored);
  }

  async #standing(saleId: string, visitorId: string, auditId: string, r: (string | number)[]): Promise<Standing> {
    const saleStatus = r[1] as SaleStatus;
    const state = String(r[2]);
    const rank = Number(r[4]);
    const waiting = Number(r[5]);
    const startsAt = Number(r[7]);
    const rate = Number(r[8]);
    const now = Date.now();
    const position = state === 'queued' && rank >= 0 ? rank + 1 : null;
    const etaSeconds = position !== null && rate > 0 ? Math.ceil((position * 60) / rate) : null;
    const admittedTotal = Number(r[14]);
    // every answer has the same fields in the same order (one object shape, no copies: this
    // runs for every poll of every waiting shopper)
    const answer = (
      status: VisitorStatus,
      at: number | null,
      eta: number | null,
      retryAfterMs: number | null,
      admission?: Standing['admission'],
      orderId?: string,
    ): Standing => ({ status, saleStatus, position: at, waiting, admittedTotal, etaSeconds: eta, retryAfterMs, admission, orderId, auditId });

    if (state === 'ordered') return answer('ordered', position, null, null, undefined, String(r[12]));
    if (saleStatus === 'ended') return answer('ended', null, null, null);
    if (state === 'admitted') {
      const expiresAt = Number(r[10]);
      const token = await this.admissions.sign({
        visitorId,
        saleId,
        jti: String(r[9]),
        maxQuantity: Number(r[13]),
        sequence: Number(r[11]),
        expiresAt,
      });
      return answer('admitted', position, 0, Math.round(clamp((expiresAt - now) / 2, MIN_RETRY_MS, 10_000)), {
        token,
        expiresAt: new Date(expiresAt).toISOString(),
      });
    }
    if (state === 'expired') return answer('expired', position, null, null);
    if (saleStatus === 'sold_out') return answer('sold_out', position, null, null);
    if (saleStatus === 'prequeue' || saleStatus === 'scheduled') {
      // until the start, now and then (the start may move); at the start, spread by where the
      // draw will put the shopper, so 100,000 pre-queue pages do not all ask in the same second:
      // the front asks at once, the back later (the score is the fraction of the line ahead)
      const untilStart = Math.max(0, startsAt - now);
      const score = Number(r[3]);
      const frontShare = Number.isFinite(score) && score >= 0 && score < 1 ? score : 0;
      const spread = rate > 0 ? (frontShare * waiting * 60_000) / rate / 2 : 0;
      const retry = untilStart > PREQUEUE_RECHECK_MS ? PREQUEUE_RECHECK_MS : untilStart + Math.min(spread, MAX_RETRY_MS);
      return answer('prequeue', position, null, Math.round(Math.max(MIN_RETRY_MS, retry)));
    }
    // the further from the front, the less often a poller needs to ask: half the ETA, so the
    // polling of a whole queue costs about 2 x rate x ln(queue length) requests a second
    // (a line that does not move, rate 0, is asked about every minute: the rate may change)
    const retryAfterMs = etaSeconds === null ? PREQUEUE_RECHECK_MS : clamp((etaSeconds * 1000) / 2, MIN_RETRY_MS, MAX_RETRY_MS);
    return answer('queued', position, etaSeconds, Math.round(retryAfterMs));
  }
}
