/**
 * The shopper's words for the gateway's own pages (the page without JavaScript, the refusals,
 * the sign-in's refusals), from the one catalogue of the shopper's page
 * (waiting-room-ui/src/catalogue.ts): its build writes dist/catalogue.json, read here at boot
 * as the built pages are. A catalogue that lacks a key these pages use stops the boot with the
 * key's name; no catalogue (the UI not built) is undefined, and the pages answer as the
 * shopper's page does then (404, or the catalogue's JSON errors).
 *
 * The language is chosen as the shopper's page chooses it (pages/shopper-page.ts: `?lang=`,
 * then Accept-Language, then the fallback); numbers, durations and times go through Intl.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pickLanguage } from './shopper-page.js';

/** every key these pages use: checked against the catalogue at boot */
export const PAGE_TEXT_KEYS = [
  'eyebrow',
  'pageTitle',
  'noticeLabel',
  'importantLabel',
  'noScriptJoin',
  'joinAgain',
  'notJoinedText',
  'inPrequeue',
  'noteRandom',
  'waitingLabel',
  'queueTitle',
  'positionLabel',
  'aheadLabel',
  'etaLabel',
  'keepsPlace',
  'progressUnknown',
  'etaUnderMinute',
  'etaAbout',
  'checkoutTitle',
  'closesAt',
  'closesSoon',
  'quantityLabel',
  'buyNow',
  'expiredTitle',
  'expiredText',
  'soldOutTitle',
  'soldOutText',
  'endedTitle',
  'endedText',
  'orderPlacedTitle',
  'pendingText',
  'orderRef',
  'orderRefUnits',
  'unitsOne',
  'unitsOther',
  'confirmedTitle',
  'confirmedText',
  'payAtShopTitle',
  'payAtShopText',
  'toCheckout',
  'paidTitle',
  'paidText',
  'rejectedTitle',
  'rejectedText',
  'cancelledTitle',
  'cancelledText',
  'refreshNote',
  'problemTitle',
  'backToPlace',
  'problemPow',
  'problemBusy',
  'problemUnavailable',
  'problemForbiddenOrigin',
  'problemNotAdmitted',
  'problemSignInAgain',
  'problemSignInDenied',
  'problemReturnPath',
  'problemProviderDown',
  'problemGeneric',
  'notFoundText',
  'maintenanceText',
  'queueFullText',
  'signInToJoinText',
  'linkExpiredText',
  'inviteOnlyText',
  'quantityTooBig',
  'lineOpensSoon',
  'signIn',
] as const;
export type PageTextKey = (typeof PAGE_TEXT_KEYS)[number];

export type Direction = 'ltr' | 'rtl';

/** the pages' words in one language */
export class PageText {
  private readonly _numbers: Intl.NumberFormat;
  private readonly _plural: Intl.PluralRules;
  /** made on first use and kept: a refreshing page asks for them every few seconds */
  private readonly _units = new Map<string, Intl.NumberFormat>();
  private _time: Intl.DateTimeFormat | undefined;

  constructor(
    readonly lang: string,
    readonly dir: Direction,
    private readonly _texts: Readonly<Record<PageTextKey, string>>,
  ) {
    this._numbers = new Intl.NumberFormat(lang);
    this._plural = new Intl.PluralRules(lang);
  }

  /** a text with its `{name}` placeholders filled (a number formatted for the language) */
  t(key: PageTextKey, params: Readonly<Record<string, string | number>> = {}): string {
    return this._texts[key].replace(/\{(\w+)\}/g, (all, name: string) => {
      const v = params[name];
      return v === undefined ? all : typeof v === 'number' ? this._numbers.format(v) : v;
    });
  }

  /** the `one` or `other` text for `count` */
  plural(count: number, one: PageTextKey, other: PageTextKey): string {
    return this.t(this._plural.select(count) === 'one' ? one : other, { count });
  }

  count(n: number): string {
    return this._numbers.format(n);
  }

  /** "5 seconds", "5 Sekunden" */
  unit(n: number, unit: 'second' | 'minute' | 'hour'): string {
    let format = this._units.get(unit);
    if (!format) {
      format = new Intl.NumberFormat(this.lang, { style: 'unit', unit, unitDisplay: 'long' });
      this._units.set(unit, format);
    }
    return format.format(n);
  }

  /** a moment's time of day in UTC, in the language's way (the server does not know the shopper's zone) */
  utcTime(iso: string): string {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso;
    this._time ??= new Intl.DateTimeFormat(this.lang, { hour: '2-digit', minute: '2-digit', second: '2-digit', timeZone: 'UTC' });
    return this._time.format(d);
  }
}

export interface PageTexts {
  /** the language a request asks for (`?lang=`, Accept-Language), else the fallback */
  pick(query: unknown, acceptLanguage: string | undefined): PageText;
}

interface CatalogueFile {
  readonly languages: readonly string[];
  readonly directions: Readonly<Record<string, string>>;
  readonly texts: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

/** the catalogue the UI build wrote under `root`; undefined when it is not built; throws naming what a stale one lacks */
export function loadPageTexts(root: string): PageTexts | undefined {
  let raw: string;
  try {
    raw = readFileSync(join(root, 'catalogue.json'), 'utf8');
  } catch {
    return undefined;
  }
  const file = JSON.parse(raw) as CatalogueFile;
  if (!Array.isArray(file.languages) || file.languages.length === 0) throw new Error(`${root}/catalogue.json names no language`);
  const byLang = new Map<string, PageText>();
  for (const lang of file.languages) {
    const texts = file.texts?.[lang] ?? {};
    for (const key of PAGE_TEXT_KEYS) {
      if (typeof texts[key] !== 'string') {
        throw new Error(`${root}/catalogue.json: ${lang} has no text "${key}" (rebuild waiting-room-ui: npm run build)`);
      }
    }
    const dir: Direction = file.directions?.[lang] === 'rtl' ? 'rtl' : 'ltr';
    byLang.set(lang, new PageText(lang, dir, texts as Record<PageTextKey, string>));
  }
  const languages = [...byLang.keys()];
  return {
    pick: (query, acceptLanguage) => byLang.get(pickLanguage(query, acceptLanguage, languages))!,
  };
}
