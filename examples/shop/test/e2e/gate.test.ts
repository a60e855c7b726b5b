/**
 * The gate in front of the shop's own pages (issue 15 item 6), on the real stack: the gateway
 * with PROTECTED_ORIGIN = the example shop, a sale gating `/drop`. Admitted visitors reach the
 * shop's page through the gateway, its answer untouched; others are sent to the waiting room
 * (a page) or told 429 + Retry-After (JSON); the admission ending closes the gate. In a real
 * browser: the shop's page sends the shopper to the waiting room, whose turn leads back to it.
 * And the gate's cost: the same page through the gate and from the shop directly, same run.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser } from 'playwright-core';
import { launchChromium } from '../../../../test-support/browser.js';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readProcessCpuSeconds } from '../../../../loadtests/src/process-cpu.js';
import { sleep, startStack, waitFor, type Stack } from './support/stack.js';

const SHOTS = join(fileURLToPath(new URL('../../../../', import.meta.url)), 'test-results', 'journey');
let stack: Stack;
let browser: Browser | undefined;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  stack = await startStack({ protectShop: true });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

const cookieOf = (headers: Record<string, string | string[] | undefined>, name: string) =>
  ([] as string[]).concat(headers['set-cookie'] ?? []).find((c) => c.startsWith(`${name}=`));

async function admitted(saleId: string): Promise<{ ticket: string; gate: string; expiresAt: number }> {
  const joined = await stack.api('POST', `/api/sales/${saleId}/queue`, undefined, {});
  expect(joined.status).toBe(201);
  return waitFor('admitted, with the gate cookie', async () => {
    const me = await stack.api('GET', `/api/sales/${saleId}/queue/me`, joined.body.ticket);
    const gate = cookieOf(me.headers, `vr_gate_${saleId}`);
    if (me.body?.status !== 'admitted' || !gate) return undefined;
    return { ticket: joined.body.ticket as string, gate: gate.split(';')[0]!, expiresAt: Date.parse(me.body.admission.expiresAt) };
  });
}

describe('the gate in front of the shop', () => {
  it('lets admitted visitors through to the shop, sends the others to wait, and closes with the admission', async () => {
    const saleId = await stack.createSale({ protectedPaths: ['/drop/a'], checkoutUrl: null, checkoutSeconds: 4 });
    // one page, one sale's gate
    const clash = await stack.api('POST', '/api/admin/sales', stack.adminKey, {
      id: `${saleId}-2`,
      name: 'x',
      stock: 1,
      startsAt: new Date(Date.now() + 60_000).toISOString(),
      ratePerMinute: 60,
      protectedPaths: ['/drop'],
    });
    expect({ status: clash.status, code: clash.body.code }).toEqual({ status: 422, code: 'INVALID_SALE_CONFIG' });
    const reserved = await stack.api('PATCH', `/api/admin/sales/${saleId}`, stack.adminKey, { protectedPaths: ['/api/sales'] });
    expect({ status: reserved.status, code: reserved.body.code }).toEqual({ status: 422, code: 'INVALID_SALE_CONFIG' });
    // nobody's turn: a page goes to the waiting room, a JSON client is told to wait
    const page = await stack.apiWith('GET', '/drop/a', { accept: 'text/html' });
    expect(page.status).toBe(302);
    expect(page.headers.location).toBe(`/sales/${saleId}?return=%2Fdrop%2Fa`);
    const json = await stack.apiWith('GET', '/drop/a/deeper?x=1', { accept: 'application/json' });
    expect(json.status).toBe(429);
    expect(json.headers['retry-after']).toBe('5');
    expect(json.body).toMatchObject({
      code: 'IN_WAITING_ROOM',
      saleId,
      waitingRoom: `/sales/${saleId}?return=%2Fdrop%2Fa%2Fdeeper%3Fx%3D1`,
    });
    // only under the prefix: /drop/ab is not the drop's
    expect((await stack.apiWith('GET', '/drop/ab', { accept: 'application/json' })).body.code).toBe('ROUTE_NOT_FOUND');

    const { gate, expiresAt } = await admitted(saleId);
    expect(cookieOf({ 'set-cookie': [gate] }, `vr_gate_${saleId}`)).toBeDefined();
    const through = await stack.apiWith('GET', '/drop/a', { cookie: gate, accept: 'text/html' });
    expect(through.status).toBe(200);
    expect(through.headers['x-shop-page'], "the shop's own headers come through").toBe('drop');
    expect(String(through.body)).toContain('the drop is yours');
    // a request body streams to the shop as sent
    const echo = await stack.apiWith('POST', '/drop/a/echo', { cookie: gate }, { size: 'EU 42' });
    expect(echo.body).toEqual({ received: { size: 'EU 42' }, contentType: 'application/json' });
    // a changed cookie, or one of another sale, opens nothing
    const tampered = gate.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    expect((await stack.apiWith('GET', '/drop/a', { cookie: tampered })).status).toBe(302);
    expect((await stack.apiWith('GET', '/drop/a', { cookie: gate.replace(`vr_gate_${saleId}`, 'vr_gate_other') })).status).toBe(302);

    // the admission ends: the gate closes for this visitor
    await sleep(Math.max(0, expiresAt - Date.now()) + 1_100);
    const closed = await stack.apiWith('GET', '/drop/a', { cookie: gate, accept: 'text/html' });
    expect(closed.status).toBe(302);
  });

  it('a shopper arriving at the shop’s gated page waits in the room and is led back at their turn (browser)', async () => {
    browser = await launchChromium();
    await stack.createSale({ protectedPaths: ['/drop/b'], checkoutUrl: null, ratePerMinute: 6_000 });
    const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    await page.goto(`${stack.base}/drop/b`);
    // through the waiting room and back to the shop's page, its own
    await page.waitForURL(`${stack.base}/drop/b`, { timeout: 30_000 });
    expect(await page.textContent('h1')).toContain('the drop');
    await page.screenshot({ path: join(SHOTS, '09-gated-shop-page-after-the-turn.png') });
    expect(problems).toEqual([]);
    await context.close();
  });

  it('costs little over reaching the shop directly (same run)', async () => {
    const saleId = await stack.createSale({ protectedPaths: ['/drop/c'], checkoutUrl: null, checkoutSeconds: 600 });
    const { gate } = await admitted(saleId);
    const N = 2_000;
    const run = async (base: string, headers: Record<string, string>) => {
      const pool = new Pool(base, { connections: 16, pipelining: 1 });
      let next = 0;
      let ok = 0;
      const statuses = new Map<number, number>();
      const t0 = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next++ < N) {
            const r = await pool.request({ method: 'GET', path: '/drop/c', headers });
            await r.body.text();
            if (r.statusCode === 200) ok++;
            statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
          }
        }),
      );
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      await pool.close();
      return { ok, ms, statuses: Object.fromEntries(statuses) };
    };
    await run(stack.shopBase, {}); // warm both
    await run(stack.base, { cookie: gate });
    const gwPid = stack.gateway.child.pid!;
    const shopPid = stack.shop.child.pid!;
    const cpu = async () => ({ gw: (await readProcessCpuSeconds(gwPid))!, shop: (await readProcessCpuSeconds(shopPid))! });
    const c0 = await cpu();
    const direct = await run(stack.shopBase, {});
    const c1 = await cpu();
    const gated = await run(stack.base, { cookie: gate });
    const c2 = await cpu();
    const gatewayCpuPerRequestMs = ((c2.gw - c1.gw) * 1000) / N;
    const shopCpuPerRequestMs = ((c1.shop - c0.shop) * 1000) / N;
    process.stdout.write(
      `GATE ${N} GET /drop/c, 16 at a time: directly ${direct.ms.toFixed(0)} ms, through the gate ${gated.ms.toFixed(0)} ms ` +
        `(wall ratio ${(gated.ms / direct.ms).toFixed(2)}); gateway CPU ${gatewayCpuPerRequestMs.toFixed(3)} ms per request, ` +
        `the shop's own ${shopCpuPerRequestMs.toFixed(3)} ms (CPU ratio gate/shop ${(gatewayCpuPerRequestMs / shopCpuPerRequestMs).toFixed(2)})\n`,
    );
    expect(direct.ok).toBe(N);
    expect(gated.statuses, 'every gated request reached the shop').toEqual({ 200: N });
  });
});
