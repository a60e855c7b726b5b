/**
 * What a sale sells (issue 15 item 5), as the shopper's page shows it: plain-text description,
 * an image (https, or a path on this site), a price with its ISO 4217 currency. One check for
 * a create and a change; a price is kept as a decimal string so that 19.90 stays 19.90.
 */
export interface Product {
  readonly description?: string;
  readonly imageUrl?: string;
  readonly price?: string;
  readonly currency?: string;
}

/** what a marketer may send: a price as a decimal string or a number */
export interface ProductInput {
  readonly description?: string;
  readonly imageUrl?: string;
  readonly price?: string | number;
  readonly currency?: string;
}

export const MAX_DESCRIPTION_LENGTH = 1000;
export const MAX_IMAGE_URL_LENGTH = 2048;
const DECIMAL = /^(0|[1-9]\d{0,11})(\.\d{1,4})?$/;
const CURRENCY = /^[A-Z]{3}$/;
// control characters other than newline and tab: not plain text a page can show
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;

/** what is wrong with an image address (an https URL or a path on this site), if anything */
export function imageUrlProblem(value: string): string | undefined {
  if (value.length === 0 || value.length > MAX_IMAGE_URL_LENGTH) return `must be 1 to ${MAX_IMAGE_URL_LENGTH} characters`;
  if (value.startsWith('/') && !value.startsWith('//')) {
    // a path on this site: resolvable, no scheme smuggled in
    return /[\s\\]/.test(value) ? 'must not hold spaces or backslashes' : undefined;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an https URL or a path starting with /';
  }
  if (url.protocol !== 'https:') return 'must be an https URL or a path starting with /';
  if (url.username !== '' || url.password !== '') return 'must not carry credentials';
  return undefined;
}

/** the product as stored, or what is wrong with it (the message names the field) */
export function parseProduct(p: ProductInput): { ok: true; product: Product } | { ok: false; problem: string } {
  const out: { -readonly [K in keyof Product]: Product[K] } = {};
  if (p.description !== undefined) {
    if (p.description.length > MAX_DESCRIPTION_LENGTH) {
      return { ok: false, problem: `product.description must be at most ${MAX_DESCRIPTION_LENGTH} characters` };
    }
    if (CONTROL.test(p.description)) return { ok: false, problem: 'product.description must be plain text (no control characters)' };
    if (p.description !== '') out.description = p.description;
  }
  if (p.imageUrl !== undefined) {
    const problem = imageUrlProblem(p.imageUrl);
    if (problem) return { ok: false, problem: `product.imageUrl ${problem}` };
    out.imageUrl = p.imageUrl;
  }
  if (p.price !== undefined) {
    const price = typeof p.price === 'number' ? (Number.isFinite(p.price) ? String(p.price) : '') : p.price;
    if (!DECIMAL.test(price)) return { ok: false, problem: 'product.price must be a non-negative decimal (at most 4 decimals)' };
    if (p.currency === undefined) return { ok: false, problem: 'product.currency is required with a price' };
    out.price = price;
  }
  if (p.currency !== undefined) {
    if (!CURRENCY.test(p.currency)) return { ok: false, problem: 'product.currency must be an ISO 4217 code: three capital letters' };
    if (p.price === undefined) return { ok: false, problem: 'product.currency needs a price' };
    out.currency = p.currency;
  }
  return { ok: true, product: out };
}
