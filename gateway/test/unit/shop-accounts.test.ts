/**
 * The way back from visitor ids to the shop's accounts (accounts/shop-accounts.ts): the
 * identities verified together go in one INSERT, each account once per process, and a write
 * PostgreSQL refuses never fails the join: it is sent again with the next one. The pool is a
 * stand-in that records the queries (the SQL itself runs against PostgreSQL in the e2e test).
 */
import type pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ShopAccounts } from '../../src/accounts/shop-accounts.js';

function recordingPool(failures: number) {
  const writes: string[][] = [];
  let left = failures;
  const pool = {
    async query(_sql: string, params: unknown[]) {
      if (left-- > 0) throw new Error('connection refused');
      writes.push(params[0] as string[]);
      return { rows: [] };
    },
  };
  return { pool: pool as unknown as pg.Pool, writes };
}

const carol = { issuer: 'https://shop.example', subject: 'carol' };
const dave = { issuer: 'https://shop.example', subject: 'dave' };

afterEach(() => {
  vi.useRealTimers();
});

describe('shop accounts', () => {
  it('writes the identities of one turn in one insert, and each account once', async () => {
    const { pool, writes } = recordingPool(0);
    const accounts = new ShopAccounts(pool);
    await Promise.all([accounts.remember('v-carol-000000001', carol), accounts.remember('v-dave-0000000001', dave)]);
    await accounts.remember('v-carol-000000001', carol);
    expect(writes).toEqual([['v-carol-000000001', 'v-dave-0000000001']]);
  });

  it('never rejects when PostgreSQL refuses, and sends the refused rows again with the next', async () => {
    const { pool, writes } = recordingPool(1);
    const accounts = new ShopAccounts(pool);
    await expect(accounts.remember('v-carol-000000001', carol)).resolves.toBeUndefined();
    expect(writes).toEqual([]);
    await accounts.remember('v-dave-0000000001', dave);
    expect(writes).toEqual([['v-carol-000000001', 'v-dave-0000000001']]);
  });

  it('sends what was refused again on its own when no other identity comes', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { pool, writes } = recordingPool(1);
    const accounts = new ShopAccounts(pool);
    await accounts.remember('v-carol-000000001', carol);
    expect(writes).toEqual([]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(writes).toEqual([['v-carol-000000001']]);
  });

  it('sends what was refused at close', async () => {
    const { pool, writes } = recordingPool(1);
    const accounts = new ShopAccounts(pool);
    await accounts.remember('v-carol-000000001', carol);
    await accounts.flush();
    expect(writes).toEqual([['v-carol-000000001']]);
  });
});
