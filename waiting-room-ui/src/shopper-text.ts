/**
 * The shopper's page in its language: catalogue texts with their placeholders filled, and
 * numbers, prices, times and durations formatted by Intl for that language.
 *
 * The language is the one the gateway chose when it served the page (`?lang=`, then
 * Accept-Language, then English: gateway/src/pages/shopper-page.ts) and wrote into
 * `<html lang>`; the scripts read it from there, so page and server never disagree.
 */
import { CATALOGUES, isLanguage, LANGUAGES, type Language, type TextKey } from './catalogue.js';
import type { Range } from './eta.js';
import { countdown, localTime, spokenDuration } from './time-format.js';
import { formatPrice } from './product.js';

export type Params = Readonly<Record<string, string | number>>;

/** `{name}` placeholders of a catalogue text, in order */
export const placeholders = (text: string): string[] => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);

export class ShopperText {
  private readonly _numbers: Intl.NumberFormat;
  private readonly _plural: Intl.PluralRules;
  private readonly _percent: Intl.NumberFormat;
  /** unit formatters, made once each (the ETA range is formatted at every move of the line) */
  private readonly _units = new Map<string, Intl.NumberFormat>();

  constructor(readonly lang: Language) {
    this._numbers = new Intl.NumberFormat(lang);
    this._plural = new Intl.PluralRules(lang);
    this._percent = new Intl.NumberFormat(lang, { style: 'percent', maximumFractionDigits: 0 });
  }

  private _unit(unit: 'second' | 'minute' | 'hour', display: 'long' | 'short' = 'long'): Intl.NumberFormat {
    const key = `${unit}:${display}`;
    let f = this._units.get(key);
    if (!f) this._units.set(key, (f = new Intl.NumberFormat(this.lang, { style: 'unit', unit, unitDisplay: display })));
    return f;
  }

  /** a catalogue text; a number among the params is formatted for the language */
  t(key: TextKey, params: Params = {}): string {
    return CATALOGUES[this.lang][key].replace(/\{(\w+)\}/g, (all, name: string) => {
      const v = params[name];
      return v === undefined ? all : typeof v === 'number' ? this._numbers.format(v) : v;
    });
  }

  /** the `one` or `other` text for `count` (its `{count}` filled) */
  plural(count: number, one: TextKey, other: TextKey, params: Params = {}): string {
    return this.t(this._plural.select(count) === 'one' ? one : other, { count, ...params });
  }

  count(n: number): string {
    return this._numbers.format(n);
  }

  percent(share: number): string {
    return this._percent.format(share);
  }

  /** a decimal string price (as the gateway keeps it) in an ISO 4217 currency, every decimal given kept (product.ts, as the console previews it); null if unusable */
  price(amount: string, currency: string): string | null {
    if (!Number.isFinite(Number(amount))) return null;
    try {
      // a currency Intl refuses: no price rather than the raw text
      new Intl.NumberFormat(this.lang, { style: 'currency', currency });
    } catch {
      return null;
    }
    return formatPrice(amount, currency, this.lang);
  }

  /** "2 Minuten 5 Sekunden" */
  duration(ms: number): string {
    return spokenDuration(ms, this.lang);
  }

  /** whole seconds (at least one): "5 seconds", "5 Sekunden" */
  seconds(ms: number): string {
    return this._unit('second').format(Math.max(1, Math.ceil(ms / 1000)));
  }

  countdown(ms: number): string {
    return countdown(ms, this.lang);
  }

  /** a moment in the shopper's own time zone, in the language's way */
  time(epochMs: number): string {
    return localTime(epochMs, this.lang);
  }

  /** an ETA range: "less than a minute", "45 to 75 seconds", "4 bis 7 Minuten", "de 1 h a 2 h" */
  range(r: Range): string {
    if (r.hi <= 60 && r.lo === 0) return this.t('etaUnderMinute');
    const unit = (u: 'second' | 'minute' | 'hour', display: 'long' | 'short' = 'long') => this._unit(u, display);
    let lo: string;
    let hi: string;
    if (r.hi < 120 || r.hi % 60 !== 0) {
      // "45 to 75 seconds": the unit once, at the end
      lo = this._numbers.format(r.lo);
      hi = unit('second').format(r.hi);
    } else if (r.hi < 3600) {
      lo = this._numbers.format(r.lo / 60);
      hi = unit('minute').format(r.hi / 60);
    } else {
      const hm = (seconds: number) => {
        const m = Math.round(seconds / 60);
        const h = Math.floor(m / 60);
        const hours = unit('hour', 'short').format(h);
        if (h === 0) return unit('minute', 'short').format(m);
        return m % 60 === 0 ? hours : `${hours} ${unit('minute', 'short').format(m % 60)}`;
      };
      lo = r.lo < 60 ? this._numbers.format(0) : hm(r.lo);
      hi = hm(r.hi);
    }
    return r.lo === 0 && r.hi < 3600 ? this.t('etaUpTo', { hi }) : this.t('etaBetween', { lo, hi });
  }
}

/** the page's language: what the gateway wrote into `<html lang>` (English if none of ours) */
interface HasLang {
  readonly documentElement: { readonly lang: string };
}
export function pageLanguage(doc: HasLang | undefined = (globalThis as { document?: HasLang }).document): Language {
  const lang = (doc?.documentElement.lang ?? '').toLowerCase().split('-')[0] ?? '';
  // `in`: each language's bundle carries its own catalogue and English only (build.mjs)
  return isLanguage(lang) && lang in CATALOGUES ? lang : LANGUAGES[0];
}

export const text = new ShopperText(pageLanguage());
