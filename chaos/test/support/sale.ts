/**
 * A flash sale driven over HTTP, the gateway a black box: a few thousand shoppers join in the
 * pre-queue, then each polls as the server advises (capped, so the test stays short), buys one
 * unit as soon as admitted and retries with the same admission token on 503/429 (honouring
 * Retry-After, which every 429 and 503 must carry) or when its gateway vanished (it then
 * carries its ticket to another gateway). Every answer is recorded, so that a scenario can
 * check the promises against PostgreSQL afterwards.
 */
import { decodeJwt } from 'jose';
import { Pool } from 'undici';
import { uniqueId } from '../../../test-support/databases.js';
import { ADMIN_KEY, type Fleet, type Gateway } from './fleet.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface SaleOptions {
  readonly shoppers: number;
  readonly stock: number;
  readonly ratePerMinute: number;
  readonly checkoutSeconds: number;
  /** longest wait between two status polls, whatever the server advises */
  readonly pollCapMs: number;
  /** one shopper in `abandonEvery` walks away once admitted (their share must come back) */
  readonly abandonEvery: number;
  /** one shopper in `thinkEvery` takes 0.5 to 2 s to decide once admitted, then buys */
  readonly thinkEvery: number;
  /** the sale is over for the shoppers after this long at the latest */
  readonly journeyTimeoutMs: number;
  /** the sale's sub-queues (`shards`; absent: the sale's default, one) */
  readonly shards?: number;
  /** the sale's id (absent: a fresh one) */
  readonly id?: string;
  /**
   * a 503 sends the shopper to another gateway too (as a load balancer that retries elsewhere
   * would), not only a connection that failed
   */
  readonly switchOn503?: boolean;
  /**
   * HTTP connections the shoppers share per gateway (48): a scenario that slows every answer
   * down wants more, or the shoppers' requests queue in this client rather than at the gateway
   */
  readonly connectionsPerGateway?: number;
}

export const DEFAULT_SALE: SaleOptions = {
  shoppers: 2_000,
  stock: 300,
  ratePerMinute: 2_400,
  checkoutSeconds: 6,
  pollCapMs: 2_500,
  abandonEvery: 20,
  thinkEvery: 4,
  journeyTimeoutMs: 150_000,
};

interface Answer {
  status: number;
  body: any;
  headers: Record<string, string | string[] | undefined>;
}

export interface Accepted {
  readonly orderId: string;
  readonly visitorId: string;
  readonly startedAt: number;
  readonly answeredAt: number;
  readonly gateway: string;
}

export interface Shopper {
  readonly index: number;
  readonly visitorId: string;
  readonly ticket: string;
  /** index of the gateway this shopper talks to now */
  home: number;
  orderIds: Set<string>;
  end?: string;
  endAt?: number;
  /** purchase requests made, and the last answers (for diagnosis) */
  purchaseRequests: number;
  history: string[];
}

/** The figures a scenario reports and checks. */
export class Recorder {
  readonly byStatus = new Map<string, number>();
  /** 429/503 answers without a Retry-After header: must stay empty */
  readonly missingRetryAfter: string[] = [];
  readonly accepted: Accepted[] = [];
  /** 200 on a purchase: the same token again answered its existing order */
  sameOrder = 0;
  /** order ids that 503 answers carried (reserved, not confirmed by the broker yet) */
  readonly unavailableOrderIds = new Set<string>();
  readonly purchase503: { at: number; code: string; message: string; visitor: string }[] = [];
  readonly status503: { at: number; code: string; gateway?: string }[] = [];
  readonly netErrors: { at: number; gateway: string; path: string; error: string }[] = [];
  readonly unexpected: string[] = [];
  readonly unexpectedCount = new Map<string, number>();
  /** every purchase request: where, when, and its answer ('net' for a network error) */
  readonly purchases: { gateway: string; startedAt: number; answeredAt: number; status: number | 'net' }[] = [];
  /** the first 429 answers, for diagnosis */
  readonly rateLimited: string[] = [];
  /** purchase requests sent and not answered yet, per gateway name */
  readonly inFlight = new Map<string, number>();
  /** shoppers told their order id by /queue/me without a 202 of their own */
  readonly orderedWithout202 = new Set<string>();

  count(key: string): void {
    this.byStatus.set(key, (this.byStatus.get(key) ?? 0) + 1);
  }

  noteUnexpected(what: string): void {
    const key = what.replace(/[0-9a-f-]{36}/g, '<id>').slice(0, 160);
    this.unexpectedCount.set(key, (this.unexpectedCount.get(key) ?? 0) + 1);
    if (this.unexpected.length < 30) this.unexpected.push(what);
  }

  get count503(): number {
    return this.purchase503.length + this.status503.length + (this.byStatus.get('join 503') ?? 0);
  }

  get count429(): number {
    let n = 0;
    for (const [k, v] of this.byStatus) if (k.endsWith(' 429')) n += v;
    return n;
  }
}

export class SaleRun {
  readonly saleId: string;
  readonly rec = new Recorder();
  shoppers: Shopper[] = [];
  readonly #pools = new Map<string, Pool>();
  readonly #waiters: { n: number; resolve: () => void }[] = [];
  openedAt = 0;
  shoppingEndedAt = 0;
  #stopAt = Number.POSITIVE_INFINITY;

  constructor(
    readonly fleet: Fleet,
    readonly opts: SaleOptions = DEFAULT_SALE,
  ) {
    this.saleId = opts.id ?? uniqueId('chaos-');
  }

  get gateways(): Gateway[] {
    return this.fleet.gateways;
  }

  #pool(gw: Gateway): Pool {
    let pool = this.#pools.get(gw.base);
    if (!pool) {
      pool = new Pool(gw.base, {
        connections: this.opts.connectionsPerGateway ?? 48,
        pipelining: 1,
        headersTimeout: 20_000,
        bodyTimeout: 20_000,
        connectTimeout: 3_000,
      });
      this.#pools.set(gw.base, pool);
    }
    return pool;
  }

  /** One HTTP call; network errors throw (the caller decides where to go next). */
  async call(gw: Gateway, method: 'GET' | 'POST' | 'PATCH', path: string, token?: string, body?: unknown): Promise<Answer> {
    const res = await this.#pool(gw).request({
      method,
      path,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: res.statusCode, body: parsed, headers: res.headers };
  }

  /** Seconds from a 429/503's Retry-After, recording a missing one. */
  #retryAfterMs(a: Answer, what: string): number {
    if (a.status === 429 && this.rec.rateLimited.length < 20) {
      this.rec.rateLimited.push(
        `${Date.now() - this.openedAt}ms ${what}: ${a.body?.message ?? ''} retry-after=${a.headers['retry-after']}`,
      );
    }
    const h = a.headers['retry-after'];
    const v = Array.isArray(h) ? h[0] : h;
    if (v === undefined) {
      this.rec.missingRetryAfter.push(`${what} ${a.status} ${a.body?.code ?? ''}`);
      return 1_000;
    }
    const s = Number(v);
    return Number.isFinite(s) ? Math.min(Math.max(s * 1000, 200), 10_000) : 1_000;
  }

  #switchGateway(s: Shopper): void {
    if (this.gateways.length > 1) s.home = (s.home + 1) % this.gateways.length;
  }

  async createSale(): Promise<void> {
    const gw = this.gateways[0]!;
    const created = await this.call(gw, 'POST', '/api/admin/sales', ADMIN_KEY, {
      id: this.saleId,
      name: `Chaos ${this.saleId}`,
      stock: this.opts.stock,
      startsAt: new Date(Date.now() + 600_000).toISOString(),
      ratePerMinute: this.opts.ratePerMinute,
      checkoutSeconds: this.opts.checkoutSeconds,
      maxPerShopper: 1,
      queueMode: 'prequeue-random',
      windowSeconds: 10,
      ...(this.opts.shards ? { shards: this.opts.shards } : {}),
    });
    if (created.status !== 201) throw new Error(`creating the sale: ${created.status} ${JSON.stringify(created.body)}`);
  }

  /** Everyone joins the pre-queue, spread over the gateways. */
  async joinAll(): Promise<void> {
    const out = new Array<Shopper>(this.opts.shoppers);
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < this.opts.shoppers) {
          const i = next++;
          const joined = await this.#join(i, i % this.gateways.length, { retries: 20, netRetries: 0 });
          if (!('shopper' in joined)) throw new Error(`join: ${joined.refused}`);
          out[i] = joined.shopper;
        }
      }),
    );
    this.shoppers = out;
  }

  /**
   * One shopper's join: retried on 503/429 (honouring Retry-After) and, `netRetries` times, at
   * another gateway when the connection failed. A sale that is over answers `refused`.
   */
  async #join(
    index: number,
    home: number,
    limits: { retries: number; netRetries: number },
  ): Promise<{ shopper: Shopper } | { refused: string }> {
    let netErrors = 0;
    for (let attempt = 0; ; attempt++) {
      const gw = this.gateways[home]!;
      let j: Answer;
      try {
        j = await this.call(gw, 'POST', `/api/sales/${this.saleId}/queue`, undefined, {});
      } catch (err) {
        this.rec.netErrors.push({ at: Date.now(), gateway: gw.name, path: 'join', error: (err as Error).message });
        if (++netErrors > limits.netRetries) throw err;
        if (this.gateways.length > 1) home = (home + 1) % this.gateways.length;
        await sleep(200 + Math.random() * 300);
        continue;
      }
      this.rec.count(`join ${j.status}`);
      if (j.status === 201) {
        return {
          shopper: {
            index,
            visitorId: j.body.visitorId,
            ticket: j.body.ticket,
            home,
            orderIds: new Set(),
            purchaseRequests: 0,
            history: [],
          },
        };
      }
      if ((j.status === 503 || j.status === 429) && attempt < limits.retries) {
        if (j.status === 503 && this.opts.switchOn503 && this.gateways.length > 1) home = (home + 1) % this.gateways.length;
        await sleep(this.#retryAfterMs(j, 'join'));
        continue;
      }
      if (j.status === 409 && (j.body?.code === 'SOLD_OUT' || j.body?.code === 'SALE_ENDED')) return { refused: j.body.code };
      return { refused: `${j.status} ${JSON.stringify(j.body)}` };
    }
  }

  /**
   * Steady arrivals into an open sale: shopper i arrives i / perSecond seconds after the call,
   * joins (at its gateway, in turn) and shops; arrivals stop once a join is told the sale is
   * sold out or over. Resolves when every journey ended.
   */
  async shopArriving(perSecond: number): Promise<void> {
    this.#stopAt = Date.now() + this.opts.journeyTimeoutMs;
    const t0 = Date.now();
    const journeys: Promise<void>[] = [];
    let over = false;
    for (let i = 0; i < this.opts.shoppers && !over && Date.now() < this.#stopAt; i++) {
      const due = t0 + (i * 1_000) / perSecond;
      if (due > Date.now()) await sleep(due - Date.now());
      if (over) break;
      journeys.push(
        (async () => {
          const joined = await this.#join(i, i % this.gateways.length, { retries: 30, netRetries: 30 }).catch((err: Error) => ({
            refused: `network: ${err.message}`,
          }));
          if (!('shopper' in joined)) {
            if (joined.refused === 'SOLD_OUT' || joined.refused === 'SALE_ENDED') over = true;
            else this.rec.noteUnexpected(`join refused: ${joined.refused}`);
            return;
          }
          const s = joined.shopper;
          this.shoppers.push(s);
          await this.#journey(s);
          s.endAt = Date.now();
        })(),
      );
    }
    await Promise.all(journeys);
    this.shoppingEndedAt = Date.now();
  }

  /** The marketer brings the start forward: the sale opens in a second. */
  async open(): Promise<void> {
    const moved = await this.call(this.gateways[0]!, 'PATCH', `/api/admin/sales/${this.saleId}`, ADMIN_KEY, {
      startsAt: new Date(Date.now() + 1_000).toISOString(),
    });
    if (moved.status !== 200) throw new Error(`opening the sale: ${moved.status} ${JSON.stringify(moved.body)}`);
    this.openedAt = Date.now() + 1_000;
  }

  /** Runs every shopper's journey to its end; resolves when all ended. */
  async shop(): Promise<void> {
    this.#stopAt = Date.now() + this.opts.journeyTimeoutMs;
    await Promise.all(
      this.shoppers.map(async (s) => {
        await this.#journey(s);
        s.endAt = Date.now();
      }),
    );
    this.shoppingEndedAt = Date.now();
  }

  /** Resolves once `n` purchases were answered 202. */
  acceptedAtLeast(n: number): Promise<void> {
    if (this.rec.accepted.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  #noteAccepted(a: Accepted): void {
    this.rec.accepted.push(a);
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      if (this.rec.accepted.length >= this.#waiters[i]!.n) this.#waiters.splice(i, 1)[0]!.resolve();
    }
  }

  async #journey(s: Shopper): Promise<void> {
    const sale = this.saleId;
    let unexpectedInARow = 0;
    let admissions = 0;
    while (Date.now() < this.#stopAt) {
      if (this.fleet.unexpectedExits.length > 0) {
        s.end = 'aborted';
        return;
      }
      const gw = this.gateways[s.home]!;
      let me: Answer;
      try {
        me = await this.call(gw, 'GET', `/api/sales/${sale}/queue/me`, s.ticket);
      } catch (err) {
        this.rec.netErrors.push({ at: Date.now(), gateway: gw.name, path: 'status', error: (err as Error).message });
        this.#switchGateway(s);
        await sleep(200 + Math.random() * 300);
        continue;
      }
      this.rec.count(`status ${me.status}`);
      if (me.status === 503 || me.status === 429) {
        if (me.status === 503) {
          this.rec.status503.push({ at: Date.now(), code: me.body?.code, gateway: gw.name });
          if (this.opts.switchOn503) this.#switchGateway(s);
        }
        await sleep(this.#retryAfterMs(me, 'status'));
        continue;
      }
      if (me.status !== 200) {
        this.rec.noteUnexpected(`status ${me.status} ${me.body?.code ?? ''} ${me.body?.message ?? ''}`);
        if (++unexpectedInARow > 30) {
          s.end = `gave_up_status_${me.status}`;
          return;
        }
        await sleep(1_000);
        continue;
      }
      unexpectedInARow = 0;
      const st = me.body.status as string;
      if (st === 'prequeue' || st === 'queued') {
        await sleep(Math.min(me.body.retryAfterMs ?? 1_000, this.opts.pollCapMs) * (0.8 + Math.random() * 0.4));
        continue;
      }
      if (st === 'admitted') {
        if (s.index % this.opts.abandonEvery === 7) {
          s.end = 'abandoned';
          return;
        }
        if (admissions === 0 && s.index % this.opts.thinkEvery === 1) await sleep(500 + Math.random() * 1_500);
        const outcome = await this.#buy(s, me.body.admission.token as string);
        if (outcome === 'again' && ++admissions < 20) continue;
        s.end = outcome;
        return;
      }
      if (st === 'ordered') {
        const orderId = String(me.body.orderId);
        if (!s.orderIds.has(orderId)) this.rec.orderedWithout202.add(orderId);
        s.orderIds.add(orderId);
        s.end = 'ordered';
        return;
      }
      s.end = st; // sold_out, expired, ended
      return;
    }
    s.end = s.end ?? 'timed_out';
  }

  /** Buys with one admission token until an answer settles it; 'again': back to polling. */
  async #buy(s: Shopper, token: string): Promise<string> {
    const sale = this.saleId;
    const exp = Number(decodeJwt(token).exp) * 1000;
    let netErrorsHere = 0;
    while (Date.now() < this.#stopAt) {
      if (this.fleet.unexpectedExits.length > 0) return 'aborted';
      const gw = this.gateways[s.home]!;
      const startedAt = Date.now();
      let p: Answer;
      const inFlight = this.rec.inFlight;
      inFlight.set(gw.name, (inFlight.get(gw.name) ?? 0) + 1);
      s.purchaseRequests++;
      try {
        p = await this.call(gw, 'POST', `/api/sales/${sale}/purchases`, token, { quantity: 1 });
      } catch (err) {
        inFlight.set(gw.name, inFlight.get(gw.name)! - 1);
        this.rec.netErrors.push({ at: Date.now(), gateway: gw.name, path: 'purchase', error: (err as Error).message });
        this.rec.purchases.push({ gateway: gw.name, startedAt, answeredAt: Date.now(), status: 'net' });
        this.#switchGateway(s);
        if (++netErrorsHere > 50) return 'gave_up_network';
        await sleep(200 + Math.random() * 300);
        continue;
      }
      inFlight.set(gw.name, inFlight.get(gw.name)! - 1);
      const answeredAt = Date.now();
      s.history.push(`${Math.round((answeredAt - this.openedAt) / 100) / 10}s:${p.status}${p.body?.code ? `/${p.body.code}` : ''}`);
      this.rec.purchases.push({ gateway: gw.name, startedAt, answeredAt, status: p.status });
      this.rec.count(`purchase ${p.status}`);
      if (p.status === 202 || p.status === 200) {
        const orderId = String(p.body.orderId);
        if (p.status === 202) this.#noteAccepted({ orderId, visitorId: s.visitorId, startedAt, answeredAt, gateway: gw.name });
        else this.rec.sameOrder++;
        if (s.orderIds.size > 0 && !s.orderIds.has(orderId)) {
          this.rec.noteUnexpected(`purchase answered a second order id for one visitor: ${[...s.orderIds]} then ${orderId}`);
        }
        s.orderIds.add(orderId);
        return 'ordered';
      }
      if (p.status === 503 || p.status === 429) {
        if (p.status === 503) {
          this.rec.purchase503.push({ at: answeredAt, code: p.body?.code, message: p.body?.message, visitor: s.visitorId });
          if (this.opts.switchOn503) this.#switchGateway(s);
          if (p.body?.orderId) this.rec.unavailableOrderIds.add(String(p.body.orderId));
        }
        await sleep(
          this.#retryAfterMs(p, `purchase (visitor #${s.index}, ${s.purchaseRequests} requests, ${s.history.slice(-12).join(' ')})`),
        );
        continue;
      }
      const code = p.body?.code as string | undefined;
      if (p.status === 409 && code === 'SOLD_OUT') return 'sold_out';
      if (p.status === 409 && code === 'SALE_ENDED') return 'ended';
      if (code === 'TOKEN_EXPIRED' || code === 'NOT_ADMITTED') {
        // the checkout window closed while we retried, or Redis forgot the admission: ask again
        this.rec.count(`purchase ${code}`);
        if (code === 'TOKEN_EXPIRED' && Date.now() < exp - 1_000) this.rec.noteUnexpected('TOKEN_EXPIRED before exp');
        return 'again';
      }
      this.rec.noteUnexpected(`purchase ${p.status} ${code ?? ''} ${p.body?.message ?? ''}`);
      return 'again';
    }
    return 'timed_out';
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.close().catch(() => undefined)));
  }
}
