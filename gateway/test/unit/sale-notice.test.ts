import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { formPostAllowed } from '../../src/http/origin.js';
import { escapeHtml, problemText, refreshSeconds, renderWaitPage, type PageLook } from '../../src/pages/no-script-page.js';
import { PAGE_TEXT_KEYS, PageText } from '../../src/pages/page-texts.js';
import { CATALOGUES, directionOf, LANGUAGES } from '../../../waiting-room-ui/src/catalogue.js';
import { checkNotice, decodeNotice, encodeNotice, NOTICE_MAX_LENGTH, parseNoticeMessage } from '../../src/sales/sale-notice.js';

const code = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return err instanceof AppError ? err.code : String(err);
  }
  return 'accepted';
};

describe('checkNotice', () => {
  it('trims, keeps line breaks, defaults to info', () => {
    expect(checkNotice({ message: '  a\r\nb  ' }, 0)).toEqual({ message: 'a\nb', level: 'info', at: '1970-01-01T00:00:00.000Z' });
  });

  it.each([
    ['', 'empty'],
    [' \n\t ', 'blank'],
    ['x'.repeat(NOTICE_MAX_LENGTH + 1), 'too long'],
    ['a\u0000b', 'NUL'],
    ['a\u001bb', 'escape'],
    ['a\u0085b', 'C1'],
    ['a\u202eb', 'bidi override'],
  ])('refuses %j (%s) with INVALID_NOTICE', (message) => {
    expect(code(() => checkNotice({ message }))).toBe('INVALID_NOTICE');
  });

  it('counts characters, not UTF-16 units, and refuses other levels and non-text', () => {
    expect(code(() => checkNotice({ message: '😀'.repeat(NOTICE_MAX_LENGTH) }))).toBe('accepted');
    expect(code(() => checkNotice({ message: 'hi', level: 'danger' }))).toBe('INVALID_NOTICE');
    expect(code(() => checkNotice({ message: 42 }))).toBe('INVALID_NOTICE');
    // HTML is plain text to a notice: accepted as such, escaped where rendered
    expect(checkNotice({ message: '<b>hi</b>', level: 'warning' }).message).toBe('<b>hi</b>');
  });
});

describe('the hot copy and the channel message', () => {
  const notice = { message: 'm', level: 'warning' as const, at: '2026-01-01T00:00:00.000Z' };
  it('round-trips, and reads anything else as no notice', () => {
    expect(decodeNotice(encodeNotice(notice))).toEqual(notice);
    for (const bad of [null, '', 'not json', '{"message":1}', '{"message":"m","level":"x","at":"t"}']) expect(decodeNotice(bad)).toBeNull();
  });
  it('tells notice messages from order events', () => {
    expect(parseNoticeMessage(JSON.stringify({ type: 'sale:notice', saleId: 's', notice }))).toEqual({
      type: 'sale:notice',
      saleId: 's',
      notice,
    });
    expect(parseNoticeMessage(JSON.stringify({ type: 'sale:notice', saleId: 's', notice: null }))?.notice).toBeNull();
    expect(parseNoticeMessage(JSON.stringify({ type: 'order:update', saleId: 's', orderId: 'o' }))).toBeUndefined();
    expect(parseNoticeMessage(JSON.stringify({ type: 'sale:notice', saleId: 's', notice: { message: 1 } }))).toBeUndefined();
    expect(parseNoticeMessage('{"type":"sale:notice"')).toBeUndefined();
  });
});

const lookIn = (lang: (typeof LANGUAGES)[number]): PageLook => ({
  text: new PageText(lang, directionOf(lang), CATALOGUES[lang]),
  styles: [],
  langQuery: '',
});

describe('the page without JavaScript', () => {
  it("takes every word from the shopper page's catalogue: each key it uses is there in every language", () => {
    for (const lang of LANGUAGES) for (const key of PAGE_TEXT_KEYS) expect(CATALOGUES[lang], `${lang}.${key}`).toHaveProperty(key);
  });
  it('speaks the shopper’s language, right to left for Arabic', () => {
    const view = { kind: 'standing', status: 'queued', position: 1234, waiting: 5000, etaSeconds: 600, retryAfterMs: 5_000 } as const;
    const de = renderWaitPage({ id: 'drop-1', name: 'Drop', maxPerShopper: 1 }, view, null, lookIn('de'));
    expect(de).toMatch(/^<!doctype html><html lang="de" dir="ltr">/);
    expect(de).toContain(`<dt>${CATALOGUES.de.positionLabel}</dt><dd id="position" class="big-number">1.234</dd>`);
    expect(de).toContain('etwa 10 Minuten');
    expect(de).toContain('Diese Seite lädt sich alle 5 Sekunden selbst neu.');
    const ar = renderWaitPage({ id: 'drop-1', name: 'Drop', maxPerShopper: 1 }, view, null, lookIn('ar'));
    expect(ar).toMatch(/^<!doctype html><html lang="ar" dir="rtl">/);
    expect(ar).toContain(CATALOGUES.ar.queueTitle);
    // a refusal by its code; a code without its own text is named in the generic one
    expect(problemText('NOT_INVITED', lookIn('es').text)).toBe(CATALOGUES.es.inviteOnlyText);
    expect(problemText('WRONG_SALE', lookIn('de').text)).toBe('Der Warteraum konnte das nicht ausführen (WRONG_SALE).');
  });
  it('escapes text for elements and attributes', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });
  it('refreshes in whole seconds, never under one', () => {
    expect([refreshSeconds(null), refreshSeconds(0), refreshSeconds(1000), refreshSeconds(1001), refreshSeconds(30_000)]).toEqual([
      null,
      1,
      1,
      2,
      30,
    ]);
  });
  it('renders the sale name and the notice as text', () => {
    const html = renderWaitPage(
      { id: 'drop-1', name: '<img src=x onerror=alert(1)>', maxPerShopper: 2 },
      { kind: 'standing', status: 'queued', position: 3, waiting: 9, etaSeconds: 30, retryAfterMs: 15_000 },
      { message: '</p><script>x</script>\nline 2', level: 'info', at: '2026-01-01T00:00:00.000Z' },
      lookIn('en'),
    );
    expect(html).not.toMatch(/<script|<img/);
    expect(html).toContain('&lt;/p&gt;&lt;script&gt;x&lt;/script&gt;<br>line 2');
    expect(html).toContain('<meta http-equiv="refresh" content="15">');
    expect(html).toContain('role="status"');
  });
});

describe('formPostAllowed', () => {
  const allowed = (headers: Record<string, string>, list: string[] = []) =>
    formPostAllowed({ headers: { host: 'gw.test', ...headers } }, list, false);
  it('trusts Sec-Fetch-Site first, then the Origin', () => {
    expect(allowed({ 'sec-fetch-site': 'same-origin', origin: 'null' })).toBe(true);
    expect(allowed({ 'sec-fetch-site': 'none' })).toBe(true);
    expect(allowed({ 'sec-fetch-site': 'cross-site', origin: 'http://gw.test' })).toBe(false);
    expect(allowed({ 'sec-fetch-site': 'same-site', origin: 'https://shop.test' }, ['https://shop.test'])).toBe(true);
    expect(allowed({ 'sec-fetch-site': 'same-site' }, ['https://shop.test'])).toBe(false);
    expect(allowed({ origin: 'http://gw.test' })).toBe(true);
    expect(allowed({ origin: 'https://evil.test' })).toBe(false);
    expect(allowed({ origin: 'null' })).toBe(false);
    expect(allowed({})).toBe(true);
  });
});
