/**
 * Issue 16 item 6: staff and monitoring skip the room (BYPASS_KEYS, BYPASS_CIDRS) without
 * being counted anywhere, and each bypass is one log line. Real services, a gateway behind a
 * pretend proxy (TRUST_PROXY, X-Forwarded-For).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { adminHeaders, buy, createHarness, createSale, join, reportFunnel, testRedis, until, type Harness } from '../support/harness.js';
import type { RedisClient } from '@velvet-rope/contracts';
// @ts-expect-error: a plain .mjs script without types, run as the docs say
import { verifyAudit } from '../../../scripts/verify-fairness.mjs';

const KEY = 'staff-bypass-key-0123456789';
const OTHER_KEY = 'monitor-bypass-key-abcdefghij';

let h: Harness;
let redis: RedisClient;
const logLines: string[] = [];
beforeAll(async () => {
  h = await createHarness(
    { BYPASS_KEYS: `${KEY}, ${OTHER_KEY}`, BYPASS_CIDRS: '10.1.0.0/16,2001:db8::/32', TRUST_PROXY: 'true', LOG_LEVEL: 'info' },
    { logStream: { write: (line: string) => void logLines.push(line) } },
  );
  redis = await testRedis();
});
afterAll(async () => {
  redis?.disconnect();
  await h?.close();
});

const joinFrom = (app: FastifyInstance, sale: string, headers: Record<string, string>) => join(app, sale, headers);

async function figures(app: FastifyInstance, sale: string) {
  const live = (await app.inject({ url: `/api/sales/${sale}` })).json() as Record<string, unknown>;
  const state = await redis.hgetall(app.keyspace.sale(sale).state);
  return {
    waiting: live.waiting,
    admitted: live.admitted,
    admittedTotal: live.admittedTotal,
    report: await reportFunnel(app, sale),
    queue: await redis.zcard(app.keyspace.sale(sale).queue),
    visitors: await redis.hlen(app.keyspace.sale(sale).visitors),
    seq: state.admittedTotal ?? '0',
  };
}

function bypassLogs(sale: string): { saleId: string; address: string; rule: string; msg: string }[] {
  return logLines
    .map((l) => JSON.parse(l) as { saleId: string; address: string; rule: string; msg: string })
    .filter((l) => l.saleId === sale && /bypass/.test(l.msg));
}

describe('bypass: staff and monitoring skip the room, counted nowhere, logged', () => {
  it('admits a bypass key, an allowed IPv4 and IPv6 address at once; their purchase goes through the stock; no figure, counter or audit line changes', async () => {
    const app = h.app();
    // rate 0: a shopper would wait forever; the bypass does not
    const sale = await createSale(app, { stock: 5, ratePerMinute: 0 });
    const shopper = await join(app, sale);
    expect(shopper.status).toBe('queued');
    const before = await figures(app, sale);

    const byKey = await joinFrom(app, sale, { 'x-bypass-key': KEY });
    const byOtherKey = await joinFrom(app, sale, { 'x-bypass-key': OTHER_KEY });
    const byV4 = await joinFrom(app, sale, { 'x-forwarded-for': '10.1.2.3' });
    const byV6 = await joinFrom(app, sale, { 'x-forwarded-for': '2001:db8::42' });
    for (const j of [byKey, byOtherKey, byV4, byV6]) {
      expect(j.statusCode).toBe(200);
      expect(j.status).toBe('admitted');
    }
    const token = (byKey as unknown as { admission: { token: string } }).admission.token;
    // again: the same admission
    const again = await joinFrom(app, sale, { 'x-bypass-key': KEY, cookie: `vr_vid=${byKey.cookies.vr_vid}` });
    expect(again.visitorId).toBe(byKey.visitorId);
    expect((again as unknown as { admission: { token: string } }).admission.token).toBeTypeOf('string');

    // the purchase reserves from the stock like any other, once
    const bought = await buy(app, sale, token);
    expect(bought.statusCode).toBe(202);
    expect((await buy(app, sale, token)).body.orderId).toBe(bought.body.orderId);
    const live = (await app.inject({ url: `/api/sales/${sale}` })).json();
    expect(live.remaining).toBe(4);
    const ordered = await joinFrom(app, sale, { 'x-bypass-key': KEY, cookie: `vr_vid=${byKey.cookies.vr_vid}` });
    expect(ordered.status).toBe('ordered');

    // nothing counted: the queue, the figures, the report, the admission sequence
    expect(await figures(app, sale)).toEqual(before);
    expect((await app.inject({ url: `/api/admin/sales/${sale}/stats`, headers: adminHeaders })).json()).toMatchObject({
      waiting: 1,
      admitted: 0,
      admittedTotal: 0,
    });
    const { rows } = await h.db.pool.query('SELECT count(*)::int AS n FROM admissions WHERE sale_id = $1', [sale]);
    expect(rows[0].n).toBe(0);

    // logged: one line each, with the sale, the address and the rule (never the key)
    const logs = bypassLogs(sale);
    expect(logs.map((l) => l.rule)).toEqual(['key', 'key', 'cidr:10.1.0.0/16', 'cidr:2001:db8::/32', 'key', 'key']);
    expect(logs[2]!.address).toBe('10.1.2.3');
    expect(logs[3]!.address).toBe('2001:db8::42');
    expect(logLines.some((l) => l.includes(KEY) || l.includes(OTHER_KEY))).toBe(false);

    // the audit: the shopper's line only, and it verifies
    expect(
      (
        await app.inject({
          method: 'PATCH',
          url: `/api/admin/sales/${sale}`,
          headers: adminHeaders,
          payload: { endsAt: new Date(Date.now() + 300).toISOString() },
        })
      ).statusCode,
    ).toBe(200);
    await until('ended', async () => (await app.inject({ url: `/api/sales/${sale}` })).json().status === 'ended');
    const fairness = (await app.inject({ url: `/api/sales/${sale}/fairness` })).json();
    const audit = await app.inject({ url: `/api/sales/${sale}/fairness/audit` });
    const lines = audit.body
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { auditId: string });
    expect(lines.map((l) => l.auditId)).toEqual([(shopper as unknown as { auditId: string }).auditId]);
    expect(verifyAudit(fairness, lines).ok).toBe(true);
  });

  it('treats a wrong key, an address outside the CIDRs and a forged X-Forwarded-For front as a normal shopper', async () => {
    const app = h.app();
    const sale = await createSale(app, { stock: 5, ratePerMinute: 0 });
    const normal = [
      await joinFrom(app, sale, { 'x-bypass-key': 'staff-bypass-key-012345678' }), // one character short
      await joinFrom(app, sale, { 'x-bypass-key': `${KEY}x` }),
      await joinFrom(app, sale, { 'x-bypass-key': '' }),
      await joinFrom(app, sale, { 'x-forwarded-for': '10.2.0.1' }),
      await joinFrom(app, sale, { 'x-forwarded-for': '2001:db9::1' }),
      // a client writes an allowed address at the front; the proxy appended the real one
      await joinFrom(app, sale, { 'x-forwarded-for': '10.1.2.3, 203.0.113.9' }),
    ];
    for (const j of normal) {
      expect(j.statusCode).toBe(201);
      expect(j.status).toBe('queued');
    }
    const live = (await app.inject({ url: `/api/sales/${sale}` })).json();
    expect(live.waiting).toBe(normal.length);
    expect((await reportFunnel(app, sale)).joined).toBe(normal.length);
    expect(bypassLogs(sale)).toEqual([]);
  });

  it('refuses a bypass on a sold-out or ended sale like any join', async () => {
    const app = h.app();
    const sale = await createSale(app, { stock: 0 });
    const r = await app.inject({ method: 'POST', url: `/api/sales/${sale}/queue`, headers: { 'x-bypass-key': KEY }, payload: {} });
    expect(r.statusCode).toBe(409);
    expect(r.json().code).toBe('SOLD_OUT');
  });
});
