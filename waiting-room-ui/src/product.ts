/**
 * What a sale sells, as the console's product form reads and says it (issue 15 item 5): the
 * body a create or a change sends, and the price as a shopper would read it. No check of the
 * content here: the gateway judges a product (sales/product.ts, 422 INVALID_SALE_CONFIG naming
 * the field) and the console shows its message, so there is one rule in one place.
 */
import type { Product } from './shapes.js';

/** the form's four fields, as typed */
export interface ProductFields {
  description: string;
  imageUrl: string;
  price: string;
  currency: string;
}

/**
 * The product to send: each field left empty is left out, the currency in capitals ("eur" is
 * EUR); every field empty is no product (null, which clears the sale's product on a change).
 */
export function productBody(f: ProductFields): Product | null {
  const p: Product = {};
  // the description is plain text the marketer wrote: kept as written, only its ends trimmed
  const description = f.description.trim();
  const imageUrl = f.imageUrl.trim();
  const price = f.price.trim();
  const currency = f.currency.trim().toUpperCase();
  if (description) p.description = description;
  if (imageUrl) p.imageUrl = imageUrl;
  if (price) p.price = price;
  if (currency) p.currency = currency;
  return Object.keys(p).length === 0 ? null : p;
}

/** the fields that show a product (empty strings for what it does not say) */
export function productFields(p: Product | null): ProductFields {
  return { description: p?.description ?? '', imageUrl: p?.imageUrl ?? '', price: p?.price ?? '', currency: p?.currency ?? '' };
}

/** whether two products say the same (a change that changes nothing is not sent) */
export function sameProduct(a: Product | null, b: Product | null): boolean {
  const x = productFields(a);
  const y = productFields(b);
  return x.description === y.description && x.imageUrl === y.imageUrl && x.price === y.price && x.currency === y.currency;
}

/**
 * The price as the shopper's locale writes it ("€19.90", "19,90 €"), with at least the
 * currency's usual decimals and every decimal the marketer gave ("0.0005" stays visible).
 * What Intl cannot format (no number, a malformed code) is shown as typed: the preview never
 * hides what the gateway will be asked to take.
 */
export function formatPrice(price: string, currency: string, locale?: string): string {
  const amount = Number(price);
  const given = `${price} ${currency}`.trim();
  if (price.trim() === '' || !Number.isFinite(amount) || !/^\s*\d/.test(price)) return given;
  try {
    const usual = new Intl.NumberFormat(locale, { style: 'currency', currency }).resolvedOptions();
    const decimals = price.split('.')[1]?.length ?? 0;
    return new Intl.NumberFormat(locale, {
      style: 'currency',
      currency,
      minimumFractionDigits: usual.minimumFractionDigits,
      maximumFractionDigits: Math.min(20, Math.max(usual.maximumFractionDigits ?? 2, decimals)),
    }).format(amount);
  } catch {
    // a currency Intl refuses (not three letters): the gateway will say what is wrong with it
    return given;
  }
}
