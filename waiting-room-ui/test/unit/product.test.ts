/**
 * The console's product form logic (issue 15 item 5): the body a create or change sends (empty
 * fields left out, no product at all as null, which clears it), and the preview's price as
 * Intl.NumberFormat writes it in a locale, keeping every decimal the marketer gave, and shown
 * as typed when it is not a price (the gateway then says why).
 */
import { describe, expect, it } from 'vitest';
import { formatPrice, productBody, productFields, sameProduct } from '../../src/product.js';

const empty = { description: '', imageUrl: '', price: '', currency: '' };

describe('productBody', () => {
  it('leaves out empty fields, trims, and writes the currency in capitals', () => {
    expect(
      productBody({ description: '  Velvet sneakers\nsize 42 ', imageUrl: ' /img/s.jpg ', price: ' 19.90', currency: 'eur ' }),
    ).toEqual({
      description: 'Velvet sneakers\nsize 42',
      imageUrl: '/img/s.jpg',
      price: '19.90',
      currency: 'EUR',
    });
    expect(productBody({ ...empty, description: 'Only words' })).toEqual({ description: 'Only words' });
  });

  it('is null when every field is empty (a change then removes the product)', () => {
    expect(productBody(empty)).toBeNull();
    expect(productBody({ description: '  ', imageUrl: '\t', price: ' ', currency: '' })).toBeNull();
  });

  it('sends a bad price as typed: the gateway is the one to refuse it', () => {
    expect(productBody({ ...empty, price: '19,90', currency: 'EUR' })).toEqual({ price: '19,90', currency: 'EUR' });
  });
});

describe('sameProduct and productFields', () => {
  it('compares what the products say, null being no product', () => {
    expect(sameProduct(null, null)).toBe(true);
    expect(sameProduct(null, {})).toBe(true);
    expect(sameProduct({ price: '19.90', currency: 'EUR' }, { currency: 'EUR', price: '19.90' })).toBe(true);
    expect(sameProduct({ price: '19.90', currency: 'EUR' }, { price: '19.9', currency: 'EUR' })).toBe(false);
    expect(sameProduct({ description: 'a' }, null)).toBe(false);
    expect(productFields(null)).toEqual(empty);
    expect(productFields({ imageUrl: '/a.png' })).toEqual({ ...empty, imageUrl: '/a.png' });
  });
});

describe('formatPrice', () => {
  it('writes the price as the locale does, with the currency’s usual decimals', () => {
    expect(formatPrice('19.9', 'EUR', 'en-US')).toBe('€19.90');
    expect(formatPrice('1234.5', 'USD', 'en-US')).toBe('$1,234.50');
    // de-DE: a comma for decimals, the sign after, a no-break space before it
    expect(formatPrice('19.90', 'EUR', 'de-DE')).toBe('19,90\u00a0€');
    expect(formatPrice('1500', 'JPY', 'en-US')).toBe('¥1,500');
  });

  it('keeps every decimal given, beyond the currency’s usual ones', () => {
    expect(formatPrice('0.0005', 'EUR', 'en-US')).toBe('€0.0005');
    expect(formatPrice('2.125', 'USD', 'en-US')).toBe('$2.125');
  });

  it('shows what is not a price as typed, never a made-up figure', () => {
    expect(formatPrice('19,90', 'EUR', 'en-US')).toBe('19,90 EUR');
    expect(formatPrice('abc', 'EUR', 'en-US')).toBe('abc EUR');
    expect(formatPrice('-5', 'EUR', 'en-US')).toBe('-5 EUR');
    expect(formatPrice('', 'EUR', 'en-US')).toBe('EUR');
    // a malformed currency code: Intl refuses it
    expect(formatPrice('19.90', 'EU', 'en-US')).toBe('19.90 EU');
    expect(formatPrice('19.90', '', 'en-US')).toBe('19.90');
  });
});
