/**
 * The simulator's HTTP client: undici keep-alive connections to one gateway, at most
 * `maxInFlight` requests at once, and for every answer its latency (per endpoint), its status
 * and whether a 429/503 carried `Retry-After` (I6).
 *
 * Latency is measured from the moment a request is handed to a connection, not while it waits
 * for a free slot: the figure is the gateway's, not the simulator's queue.
 */
import { Pool } from 'undici';
import { LatencyHistogram } from './latency-histogram.js';
import { Semaphore } from './semaphore.js';

export type Endpoint = 'join' | 'rejoin' | 'status' | 'purchase' | 'purchase-retry' | 'bot-join' | 'admin' | 'stats';

export interface Answer {
  /** 0: no answer (connection error or timeout) */
  readonly status: number;
  readonly body: unknown;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly sentAt: number;
  readonly answeredAt: number;
  readonly error?: string;
}

export interface CallOptions {
  /** sent as `Authorization: Bearer <token>` */
  readonly token?: string;
  /** the shopper's own address, as a load balancer would pass it on (X-Forwarded-For) */
  readonly from?: string;
  readonly body?: unknown;
  /** goes before the ordinary requests waiting for a slot (see semaphore.ts); purchases always do */
  readonly urgent?: boolean;
}

export interface ClientOptions {
  readonly connections: number;
  readonly maxInFlight: number;
  /** per request, ms */
  readonly timeoutMs: number;
}

export class ApiClient {
  readonly latency = new Map<Endpoint, LatencyHistogram>();
  /** endpoint -> status -> count (status 0: no answer) */
  readonly statuses = new Map<Endpoint, Map<number, number>>();
  /** 5xx other than 503 (503 with Retry-After is an allowed answer to a burst) */
  answers5xx = 0;
  answers503 = 0;
  /** 429 and 503 answers without a usable Retry-After */
  missingRetryAfter = 0;
  networkErrors = 0;
  /** answers whose body did not have the documented shape */
  protocolErrors = 0;
  completed = 0;
  /** how long requests waited for a free slot in this client: when it grows, the simulator is the bottleneck */
  readonly clientWait = new LatencyHistogram();
  maxQueued = 0;
  /** a few examples of what went wrong, for the report */
  readonly problems: string[] = [];

  readonly #pool: Pool;
  readonly #slots: Semaphore;

  constructor(
    readonly baseUrl: string,
    opts: ClientOptions,
  ) {
    this.#pool = new Pool(baseUrl, {
      connections: opts.connections,
      pipelining: 1,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      keepAliveTimeout: 30_000,
    });
    this.#slots = new Semaphore(opts.maxInFlight);
  }

  get inFlight(): number {
    return this.#slots.inFlight;
  }

  get queued(): number {
    return this.#slots.waiting;
  }

  note(problem: string): void {
    if (this.problems.length < 20) this.problems.push(problem);
  }

  protocolError(endpoint: Endpoint, answer: Answer): void {
    this.protocolErrors++;
    this.note(`${endpoint}: unexpected answer ${answer.status} ${JSON.stringify(answer.body)?.slice(0, 200)}`);
  }

  async call(endpoint: Endpoint, method: 'GET' | 'POST' | 'PATCH', path: string, opts: CallOptions = {}): Promise<Answer> {
    const queuedAt = performance.now();
    if (this.#slots.waiting + 1 > this.maxQueued && this.#slots.inFlight >= this.#slots.size) this.maxQueued = this.#slots.waiting + 1;
    // a buyer's checkout does not wait behind other shoppers' polls (see semaphore.ts)
    await this.#slots.acquire(opts.urgent ?? (endpoint === 'purchase' || endpoint === 'purchase-retry'));
    this.clientWait.record(performance.now() - queuedAt);
    const sentAt = Date.now();
    const t0 = performance.now();
    try {
      const res = await this.#pool.request({
        method,
        path,
        headers: {
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(opts.from ? { 'x-forwarded-for': opts.from } : {}),
          ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      });
      const text = await res.body.text();
      const ms = performance.now() - t0;
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = text;
      }
      const answer: Answer = { status: res.statusCode, body, headers: res.headers, sentAt, answeredAt: Date.now() };
      this.#account(endpoint, answer, ms);
      return answer;
    } catch (err) {
      const ms = performance.now() - t0;
      const answer: Answer = { status: 0, body: undefined, headers: {}, sentAt, answeredAt: Date.now(), error: (err as Error).message };
      this.networkErrors++;
      this.note(`${endpoint}: ${(err as Error).message}`);
      this.#account(endpoint, answer, ms);
      return answer;
    } finally {
      this.#slots.release();
    }
  }

  #account(endpoint: Endpoint, a: Answer, ms: number): void {
    this.completed++;
    let h = this.latency.get(endpoint);
    if (!h) this.latency.set(endpoint, (h = new LatencyHistogram()));
    if (a.status !== 0) h.record(ms);
    let s = this.statuses.get(endpoint);
    if (!s) this.statuses.set(endpoint, (s = new Map()));
    s.set(a.status, (s.get(a.status) ?? 0) + 1);
    if (a.status === 503) this.answers503++;
    else if (a.status >= 500) {
      this.answers5xx++;
      if (this.answers5xx <= 5) this.note(`${endpoint}: ${a.status} ${JSON.stringify(a.body)?.slice(0, 200)}`);
    }
    if ((a.status === 429 || a.status === 503) && !hasRetryAfter(a.headers['retry-after'])) this.missingRetryAfter++;
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

function hasRetryAfter(h: string | string[] | undefined): boolean {
  const v = Array.isArray(h) ? h[0] : h;
  return v !== undefined && v.trim() !== '';
}
