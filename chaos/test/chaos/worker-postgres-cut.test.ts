/**
 * Chaos (issue 18 item 1): the worker loses PostgreSQL in the middle of commits whose outcome
 * it cannot know. Its PostgreSQL link runs through the fault proxy; mid-sale the proxy holds
 * PostgreSQL's answers only (`blackhole('down')`): the worker's statements and COMMITs reach
 * PostgreSQL and are carried out, and the worker never hears. After 4 s the proxy resets the
 * connections (`cut`): the worker sees its commits fail without knowing whether they
 * happened, and must retry them against what PostgreSQL already holds. Afterwards nothing may
 * be counted twice and nothing lost (I1-I6 from PostgreSQL), and the worker stays up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy } from '../../../test-support/fault-proxy.js';
import { checkPromises, report, settle } from '../support/promises.js';
import { confirmedNow, setUpScenario, sleep, tearDownScenario, untilAccepted, type Stage } from '../support/scenario.js';

const HELD_MS = 4_000;
let stage: Stage | undefined;
let proxy: FaultProxy | undefined;

beforeAll(async () => {
  stage = await setUpScenario({
    gateways: 1,
    wire: async (fleet) => {
      proxy = await FaultProxy.start({ port: Number(new URL(fleet.databaseUrl).port) });
      const url = proxy.rewrite(fleet.databaseUrl);
      return (name): Record<string, string> => (name.startsWith('worker') ? { DATABASE_URL: url } : {});
    },
  });
});

afterAll(async () => {
  await tearDownScenario(stage);
  await proxy?.close();
});

describe('chaos: the worker cut off from PostgreSQL mid-commit', () => {
  it('counts nothing twice and loses nothing after commits whose outcome it could not know', async () => {
    const { fleet, run } = stage!;
    const worker = fleet.workers[0]!;
    await run.open();
    const shopping = run.shop();
    await untilAccepted(run, shopping, Math.floor(run.opts.stock / 4));

    const logFrom = worker.output().length;
    const confirmedAtHold = await confirmedNow(stage!);
    proxy!.holdAnswersAfter('COMMIT');
    await sleep(HELD_MS);
    const commitsUnheard = proxy!.holding;
    // what PostgreSQL did meanwhile that the worker was not told
    const confirmedUnheard = ((await confirmedNow(stage!)) ?? 0) - (confirmedAtHold ?? 0);
    const heldAnswerBytes = proxy!.stats.heldBytes;
    proxy!.cut();
    proxy!.heal();
    const cutAt = Date.now();

    await shopping;
    const o = await settle(run, 'worker cut off from PostgreSQL mid-commit');
    const log = worker.output().slice(logFrom);
    report(o, {
      connectionsWithACommitUnheard: commitsUnheard,
      confirmedByPostgresWhileUnheard: confirmedUnheard,
      heldAnswerBytesAtCut: heldAnswerBytes,
      workerSawTheCut: /ECONNRESET|Connection terminated|connection.*(lost|closed|ended)/i.test(log),
      settledAfterCutMs: Date.now() - cutAt,
    });

    // the fault happened as described: commits PostgreSQL carried out and the worker never heard of
    expect(commitsUnheard).toBeGreaterThan(0);
    expect(confirmedUnheard).toBeGreaterThan(0);
    expect(heldAnswerBytes).toBeGreaterThan(0);
    expect(o.unexpected).toEqual({});
    checkPromises(o, fleet.logs);
  });
});
