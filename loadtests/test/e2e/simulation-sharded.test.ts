/**
 * The simulator with a sale over shards (`--shards 3`) on a private three-master Redis Cluster:
 * the same journeys as the one-shard run, the promises checked the same way, the waiting
 * shoppers counted in the sub-queues (the Redis figures), and every key the run made removed
 * from every master. No timing is asserted: the machine is shared.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisCluster, type LocalCluster } from '../../src/redis-cluster.js';
import { runSimulation } from '../../src/simulate.js';

let out: string | undefined;
let cluster: LocalCluster | undefined;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
});

afterAll(async () => {
  if (out) await rm(out, { recursive: true, force: true });
  await cluster?.stop();
});

describe('the flash-sale simulator, a sale over three shards', () => {
  it(
    '3,000 shoppers, 300 units over 3 sub-queues: every promise holds, and it removes its keys from every master',
    { timeout: 240_000 },
    async () => {
      out = await mkdtemp(join(tmpdir(), 'vr-sim-sharded-'));
      const { report } = await runSimulation({
        shoppers: 3_000,
        stock: 300,
        ratePerMinute: 3_000,
        checkoutSeconds: 6,
        thinkMs: 300,
        windowSeconds: 2,
        arrivalSeconds: 5,
        abandon: 0.1,
        retry: 0.2,
        impatient: 0.1,
        bots: 4,
        botJoins: 5,
        socketSample: 20,
        maxSeconds: 200,
        shards: 3,
        redisClusterNodes: cluster!.nodes,
        out,
      });
      const broken = report.checks.filter((c) => !c.pass).map((c) => ({ id: c.id, items: c.items.filter((i) => !i.pass) }));
      expect(broken, JSON.stringify({ broken, problems: report.problems }, null, 2)).toEqual([]);
      expect(report.passed).toBe(true);
      expect(report.sale.shards).toBe(3);
      expect(report.figures.orders).toMatchObject({ sold: 300, stock: 300, confirmed: 300, rejected: 0, retryMismatches: 0 });
      expect(report.journeys.sold_out).toBeGreaterThan(0);
      expect(report.fairness.windows.windows).toBeGreaterThan(1);
      // the pre-queue waits in the sub-queues (a sharded sale's main queue stays empty): the
      // Redis figures found it there
      const pre = report.figures.memory.redisPrequeue;
      expect(pre?.queued).toBeGreaterThanOrEqual(report.fairness.prequeueShoppers);
      expect(pre?.bytesPerShopper).toBeGreaterThan(0);

      // nothing of the run's prefix is left on any master
      const prefix = report.target.isolation!.redisKeyPrefix;
      const left: string[] = [];
      for (const port of cluster!.ports) {
        const node = new Redis({ host: '127.0.0.1', port });
        try {
          let cursor = '0';
          do {
            const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 10_000);
            left.push(...keys);
            cursor = next;
          } while (cursor !== '0');
        } finally {
          node.disconnect();
        }
      }
      expect(left).toEqual([]);
    },
  );
});
