/**
 * The shopper page's catalogue (issue 15 item 5): every language has every key, with the same
 * placeholders, and no text left empty or in English where a translation is due; the static
 * page asks only for keys the catalogue has. And the page's numbers, prices, durations and ETA
 * ranges read in each language through Intl.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CATALOGUES, directionOf, LANGUAGES, type TextKey } from '../../src/catalogue.js';
import { rangeAround } from '../../src/eta.js';
import { pageLanguage, placeholders, ShopperText } from '../../src/shopper-text.js';

const en = CATALOGUES.en;
const keys = Object.keys(en).sort() as TextKey[];
/** the same words in every language: a placeholder only, or a proper name */
const SAME_EVERYWHERE = new Set<TextKey>(['titleAndText', 'myOrder']);

describe('the shopper catalogue', () => {
  it('has English, German, Spanish and Arabic, Arabic right to left', () => {
    expect(LANGUAGES).toEqual(['en', 'de', 'es', 'ar']);
    expect(LANGUAGES.filter((l) => directionOf(l) === 'rtl')).toEqual(['ar']);
  });

  for (const lang of LANGUAGES) {
    it(`${lang}: every key, the same placeholders, nothing empty`, () => {
      const texts = CATALOGUES[lang];
      expect(Object.keys(texts).sort()).toEqual(keys);
      for (const k of keys) {
        expect(texts[k].trim(), `${lang}.${k}`).not.toBe('');
        expect(placeholders(texts[k]).sort(), `${lang}.${k}`).toEqual(placeholders(en[k]).sort());
        if (lang !== 'en' && !SAME_EVERYWHERE.has(k)) expect(texts[k], `${lang}.${k} is still English`).not.toBe(en[k]);
      }
    });
  }

  it('holds the sign-in texts for the OIDC button', () => {
    expect([CATALOGUES.en.signIn, CATALOGUES.de.signIn, CATALOGUES.es.signIn, CATALOGUES.ar.signIn]).toEqual([
      'Sign in',
      'Anmelden',
      'Iniciar sesión',
      'تسجيل الدخول',
    ]);
    for (const lang of LANGUAGES) expect(CATALOGUES[lang].signInToJoin).toBeTruthy();
  });

  it('covers every {{t:key}} of sale.html', () => {
    const html = readFileSync(new URL('../../src/sale.html', import.meta.url), 'utf8');
    const asked = [...html.matchAll(/\{\{t:(\w+)\}\}/g)].map((m) => m[1]);
    expect(asked.length).toBeGreaterThan(20);
    for (const k of asked) expect(keys, k).toContain(k);
  });

  it("mirrors right to left: the shopper page's stylesheets use logical properties, not left and right", () => {
    for (const sheet of ['sale.css', 'base.css']) {
      const css = readFileSync(new URL(`../../src/${sheet}`, import.meta.url), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        // the progress bar's origin, turned for right to left by its [dir="rtl"] rule
        .replace(/\.progress-fill \{[^}]*\}|\[dir="rtl"\] \.progress-fill \{[^}]*\}/g, '');
      expect(css, sheet).not.toMatch(
        /(margin|padding|border)-(left|right)|(^|[;{\s])(left|right)\s*:|text-align:\s*(left|right)|float:\s*(left|right)/,
      );
    }
  });

  it('lays out right to left for the languages written so', () => {
    expect(directionOf('ar')).toBe('rtl');
    expect(directionOf('he-IL')).toBe('rtl');
    expect(directionOf('de')).toBe('ltr');
  });
});

describe('ShopperText', () => {
  const de = new ShopperText('de');
  const es = new ShopperText('es');
  const enText = new ShopperText('en');

  it('fills placeholders with numbers formatted for the language', () => {
    expect(enText.t('inLine', { count: 12345 })).toBe('12,345 in line');
    expect(de.t('inLine', { count: 12345 })).toBe('12.345 in der Schlange');
    expect(es.t('left', { remaining: 1500, stock: 20000 })).toBe('quedan 1500 de 20.000');
    expect(de.plural(1, 'aheadOne', 'aheadOther')).toBe('1 Person');
    expect(de.plural(3, 'aheadOne', 'aheadOther')).toBe('3 Personen');
  });

  it('formats a price in the page language and the sale currency', () => {
    expect(enText.price('19.90', 'EUR')).toBe('€19.90');
    expect(de.price('1234.5', 'EUR')).toBe('1.234,50\u00a0€');
    expect(es.price('19.9', 'USD')).toBe('19,90\u00a0US$');
    expect(de.price('5', 'JPY')).toBe('5\u00a0¥');
    expect(de.price('not a number', 'EUR')).toBeNull();
    expect(de.price('5', 'euro')).toBeNull();
    // every decimal the marketer gave is kept, as the console's preview shows it
    expect(enText.price('0.0005', 'EUR')).toBe('€0.0005');
  });

  it('says durations and ETA ranges in the language', () => {
    expect(enText.duration(125_000)).toBe('2 minutes 5 seconds');
    expect(de.duration(125_000)).toBe('2 Minuten 5 Sekunden');
    expect(es.duration(61_000)).toBe('1 minuto 1 segundo');
    expect(enText.range(rangeAround(10))).toBe('less than a minute');
    expect(enText.range(rangeAround(60))).toBe('45 to 75 seconds');
    expect(enText.range(rangeAround(300))).toBe('4 to 7 minutes');
    expect(de.range(rangeAround(300))).toBe('4 bis 7 Minuten');
    expect(es.range(rangeAround(300))).toBe('de 4 a 7 minutos');
    expect(de.range(rangeAround(10))).toBe('weniger als eine Minute');
    expect(de.range(rangeAround(30))).toBe('15 bis 45 Sekunden');
    expect(es.range({ lo: 0, hi: 120 })).toBe('hasta 2 minutos');
    expect(de.range(rangeAround(5_400))).toBe('1 Std. bis 2 Std.');
    expect(de.countdown(2 * 86_400_000 + 5_000)).toMatch(/^2\s?T\.? 00:00:05$/);
  });

  it('takes the language the gateway wrote into <html lang>, English otherwise', () => {
    const doc = (lang: string) => ({ documentElement: { lang } });
    expect(pageLanguage(doc('de'))).toBe('de');
    expect(pageLanguage(doc('es-MX'))).toBe('es');
    expect(pageLanguage(doc('fr'))).toBe('en');
    expect(pageLanguage(undefined)).toBe('en');
  });
});
