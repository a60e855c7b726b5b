/**
 * The whole journey in a real browser (Debian's chromium through playwright-core, as the
 * waiting room's own browser tests run it), against the built gateway, worker and example
 * shop as processes: the shop's product page → the waiting room → the turn → buy → the shop's
 * checkout (the order token verified through the JWKS) → pay → back on the waiting-room page,
 * which shows the order paid. And a declined card: the order is cancelled, its unit goes back
 * on sale and the next shopper in line buys it. Each step is saved to test-results/journey/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { launchChromium } from '../../../../test-support/browser.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { shopFigures, eventsOfSale } from './support/shop-told.js';
import { sleep, startStack, uniqueId, waitFor, type Stack } from './support/stack.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const SHOTS = join(ROOT, 'test-results', 'journey');
/** the product page links to this sale: its id is fixed before the shop starts */
const SALE = uniqueId('journey-');
/** the second test's sale: the shop pins its tokens' audience to the sales it sells */
const LAST_PAIR = uniqueId('journey-last-');

let stack: Stack;
let browser: Browser;
const contexts: BrowserContext[] = [];
const pageProblems: string[] = [];

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  stack = await startStack({ shopEnv: { SHOP_SALE_ID: `${SALE},${LAST_PAIR}` } });
  browser = await launchChromium();
});

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close().catch(() => undefined)));
  expect(pageProblems.splice(0)).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 850 }, locale: 'en-GB', timezoneId: 'Europe/London' });
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (err) => pageProblems.push(`page error: ${err.message}`));
  return page;
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true, animations: 'disabled' });
const waitState = (page: Page, state: string, timeout = 20_000) => page.waitForSelector(`body[data-state="${state}"]`, { timeout });

/** from the waiting room's checkout card: buy, then follow the hand-off to the shop's checkout */
async function buyAndReachCheckout(page: Page): Promise<void> {
  await waitState(page, 'admitted');
  await page.click('#buy');
  // once the order is committed the page sends the shopper to the sale's checkoutUrl
  await page.waitForURL((url) => url.href.startsWith(`${stack.shopBase}/checkout?`), { timeout: 20_000 });
  await page.waitForSelector('body[data-page]');
  const where = await page.getAttribute('body', 'data-page');
  expect(where, `${page.url()}: ${await page.textContent('body')}`).toBe('checkout');
}

async function saleInfo(saleId: string): Promise<any> {
  const r = await stack.api('GET', `/api/sales/${saleId}`);
  expect(r.status).toBe(200);
  return r.body;
}

describe('the journey through the example shop, in a browser', () => {
  it('product page → waiting room → turn → buy → the shop’s checkout → pay → the waiting room shows it paid', async () => {
    await stack.createSale({ id: SALE, name: 'Velvet sneakers drop', stock: 5, ratePerMinute: 600, paymentSeconds: 120 });
    const page = await newPage();
    await page.goto(`${stack.shopBase}/`);
    await shot(page, '01-product-page');
    await page.click('#join');
    await page.waitForURL(`${stack.base}/sales/${SALE}`);
    await buyAndReachCheckout(page);

    // the shop verified the order token and shows the order
    const orderId = await page.getAttribute('#checkout', 'data-order');
    expect(orderId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await page.textContent('#quantity')).toContain('1 unit');
    await shot(page, '02-shop-checkout');

    await page.click('#pay');
    await page.waitForURL(`${stack.base}/sales/${SALE}`);
    await page.waitForSelector('#order[data-order="paid"]', { timeout: 20_000 });
    await shot(page, '03-waiting-room-paid');

    const { rows } = await stack.db.pool.query('SELECT status FROM orders WHERE order_id = $1', [orderId]);
    expect(rows).toEqual([{ status: 'paid' }]);
    // and the shop heard of it, signed: its events page lists the order's confirmation and payment
    await waitFor(
      'the shop told',
      async () => eventsOfSale(await shopFigures(stack), SALE).filter((e) => e.data.orderId === orderId).length === 2,
    );
    const events = await newPage();
    await events.goto(`${stack.shopBase}/events`);
    expect(await events.textContent('#events')).toContain('order.paid');
    await shot(events, '04-shop-events');
  });

  it('a declined card cancels the order: its unit goes back on sale and the next shopper buys it', async () => {
    const saleId = await stack.createSale({
      id: LAST_PAIR,
      name: 'Velvet sneakers, last pair',
      stock: 1,
      ratePerMinute: 6_000,
      paymentSeconds: 120,
    });
    const page = await newPage();
    await page.goto(`${stack.base}/sales/${saleId}`);
    await waitState(page, 'admitted');
    // the next in line, without a browser: waits while the only unit is in the first shopper's checkout
    const next = await stack.api('POST', `/api/sales/${saleId}/queue`, undefined, {});
    expect(next.status).toBe(201);
    await buyAndReachCheckout(page);
    await waitFor('the sale held', async () => (await saleInfo(saleId)).status === 'held');
    expect((await stack.api('GET', `/api/sales/${saleId}/queue/me`, next.body.ticket)).body.status).toBe('queued');

    // back to the waiting room without paying: it is not sent on again, it offers the checkout
    const checkoutUrl = page.url();
    await page.goBack();
    await page.waitForSelector('#order[data-order="confirmed"] #to-checkout', { state: 'visible', timeout: 20_000 });
    expect(await page.getAttribute('#to-checkout', 'href')).toBe(checkoutUrl);
    expect(await page.textContent('#order-due')).toMatch(/Pay within/);
    expect(page.url()).toBe(`${stack.base}/sales/${saleId}`);
    await shot(page, '05a-waiting-room-pay-at-the-shop');
    await page.click('#to-checkout');
    await page.waitForSelector('body[data-page="checkout"]');

    await page.check('#card-decline');
    await shot(page, '05-shop-checkout-declining-card');
    await page.click('#pay');
    await page.waitForURL(`${stack.base}/sales/${saleId}`);
    await page.waitForSelector('#order[data-order="cancelled"]', { timeout: 20_000 });
    await shot(page, '06-waiting-room-cancelled');

    // the unit came back and went to the next in line, who buys it
    let bought: any;
    await waitFor(
      'the next shopper admitted',
      async () => {
        const me = await stack.api('GET', `/api/sales/${saleId}/queue/me`, next.body.ticket);
        if (me.body.status !== 'admitted') return false;
        bought = await stack.api('POST', `/api/sales/${saleId}/purchases`, me.body.admission.token, { quantity: 1 });
        return true;
      },
      30_000,
      200,
    );
    expect(bought.status, JSON.stringify(bought.body)).toBe(202);
    await waitFor('the second order committed', async () => {
      const { rows } = await stack.db.pool.query<{ status: string }>('SELECT status FROM orders WHERE sale_id = $1 ORDER BY created_at', [
        saleId,
      ]);
      return rows.length === 2 && rows[1]!.status === 'confirmed' ? rows : undefined;
    });
    const { rows } = await stack.db.pool.query('SELECT status, cancel_reason FROM orders WHERE sale_id = $1 ORDER BY created_at', [saleId]);
    expect(rows).toEqual([
      { status: 'cancelled', cancel_reason: 'shop' },
      { status: 'confirmed', cancel_reason: null },
    ]);
    // the first shopper's page, reloaded, still says what became of their order
    await page.reload();
    await page.waitForSelector('#order[data-order="cancelled"]', { timeout: 20_000 });
    await sleep(200);
    await shot(page, '07-waiting-room-cancelled-after-reload');
  });

  it('a signed-in shopper follows the shop’s link: the identity leaves the address bar and the account holds the place', async () => {
    const saleId = await stack.createSale({ identity: 'shop', stock: 5, checkoutUrl: null, ratePerMinute: 6_000 });
    const signedIn = await stack.shopApi('POST', '/api/sign-in', { account: 'grace' });
    const identity = signedIn.body.identity as string;
    const page = await newPage();
    await page.goto(`${stack.base}/sales/${saleId}?identity=${identity}`);
    await waitState(page, 'admitted');
    // the link's identity must not stay in the history, a bookmark or a shared link
    expect(page.url()).toBe(`${stack.base}/sales/${saleId}`);
    await shot(page, '07-signed-in-shopper-admitted');
    // the account is the visitor: the same account from another client is the same place
    const elsewhere = await stack.apiWith('POST', `/api/sales/${saleId}/queue`, { 'x-shopper-identity': identity }, {});
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === 'vr_account')?.httpOnly).toBe(true);
    expect(elsewhere.status).toBe(200);
    expect(elsewhere.body.status).toBe('admitted');

    // it buys; once the order is committed, the page lists it among the account's orders
    await page.click('#buy');
    await page.waitForSelector('#order:not([hidden])', { timeout: 20_000 });
    await waitFor('the order committed', async () => {
      const { rows } = await stack.db.pool.query('SELECT 1 FROM orders WHERE sale_id = $1', [saleId]);
      return rows.length > 0;
    });
    await page.reload();
    await page.waitForSelector('#my-orders:not([hidden]) li', { timeout: 20_000 });
    expect(await page.textContent('#my-orders-list')).toMatch(/Velvet sneakers drop: 1 × (confirmed|paid)/);
    await shot(page, '07b-signed-in-shopper-orders');

    // without an account the page says what to do, and takes no place
    const anonymous = await newPage();
    await anonymous.goto(`${stack.base}/sales/${saleId}`);
    await waitState(anonymous, 'refused');
    expect(await anonymous.textContent('body')).toMatch(/Sign in to join[\s\S]*signed-in customers/);
    await shot(anonymous, '08-sale-for-signed-in-shoppers-without-account');
  });
});
