/**
 * The marketer's notice on the pages with JavaScript (issue 16 item 8): the console's box sends
 * and clears it; an open waiting page shows it and puts it in its live regions (assertive for a
 * warning), a page opened afterwards shows it too.
 *
 * The waiting room with JavaScript turned off (issue 16 item 9), in a real browser (Debian's
 * chromium through playwright-core, `javaScriptEnabled: false`), against the built gateway and
 * order worker as processes: the static page's noscript form joins; the server-rendered page
 * shows the place and refreshes itself (meta refresh); the turn comes by that refresh alone;
 * the buy form orders; the worker confirms it and the page shows it confirmed. The marketer's
 * notice, holding `<script>`, is shown as text. Each step is saved to test-results/no-script/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, launchChromium } from '../../../test-support/browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AMQP_URL, cleanupRedis, deleteQueues, REDIS_URL } from '../../../gateway/test/support/harness.js';
import { createTestDatabase, uniqueId, type TestDatabase } from '../../../test-support/databases.js';
import { freePort, startService, waitForHttp, waitForOutput, type Service } from '../../../test-support/processes.js';
import { callJson } from '../../../test-support/call-json.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SHOTS = join(ROOT, 'test-results', 'no-script');
const ADMIN_KEY = 'no-script-admin-key-0123456789';

let db: TestDatabase;
let gateway: Service;
let worker: Service;
let context: BrowserContext;
let browser: Browser;
const pageProblems: string[] = [];
let base: string;
const profile = mkdtempSync(join(tmpdir(), 'vr-no-script-'));
const prefix = uniqueId('vrns').toLowerCase();
const queue = uniqueId('vr-ns-orders-');

beforeAll(async () => {
  const built = ['gateway/dist/server.js', 'order-worker/dist/server.js', 'waiting-room-ui/dist/sale.html'];
  if (!built.every((f) => existsSync(join(ROOT, f)))) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  mkdirSync(SHOTS, { recursive: true });
  db = await createTestDatabase();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const env = { DATABASE_URL: db.url, REDIS_URL, AMQP_URL, ORDERS_QUEUE: queue, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: 'warn' };
  worker = startService('order-worker', 'order-worker/dist/server.js', { ...env, LOG_LEVEL: 'info' });
  gateway = startService('gateway', 'gateway/dist/server.js', {
    ...env,
    PORT: String(port),
    ADMIN_API_KEY: ADMIN_KEY,
    TICK_MS: '100',
    RATE_LIMIT_PER_IP: '1000000',
  });
  // a persistent context: an empty profile of its own, and JavaScript off
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    javaScriptEnabled: false,
    viewport: { width: 900, height: 800 },
    args: CHROMIUM_ARGS,
  });
  // and a browser with JavaScript on, for the notice on the live pages
  browser = await launchChromium();
  await waitForHttp(`${base}/readyz`, gateway);
  await waitForOutput(worker, 'order-worker ready');
});

afterAll(async () => {
  await browser?.close();
  await context?.close();
  rmSync(profile, { recursive: true, force: true });
  let codes: unknown[] | undefined;
  try {
    codes = await Promise.all([gateway?.stop(), worker?.stop()]);
  } finally {
    await cleanupRedis(prefix);
    await deleteQueues([queue, `${queue}.dead`]);
    await db?.drop();
  }
  expect(codes).toEqual([0, 0]);
});

const api = (method: string, path: string, token?: string, body?: unknown) => callJson(base, method, path, token, body);

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
/** the server-rendered page's state: body[data-state], reached by its own meta refresh */
const waitState = (page: Page, state: string, timeout = 90_000) => page.waitForSelector(`body[data-state="${state}"]`, { timeout });

describe('the waiting room without JavaScript', () => {
  it('joins, shows the place refreshing itself, gets the turn, buys, and shows the order confirmed', async () => {
    const saleId = uniqueId('ns-');
    // one turn at a time: the shopper ahead holds it until they buy, so the browser waits at
    // place 1 (and its page refreshes every second, as the status API advises for that place)
    const created = await api('POST', '/api/admin/sales', ADMIN_KEY, {
      id: saleId,
      name: 'Velvet sneakers <drop>',
      stock: 2,
      maxActive: 1,
      startsAt: new Date(Date.now() - 1_000).toISOString(),
      ratePerMinute: 600,
      checkoutSeconds: 120,
      maxPerShopper: 1,
      queueMode: 'fifo',
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const ahead = await api('POST', `/api/sales/${saleId}/queue`, undefined, {});
    const aheadTurn = await until('the shopper ahead to be admitted', async () => {
      const r = await api('GET', `/api/sales/${saleId}/queue/me`, ahead.body.ticket);
      return r.body.admission?.token as string | undefined;
    });
    const message = 'Restock at 18:00 <script>document.title="pwned"</script>';
    expect((await api('PUT', `/api/admin/sales/${saleId}/notice`, ADMIN_KEY, { message, level: 'warning' })).status).toBe(200);

    const page = await context.newPage();
    await page.goto(`${base}/sales/${saleId}`);
    // the static page: its noscript block is shown, with a plain form
    await page.waitForSelector('#no-script-join', { state: 'visible' });
    await shot(page, '01-static-page-noscript');
    await page.click('#no-script-join');
    await page.waitForURL(`${base}/sales/${saleId}/wait`);
    await waitState(page, 'queued');
    expect(await page.textContent('#position')).toBe('1');
    expect(await page.textContent('#ahead')).toBe('0');
    const refresh = await page.getAttribute('meta[http-equiv="refresh"]', 'content');
    expect(refresh).toMatch(/^\d+$/);
    expect(Number(refresh)).toBeGreaterThanOrEqual(1);
    // the notice is shown as text: its <script> is words on the page, not an element
    expect(await page.textContent('#notice')).toContain(message);
    expect(await page.$$eval('#notice script', (s) => s.length)).toBe(0);
    expect(await page.title()).toBe('Velvet sneakers <drop>');
    const html = await (await page.request.get(`${base}/sales/${saleId}/wait`)).text();
    expect(html).toContain('&lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt;');
    expect(html).not.toContain('<script');
    await shot(page, '02-queued');

    // the shopper ahead buys: the turn passes to the browser, which learns it by refreshing
    const bought = await api('POST', `/api/sales/${saleId}/purchases`, aheadTurn, { quantity: 1 });
    expect(bought.status, JSON.stringify(bought.body)).toBe(202);
    await waitState(page, 'admitted');
    await shot(page, '03-admitted');
    await page.click('#buy');
    await page.waitForURL(`${base}/sales/${saleId}/wait`);
    await waitState(page, 'confirmed');
    const orderId = (await page.textContent('#order-id'))!.trim();
    expect(orderId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await page.textContent('#order-status')).toContain('confirmed');
    await shot(page, '04-confirmed');

    // the worker committed it: PostgreSQL says so, for the browser's visitor
    const { rows } = await db.pool.query('SELECT status, quantity FROM orders WHERE order_id = $1', [orderId]);
    expect(rows).toEqual([{ status: 'confirmed', quantity: 1 }]);
    // and the same place seen with JavaScript: the ticket cookie's status answers the order
    const cookies = await context.cookies(base);
    const ticket = cookies.find((c) => c.name === 'vr_ticket')!.value;
    const status = await api('GET', `/api/sales/${saleId}/queue/me`, ticket);
    expect(status.body).toMatchObject({ status: 'ordered', orderId });
    await page.close();
  });
});

describe('the notice on the pages with JavaScript', () => {
  async function jsPage(ctx: BrowserContext): Promise<Page> {
    const page = await ctx.newPage();
    page.on('pageerror', (err) => pageProblems.push(`page error: ${err.message}`));
    return page;
  }
  const textOf = async (page: Page, selector: string) => ((await page.textContent(selector)) ?? '').trim();
  const untilText = (page: Page, selector: string, want: string) =>
    page.waitForFunction(
      ([sel, w]) => ((globalThis as any).document.querySelector(sel)?.textContent ?? '').includes(w),
      [selector, want] as const,
      { timeout: 30_000 },
    );

  it('the console sends a notice; an open page shows it and announces it, a later page shows it; clearing hides it', async () => {
    const saleId = uniqueId('nj-');
    const created = await api('POST', '/api/admin/sales', ADMIN_KEY, {
      id: saleId,
      name: 'Notice drop',
      stock: 10,
      startsAt: new Date(Date.now() - 1_000).toISOString(),
      ratePerMinute: 0,
    });
    expect(created.status).toBe(201);
    const ctx = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    try {
      const shopper = await jsPage(ctx);
      await shopper.goto(`${base}/sales/${saleId}`);
      await shopper.waitForSelector('body[data-state="queued"]', { timeout: 30_000 });
      expect(await shopper.isHidden('#notice')).toBe(true);

      const admin = await jsPage(ctx);
      await admin.goto(`${base}/admin`);
      await admin.waitForSelector('#sign-in:not([hidden])');
      await admin.fill('#key', ADMIN_KEY);
      await admin.press('#key', 'Enter');
      await admin.waitForSelector('#workspace:not([hidden])');
      await admin.goto(`${base}/admin#${saleId}`);
      await admin.waitForSelector('#sale-panel:not([hidden])');
      await admin.waitForSelector('#broadcast-none:not([hidden])');

      const warning = 'Payment provider slow: <b>keep this page open</b>';
      await admin.fill('#broadcast-message', warning);
      await admin.selectOption('#broadcast-level', 'warning');
      await admin.click('#broadcast-send');
      await untilText(admin, '#broadcast-current-text', warning);
      await shot(admin, '11-console-notice');

      // the open page: shown as text, read out assertively
      await untilText(shopper, '#notice-text', warning);
      expect(await shopper.getAttribute('#notice', 'data-level')).toBe('warning');
      expect(await shopper.$$eval('#notice b', (b) => b.length)).toBe(0);
      await untilText(shopper, '#notice-alert', warning);
      expect(await shopper.getAttribute('#notice-alert', 'aria-live')).toBe('assertive');
      await shot(shopper, '12-page-warning');

      // an info notice replaces it, read out politely
      await admin.fill('#broadcast-message', 'Doors open in five minutes');
      await admin.selectOption('#broadcast-level', 'info');
      await admin.click('#broadcast-send');
      await untilText(shopper, '#notice-text', 'Doors open in five minutes');
      await untilText(shopper, '#notice-announcer', 'Doors open in five minutes');
      expect(await shopper.getAttribute('#notice-announcer', 'aria-live')).toBe('polite');

      // a page opened now shows the notice in force
      const later = await jsPage(ctx);
      await later.goto(`${base}/sales/${saleId}`);
      await untilText(later, '#notice-text', 'Doors open in five minutes');

      await admin.click('#broadcast-clear');
      await admin.waitForSelector('#broadcast-none:not([hidden])');
      for (const p of [shopper, later]) await p.waitForSelector('#notice', { state: 'hidden', timeout: 30_000 });
      expect((await api('GET', `/api/admin/sales/${saleId}/notice`, ADMIN_KEY)).body).toEqual({ notice: null });
      expect(await textOf(shopper, '#position')).not.toBe('');
    } finally {
      await ctx.close();
    }
    expect(pageProblems.splice(0)).toEqual([]);
  });
});
