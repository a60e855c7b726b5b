/**
 * The shopper's page in German, Spanish and Arabic (right to left), with a deployment's branding and a sale's product
 * (issue 15 item 5), in a real browser against the built gateway (BRAND_* set) and order worker
 * as processes. In each language the page goes through the states a shopper meets (before the
 * start, in line, the turn, the order handed to the shop's checkout, sold out, ended, refused
 * for want of an account) and in each one no English text of the catalogue is left: not in
 * what is shown, not in the live regions screen readers read, not in the tab's title or the
 * labels. `?lang=` and Accept-Language choose the language; Arabic's page is `dir="rtl"`, mirrors
 * (the product image and the logo at the start of the line, on the right) and nothing overflows.
 * Screenshots go to test-results/screenshots/i18n-*.png.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AMQP_URL, cleanupRedis, deleteQueues, REDIS_URL } from '../../../gateway/test/support/harness.js';
import { launchChromium } from '../../../test-support/browser.js';
import { createTestDatabase, uniqueId, type TestDatabase } from '../../../test-support/databases.js';
import { freePort, startService, waitForHttp, waitForOutput, type Service } from '../../../test-support/processes.js';
import { CATALOGUES, type Language } from '../../src/catalogue.js';
import { englishLeft } from '../english-left.js';
import { callJson } from '../../../test-support/call-json.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCREENSHOTS = join(ROOT, 'test-results', 'screenshots');
const ADMIN_KEY = 'i18n-e2e-admin-key-0123456789';
const SHOP_SECRET = 'i18n-e2e-shop-identity-secret-0123456789abcdef';
const BRAND = {
  BRAND_SHOP_NAME: 'Velvet & Co',
  BRAND_LOGO_URL: 'https://img.example/logo.svg',
  BRAND_ACCENT: '#0a7d5a',
  BRAND_NOTICE: 'Max. 2 × pro Person · 2 × por persona\n☎ +49 30 1234567',
};
const PRODUCT = {
  description: 'Velvet Runner 42 — édition limitée',
  imageUrl: 'https://img.example/runner.svg',
  price: '1249.9',
  currency: 'EUR',
};
const SHOE_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 96 96"><rect width="96" height="96" fill="#eef6f2"/>' +
  '<path d="M10 62 C24 60 30 40 42 42 C52 44 58 56 86 58 L86 70 L10 70 Z" fill="#0a7d5a"/><rect x="10" y="70" width="76" height="6" fill="#17152b"/></svg>';
const LOGO_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40"><circle cx="20" cy="20" r="18" fill="#0a7d5a"/>' +
  '<path d="M11 12 L20 30 L29 12" stroke="#fff" stroke-width="4" fill="none"/></svg>';

let db: TestDatabase;
let gateway: Service;
let worker: Service;
let browser: Browser;
let base: string;
const prefix = uniqueId('vri18n').toLowerCase();
const queue = uniqueId('vr-i18n-orders-');
const pageProblems: string[] = [];
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  const built = ['gateway/dist/server.js', 'order-worker/dist/server.js', 'waiting-room-ui/dist/sale.de.html'];
  if (!built.every((f) => existsSync(join(ROOT, f)))) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  mkdirSync(SCREENSHOTS, { recursive: true });
  db = await createTestDatabase();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const env = { DATABASE_URL: db.url, REDIS_URL, AMQP_URL, ORDERS_QUEUE: queue, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: 'warn' };
  worker = startService('order-worker', 'order-worker/dist/server.js', { ...env, LOG_LEVEL: 'info' });
  gateway = startService('gateway', 'gateway/dist/server.js', {
    ...env,
    ...BRAND,
    PORT: String(port),
    ADMIN_API_KEY: ADMIN_KEY,
    TICK_MS: '100',
    RATE_LIMIT_PER_IP: '1000000',
    SHOP_IDENTITY_SECRET: SHOP_SECRET,
    SHOP_ISSUER: 'https://shop.example',
    SHOP_AUDIENCE: 'velvet-rope',
  });
  browser = await launchChromium();
  await waitForHttp(`${base}/readyz`, gateway);
  await waitForOutput(worker, 'order-worker ready');
});

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close().catch(() => undefined)));
  expect(pageProblems.splice(0)).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
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

async function createSale(fields: Record<string, unknown>): Promise<string> {
  const id = uniqueId('i18n-');
  const r = await api('POST', '/api/admin/sales', ADMIN_KEY, {
    id,
    name: 'Velvet Runner 42',
    stock: 100,
    startsAt: new Date(Date.now() - 1_000).toISOString(),
    ratePerMinute: 0,
    checkoutSeconds: 120,
    maxPerShopper: 2,
    queueMode: 'fifo',
    product: PRODUCT,
    ...fields,
  });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return id;
}

const patchSale = async (saleId: string, changes: Record<string, unknown>) =>
  expect((await api('PATCH', `/api/admin/sales/${saleId}`, ADMIN_KEY, changes)).status).toBe(200);

async function newContext(locale: string): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 900, height: 900 }, locale, timezoneId: 'Europe/Berlin' });
  contexts.push(context);
  // the product's image and the brand's logo, from "the shop's CDN"
  await context.route('https://img.example/**', (route) =>
    route.fulfill({ status: 200, contentType: 'image/svg+xml', body: route.request().url().endsWith('logo.svg') ? LOGO_SVG : SHOE_SVG }),
  );
  // the shop's checkout the order is handed to
  await context.route('https://shop.example/**', (route) =>
    route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>Shop checkout</title><p>shop</p>' }),
  );
  context.on('page', (page) => {
    page.on('pageerror', (err) => pageProblems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) pageProblems.push(`console: ${msg.text()}`);
    });
  });
  return context;
}

const waitState = (page: Page, state: string, timeout = 20_000) => page.waitForSelector(`body[data-state="${state}"]`, { timeout });
const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true, animations: 'disabled' });

/** what a shopper sees or hears: visible text, live regions, the tab's title, labels and alt texts */
async function heard(page: Page): Promise<string> {
  // the live regions are filled 50 ms after a change (announcer.ts)
  await page.waitForTimeout(150);
  return page.evaluate(() => {
    const doc = (globalThis as any).document;
    const labels = [...doc.querySelectorAll('[aria-label],[aria-valuetext],img[alt]')]
      .filter((e: any) => e.closest('[hidden]') === null)
      .map((e: any) => [e.getAttribute('aria-label'), e.getAttribute('aria-valuetext'), e.getAttribute('alt')].join(' '));
    return [doc.body.innerText, doc.title, ...labels].join('\n');
  });
}

async function expectNoEnglish(page: Page, lang: Language, state: string): Promise<void> {
  const seen = await heard(page);
  const left = englishLeft(lang, seen);
  expect(left, `English left on the ${lang} page in ${state}:\n${seen}`).toEqual([]);
}

async function expectProduct(page: Page, lang: Language, shown: boolean): Promise<void> {
  if (!shown) {
    expect(await page.isHidden('#product')).toBe(true);
    return;
  }
  await page.waitForSelector('#product:not([hidden])');
  // the browser's Intl (its ICU may write Arabic's digits unlike Node's)
  const want = await page.evaluate((l) => new Intl.NumberFormat(l, { style: 'currency', currency: 'EUR' }).format(1249.9), lang);
  expect((await page.textContent('#product-amount'))?.trim()).toBe(want);
  expect((await page.textContent('#product-description'))?.trim()).toBe(PRODUCT.description);
  expect(await page.getAttribute('#product-image', 'alt')).toBe('Velvet Runner 42');
  // loaded, in a box sized before it loaded
  await page.waitForFunction(() => (globalThis as any).document.getElementById('product-image').naturalWidth > 0);
  const box = await page.locator('#product-image').boundingBox();
  expect([Math.round(box!.width), Math.round(box!.height)]).toEqual([96, 96]);
}

async function untilAdmitted(saleId: string, ticket: string): Promise<string> {
  for (let i = 0; i < 300; i++) {
    const me = await api('GET', `/api/sales/${saleId}/queue/me`, ticket);
    if (me.body.admission?.token) return me.body.admission.token as string;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('never admitted');
}

/** a number as the page writes it in this language (the browser's Intl) */
const shown = (page: Page, lang: Language, n: number) =>
  page.evaluate(([l, v]) => new Intl.NumberFormat(l as string).format(v as number), [lang, n]);

describe('the shopper page in German, Spanish and Arabic, branded, with the product', () => {
  it('is branded, and picks the language from ?lang= over Accept-Language', async () => {
    const saleId = await createSale({});
    const de = await fetch(`${base}/sales/${saleId}`, { headers: { 'accept-language': 'de-CH,de;q=0.9,en;q=0.5' } });
    expect(de.headers.get('content-language')).toBe('de');
    expect(de.headers.get('vary')).toMatch(/accept-language/i);
    const html = await de.text();
    expect(html).toMatch(/^<!doctype html><html lang="de" dir="ltr">/);
    expect(html).toContain('<span class="brand-name">Velvet &amp; Co</span>');
    expect(html).toContain('Max. 2 × pro Person');
    // the page before its script runs, and without it, is already German
    expect(html).toContain(`<h2 id="no-script-title">${CATALOGUES.de.noScriptTitle}</h2>`);
    expect(html).toContain(`<title>${CATALOGUES.de.pageTitle}</title>`);
    // with a script of its own, holding German (and English) texts only
    expect(html).toMatch(/<script type="module" src="\/assets\/sale-de-[A-Z0-9]+\.js"><\/script>/);
    const es = await fetch(`${base}/sales/${saleId}?lang=es`, { headers: { 'accept-language': 'de' } });
    expect(es.headers.get('content-language')).toBe('es');
    expect(await es.text()).toContain('<html lang="es" dir="ltr">');
    const ar = await fetch(`${base}/sales/${saleId}`, { headers: { 'accept-language': 'ar-EG,ar;q=0.9' } });
    expect(ar.headers.get('content-language')).toBe('ar');
    expect(await ar.text()).toContain('<html lang="ar" dir="rtl">');
    const fallback = await fetch(`${base}/sales/${saleId}?lang=xx`, { headers: { 'accept-language': 'fr-FR' } });
    expect(fallback.headers.get('content-language')).toBe('en');

    const href = /<link rel="stylesheet" href="(\/brand\.css\?v=[0-9a-f]+)">/.exec(html)?.[1];
    expect(href).toBeDefined();
    const css = await fetch(`${base}${href}`);
    expect(css.headers.get('cache-control')).toContain('immutable');
    expect(await css.text()).toBe(':root{--accent:#0a7d5a;--accent-dark:#07583f;--accent-soft:#e2efeb;--on-accent:#ffffff}\n');
    // the gateway's own pages without JavaScript take the accent too
    const waitPage = await fetch(`${base}/sales/${saleId}/wait`, { headers: { accept: 'text/html' } });
    expect(await waitPage.text()).toContain(`<link rel="stylesheet" href="${href}">`);

    // the branded page in English, in line with the product
    const page = await (await newContext('en-GB')).newPage();
    await page.goto(`${base}/sales/${saleId}`);
    await waitState(page, 'queued');
    await expectProduct(page, 'en', true);
    expect(await page.textContent('#product-amount')).toBe('€1,249.90');
    expect(
      await page.evaluate(() =>
        (globalThis as any)
          .getComputedStyle((globalThis as any).document.documentElement)
          .getPropertyValue('--accent')
          .trim(),
      ),
    ).toBe('#0a7d5a');
    await page.waitForFunction(() => (globalThis as any).document.querySelector('.brand-logo').naturalWidth > 0);
    // the check the other languages pass can fail: on the English page it finds English
    const seen = await heard(page);
    expect(englishLeft('de', seen).length).toBeGreaterThan(5);
    await shot(page, 'i18n-branded-en');
  });

  for (const [lang, locale] of [
    ['de', 'de-DE'],
    ['es', 'es-ES'],
    ['ar', 'ar-EG'],
  ] as const) {
    it(`${lang}: before the start, in line, the turn, the hand-off, sold out, ended and refused, without English`, async () => {
      const context = await newContext(locale);
      const page = await context.newPage();

      // before the start (chosen by the browser's Accept-Language)
      const later = await createSale({ startsAt: new Date(Date.now() + 3_600_000).toISOString() });
      await page.goto(`${base}/sales/${later}`);
      await page.waitForSelector('body[data-state="prequeue"], body[data-state="scheduled"]');
      expect(await page.getAttribute('html', 'lang')).toBe(lang);
      expect(await page.getAttribute('html', 'dir')).toBe(lang === 'ar' ? 'rtl' : 'ltr');
      await expectProduct(page, lang, true);
      await expectNoEnglish(page, lang, 'prequeue');
      await shot(page, `i18n-${lang}-before`);

      // in line, then the turn, then the order handed to the shop's checkout
      const saleId = await createSale({ checkoutUrl: 'https://shop.example/checkout', paymentSeconds: 600 });
      for (let i = 0; i < 3; i++) expect((await api('POST', `/api/sales/${saleId}/queue`, undefined, {})).status).toBe(201);
      await page.goto(`${base}/sales/${saleId}`);
      await waitState(page, 'queued');
      await page.waitForFunction(() => /^[\d\u0660-\u0669]+$/.test((globalThis as any).document.getElementById('position').textContent));
      expect(await page.textContent('#position')).toBe(await shown(page, lang, 4));
      await expectProduct(page, lang, true);
      await expectNoEnglish(page, lang, 'queued');
      await shot(page, `i18n-${lang}-queued`);

      await patchSale(saleId, { ratePerMinute: 6_000 });
      await waitState(page, 'admitted');
      await expectProduct(page, lang, true);
      await expectNoEnglish(page, lang, 'admitted');
      await shot(page, `i18n-${lang}-turn`);

      await page.selectOption('#quantity', '2');
      await Promise.all([page.waitForURL('https://shop.example/**', { timeout: 30_000 }), page.click('#buy')]);
      // back from the shop unpaid: the page keeps the way to the checkout, not sent there again
      await page.goBack();
      await waitState(page, 'ordered');
      await page.waitForSelector('#order[data-order="confirmed"] #order-action:not([hidden])', { timeout: 20_000 });
      expect(await page.textContent('#order-title')).toBe(CATALOGUES[lang].payAtShopTitle);
      expect(await page.textContent('#order-detail')).toContain(CATALOGUES[lang].unitsOther.replace('{count}', await shown(page, lang, 2)));
      await expectProduct(page, lang, true);
      await expectNoEnglish(page, lang, 'ordered (hand-off)');
      await shot(page, `i18n-${lang}-handoff`);

      // sold out: the only unit bought by someone else first
      const scarce = await createSale({ stock: 1, ratePerMinute: 6_000 });
      const other = (await api('POST', `/api/sales/${scarce}/queue`, undefined, {})).body.ticket as string;
      const token = await untilAdmitted(scarce, other);
      expect((await api('POST', `/api/sales/${scarce}/purchases`, token, { quantity: 1 })).status).toBe(202);
      await page.goto(`${base}/sales/${scarce}`);
      await waitState(page, 'sold_out');
      await expectProduct(page, lang, false);
      await expectNoEnglish(page, lang, 'sold out');
      await shot(page, `i18n-${lang}-sold-out`);

      // ended while in line
      const ending = await createSale({});
      await page.goto(`${base}/sales/${ending}`);
      await waitState(page, 'queued');
      await patchSale(ending, { endsAt: new Date(Date.now() + 300).toISOString() });
      await waitState(page, 'ended');
      await expectNoEnglish(page, lang, 'ended');
      await shot(page, `i18n-${lang}-ended`);

      // refused: a sale for the shop's signed-in accounts, and no account
      const members = await createSale({ identity: 'shop' });
      await page.goto(`${base}/sales/${members}`);
      await waitState(page, 'refused');
      expect(await page.textContent('#outcome-title')).toBe(CATALOGUES[lang].signInToJoin);
      await expectNoEnglish(page, lang, 'refused');
      await shot(page, `i18n-${lang}-refused`);
    });
  }

  it('lays out Arabic right to left without overflow, the product image at the start of the line', async () => {
    const saleId = await createSale({});
    const page = await (await newContext('de-DE')).newPage();
    await page.setViewportSize({ width: 360, height: 740 });
    // ?lang= over the browser's German
    await page.goto(`${base}/sales/${saleId}?lang=ar`);
    await waitState(page, 'queued');
    expect(await page.getAttribute('html', 'dir')).toBe('rtl');
    await expectProduct(page, 'ar', true);
    await expectNoEnglish(page, 'ar', 'queued (phone)');
    const layout = await page.evaluate(() => {
      const doc = (globalThis as any).document;
      const rect = (sel: string) => doc.querySelector(sel).getBoundingClientRect();
      return {
        scrollWidth: doc.documentElement.scrollWidth,
        clientWidth: doc.documentElement.clientWidth,
        image: rect('#product-image'),
        text: rect('.product-text'),
        logo: rect('.brand-logo'),
        name: rect('.brand-name'),
      };
    });
    expect(layout.scrollWidth).toBeLessThanOrEqual(layout.clientWidth);
    expect(layout.image.left).toBeGreaterThan(layout.text.left);
    expect(layout.logo.left).toBeGreaterThan(layout.name.left);
    await shot(page, 'i18n-rtl-phone');
  });
});
