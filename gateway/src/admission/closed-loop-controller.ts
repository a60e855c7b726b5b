/**
 * Runs the closed loop for the sales this gateway leads: once a second it samples downstream
 * health (orders queue depth, publish-confirm latency and failures) and moves each adaptive
 * sale's effective rate (kept in the sale's Redis state, so a new leader carries on from it).
 */
import type { FastifyBaseLogger } from 'fastify';
import type { RedisClient as Redis } from '@velvet-rope/contracts';
import { nextRate, type DownstreamHealth } from './closed-loop.js';
import type { OrderPublisher } from '../purchase/order-publisher.js';
import type { KeySpace } from '../redis/keyspace.js';

const STEP_MS = 1_000;

export class ClosedLoopController {
  #sample: { at: number; health: Promise<DownstreamHealth | undefined> } | undefined;
  readonly #lastStep = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly keyspace: KeySpace,
    private readonly publisher: OrderPublisher,
    private readonly logger: FastifyBaseLogger,
  ) {}

  /** one health sample per second for all sales */
  #health(): Promise<DownstreamHealth | undefined> {
    const now = Date.now();
    if (this.#sample && now - this.#sample.at < STEP_MS) return this.#sample.health;
    const health = (async () => {
      try {
        const queueDepth = await this.publisher.queueDepth();
        const publishing = this.publisher.takeHealthSample();
        return { queueDepth, confirmLatencyMs: publishing.confirmLatencyMs, publishErrorRatio: publishing.errorRatio };
      } catch {
        return undefined; // no broker: admission is paused anyway
      }
    })();
    this.#sample = { at: now, health };
    return health;
  }

  async step(saleId: string, current: number, bounds: { floor: number; ceiling: number }): Promise<void> {
    const now = Date.now();
    if (now - (this.#lastStep.get(saleId) ?? 0) < STEP_MS) return;
    this.#lastStep.set(saleId, now);
    const health = await this.#health();
    if (!health) return;
    const next = nextRate(current, health, bounds);
    if (next !== current) {
      await this.redis.hset(this.keyspace.sale(saleId).state, 'effectiveRate', String(next));
      this.logger.info({ saleId, from: current, to: next, health }, 'closed-loop admission rate changed');
    }
  }
}
