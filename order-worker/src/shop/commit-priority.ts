/**
 * The order commits come first (issue 14: "deliveries never hold up order commits"). The
 * dispatcher and the deliverer run in the worker's process, on the same cores as the commits,
 * PostgreSQL and RabbitMQ; in a burst their work (reading the orders again, a message per event
 * to the exchange, a POST per delivery) halved the commit rate in the bench. So while the
 * commit pipeline is saturated (every commit loop busy, or a full batch waiting) they give way,
 * but for at most `maxDeferMs` at a time: then one round runs, and they give way again. A
 * burst's events are told up to about that much later; once the burst ends they catch up at
 * full speed. When the commits are not saturated (most of a sale), nothing waits.
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

  /** true: wait a moment before the next round of background work */
  shouldWait(now = Date.now()): boolean {
    if (this.maxDeferMs <= 0) return false;
    if (this.saturated()) this.lastSaturated = now;
    if (this.lastSaturated === null || now - this.lastSaturated > this.quietMs) {
      this.since = null;
      return false;
    }
    this.since ??= now;
    if (now - this.since < this.maxDeferMs) return true;
    // waited long enough: one round now, then give way again
    this.since = now;
    return false;
  }
}

/** how often background work that gives way looks again (ms) */
export const GIVE_WAY_POLL_MS = 25;
