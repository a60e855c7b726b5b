/**
 * The shopper page's branding and language (issue 15 item 5), as pure parts: BRAND_* checked at
 * boot naming the bad variable, the accent's text colour picked by luminance, every value
 * escaped into the page, and the page's language picked from `?lang=` then Accept-Language.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { brandMarks, brandPage, brandStylesheet, luminance, NO_BRAND, textOn } from '../../src/pages/branding.js';
import { loadShopperPages, pickLanguage } from '../../src/pages/shopper-page.js';

const base = { ADMIN_API_KEY: 'admin-key-0123456789' };

function variableOf(env: Record<string, string>): string {
  try {
    loadConfig({ ...base, ...env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).variable;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('BRAND_* at boot', () => {
  it('is unbranded by default, and reads the four variables', () => {
    expect(loadConfig(base).brand).toEqual(NO_BRAND);
    expect(
      loadConfig({
        ...base,
        BRAND_SHOP_NAME: ' Kaufhaus Nord ',
        BRAND_LOGO_URL: 'https://cdn.example.com/logo.svg',
        BRAND_ACCENT: '#0A7D5A',
        BRAND_NOTICE: 'Limit: two per customer.\nShipping in 3 days.',
      }).brand,
    ).toEqual({
      shopName: 'Kaufhaus Nord',
      logoUrl: 'https://cdn.example.com/logo.svg',
      accent: '#0a7d5a',
      notice: 'Limit: two per customer.\nShipping in 3 days.',
    });
    expect(loadConfig({ ...base, BRAND_LOGO_URL: '/static/logo.png' }).brand.logoUrl).toBe('/static/logo.png');
  });

  it('stops with the bad variable named', () => {
    expect(variableOf({ BRAND_ACCENT: 'red' })).toBe('BRAND_ACCENT');
    expect(variableOf({ BRAND_ACCENT: '#12345' })).toBe('BRAND_ACCENT');
    expect(variableOf({ BRAND_LOGO_URL: 'http://example.com/logo.png' })).toBe('BRAND_LOGO_URL');
    expect(variableOf({ BRAND_LOGO_URL: 'javascript:alert(1)' })).toBe('BRAND_LOGO_URL');
    expect(variableOf({ BRAND_SHOP_NAME: 'x'.repeat(81) })).toBe('BRAND_SHOP_NAME');
    expect(variableOf({ BRAND_SHOP_NAME: 'two\nlines' })).toBe('BRAND_SHOP_NAME');
    expect(variableOf({ BRAND_NOTICE: 'bell \u0007' })).toBe('BRAND_NOTICE');
    expect(variableOf({ BRAND_NOTICE: 'x'.repeat(501) })).toBe('BRAND_NOTICE');
  });
});

describe('the accent', () => {
  it('puts white on a dark accent and near-black on a light one', () => {
    expect(textOn('#4a23c9')).toBe('#ffffff');
    expect(textOn('#000000')).toBe('#ffffff');
    expect(textOn('#ffd400')).toBe('#17152b');
    expect(textOn('#ffffff')).toBe('#17152b');
    expect(luminance('#ffffff')).toBeCloseTo(1);
  });

  it('sets the custom properties base.css uses', () => {
    expect(brandStylesheet('#ffd400')).toBe(':root{--accent:#ffd400;--accent-dark:#b39400;--accent-soft:#fffae0;--on-accent:#17152b}\n');
  });
});

describe('the brand in the page', () => {
  const page = '<head><!--vr:brand-style--></head><header><!--vr:brand--><h1>x</h1></header><!--vr:brand-notice--><main>';

  it('changes nothing without a brand', () => {
    expect(brandPage(page, brandMarks(NO_BRAND))).toBe('<head></head><header><h1>x</h1></header><main>');
  });

  it('escapes every value, and a $& stays text', () => {
    const marks = brandMarks({
      shopName: 'Tom & "Jerry" <b>$&</b>',
      logoUrl: '/logo.png?a=1&b="2"',
      accent: '#0a7d5a',
      notice: '<script>alert(1)</script>',
    });
    const html = brandPage(page, marks);
    expect(html).toContain('<span class="brand-name">Tom &amp; &quot;Jerry&quot; &lt;b&gt;$&amp;&lt;/b&gt;</span>');
    expect(html).toContain('src="/logo.png?a=1&amp;b=&quot;2&quot;"');
    expect(html).toContain('<p class="brand-notice" id="brand-notice" dir="auto">&lt;script&gt;alert(1)&lt;/script&gt;</p>');
    expect(html).not.toContain('<script>');
    expect(html).toMatch(/<link rel="stylesheet" href="\/brand\.css\?v=[0-9a-f]{12}">/);
    expect(marks.stylesheet?.css).toContain('--accent:#0a7d5a');
  });
});

describe('the page language', () => {
  const langs = ['en', 'de', 'es'];

  it('takes ?lang= first, then Accept-Language by q, then English', () => {
    expect(pickLanguage('es', 'de-DE,de;q=0.9', langs)).toBe('es');
    expect(pickLanguage('de-AT', undefined, langs)).toBe('de');
    expect(pickLanguage('fr', 'es-MX,es;q=0.9,en;q=0.8', langs)).toBe('es');
    expect(pickLanguage(undefined, 'fr-CH, fr;q=0.9, de;q=0.7, en;q=0.8', langs)).toBe('en');
    expect(pickLanguage(undefined, 'fr-CH, fr;q=0.9, de;q=0.8, en;q=0.7', langs)).toBe('de');
    expect(pickLanguage(undefined, 'de;q=0, es', langs)).toBe('es');
    expect(pickLanguage(undefined, '*', langs)).toBe('en');
    expect(pickLanguage(['de'], 'garbage;;;q=x', langs)).toBe('en');
    expect(pickLanguage(undefined, undefined, langs)).toBe('en');
  });

  it('finds the built pages per language, branded once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vr-pages-'));
    try {
      writeFileSync(join(dir, 'sale.html'), '<html lang="en" dir="ltr"><!--vr:brand-->EN');
      writeFileSync(join(dir, 'sale.de.html'), '<html lang="de" dir="ltr"><!--vr:brand-->DE');
      writeFileSync(join(dir, 'sale.es.html'), '<html lang="es" dir="ltr"><!--vr:brand-->ES');
      writeFileSync(join(dir, 'admin.html'), 'admin');
      const pages = loadShopperPages(dir, brandMarks({ ...NO_BRAND, shopName: 'Shop' }))!;
      expect(pages.languages).toEqual(['en', 'de', 'es']);
      expect(pages.page('de')).toBe('<html lang="de" dir="ltr"><div class="brand" id="brand"><span class="brand-name">Shop</span></div>DE');
      expect(pages.page('xx')).toContain('EN');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(loadShopperPages('/nonexistent-vr-dir', brandMarks(NO_BRAND))).toBeUndefined();
  });
});
