/**
 * A deployment's branding of the shopper's page (issue 15 item 5), without forking the page:
 * BRAND_SHOP_NAME, BRAND_LOGO_URL, BRAND_ACCENT (#rrggbb) and BRAND_NOTICE (plain text), read
 * and checked at boot (config.ts names a bad variable), then turned once into what the page
 * gets: HTML fragments for the `<!--vr:brand...-->` marks of the built page (every value
 * escaped) and a stylesheet that sets the accent's custom properties.
 *
 * The accent is a stylesheet of its own (`/brand.css?v=<hash>`, cached for good), not a
 * `<style>` in the page: the page runs under `style-src 'self'`, and a stylesheet link keeps it
 * so, colours the page before its script runs, and costs a shopper one cached request.
 */
import { createHash } from 'node:crypto';
import { imageUrlProblem } from '../sales/product.js';
import { escapeHtml } from './no-script-page.js';

export interface Brand {
  readonly shopName: string | undefined;
  readonly logoUrl: string | undefined;
  /** `#rrggbb`, lower case */
  readonly accent: string | undefined;
  readonly notice: string | undefined;
}

export const NO_BRAND: Brand = { shopName: undefined, logoUrl: undefined, accent: undefined, notice: undefined };

export const MAX_SHOP_NAME_LENGTH = 80;
export const MAX_BRAND_NOTICE_LENGTH = 500;
const ACCENT = /^#[0-9a-fA-F]{6}$/;
// control characters other than newline and tab
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;

/** the branding variables, or the first problem: [variable, what is wrong] */
export function parseBrand(env: Readonly<Record<string, string | undefined>>): Brand | [string, string] {
  const value = (name: string) => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const shopName = value('BRAND_SHOP_NAME');
  if (shopName !== undefined) {
    if (shopName.length > MAX_SHOP_NAME_LENGTH) return ['BRAND_SHOP_NAME', `must be at most ${MAX_SHOP_NAME_LENGTH} characters`];
    if (CONTROL.test(shopName) || shopName.includes('\n')) return ['BRAND_SHOP_NAME', 'must be one line of plain text'];
  }
  const logoUrl = value('BRAND_LOGO_URL');
  if (logoUrl !== undefined) {
    const problem = imageUrlProblem(logoUrl);
    if (problem) return ['BRAND_LOGO_URL', problem];
  }
  const accent = value('BRAND_ACCENT');
  if (accent !== undefined && !ACCENT.test(accent)) return ['BRAND_ACCENT', 'must be a colour as #rrggbb (for example #0a7d5a)'];
  const notice = value('BRAND_NOTICE');
  if (notice !== undefined) {
    if (notice.length > MAX_BRAND_NOTICE_LENGTH) return ['BRAND_NOTICE', `must be at most ${MAX_BRAND_NOTICE_LENGTH} characters`];
    if (CONTROL.test(notice)) return ['BRAND_NOTICE', 'must be plain text (no control characters but line breaks)'];
  }
  return { shopName, logoUrl, accent: accent?.toLowerCase(), notice };
}

type Rgb = readonly [number, number, number];
const rgbOf = (hex: string): Rgb => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as unknown as Rgb;
const hexOf = (rgb: Rgb) => `#${rgb.map((c) => Math.round(c).toString(16).padStart(2, '0')).join('')}`;
const mix = (a: Rgb, b: Rgb, share: number): Rgb => [0, 1, 2].map((i) => a[i]! + (b[i]! - a[i]!) * share) as unknown as Rgb;

/** WCAG 2 relative luminance */
export function luminance(hex: string): number {
  const [r, g, b] = rgbOf(hex).map((c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

const contrast = (a: number, b: number) => (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);

/** text on the accent: white or the page's near-black, whichever reads better */
export function textOn(accent: string): '#ffffff' | '#17152b' {
  const l = luminance(accent);
  return contrast(l, 1) >= contrast(l, luminance('#17152b')) ? '#ffffff' : '#17152b';
}

/** the accent's custom properties (base.css names them): the colour, a darker and a soft one, text on it */
export function brandStylesheet(accent: string): string {
  const rgb = rgbOf(accent);
  const dark = hexOf(mix(rgb, [0, 0, 0], 0.3));
  const soft = hexOf(mix(rgb, [255, 255, 255], 0.88));
  return `:root{--accent:${accent};--accent-dark:${dark};--accent-soft:${soft};--on-accent:${textOn(accent)}}\n`;
}

/** what the built page gets at its marks, for this brand */
export interface BrandMarks {
  readonly style: string;
  readonly header: string;
  readonly notice: string;
  /** the stylesheet's body and its address (undefined: no accent) */
  readonly stylesheet: { readonly href: string; readonly css: string } | undefined;
}

export function brandMarks(brand: Brand): BrandMarks {
  const stylesheet =
    brand.accent === undefined
      ? undefined
      : (() => {
          const css = brandStylesheet(brand.accent);
          const v = createHash('sha256').update(css).digest('hex').slice(0, 12);
          return { href: `/brand.css?v=${v}`, css };
        })();
  // with a name beside it the logo is decoration (the name says it); without, set BRAND_SHOP_NAME
  const logo = brand.logoUrl === undefined ? '' : `<img class="brand-logo" src="${escapeHtml(brand.logoUrl)}" alt="" height="40">`;
  const name = brand.shopName === undefined ? '' : `<span class="brand-name">${escapeHtml(brand.shopName)}</span>`;
  return {
    style: stylesheet ? `<link rel="stylesheet" href="${stylesheet.href}">` : '',
    header: logo || name ? `<div class="brand" id="brand">${logo}${name}</div>` : '',
    notice: brand.notice === undefined ? '' : `<p class="brand-notice" id="brand-notice" dir="auto">${escapeHtml(brand.notice)}</p>`,
    stylesheet,
  };
}

/** the built page with the brand at its marks */
export function brandPage(html: string, marks: BrandMarks): string {
  // functions, not strings: a `$&` in a shop's name is text, not a replacement pattern
  return html
    .replace('<!--vr:brand-style-->', () => marks.style)
    .replace('<!--vr:brand-->', () => marks.header)
    .replace('<!--vr:brand-notice-->', () => marks.notice);
}
