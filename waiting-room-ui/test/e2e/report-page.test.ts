/**
 * The console's report page in a real browser (Debian's chromium through playwright-core),
 * against the built gateway and order worker: two small sales run (shoppers join, are admitted,
 * some buy), then the marketer opens the first, sees its funnel, picks the second to compare
 * side by side, and downloads the CSV. Saved to test-results/screenshots/console-report.png.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AMQP_URL, cleanupRedis, deleteQueues, REDIS_URL } from '../../../gateway/test/support/harness.js';
import { createTestDatabase, uniqueId, type TestDatabase } from '../../../test-support/databases.js';
import { freePort, startService, waitForHttp, waitForOutput, type Service } from '../../../test-support/processes.js';
import { callJson } from '../../../test-support/call-json.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCREENSHOTS = join(ROOT, 'test-results', 'screenshots');
const ADMIN_KEY = 'ui-report-admin-key-0123456789';

let db: TestDatabase;
let gateway: Service;
let worker: Service;
let browser: Browser;
let base: string;
const prefix = uniqueId('vrrp').toLowerCase();
const queue = uniqueId('vr-ui-report-orders-');
const problems: string[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const api = (method: string, path: string, token?: string, body?: unknown) => callJson(base, method, path, token, body);

/** a small sale run to its end: `shoppers` join, everyone admitted buys until sold out */
async function runSale(name: string, stock: number, shoppers: number): Promise<string> {
  const id = uniqueId('rep-');
  const created = await api('POST', '/api/admin/sales', ADMIN_KEY, {
    id,
    name,
    stock,
    startsAt: new Date(Date.now() - 1_000).toISOString(),
    ratePerMinute: 600,
    checkoutSeconds: 30,
    queueMode: 'fifo',
  });
  expect(created.status).toBe(201);
  const tickets: string[] = [];
  for (let i = 0; i < shoppers; i++) tickets.push((await api('POST', `/api/sales/${id}/queue`, undefined, {})).body.ticket);
  const done = new Set<number>();
  for (let round = 0; round < 200 && done.size < shoppers; round++) {
    for (const [i, t] of tickets.entries()) {
      if (done.has(i)) continue;
      const me = await api('GET', `/api/sales/${id}/queue/me`, t);
      if (me.body.status === 'admitted') {
        await api('POST', `/api/sales/${id}/purchases`, me.body.admission.token, { quantity: 1 });
        done.add(i);
      } else if (me.body.status !== 'queued') done.add(i);
    }
    await sleep(200);
  }
  // the leader moves the counters about once a second
  for (let i = 0; i < 50; i++) {
    const r = await api('GET', `/api/admin/sales/${id}/report`, ADMIN_KEY);
    if (r.body.funnel.bought === stock && r.body.funnel.toldSoldOut === shoppers - r.body.funnel.admitted) break;
    await sleep(200);
  }
  return id;
}

beforeAll(async () => {
  const built = ['gateway/dist/server.js', 'order-worker/dist/server.js', 'waiting-room-ui/dist/admin.html'];
  if (!built.every((f) => existsSync(join(ROOT, f)))) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  mkdirSync(SCREENSHOTS, { recursive: true });
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
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
  });
  await waitForHttp(`${base}/readyz`, gateway);
  await waitForOutput(worker, 'order-worker ready');
});

afterAll(async () => {
  await browser?.close();
  try {
    await Promise.all([gateway?.stop(), worker?.stop()]);
  } finally {
    await cleanupRedis(prefix);
    await deleteQueues([queue, `${queue}.dead`]);
    await db?.drop();
  }
});

const text = (page: Page, selector: string) => page.locator(selector).innerText();

describe('the console report page', () => {
  it('shows a sale’s funnel and charts, compares two sales side by side, and downloads the CSV', async () => {
    const first = await runSale('Spring drop', 5, 12);
    const second = await runSale('Summer drop', 8, 10);
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, locale: 'en-GB', acceptDownloads: true });
    const page = await context.newPage();
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) problems.push(`console: ${msg.text()}`);
    });
    await page.goto(`${base}/admin`);
    await page.waitForSelector('#sign-in:not([hidden])');
    await page.fill('#key', ADMIN_KEY);
    await page.press('#key', 'Enter');
    await page.click(`button[data-sale="${first}"]`);
    await page.waitForSelector(`#report-panel:not([hidden]) .report-column[data-sale="${first}"]`);
    const column = `.report-column[data-sale="${first}"]`;
    expect(await text(page, `${column} li[data-step="joined"] .funnel-value`)).toBe('12');
    expect(await text(page, `${column} li[data-step="bought"] .funnel-value`)).toBe('5');
    expect(await page.locator(`${column} .chart-svg path.line`).count()).toBeGreaterThan(0);

    await page.selectOption('#report-compare', second);
    await page.waitForSelector(`#report-columns[data-compared="2"] .report-column[data-sale="${second}"]`);
    expect(await text(page, `.report-column[data-sale="${second}"] li[data-step="bought"] .funnel-value`)).toBe('8');
    await page.locator('#report-panel').scrollIntoViewIfNeeded();
    await page.locator('#report-panel').screenshot({ path: join(SCREENSHOTS, 'console-report.png') });

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#report-csv')]);
    expect(download.suggestedFilename()).toBe(`${first}-report.csv`);
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csv.split('\r\n')[0]).toBe(
      'minute,at,arrivals,admissions,bought,ratePerMinute,rateSet,requests,errors5xx,queueP50,queueP90,queueP99',
    );
    const arrivals = csv
      .trim()
      .split('\r\n')
      .slice(1)
      .reduce((n, l) => n + Number(l.split(',')[2]), 0);
    expect(arrivals).toBe(12);
    await context.close();
    expect(problems).toEqual([]);
  });
});
