/**
 * The console's product form and invite list (issue 15 items 5 and 2) in a real browser
 * (Debian's chromium through playwright-core) against the built gateway as a process (its own
 * database, Redis prefix and orders queue; the shop's identity keys set, so a sale can be for
 * the shop's accounts). The marketer creates an invite-only sale of the shop's accounts with a
 * product from the New sale form, sees the preview priced by Intl.NumberFormat, changes the
 * price, and a bad price shows the gateway's own message and changes nothing; uploads a CSV of
 * invites and sees the count, again after a reload; a bad upload is refused and the list stays.
 * Every outcome is checked through the admin API too. Screenshots go to
 * test-results/screenshots/console-*.png.
 *
 * The product's image is a path on the gateway's site, as a shop would give it; the gateway
 * serves no images of its own, so the browser is handed the shop's picture for that path
 * (page.route), the one stand-in here.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../../test-support/browser.js';
import { AMQP_URL, cleanupRedis, deleteQueues, REDIS_URL } from '../../../gateway/test/support/harness.js';
import { createTestDatabase, uniqueId, type TestDatabase } from '../../../test-support/databases.js';
import { freePort, startService, waitForHttp, type Service } from '../../../test-support/processes.js';
import { callJson } from '../../../test-support/call-json.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCREENSHOTS = join(ROOT, 'test-results', 'screenshots');
const ADMIN_KEY = 'console-product-admin-key-0123456789';
// the shop's product picture
const PICTURE =
  '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="120" viewBox="0 0 240 120">' +
  '<rect width="240" height="120" fill="#4a23c9"/><text x="120" y="68" font-size="20" fill="#fff" text-anchor="middle">velvet sneakers</text></svg>';

let db: TestDatabase;
let gateway: Service;
let browser: Browser;
let base: string;
const prefix = uniqueId('vrcp').toLowerCase();
const queue = uniqueId('vr-console-product-orders-');
/** what went wrong inside the page: uncaught errors, CSP violations */
const problems: string[] = [];

beforeAll(async () => {
  const built = ['gateway/dist/server.js', 'waiting-room-ui/dist/admin.html'];
  if (!built.every((f) => existsSync(join(ROOT, f)))) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  mkdirSync(SCREENSHOTS, { recursive: true });
  db = await createTestDatabase();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  gateway = startService('gateway', 'gateway/dist/server.js', {
    DATABASE_URL: db.url,
    REDIS_URL,
    AMQP_URL,
    ORDERS_QUEUE: queue,
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    PORT: String(port),
    ADMIN_API_KEY: ADMIN_KEY,
    RATE_LIMIT_PER_IP: '1000000',
    // the shop signs its shoppers' identities: sales may be for the shop's accounts
    SHOP_IDENTITY_SECRET: 'console-test-shop-identity-secret-0123456789',
    SHOP_ISSUER: 'https://shop.example',
    SHOP_AUDIENCE: 'velvet-rope',
  });
  browser = await launchChromium();
  await waitForHttp(`${base}/readyz`, gateway);
});

afterAll(async () => {
  await browser?.close();
  let code: unknown;
  try {
    code = await gateway?.stop();
  } finally {
    await cleanupRedis(prefix);
    await deleteQueues([queue, `${queue}.dead`]);
    await db?.drop();
  }
  expect(code).toBe(0);
});

const api = (method: string, path: string, body?: unknown) => callJson(base, method, path, ADMIN_KEY, body);

const text = async (page: Page, selector: string) => ((await page.textContent(selector)) ?? '').trim();
const untilText = (page: Page, selector: string, want: string) =>
  page.waitForFunction(
    ([sel, w]) => ((globalThis as any).document.querySelector(sel)?.textContent ?? '').includes(w),
    [selector, want] as const,
    { timeout: 30_000 },
  );
const shot = (page: Page, name: string) => page.screenshot({ path: join(SCREENSHOTS, `console-${name}.png`), fullPage: true });

async function signedIn(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, locale: 'en-GB', timezoneId: 'Europe/London' });
  const page = await context.newPage();
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    // a refused request (422) is logged by the browser; the test asserts what the page says of it
    if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) problems.push(`console: ${msg.text()}`);
  });
  await page.route('**/images/velvet-sneakers.svg', (route) => route.fulfill({ status: 200, contentType: 'image/svg+xml', body: PICTURE }));
  await page.goto(`${base}/admin`);
  await page.waitForSelector('#sign-in:not([hidden])');
  await page.fill('#key', ADMIN_KEY);
  await page.press('#key', 'Enter');
  await page.waitForSelector('#workspace:not([hidden])');
  return { context, page };
}

describe('the console edits the product', () => {
  it('creates a sale with a product and a preview, changes the price, and a bad price shows the gateway’s words and changes nothing', async () => {
    const saleId = uniqueId('cp-');
    const { context, page } = await signedIn();
    try {
      await page.click('#create summary');
      await page.fill('#c-id', saleId);
      await page.fill('#c-name', 'Velvet sneakers drop');
      await page.fill('#c-stock', '50');
      await page.selectOption('#c-identity', 'shop');
      await page.check('#c-invite-only');
      // the preview says there is no product until a field is filled
      expect(await page.isVisible('#c-product-preview-empty')).toBe(true);
      await page.fill('#c-product-description', 'Velvet sneakers <b>limited</b>\nsize 36 to 46');
      await page.fill('#c-product-image', '/images/velvet-sneakers.svg');
      await page.fill('#c-product-price', '19.9');
      await page.fill('#c-product-currency', 'eur');
      // the preview: the price as en-GB writes it, the description as text, the image loaded
      await untilText(page, '#c-product-preview-price', '€19.90');
      expect(await page.isHidden('#c-product-preview-empty')).toBe(true);
      expect(await text(page, '#c-product-preview-description')).toContain('<b>limited</b>');
      expect(await page.$$eval('#c-product-preview b', (b) => b.length)).toBe(0);
      await page.waitForFunction(() => ((globalThis as any).document.querySelector('#c-product-preview-image')?.naturalWidth ?? 0) === 240);
      await shot(page, 'product-create');
      await page.click('#create-form button[type="submit"]');
      await page.waitForSelector('#sale-panel:not([hidden])');
      await untilText(page, '#sale-title', 'Velvet sneakers drop');
      expect(page.url()).toBe(`${base}/admin#${saleId}`);

      const created = await api('GET', `/api/admin/sales/${saleId}`);
      expect(created.status).toBe(200);
      expect(created.body).toMatchObject({
        identity: 'shop',
        inviteOnly: true,
        product: {
          description: 'Velvet sneakers <b>limited</b>\nsize 36 to 46',
          imageUrl: '/images/velvet-sneakers.svg',
          price: '19.9',
          currency: 'EUR',
        },
      });

      // the sale's Product form holds what the gateway keeps; the price changes, live
      expect(await page.inputValue('#p-product-price')).toBe('19.9');
      expect(await page.inputValue('#p-product-currency')).toBe('EUR');
      await untilText(page, '#p-product-preview-price', '€19.90');
      await page.waitForFunction(() => ((globalThis as any).document.querySelector('#p-product-preview-image')?.naturalWidth ?? 0) === 240);
      await page.fill('#p-product-price', '24.5');
      await untilText(page, '#p-product-preview-price', '€24.50');
      await page.click('#product-save');
      await untilText(page, '#notice', 'Product changed');
      expect(await page.isHidden('#product-error')).toBe(true);
      expect((await api('GET', `/api/admin/sales/${saleId}`)).body.product).toEqual({
        description: 'Velvet sneakers <b>limited</b>\nsize 36 to 46',
        imageUrl: '/images/velvet-sneakers.svg',
        price: '24.5',
        currency: 'EUR',
      });
      await shot(page, 'product-changed');

      // a price with a decimal comma: the gateway refuses it, the form says its words, nothing changed
      await page.fill('#p-product-price', '24,50');
      // the preview shows it as typed, not a made-up figure
      await untilText(page, '#p-product-preview-price', '24,50 EUR');
      await page.click('#product-save');
      await page.waitForSelector('#product-error:not([hidden])');
      const refusal = await text(page, '#product-error');
      expect(refusal).toContain('product.price must be a non-negative decimal');
      expect(refusal).toContain('INVALID_SALE_CONFIG');
      await untilText(page, '#notice', 'product.price');
      expect(await page.getAttribute('#notice', 'data-kind')).toBe('problem');
      expect((await api('GET', `/api/admin/sales/${saleId}`)).body.product.price).toBe('24.5');
      await shot(page, 'product-refused');

      // a good price again clears the refusal; then the product is removed
      await page.fill('#p-product-price', '21');
      await page.click('#product-save');
      await page.waitForSelector('#product-error', { state: 'hidden' });
      expect((await api('GET', `/api/admin/sales/${saleId}`)).body.product.price).toBe('21');
      await page.click('#product-remove');
      await untilText(page, '#notice', 'Product removed');
      expect((await api('GET', `/api/admin/sales/${saleId}`)).body.product).toBeNull();
      expect(await page.inputValue('#p-product-price')).toBe('');
      expect(await page.isVisible('#p-product-preview-empty')).toBe(true);
      expect(await page.isDisabled('#product-remove')).toBe(true);
      // an image that does not load is said so in the preview, not shown broken
      await page.fill('#p-product-image', '/images/missing.png');
      await page.waitForSelector('#p-product-preview-image-note:not([hidden])');
      expect(await page.isHidden('#p-product-preview-image')).toBe(true);
    } finally {
      await context.close();
    }
    expect(problems.splice(0)).toEqual([]);
  });

  it('a refused create (a bad price, invite-only for anyone) shows the gateway’s message and makes no sale', async () => {
    const { context, page } = await signedIn();
    try {
      const badPrice = uniqueId('cpx-');
      await page.click('#create summary');
      await page.fill('#c-id', badPrice);
      await page.fill('#c-name', 'Bad price');
      await page.fill('#c-product-price', '-3');
      await page.fill('#c-product-currency', 'EUR');
      await page.click('#create-form button[type="submit"]');
      await untilText(page, '#create-error', 'product.price must be a non-negative decimal');
      expect(await text(page, '#create-error')).toContain('INVALID_SALE_CONFIG');
      expect((await api('GET', `/api/admin/sales/${badPrice}`)).status).toBe(404);

      const anyone = uniqueId('cpy-');
      await page.fill('#c-id', anyone);
      await page.fill('#c-product-price', '3');
      await page.check('#c-invite-only');
      await page.click('#create-form button[type="submit"]');
      await untilText(page, '#create-error', 'inviteOnly needs identity "shop"');
      expect((await api('GET', `/api/admin/sales/${anyone}`)).status).toBe(404);
      await shot(page, 'create-refused');
    } finally {
      await context.close();
    }
    expect(problems.splice(0)).toEqual([]);
  });
});

describe('the console uploads an invite list', () => {
  it('shows the count on load, after a CSV upload and after a paste; a refused upload leaves the list as it was', async () => {
    const saleId = uniqueId('ci-');
    const created = await api('POST', '/api/admin/sales', {
      id: saleId,
      name: 'Invite-only drop',
      stock: 10,
      startsAt: new Date(Date.now() + 3_600_000).toISOString(),
      ratePerMinute: 60,
      identity: 'shop',
      inviteOnly: true,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect((await api('PUT', `/api/admin/sales/${saleId}/invites`, ['early-1'])).body.count).toBe(1);

    const { context, page } = await signedIn();
    try {
      await page.goto(`${base}/admin#${saleId}`);
      await page.waitForSelector('#sale-panel:not([hidden])');
      // the list in force, read when the sale is opened
      await untilText(page, '#invites-count', '1 account invited');
      expect(await text(page, '#invites-identity')).toContain('identity shop');
      expect(await text(page, '#invites-only-state')).toContain('Invite-only');
      expect(await page.getAttribute('#invites-only', 'aria-pressed')).toBe('true');

      // a CSV file: previewed as picked, sent as text/csv, the gateway's count shown
      const csv = 'account,email\r\nacct-1,a@example.com\r\n"acct-2",b@example.com\r\nacct-3\r\nacct-2,again\r\n';
      await page.setInputFiles('#invites-file', { name: 'invites.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
      await untilText(page, '#invites-file-preview', 'invites.csv: 3 accounts (acct-1, acct-2, acct-3)');
      await page.click('#invites-upload');
      await untilText(page, '#invites-count', '3 accounts invited');
      await untilText(page, '#notice', 'Invite list replaced from invites.csv: 3 accounts invited');
      expect(await text(page, '#invites-first')).toBe('First: acct-1, acct-2, acct-3');
      const stored = await api('GET', `/api/admin/sales/${saleId}/invites`);
      expect(stored.body).toEqual({ saleId, count: 3, accounts: ['acct-1', 'acct-2', 'acct-3'], truncated: false });
      await shot(page, 'invites-uploaded');

      // a reload reads the count back from the gateway
      await page.reload();
      await page.waitForSelector('#sale-panel:not([hidden])');
      await untilText(page, '#invites-count', '3 accounts invited');

      // a CSV naming nobody: the gateway refuses it (422 INVALID_INVITES), the list stays
      await page.setInputFiles('#invites-file', { name: 'empty.csv', mimeType: 'text/csv', buffer: Buffer.from('account\r\n') });
      await untilText(page, '#invites-file-preview', 'empty.csv: 0 accounts');
      await page.click('#invites-upload');
      await page.waitForSelector('#invites-error:not([hidden])');
      const refusal = await text(page, '#invites-error');
      expect(refusal).toContain('the CSV holds no account');
      expect(refusal).toContain('INVALID_INVITES');
      expect(await text(page, '#invites-count')).toBe('3 accounts invited');
      expect((await api('GET', `/api/admin/sales/${saleId}/invites`)).body.count).toBe(3);
      await shot(page, 'invites-refused');

      // pasted ids replace the list (sent as a JSON array)
      await page.fill('#invites-paste', 'vip-1\nvip-2\n\nvip-1\n');
      await page.click('#invites-send');
      await untilText(page, '#invites-count', '2 accounts invited');
      expect(await page.isHidden('#invites-error')).toBe(true);
      expect((await api('GET', `/api/admin/sales/${saleId}/invites`)).body.accounts).toEqual(['vip-1', 'vip-2']);

      // invite-only off, through the same box
      await page.click('#invites-only');
      await untilText(page, '#notice', 'Invite-only off');
      expect(await page.getAttribute('#invites-only', 'aria-pressed')).toBe('false');
      expect((await api('GET', `/api/admin/sales/${saleId}`)).body.inviteOnly).toBe(false);
    } finally {
      await context.close();
    }
    expect(problems.splice(0)).toEqual([]);
  });
});
