/**
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
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AMQP_URL, cleanupRedis, deleteQueues, REDIS_URL } from '../../../gateway/test/support/harness.js';
import { createTestDatabase, uniqueId, type TestDatabase } from '../../../test-support/databases.js';
import { freePort, startService, waitForHttp, waitForOutput, type Service } from '../../../test-support/processes.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SHOTS = join(ROOT, 'test-results', 'no-script');
const ADMIN_KEY = 'no-script-admin-key-0123456789';

let db: TestDatabase;
let gateway: Service;
let worker: Service;
let context: BrowserContext;
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
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  await waitForHttp(`${base}/readyz`, gateway);
  await waitForOutput(worker, 'order-worker ready');
});

afterAll(async () => {
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

async function api(method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

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
