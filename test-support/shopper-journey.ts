/**
 * A shopper's journey over HTTP, as end-to-end tests drive it against real gateway processes:
 * poll /queue/me as the server advises, buy when admitted (some abandon, some send the
 * purchase twice), retry on 5xx honouring Retry-After. With several gateways, each shopper
 * sticks to one (round robin) and moves to the next when its gateway stops answering.
 */
import { decodeJwt } from 'jose';
import { Pool } from 'undici';
import { expect } from 'vitest';

export interface Answer {
  status: number;
  body: any;
  headers: Record<string, string | string[] | undefined>;
}

export class Gateways {
  readonly #pools: Pool[];
  /** requests that found their gateway gone and were sent to another */
  failovers = 0;

  constructor(
    readonly bases: readonly string[],
    connectionsPerGateway = 64,
  ) {
    this.#pools = bases.map((b) => new Pool(b, { connections: connectionsPerGateway, pipelining: 1 }));
  }

  /** `via`: which gateway to try first (e.g. the shopper's index) */
  async call(method: 'GET' | 'POST' | 'PATCH', path: string, token?: string, body?: unknown, via = 0): Promise<Answer> {
    let lastError: unknown;
    for (let attempt = 0; attempt < this.#pools.length; attempt++) {
      const pool = this.#pools[(via + attempt) % this.#pools.length]!;
      try {
        const res = await pool.request({
          method,
          path,
          headers: {
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.body.text();
        return { status: res.statusCode, body: text ? JSON.parse(text) : undefined, headers: res.headers };
      } catch (err) {
        // the gateway is gone (killed, restarting): the load balancer would send us elsewhere
        lastError = err;
        this.failovers++;
      }
    }
    throw lastError;
  }

  async close(): Promise<void> {
    await Promise.all(this.#pools.map((p) => p.close()));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** runs fn over items with at most `limit` in flight, keeping the order of results */
export async function inOrder<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

export interface Shopper {
  arrival: number;
  visitorId: string;
  ticket: string;
  score: number;
  /** the admission sequence number from the admission token */
  admission?: number;
  abandoned?: boolean;
  orderId?: string;
  /** order ids answered 202 */
  accepted: string[];
  end?: string;
  answers5xx: number;
  /** the codes of the 5xx answers seen, for the report */
  codes5xx?: string[];
}

export interface JourneyOptions {
  /** this shopper walks away once admitted */
  readonly abandons: (arrival: number) => boolean;
  /** this shopper sends the purchase twice */
  readonly retries: (arrival: number) => boolean;
  /** the longest the test lets a shopper wait between polls, whatever the server advises */
  readonly maxPollMs?: number;
}

/** Joins `n` shoppers in arrival order (at most `parallel` joins in flight). */
export async function joinShoppers(gw: Gateways, saleId: string, n: number, parallel = 32): Promise<Shopper[]> {
  return inOrder(
    Array.from({ length: n }, (_, i) => i),
    parallel,
    async (i): Promise<Shopper> => {
      const j = await gw.call('POST', `/api/sales/${saleId}/queue`, undefined, {}, i);
      expect(j.status, JSON.stringify(j.body)).toBe(201);
      return {
        arrival: i,
        visitorId: j.body.visitorId,
        ticket: j.body.ticket,
        score: Number(decodeJwt(j.body.ticket).scr),
        accepted: [],
        answers5xx: 0,
      };
    },
  );
}

export async function journey(gw: Gateways, saleId: string, s: Shopper, deadline: number, opts: JourneyOptions): Promise<void> {
  const via = s.arrival;
  while (Date.now() < deadline) {
    const me = await gw.call('GET', `/api/sales/${saleId}/queue/me`, s.ticket, undefined, via);
    if (me.status >= 500) {
      s.answers5xx++;
      (s.codes5xx ??= []).push(`${me.status} ${me.body?.code}`);
      await sleep(500);
      continue;
    }
    expect(me.status, JSON.stringify(me.body)).toBe(200);
    const st = me.body.status as string;
    if (st === 'prequeue' || st === 'queued') {
      // as the server advises, capped so that the test stays short
      await sleep(Math.min(me.body.retryAfterMs ?? 1000, opts.maxPollMs ?? 1500));
      continue;
    }
    if (st === 'admitted') {
      s.admission = Number(decodeJwt(me.body.admission.token).adm);
      if (opts.abandons(s.arrival)) {
        s.abandoned = true;
        s.end = 'abandoned';
        return;
      }
      const attempts = opts.retries(s.arrival) ? 2 : 1;
      for (let a = 0; a < attempts; a++) {
        const p = await gw.call('POST', `/api/sales/${saleId}/purchases`, me.body.admission.token, { quantity: 1 }, via);
        if (p.status === 202 || p.status === 200) {
          if (p.status === 202) s.accepted.push(p.body.orderId);
          if (s.orderId) expect(p.body.orderId).toBe(s.orderId);
          s.orderId = p.body.orderId;
        } else if (p.status === 409 && p.body.code === 'SOLD_OUT') {
          s.end = 'sold_out';
          return;
        } else if (p.status === 401 && p.body.code === 'TOKEN_EXPIRED') {
          // too slow for the checkout window (a loaded machine): the admission lapses and its
          // share goes back to the queue, as for an abandoner
          s.end = 'expired';
          return;
        } else if (p.status >= 500) {
          s.answers5xx++;
          (s.codes5xx ??= []).push(`${p.status} ${p.body?.code}`);
          expect(p.headers['retry-after']).toBeDefined();
          await sleep(1000);
          a--;
        } else {
          throw new Error(`unexpected purchase answer ${p.status} ${JSON.stringify(p.body)}`);
        }
      }
      s.end = 'ordered';
      return;
    }
    s.end = st; // sold_out, expired, ordered, ended
    return;
  }
  s.end = 'timed_out';
}
