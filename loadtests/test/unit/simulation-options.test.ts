import { describe, expect, it } from 'vitest';
import { OptionError, parseCommandLine, resolveOptions } from '../../src/simulation-options.js';

describe('simulation options', () => {
  it('defaults to the design target: 100,000 shoppers for 10,000 units', () => {
    const o = resolveOptions();
    expect(o.shoppers).toBe(100_000);
    expect(o.stock).toBe(10_000);
    expect(o.prequeue).toBe(6_000);
    expect(o.prequeueSeconds).toBe(5 + 15);
    expect(o.baseUrl).toBeUndefined();
  });

  it('reads the command line', () => {
    const cli = parseCommandLine([
      '--shoppers',
      '100_000',
      '--stock',
      '10000',
      '--rate',
      '6000',
      '--abandon',
      '0.1',
      '--bots',
      '20',
      '--mode',
      'fifo',
      '--window',
      '10',
      '--socket-sample',
      '200',
      '--out',
      'x',
      '--no-progress',
    ]);
    const o = resolveOptions(cli);
    expect(o).toMatchObject({
      shoppers: 100_000,
      stock: 10_000,
      ratePerMinute: 6000,
      abandon: 0.1,
      bots: 20,
      mode: 'fifo',
      windowSeconds: 10,
      socketSample: 200,
      out: 'x',
      progress: false,
    });
  });

  it('refuses bad values, naming the option', () => {
    expect(() => resolveOptions({ abandon: 1.5 })).toThrow(/--abandon/);
    expect(() => resolveOptions({ shoppers: 0 })).toThrow(/--shoppers/);
    expect(() => resolveOptions({ mode: 'lottery' as never })).toThrow(/--mode/);
    expect(() => resolveOptions({ prequeue: 10, shoppers: 5 })).toThrow(/--prequeue/);
    expect(() => parseCommandLine(['--shoppers', 'many'])).toThrow(OptionError);
    expect(() => parseCommandLine(['--unknown', '1'])).toThrow();
    expect(() => resolveOptions({ maxPollMs: 600_001 })).toThrow(/--max-poll-ms/);
  });

  it("lets the polls follow the gateway's advice up to its own ten-minute ceiling", () => {
    expect(resolveOptions({ maxPollMs: 600_000 }).maxPollMs).toBe(600_000);
  });

  it('targets a running gateway only on this machine, and only with its admin key and database', () => {
    expect(() => resolveOptions({ baseUrl: 'http://example.com:3000', adminKey: 'k', databaseUrl: 'postgres://x' })).toThrow(/local/);
    expect(() => resolveOptions({ baseUrl: 'http://127.0.0.1:3000' })).toThrow(/--admin-key/);
    expect(() => resolveOptions({ baseUrl: 'http://127.0.0.1:3000', adminKey: 'k' })).toThrow(/--database-url/);
    expect(resolveOptions({ baseUrl: 'http://127.0.0.1:3000', adminKey: 'k', databaseUrl: 'postgres://x' }).baseUrl).toBe(
      'http://127.0.0.1:3000',
    );
  });

  it('spreads the sale over shards of a Redis Cluster only where the gateway allows it', () => {
    expect(resolveOptions().shards).toBe(1);
    const cli = parseCommandLine(['--shards', '3', '--redis-cluster-nodes', '127.0.0.1:7001,127.0.0.1:7002']);
    expect(resolveOptions(cli)).toMatchObject({ shards: 3, redisClusterNodes: '127.0.0.1:7001,127.0.0.1:7002' });
    // without nodes on a spawned stack: the simulator starts its own cluster
    expect(resolveOptions({ shards: 3 }).redisClusterNodes).toBeUndefined();
    expect(() => resolveOptions({ shards: 17 })).toThrow(/--shards/);
    expect(() => resolveOptions({ shards: 0 })).toThrow(/--shards/);
    expect(() => resolveOptions({ shards: 3, mode: 'fifo' })).toThrow(/--shards.*--mode/);
    expect(() => resolveOptions({ shards: 3, windowSeconds: 0 })).toThrow(/--window/);
    expect(() => resolveOptions({ redisClusterNodes: '127.0.0.1' })).toThrow(/--redis-cluster-nodes/);
    expect(() => resolveOptions({ redisClusterNodes: 'a:1,,b:2' })).toThrow(/--redis-cluster-nodes/);
    // a running gateway's cluster cannot be guessed
    const running = { baseUrl: 'http://127.0.0.1:3000', adminKey: 'k', databaseUrl: 'postgres://x' };
    expect(() => resolveOptions({ ...running, shards: 3 })).toThrow(/--redis-cluster-nodes/);
    expect(resolveOptions({ ...running, shards: 3, redisClusterNodes: '127.0.0.1:7001' }).shards).toBe(3);
  });
});
