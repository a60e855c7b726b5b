/**
 * One honest shopper's journey, as a browser or app would make it: join, ask where one
 * stands as often as the server advises (capped), buy once admitted with the admission
 * token, and every variation the simulator mixes in: walking away, the purchase sent twice,
 * impatient refreshes and re-joins with the ticket (which must keep the place), and a
 * socket.io push that may announce the turn before the next poll.
 */
import { parseError, parseJoin, parsePurchase, parseStanding, retryAfterMs, type Standing } from './api-answers.js';
import type { Answer, ApiClient } from './api-client.js';
import type { Traits } from './behaviour.js';
import { numericClaim } from './jwt-claims.js';
import type { SocketSample } from './socket-sample.js';

export type JourneyEnd =
  | 'pending'
  | 'ordered'
  | 'sold_out'
  | 'sold_out_at_join'
  | 'expired'
  | 'abandoned'
  | 'left'
  /** closed the page at their turn (closeAtTurn) */
  | 'closed'
  | 'ended'
  | 'timed_out'
  | 'failed';

export interface ShopperRecord {
  readonly index: number;
  /** sent as X-Forwarded-For: the spawned gateway trusts it, so a per-IP limit sees one shopper per address */
  readonly address: string;
  readonly traits: Traits;
  readonly prequeue: boolean;
  /** when the join was handed to a connection, and when its answer came (ms, this clock) */
  sentAt: number;
  answeredAt: number;
  joinStatus: number;
  /** the place the join answered (null in the pre-queue) */
  joinPosition: number | null;
  visitorId: string | undefined;
  ticket: string | undefined;
  /** the fairness score from the ticket (`scr`) */
  score: number | undefined;
  /** admission sequence (`adm` of the admission token); undefined: never seen admitted */
  admission: number | undefined;
  admittedAt: number | undefined;
  admittedByPush: boolean;
  orderId: string | undefined;
  /** order ids answered 202 */
  accepted: string[];
  purchaseAttempts: number;
  /** a repeated purchase answered another order than the first */
  retryMismatch: boolean;
  rejoined: boolean;
  /** the re-join found the earlier place lapsed and gave a new one at the back */
  rejoinedAfterExpiry: boolean;
  rejoinMismatch: string | undefined;
  polls: number;
  /** the last standing a poll answered: status, position, advised wait, when */
  last: { status: string; position: number | null; retryAfterMs: number | null; at: number } | undefined;
  end: JourneyEnd;
}

/** A distinct address per shopper (10.0.0.0/8), as if each came from their own network. */
export function shopperAddress(index: number): string {
  return `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`;
}

export function newShopper(index: number, traits: Traits, prequeue: boolean): ShopperRecord {
  return {
    index,
    address: shopperAddress(index),
    traits,
    prequeue,
    sentAt: 0,
    answeredAt: 0,
    joinStatus: 0,
    joinPosition: null,
    visitorId: undefined,
    ticket: undefined,
    score: undefined,
    admission: undefined,
    admittedAt: undefined,
    admittedByPush: false,
    orderId: undefined,
    accepted: [],
    purchaseAttempts: 0,
    retryMismatch: false,
    rejoined: false,
    rejoinedAfterExpiry: false,
    rejoinMismatch: undefined,
    polls: 0,
    last: undefined,
    end: 'pending',
  };
}

export interface JourneyContext {
  readonly api: ApiClient;
  readonly saleId: string;
  /** every journey ends by then ('timed_out'); moved earlier when a run is interrupted */
  deadline: number;
  /** the most a shopper waits between two polls, whatever the server advises */
  readonly maxPollMs: number;
  /** the longest a buyer spends on the checkout page before buying */
  readonly thinkMs: number;
  readonly random: () => number;
  readonly sockets: SocketSample | undefined;
  /** how many polls a 'while-waiting' abandoner makes before leaving */
  readonly leaveAfterPolls: number;
  /**
   * The sale-wide news a waiting page hears over socket.io (`sale:update` with `sold_out`):
   * the simulator calls `broadcast()` once it sees the sale sold out, and every waiting shopper
   * wakes for one last poll instead of sleeping out the advised wait.
   */
  readonly news: SaleNews;
}

export class SaleNews {
  readonly #sleepers = new Set<() => void>();
  #told = false;

  get told(): boolean {
    return this.#told;
  }

  subscribe(wake: () => void): () => void {
    if (this.#told) {
      wake();
      return () => undefined;
    }
    this.#sleepers.add(wake);
    return () => this.#sleepers.delete(wake);
  }

  broadcast(): void {
    this.#told = true;
    for (const wake of this.#sleepers) wake();
    this.#sleepers.clear();
  }
}

const MAX_ATTEMPTS = 20;

/** Waits `ms`, or less when `wake` is called first. */
function interruptibleSleep(ms: number): { done: Promise<void>; wake: () => void } {
  let wake: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  return { done, wake };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** How long to wait after an answer that asks the client to come back later (429, 503, none). */
function backoff(a: Answer, attempt: number): number {
  return retryAfterMs(a.headers['retry-after']) ?? Math.min(5_000, 250 * 2 ** attempt);
}

/** Joins; undefined when the journey is over (sold out at the door, failed, out of time). Never throws. */
export async function joinQueue(ctx: JourneyContext, s: ShopperRecord): Promise<Standing | undefined> {
  return joinAttempts(ctx, s).catch((err: unknown) => failed(ctx, s, err));
}

async function joinAttempts(ctx: JourneyContext, s: ShopperRecord): Promise<Standing | undefined> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS && Date.now() < ctx.deadline; attempt++) {
    const a = await ctx.api.call('join', 'POST', `/api/sales/${ctx.saleId}/queue`, { body: {}, from: s.address });
    s.sentAt = a.sentAt;
    s.answeredAt = a.answeredAt;
    s.joinStatus = a.status;
    if (a.status === 201 || a.status === 200) {
      const j = parseJoin(a.body);
      if (!j) {
        ctx.api.protocolError('join', a);
        s.end = 'failed';
        return undefined;
      }
      s.visitorId = j.visitorId;
      s.ticket = j.ticket;
      s.score = numericClaim(j.ticket, 'scr');
      s.joinPosition = j.position;
      return j;
    }
    if (a.status === 409) {
      const code = parseError(a.body)?.code;
      s.end = code === 'SOLD_OUT' ? 'sold_out_at_join' : code === 'SALE_ENDED' ? 'ended' : 'failed';
      if (s.end === 'failed') ctx.api.protocolError('join', a);
      return undefined;
    }
    if (a.status === 0 || a.status === 429 || a.status >= 500) {
      await sleep(backoff(a, attempt));
      continue;
    }
    ctx.api.protocolError('join', a);
    s.end = 'failed';
    return undefined;
  }
  s.end = 'timed_out';
  return undefined;
}

/** The whole journey of one shopper. Never throws; the record says how it ended. */
export async function shopperJourney(ctx: JourneyContext, s: ShopperRecord): Promise<void> {
  const joined = await joinQueue(ctx, s);
  if (joined) await afterJoin(ctx, s, joined);
}

function failed(ctx: JourneyContext, s: ShopperRecord, err: unknown): undefined {
  ctx.api.note(`shopper ${s.index}: ${(err as Error).stack ?? String(err)}`);
  s.end = 'failed';
  return undefined;
}

/** Everything after the join: wait as advised, then buy (or walk away). Never throws. */
export async function afterJoin(ctx: JourneyContext, s: ShopperRecord, joined: Standing): Promise<void> {
  await waitAndBuy(ctx, s, joined).catch((err: unknown) => failed(ctx, s, err));
}

async function waitAndBuy(ctx: JourneyContext, s: ShopperRecord, joined: Standing): Promise<void> {
  let pushed: { token: string } | undefined;
  let wakeUp: () => void = () => undefined;
  let closePage: (() => void) | undefined;
  if (s.traits.socket && ctx.sockets) {
    closePage = ctx.sockets.open(s.ticket!, {
      onAdmitted(token) {
        if (pushed || s.admission !== undefined) return;
        pushed = { token };
        wakeUp();
      },
      onOrder() {
        // counted by the sample
      },
    });
  }
  let standing: Standing = joined;
  let errors = 0;
  while (Date.now() < ctx.deadline) {
    if (standing.status === 'admitted' && standing.admission) return checkout(ctx, s, standing.admission.token, false, closePage);
    if (standing.status === 'ordered') {
      s.orderId ??= standing.orderId;
      s.end = 'ordered';
      return;
    }
    if (standing.status !== 'prequeue' && standing.status !== 'queued') {
      s.end = standing.status === 'sold_out' ? 'sold_out' : standing.status === 'expired' ? 'expired' : 'ended';
      return;
    }
    if (s.traits.abandon === 'while-waiting' && s.polls >= ctx.leaveAfterPolls) {
      s.end = 'left';
      return;
    }
    // as the server advises, capped; the impatient ask twice as often; a little jitter
    let wait = Math.min(standing.retryAfterMs ?? 1_000, ctx.maxPollMs);
    if (s.traits.impatient) wait = Math.max(250, wait / 2);
    wait *= 0.9 + 0.2 * ctx.random();
    const nap = interruptibleSleep(Math.min(wait, Math.max(0, ctx.deadline - Date.now())));
    wakeUp = nap.wake;
    if (pushed) nap.wake();
    const unsubscribe = ctx.news.subscribe(nap.wake);
    await nap.done;
    unsubscribe();
    wakeUp = () => undefined;
    if (pushed) {
      ctx.sockets!.admittedByPush++;
      return checkout(ctx, s, pushed.token, true, closePage);
    }
    if (Date.now() >= ctx.deadline) break;

    if (s.traits.impatient && !s.rejoined && s.polls >= 1) await rejoinWithTicket(ctx, s);

    // a shopper at the front of the line (the server advises asking again within 2 s) is about
    // to be let in: their poll does not wait behind the back of the line's in the simulator
    const front = standing.status === 'queued' && standing.retryAfterMs !== null && standing.retryAfterMs <= 2_000;
    const a = await ctx.api.call('status', 'GET', `/api/sales/${ctx.saleId}/queue/me`, { token: s.ticket, from: s.address, urgent: front });
    s.polls++;
    if (a.status === 200) {
      const next = parseStanding(a.body);
      if (!next) {
        ctx.api.protocolError('status', a);
        s.end = 'failed';
        return;
      }
      if (next.status !== 'admitted')
        s.last = { status: next.status, position: next.position, retryAfterMs: next.retryAfterMs, at: a.answeredAt };
      standing = next;
      errors = 0;
      continue;
    }
    if (a.status === 0 || a.status === 429 || a.status >= 500) {
      if (++errors > MAX_ATTEMPTS) break;
      standing = { ...standing, retryAfterMs: backoff(a, errors) };
      continue;
    }
    ctx.api.protocolError('status', a);
    s.end = 'failed';
    return;
  }
  s.end = 'timed_out';
}

/**
 * An impatient shopper presses "join" again with the ticket: the answer must be the same
 * visitor at the same place (200, same visitor id, same score), never a new place. The one
 * exception is a shopper whose turn came and lapsed unseen (admitted, checkout window over):
 * they may join again at the back (201, same visitor id, a new score), and from then on
 * their arrival is this new join.
 */
async function rejoinWithTicket(ctx: JourneyContext, s: ShopperRecord): Promise<void> {
  s.rejoined = true;
  const a = await ctx.api.call('rejoin', 'POST', `/api/sales/${ctx.saleId}/queue`, { token: s.ticket, body: {}, from: s.address });
  if (a.status === 409 || a.status === 0 || a.status === 429 || a.status >= 500) return; // sold out, or busy: nothing to compare
  const j = a.status === 200 || a.status === 201 ? parseJoin(a.body) : undefined;
  if (!j) {
    s.rejoinMismatch = `answer ${a.status}`;
    return;
  }
  const score = numericClaim(j.ticket, 'scr');
  if (j.visitorId !== s.visitorId) s.rejoinMismatch = 'another visitor id';
  else if (a.status === 201) {
    // the earlier place had lapsed: a new arrival, at the back
    s.rejoinedAfterExpiry = true;
    s.ticket = j.ticket;
    s.score = score;
    s.sentAt = a.sentAt;
    s.answeredAt = a.answeredAt;
    s.joinPosition = j.position;
  } else if ((j.status === 'prequeue' || j.status === 'queued') && score !== s.score) {
    s.rejoinMismatch = `score ${score} instead of ${s.score}`;
  }
}

type PurchaseOutcome = 'order' | 'sold_out' | 'expired' | 'failed';

async function checkout(ctx: JourneyContext, s: ShopperRecord, token: string, byPush: boolean, closePage?: () => void): Promise<void> {
  s.admission = numericClaim(token, 'adm');
  s.admittedAt = Date.now();
  s.admittedByPush = byPush;
  if (s.traits.closeAtTurn) {
    // the page closes at the turn: the socket goes, nothing is bought, nobody comes back
    closePage?.();
    s.end = 'closed';
    return;
  }
  if (s.traits.abandon === 'at-checkout') {
    s.end = 'abandoned';
    return;
  }
  if (ctx.thinkMs > 0) await sleep(ctx.random() * ctx.thinkMs);
  let outcomes: PurchaseOutcome[];
  if (s.traits.retry === 'concurrent') {
    // a double click: both in flight at once
    outcomes = await Promise.all([purchase(ctx, s, token, 'purchase'), purchase(ctx, s, token, 'purchase-retry')]);
  } else {
    outcomes = [await purchase(ctx, s, token, 'purchase')];
    if (s.traits.retry === 'sequential' && outcomes[0] === 'order') outcomes.push(await purchase(ctx, s, token, 'purchase-retry'));
  }
  if (outcomes.includes('order')) s.end = 'ordered';
  else if (outcomes.includes('sold_out')) s.end = 'sold_out';
  else if (outcomes.includes('expired')) s.end = 'expired';
  else s.end = 'failed';
}

async function purchase(
  ctx: JourneyContext,
  s: ShopperRecord,
  token: string,
  endpoint: 'purchase' | 'purchase-retry',
): Promise<PurchaseOutcome> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS && Date.now() < ctx.deadline; attempt++) {
    s.purchaseAttempts++;
    const a = await ctx.api.call(endpoint, 'POST', `/api/sales/${ctx.saleId}/purchases`, { token, body: { quantity: 1 }, from: s.address });
    if (a.status === 202 || a.status === 200) {
      const p = parsePurchase(a.body);
      if (!p) {
        ctx.api.protocolError(endpoint, a);
        return 'failed';
      }
      if (a.status === 202) s.accepted.push(p.orderId);
      sameOrder(s, p.orderId);
      return 'order';
    }
    const err = parseError(a.body);
    if (a.status === 409 && err?.code === 'SOLD_OUT') return 'sold_out';
    if (a.status === 409 && err?.code === 'TOKEN_USED' && err.orderId) {
      sameOrder(s, err.orderId);
      return 'order';
    }
    if (a.status === 401 && err?.code === 'TOKEN_EXPIRED') return 'expired';
    if (a.status === 0 || a.status === 429 || a.status >= 500) {
      // 503 keeps the reservation: the same token answers the same order on a retry
      if (a.status === 503 && err?.orderId) sameOrder(s, err.orderId);
      await sleep(backoff(a, attempt));
      continue;
    }
    ctx.api.protocolError(endpoint, a);
    return 'failed';
  }
  return 'failed';
}

function sameOrder(s: ShopperRecord, orderId: string): void {
  if (s.orderId === undefined) s.orderId = orderId;
  else if (s.orderId !== orderId) s.retryMismatch = true;
}
