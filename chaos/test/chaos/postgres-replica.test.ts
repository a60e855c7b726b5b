/**
 * Chaos: the PostgreSQL read replica (DATABASE_READ_URL) first falls behind (its replay
 * paused), then stops at once (immediate shutdown, as a crash would) in the middle of a sale,
 * while readers hammer order look-ups, the stats and the report. Promises: the look-ups are
 * the replica's while it is up; an order just confirmed on the primary never reads 404, even
 * from a replica that is behind (its "not found" is asked again of the primary); once the
 * replica is gone every read still answers 200, from the primary; once it is back, reads
 * return to it. The sale itself is untouched (checkPromises).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivatePostgresReplica, type PrivatePostgres } from '../../../test-support/private-services.js';
import { ADMIN_KEY, type Gateway } from '../support/fleet.js';
import { checkPromises, report, settle } from '../support/promises.js';
import type { SaleRun } from '../support/sale.js';
import { setUpScenario, sleep, tearDownScenario, untilAccepted, type Stage } from '../support/scenario.js';

let stage: Stage | undefined;
let replica: PrivatePostgres | undefined;

beforeAll(async () => {
  stage = await setUpScenario({
    gateways: 1,
    sale: { shoppers: 1_200, stock: 400 },
    // the replica is copied from the primary before any gateway starts; the velvet_rope
    // database the first gateway creates reaches it through the WAL
    wire: async (fleet) => {
      replica = await startPrivatePostgresReplica(fleet.postgres);
      const readUrl = replica.databaseUrl('velvet_rope');
      return (name): Record<string, string> =>
        name.startsWith('gateway') ? { DATABASE_READ_URL: readUrl, METRICS_ON_PUBLIC_PORT: 'true' } : {};
    },
  });
});

afterAll(async () => {
  await tearDownScenario(stage);
});

type Phase = 'replica up' | 'replica behind' | 'replica stopped' | 'replica back';

interface ReadFigures {
  replica: number;
  primary: number;
  fallbackError: number;
  fallbackNotFound: number;
  markedDown: number;
  up: number | undefined;
  lagSeconds: number | undefined;
}

async function readFigures(gw: Gateway): Promise<ReadFigures> {
  const res = await fetch(`${gw.base}/metrics`);
  const text = await res.text();
  const value = (pattern: RegExp) => {
    const m = pattern.exec(text);
    return m ? Number(m[1]) : undefined;
  };
  return {
    replica: value(/^vr_pg_reads_total\{served_by="replica"\} (\S+)$/m) ?? 0,
    primary: value(/^vr_pg_reads_total\{served_by="primary"\} (\S+)$/m) ?? 0,
    fallbackError: value(/^vr_pg_read_fallbacks_total\{reason="error"\} (\S+)$/m) ?? 0,
    fallbackNotFound: value(/^vr_pg_read_fallbacks_total\{reason="not_found"\} (\S+)$/m) ?? 0,
    markedDown: value(/^vr_pg_replica_marked_down_total\{replica="[^"]+"\} (\S+)$/m) ?? 0,
    up: value(/^vr_pg_replica_up\{replica="[^"]+"\} (\S+)$/m),
    lagSeconds: value(/^vr_pg_replica_lag_seconds\{replica="[^"]+"\} (\S+)$/m),
  };
}

const delta = (a: ReadFigures, b: ReadFigures) => ({
  replica: b.replica - a.replica,
  primary: b.primary - a.primary,
  fallbackError: b.fallbackError - a.fallbackError,
  fallbackNotFound: b.fallbackNotFound - a.fallbackNotFound,
  markedDown: b.markedDown - a.markedDown,
});

/**
 * Readers: order look-ups by their owners (any accepted order, and every order the moment
 * the primary has it confirmed), the stats and the report, each answer counted by phase.
 */
class Readers {
  phase: Phase = 'replica up';
  readonly answers = new Map<string, number>();
  /** anything but a 200 (with what was read) */
  readonly bad: string[] = [];
  /** look-ups of orders read the moment they were confirmed on the primary */
  readonly fresh = new Map<Phase, number>();
  #running = true;
  #loops: Promise<void>[] = [];

  constructor(
    private readonly run: SaleRun,
    private readonly gw: Gateway,
  ) {}

  start(concurrency: number): void {
    const tickets = new Map(this.run.shoppers.map((s) => [s.visitorId, s.ticket]));
    const lookUp = async (orderId: string, visitorId: string, fresh: boolean) => {
      const ticket = tickets.get(visitorId);
      if (!ticket) return;
      await this.#get(`order${fresh ? ' (fresh)' : ''}`, `/api/orders/${orderId}`, ticket, (body) => body?.orderId === orderId);
      if (fresh) this.fresh.set(this.phase, (this.fresh.get(this.phase) ?? 0) + 1);
    };
    for (let k = 0; k < concurrency; k++) {
      this.#loops.push(
        (async () => {
          for (let n = k; this.#running; n++) {
            const accepted = this.run.rec.accepted;
            if (n % 25 === 0) await this.#get('stats', `/api/admin/sales/${this.run.saleId}/stats`, ADMIN_KEY, (b) => b?.id !== undefined);
            else if (n % 97 === 0) await this.#get('report', `/api/admin/sales/${this.run.saleId}/report`, ADMIN_KEY, (b) => !!b);
            else if (accepted.length > 0) {
              const a = accepted[Math.floor(Math.random() * accepted.length)]!;
              await lookUp(a.orderId, a.visitorId, false);
            } else await sleep(20);
          }
        })(),
      );
    }
    // the orders the primary confirmed since the last look, read through the gateway at once
    this.#loops.push(
      (async () => {
        let since = new Date(0);
        while (this.#running) {
          const { rows } = await this.run.fleet.db
            .query<{ order_id: string; visitor_id: string; confirmed_at: Date }>(
              `SELECT order_id::text AS order_id, visitor_id, confirmed_at FROM orders
                WHERE sale_id = $1 AND confirmed_at > $2 ORDER BY confirmed_at LIMIT 50`,
              [this.run.saleId, since],
            )
            .catch(() => ({ rows: [] }));
          if (rows.length > 0) since = rows[rows.length - 1]!.confirmed_at;
          await Promise.all(rows.map((r) => lookUp(r.order_id, r.visitor_id, true)));
          await sleep(rows.length > 0 ? 0 : 50);
        }
      })(),
    );
  }

  /** answers so far in a phase (every kind) */
  count(phase: Phase): number {
    let n = 0;
    for (const [key, v] of this.answers) if (key.startsWith(`${phase}|`)) n += v;
    return n;
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }

  async #get(kind: string, path: string, token: string, ok: (body: any) => boolean): Promise<void> {
    const phase = this.phase;
    let status: number | string;
    let body: any;
    try {
      const a = await this.run.call(this.gw, 'GET', path, token);
      status = a.status;
      body = a.body;
    } catch (err) {
      status = `net ${(err as Error).message}`;
    }
    const key = `${phase}|${kind}|${status}`;
    this.answers.set(key, (this.answers.get(key) ?? 0) + 1);
    if (status !== 200 || !ok(body)) {
      if (this.bad.length < 50) this.bad.push(`${phase} ${kind} ${path}: ${status} ${JSON.stringify(body)?.slice(0, 200)}`);
    }
  }
}

describe('chaos: the PostgreSQL read replica stops at once during a sale', () => {
  it("serves the look-ups while up, never a 404 for a confirmed order, and the primary's answers once it is gone", async () => {
    const { fleet, run } = stage!;
    const gw = fleet.gateways[0]!;
    const m0 = await readFigures(gw);
    await run.open();
    const shopping = run.shop();
    const readers = new Readers(run, gw);
    readers.start(6);

    // phase 1: the replica up
    await untilAccepted(run, shopping, Math.floor(run.opts.stock / 3));
    await expect.poll(async () => (await readFigures(gw)).replica, { timeout: 30_000 }).toBeGreaterThan(m0.replica + 200);
    const mUp = await readFigures(gw);

    // phase 2: the replica behind: its replay paused, it answers with what it had
    const standby = new pg.Client({ connectionString: replica!.url });
    await standby.connect();
    await standby.query('SELECT pg_wal_replay_pause()');
    readers.phase = 'replica behind';
    const mPaused = await readFigures(gw);
    await expect.poll(() => readers.fresh.get('replica behind') ?? 0, { timeout: 60_000 }).toBeGreaterThan(20);
    await expect.poll(async () => (await readFigures(gw)).lagSeconds ?? 0, { timeout: 30_000 }).toBeGreaterThan(0);
    const mBehind = await readFigures(gw);
    await standby.query('SELECT pg_wal_replay_resume()');
    await standby.end();

    // phase 3: the replica stopped (`pg_ctl stop -m immediate`), the sale going on
    await untilAccepted(run, shopping, Math.floor(run.opts.stock / 2));
    const stopBegan = Date.now();
    await replica!.stopImmediately();
    const stoppedMs = Date.now() - stopBegan;
    readers.phase = 'replica stopped';
    const mStopped = await readFigures(gw);
    await Promise.race([untilAccepted(run, shopping, Math.floor((3 * run.opts.stock) / 4)), shopping]);
    await expect.poll(() => readers.count('replica stopped'), { timeout: 60_000 }).toBeGreaterThan(300);
    const mDown = await readFigures(gw);

    // phase 4: the replica started again: the reads go back to it
    await replica!.start();
    readers.phase = 'replica back';
    await expect.poll(async () => (await readFigures(gw)).replica, { timeout: 60_000 }).toBeGreaterThan(mDown.replica + 100);
    await expect.poll(() => readers.count('replica back'), { timeout: 30_000 }).toBeGreaterThan(100);
    const mBack = await readFigures(gw);

    await shopping;
    await readers.stop();
    const mEnd = await readFigures(gw);
    const o = await settle(run, 'PostgreSQL read replica stopped at once');
    const answers = Object.fromEntries([...readers.answers].sort());
    report(o, {
      replicaStopMs: stoppedMs,
      replicaRestartMs: replica!.lastStartMs,
      readsAnswered: answers,
      freshOrderLookUps: Object.fromEntries(readers.fresh),
      readsWhileUp: delta(m0, mUp),
      readsWhileBehind: delta(mPaused, mBehind),
      replicaLagSecondsBehind: mBehind.lagSeconds,
      readsAroundTheStop: delta(mBehind, mStopped),
      readsWhileStopped: delta(mStopped, mDown),
      readsAfterRestart: delta(mDown, mBack),
      readsAfterThat: delta(mBack, mEnd),
      replicaLagSecondsAtEnd: mEnd.lagSeconds,
      notOk: readers.bad.slice(0, 10),
    });

    // every read answered 200, in every phase: no 404 for an order that exists, no 5xx
    expect(readers.bad, 'reads that did not answer 200 with the thing asked for').toEqual([]);
    expect(readers.fresh.get('replica up') ?? 0, 'orders read the moment they were confirmed, replica up').toBeGreaterThan(0);
    expect(readers.fresh.get('replica stopped') ?? 0, 'and with the replica stopped').toBeGreaterThan(0);
    // while up, the replica served the reads
    const up = delta(m0, mUp);
    expect(up.replica).toBeGreaterThan(up.primary);
    expect(mUp.up).toBe(1);
    // behind: the orders confirmed since the pause were not on the replica, and the primary
    // answered them (a replica's "not found" is never the answer)
    const behind = delta(mPaused, mBehind);
    expect(behind.fallbackNotFound, "a replica's miss asked again of the primary").toBeGreaterThan(0);
    expect(behind.replica, 'the replica still served what it had').toBeGreaterThan(0);
    // once stopped, nothing came from it: the primary answered, and the replica was marked down
    const down = delta(mStopped, mDown);
    expect(down.replica, 'no read served by a stopped replica').toBe(0);
    expect(down.primary).toBeGreaterThan(300);
    expect(mDown.markedDown, 'the replica was marked down').toBeGreaterThan(mBehind.markedDown);
    expect(mDown.fallbackError - mBehind.fallbackError, 'reads moved to the primary on an error').toBeGreaterThan(0);
    expect(mDown.up).toBe(0);
    // back: the reads returned to it
    expect(mBack.up).toBe(1);
    expect(delta(mDown, mBack).replica).toBeGreaterThan(100);
    checkPromises(o, fleet.logs);
  });
});
