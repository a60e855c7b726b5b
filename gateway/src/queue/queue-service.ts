/**
 * Joining the queue and asking where one stands: one Lua script, one round trip each (the
 * requests of one event-loop turn share the script call: queue-batcher.ts), with the
 * per-visitor rate limit counted inside that same call.
 */
import type { SaleStatus } from '@velvet-rope/contracts';
import type { RedisClient as Redis } from '@velvet-rope/contracts';
import type { AdmissionTokens } from '../tokens/admission-token.js';
import { rateLimited, refusalError } from '../errors.js';
import type { Identity } from '../http/identity.js';
import { auditPseudonym, pseudonymFraction } from '../sales/fairness-score.js';
import type { TicketClaims, TicketSigner } from '../tokens/queue-ticket.js';
import type { NewPlaceLimit } from './new-place-limit.js';
import type { KeySpace } from '../redis/keyspace.js';
import type { SaleStore } from '../sales/sale-store.js';
import type { AdmissionRecords, KnownVisitor, RecordedAdmission } from '../admission/admission-records.js';
import type { FastifyBaseLogger } from 'fastify';
import { TurnBatcher } from '../lib/turn-batcher.js';
import { stillWaiting } from '../sales/sale.js';
import { newVisitorId } from '../tokens/visitor-id.js';
import { QueueBatcher } from './queue-batcher.js';
import { ShardedQueue } from './sharded-queue.js';
import { RedisCommands, type JoinPlace, type JoinRequest } from '../redis/commands.js';

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
  readonly #commands: RedisCommands;
  readonly #batcher: QueueBatcher;
  /** sales over several shards (`shards` > 1): their sub-queues */
  readonly #sharded: ShardedQueue;
  /** PostgreSQL lookups for restored visitors, one query per sale and event-loop turn */
  readonly #known: TurnBatcher<string, KnownVisitor>;
  /** admissions made at join (standby, passthrough) into PostgreSQL, one INSERT per sale and turn */
  readonly #recordAdmitted: TurnBatcher<RecordedAdmission, undefined>;
  /** those PostgreSQL did not take yet (it was away), per sale: sent again with the next ones */
  readonly #unrecorded = new Map<string, RecordedAdmission[]>();

  constructor(
    redis: Redis,
    keyspace: KeySpace,
    private readonly sales: SaleStore,
    private readonly admissionRecords: AdmissionRecords,
    private readonly tickets: TicketSigner,
    private readonly admissions: AdmissionTokens,
    private readonly limits: QueueLimits = NO_LIMITS,
    observeBatch?: (size: number) => void,
    /** new places per address, across sales (none: not limited) */
    private readonly newPlaces?: NewPlaceLimit,
    private readonly logger?: FastifyBaseLogger,
    /** a join refused here, before the join script (which counts its own): for the sale report */
    private readonly onRefused?: (saleId: string) => void,
  ) {
    this.#commands = new RedisCommands(redis, keyspace);
    this.#batcher = new QueueBatcher(this.#commands, observeBatch);
    this.#sharded = new ShardedQueue(this.#commands, redis, keyspace, observeBatch);
    this.#known = new TurnBatcher((saleId, visitorIds) => this.admissionRecords.knownOf(saleId, visitorIds), 500);
    this.#recordAdmitted = new TurnBatcher((saleId, admitted) => this.#record(saleId, admitted), 1_000);
  }

  /**
   * Records admissions made at join exactly as the admission loop records a tick's: a Redis
   * data loss must not forget who was let in. Never throws: a join that was admitted answers
   * so; what PostgreSQL refused is sent again with the sale's next ones (as the loop does).
   */
  async #record(saleId: string, admitted: readonly RecordedAdmission[]): Promise<undefined[]> {
    const backlog = this.#unrecorded.get(saleId);
    const rows = backlog ? [...backlog, ...admitted] : admitted;
    try {
      await this.admissionRecords.recordAdmissions(saleId, rows);
      this.#unrecorded.delete(saleId);
    } catch (err) {
      this.#unrecorded.set(saleId, rows.slice(-100_000));
      this.logger?.warn(
        { err, saleId, unrecorded: rows.length },
        'admissions made at join not recorded in PostgreSQL yet; retried with the next',
      );
    }
    return admitted.map(() => undefined);
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
      if (waitMs > 0) this.onRefused?.(saleId);
      if (waitMs > 0) throw rateLimited(waitMs, `too many new places from this address: at most ${this.newPlaces.perMinute} per minute`);
    }
    const visitorId = who.visitorId ?? newVisitorId();
    // the pseudonym once: the fraction is derived from it, and the answer carries it
    const auditId = auditPseudonym(seed, visitorId);
    const [caller, limit] = who.visitorId ? [`v:${who.visitorId}`, this.limits.joinPerVisitor] : ['', 0];
    const place = await this.#run(saleId, {
      visitorId,
      fraction: String(pseudonymFraction(seed, auditId)),
      ticketScore: who.ticketScore === undefined ? '' : String(who.ticketScore),
      op: 'join',
      powNonce: who.proof?.nonce ?? '',
      powBits: who.proof?.bits ?? 0,
      caller,
      limit,
    });
    if (place.outcome === 'NEW' && place.state === 'admitted') {
      // standby or passthrough let this visitor straight to their turn (join.lua)
      await this.#recordAdmitted.add(saleId, {
        visitorId,
        sequence: place.admission ?? 0,
        jti: place.jti ?? '',
        expiresAt: place.expiresAt ?? 0,
      });
    }
    const standing =
      place.outcome === 'RESTORED'
        ? await this.#restored(saleId, visitorId, auditId, place, who.account)
        : await this.#standing(saleId, visitorId, auditId, place, who.account);
    // the ticket carries the score, so an emptied Redis can put the visitor back in place
    const ticket = this.tickets.sign(visitorId, saleId, place.score ?? -1, who.account);
    return { created: place.outcome === 'NEW', visitorId, ticket, standing };
  }

  /**
   * A bypassing visitor (staff, monitoring: http/bypass.ts matched the request): an admission
   * at once, outside the queue and every figure (scripts/bypass.lua). The ticket carries no
   * score: a bypassing visitor has no place to restore; joining again (with the bypass) shows
   * the same admission, or the order once bought.
   */
  async bypass(saleId: string, who: Identity): Promise<JoinResult> {
    const seed = await this.sales.seed(saleId);
    if (!seed) throw await this.sales.missing(saleId);
    const visitorId = who.visitorId ?? newVisitorId();
    const answer = await this.#commands.bypass(saleId, visitorId);
    if ('refused' in answer) {
      if (answer.refused === 'NOT_FOUND') throw await this.sales.missing(saleId);
      throw refusalError(answer, saleId);
    }
    const base = { saleStatus: 'open' as const, position: null, waiting: 0, admittedTotal: 0, etaSeconds: null, auditId: '' };
    let standing: Standing;
    if (answer.state === 'ordered') {
      standing = { ...base, status: 'ordered', retryAfterMs: null, orderId: answer.orderId ?? '' };
    } else {
      const expiresAt = answer.expiresAt ?? 0;
      const token = await this.admissions.sign({
        visitorId,
        saleId,
        jti: answer.jti ?? '',
        maxQuantity: answer.maxPerShopper,
        sequence: 0,
        expiresAt,
        account: who.account,
      });
      standing = {
        ...base,
        status: 'admitted',
        etaSeconds: 0,
        retryAfterMs: Math.round(clamp((expiresAt - Date.now()) / 2, MIN_RETRY_MS, 10_000)),
        admission: { token, expiresAt: new Date(expiresAt).toISOString() },
      };
    }
    return { created: false, visitorId, ticket: this.tickets.sign(visitorId, saleId, -1, who.account), standing };
  }

  async status(saleId: string, ticket: TicketClaims): Promise<Standing> {
    const seed = await this.sales.seed(saleId);
    if (!seed) throw await this.sales.missing(saleId);
    const auditId = auditPseudonym(seed, ticket.sub);
    const place = await this.#run(saleId, {
      visitorId: ticket.sub,
      fraction: '0',
      ticketScore: ticket.scr >= 0 ? String(ticket.scr) : '',
      op: 'status',
      powNonce: '',
      powBits: 0,
      caller: `v:${ticket.sub}`,
      limit: this.limits.statusPerVisitor,
    });
    if (place.outcome === 'RESTORED') return this.#restored(saleId, ticket.sub, auditId, place, ticket.acct);
    return this.#standing(saleId, ticket.sub, auditId, place, ticket.acct);
  }

  /** The join script's answer to one request; its refusals thrown as the API answers them. */
  async #run(saleId: string, request: JoinRequest): Promise<JoinPlace> {
    const shards = (await this.sales.shardsOf(saleId)) ?? 1;
    const answer = shards > 1 ? await this.#sharded.run(saleId, shards, request) : await this.#batcher.run(saleId, request);
    if (!('refused' in answer)) return answer;
    // a sub-queue's hand-over is resolved in sharded-queue.ts; the sale's own queue has none
    if (answer.refused === 'HANDED') throw new Error('join script: a hand-over answer outside a sub-queue');
    if (answer.refused === 'NOT_FOUND') throw await this.sales.missing(saleId);
    if (answer.refused === 'RATE_LIMITED') throw rateLimited(answer.retryAfterMs, `too many requests: at most ${request.limit} per minute`);
    throw refusalError(answer, saleId);
  }

  /**
   * A visitor Redis had forgotten was put back at their ticket's score. If PostgreSQL already
   * holds an order of theirs, they bought before the loss: they are marked ordered, never
   * let in to buy again. If it holds an admission of theirs, their turn came already: lapsed,
   * they are expired (and may join again at the back); still live, admitted again with the
   * same jti, so the token they hold keeps working (restore.lua).
   */
  async #restored(saleId: string, visitorId: string, auditId: string, place: JoinPlace, account: string | undefined): Promise<Standing> {
    // a sub-queue that restarted empty: the main tag still holds the admissions and orders, and
    // its leader settles a restored place it finds admitted or ordered (admit.lua 'given')
    if (((await this.sales.shardsOf(saleId)) ?? 1) > 1) return this.#standing(saleId, visitorId, auditId, place, account);
    const known = await this.#known.add(saleId, visitorId);
    if (!known.orderId && !known.admission) return this.#standing(saleId, visitorId, auditId, place, account);
    const [restored] = await this.#commands.restore(saleId, [{ visitorId, orderId: known.orderId, admission: known.admission }]);
    if (restored === undefined || restored.state === 'queued') return this.#standing(saleId, visitorId, auditId, place, account);
    const changed: JoinPlace =
      restored.state === 'admitted'
        ? { ...place, state: 'admitted', jti: restored.jti, expiresAt: restored.expiresAt, admission: restored.admission }
        : { ...place, state: restored.state, orderId: restored.state === 'ordered' ? (known.orderId ?? null) : place.orderId };
    return this.#standing(saleId, visitorId, auditId, changed, account);
  }

  /** `account`: the shop's account behind `visitorId` (`identity: shop`), for the admission token's `acct` */
  async #standing(saleId: string, visitorId: string, auditId: string, place: JoinPlace, account: string | undefined): Promise<Standing> {
    const { state, rank, waiting, sale } = place;
    const { status: saleStatus, startsAt, ratePerMinute: rate, admittedTotal } = sale;
    const now = Date.now();
    const position = state === 'queued' && rank >= 0 ? rank + 1 : null;
    const etaSeconds = position !== null && rate > 0 ? Math.ceil((position * 60) / rate) : null;
    // every answer has the same fields in the same order (one object shape, no copies: this
    // runs for every poll of every waiting shopper)
    const answer = (
      status: VisitorStatus,
      at: number | null,
      eta: number | null,
      retryAfterMs: number | null,
      admission?: Standing['admission'],
      orderId?: string,
    ): Standing => ({
      status,
      saleStatus,
      position: at,
      waiting: stillWaiting(saleStatus, waiting),
      admittedTotal,
      etaSeconds: eta,
      retryAfterMs,
      admission,
      orderId,
      auditId,
    });

    if (state === 'ordered') return answer('ordered', position, null, null, undefined, place.orderId ?? '');
    if (saleStatus === 'ended') return answer('ended', null, null, null);
    if (state === 'admitted') {
      const expiresAt = place.expiresAt ?? 0;
      const token = await this.admissions.sign({
        visitorId,
        saleId,
        jti: place.jti ?? '',
        maxQuantity: sale.maxPerShopper,
        sequence: place.admission ?? 0,
        expiresAt,
        account,
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
      const score = place.score;
      const frontShare = score !== null && Number.isFinite(score) && score >= 0 && score < 1 ? score : 0;
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
