/**
 * The order commits come first (issue 14: "deliveries never hold up order commits"). The
 * dispatcher and the deliverer run in the worker's process, on the same cores as the commits,
 * PostgreSQL and RabbitMQ; in a burst their work (reading the orders again, a message per event
 * to the exchange, a POST per delivery) halved the commit rate in the bench. So while the
 * commits are in a burst they give way, but for at most `maxDeferMs` at a time: then one small
 * round runs (`trickle`: the oldest events first, so nothing waits without bound), and they give
 * way again. Once the burst ends they catch up at full speed. When the commits are not in a
 * burst (most of a sale), nothing waits.
 */
export class CommitPriority {
  private since: number | null = null;
  private lastSaturated: number | null = null;

  constructor(
    /** true while the commit pipeline has more work than it can start */
    private readonly saturated: () => boolean,
    /** the longest the background work waits in a row (0: never) */
    private readonly maxDeferMs: number,
    /** a burst is over once the commits were not saturated for this long (the pipeline empties between batches) */
    private readonly quietMs = 250,
  ) {}

  /**
   * What the background work does now: `wait` a moment, run a `trickle` round (the commits are
   * in a burst, and it waited `maxDeferMs`), or `run` as usual.
   */
  next(now = Date.now()): 'wait' | 'trickle' | 'run' {
    if (this.maxDeferMs <= 0) return 'run';
    if (this.saturated()) this.lastSaturated = now;
    if (this.lastSaturated === null || now - this.lastSaturated > this.quietMs) {
      this.since = null;
      return 'run';
    }
    this.since ??= now;
    if (now - this.since < this.maxDeferMs) return 'wait';
    // waited long enough: one small round now, then give way again
    this.since = now;
    return 'trickle';
  }
}

/** how often background work that gives way looks again (ms) */
export const GIVE_WAY_POLL_MS = 25;
