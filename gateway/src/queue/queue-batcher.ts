/**
 * Gathers the joins and status requests that arrive in one event-loop turn (turn-batcher.ts)
 * and sends those of each sale to Redis as one `join` script call. Every request still costs
 * exactly one round trip (it waits for one script call), but the script call, the sale's
 * configuration, stock and queue length, and ioredis's own work per command are paid once per
 * batch: at a flash sale's peak that is most of a join's cost.
 */
import { MAX_SCRIPT_BATCH, type JoinAnswer, type JoinRequest, type RedisCommands } from '../redis/commands.js';
import { TurnBatcher } from '../lib/turn-batcher.js';

export class QueueBatcher {
  readonly #turns: TurnBatcher<JoinRequest, JoinAnswer>;

  constructor(
    private readonly commands: RedisCommands,
    private readonly observeBatch?: (size: number) => void,
  ) {
    this.#turns = new TurnBatcher((saleId, requests) => this.#send(saleId, requests), MAX_SCRIPT_BATCH);
  }

  /** one request's answer, decoded (redis/commands.ts) */
  run(saleId: string, request: JoinRequest): Promise<JoinAnswer> {
    return this.#turns.add(saleId, request);
  }

  #send(saleId: string, batch: readonly JoinRequest[]): Promise<JoinAnswer[]> {
    this.observeBatch?.(batch.length);
    return this.commands.join(saleId, batch);
  }
}
