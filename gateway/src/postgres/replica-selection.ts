/**
 * Which PostgreSQL read replica a read goes to, and when one is left alone: pure bookkeeping
 * (no connections here; postgres/read-pool.ts asks and reports). A read goes to the least
 * busy replica that is up (ties in turn), and nowhere when none is: the caller then reads the
 * primary. A replica that failed is down for a backoff that grows with each failure in a row;
 * once it has passed, ONE read tries it again (the others keep to the primary meanwhile), and
 * that read's outcome brings it back up or sends it down for longer.
 */
import { backoffDelay, type BackoffOptions } from '@velvet-rope/contracts';

/** how long a replica that failed is left alone: 1 s, doubling to 30 s, with jitter */
export const REPLICA_BACKOFF: BackoffOptions = { initialMs: 1_000, maxMs: 30_000 };

type Health = 'up' | 'down' | 'probing';

interface Replica {
  health: Health;
  inFlight: number;
  /** failures in a row (0 while up) */
  failures: number;
  downUntil: number;
}

export interface ReplicaHealth {
  readonly up: boolean;
  readonly inFlight: number;
  readonly failures: number;
}

export class ReplicaSelector {
  readonly #replicas: Replica[];
  #next = 0;

  constructor(
    count: number,
    private readonly backoff: (attempt: number) => number = (attempt) => backoffDelay(attempt, REPLICA_BACKOFF),
  ) {
    this.#replicas = Array.from({ length: count }, () => ({ health: 'up', inFlight: 0, failures: 0, downUntil: 0 }));
  }

  /**
   * The replica to ask now, counted in flight until `done` (undefined: none is up, read the
   * primary). A down replica whose backoff has passed is given this one read as its trial.
   */
  pick(now: number): number | undefined {
    const n = this.#replicas.length;
    let best: number | undefined;
    for (let k = 0; k < n; k++) {
      const i = (this.#next + k) % n;
      const r = this.#replicas[i]!;
      if (r.health === 'up' && (best === undefined || r.inFlight < this.#replicas[best]!.inFlight)) best = i;
    }
    if (best === undefined) {
      // no replica up: the first whose backoff has passed gets a trial read
      for (let k = 0; k < n; k++) {
        const i = (this.#next + k) % n;
        const r = this.#replicas[i]!;
        if (r.health === 'down' && now >= r.downUntil) {
          r.health = 'probing';
          best = i;
          break;
        }
      }
    }
    if (best === undefined) return undefined;
    this.#next = (best + 1) % n;
    this.#replicas[best]!.inFlight++;
    return best;
  }

  /**
   * A read on replica `i` ended. `ok`: it answered (a down or probing replica is up again;
   * returns 'up' when it came back). Failed through the replica's fault: it goes down (returns
   * 'down' when it went down now; a replica already down is not sent further down by the reads
   * that were on their way when it failed).
   */
  done(i: number, outcome: 'ok' | 'failed', now: number): 'up' | 'down' | undefined {
    const r = this.#replicas[i]!;
    r.inFlight = Math.max(0, r.inFlight - 1);
    if (outcome === 'ok') return this.#up(r);
    return this.failed(i, now);
  }

  /** Replica `i` failed outside a read (an idle connection dropped): down, as for a read. */
  failed(i: number, now: number): 'down' | undefined {
    const r = this.#replicas[i]!;
    if (r.health === 'down') return undefined;
    r.downUntil = now + this.backoff(r.failures);
    r.failures++;
    r.health = 'down';
    return 'down';
  }

  health(): ReplicaHealth[] {
    return this.#replicas.map((r) => ({ up: r.health === 'up', inFlight: r.inFlight, failures: r.failures }));
  }

  #up(r: Replica): 'up' | undefined {
    const cameBack = r.health !== 'up';
    r.health = 'up';
    r.failures = 0;
    return cameBack ? 'up' : undefined;
  }
}

/**
 * SQLSTATE classes that are the query's own fault (data exception, syntax or access rule):
 * the primary would refuse the query too, so the replica is not sent down for them.
 */
const QUERY_FAULT_CLASSES = new Set(['22', '42']);

/**
 * Whether an error says the replica cannot serve now: no SQLSTATE (connection refused or
 * reset, a timeout), a connection or shutdown class (08, 57: admin shutdown, cannot connect
 * now), a recovery conflict (40001), too many connections (53), the database missing there
 * (3D000), and anything else that is not the query's own fault.
 */
export function replicaAtFault(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return !QUERY_FAULT_CLASSES.has(code.slice(0, 2));
}
