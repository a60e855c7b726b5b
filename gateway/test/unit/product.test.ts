import { describe, expect, it } from 'vitest';
import { parseProduct } from '../../src/sales/product.js';

describe('parseProduct', () => {
  it('keeps a good product, the price as a decimal string', () => {
    expect(parseProduct({ description: 'Shoes', imageUrl: '/img/a.png', price: 19.9, currency: 'EUR' })).toEqual({
      ok: true,
      product: { description: 'Shoes', imageUrl: '/img/a.png', price: '19.9', currency: 'EUR' },
    });
    expect(parseProduct({ price: '0', currency: 'JPY' })).toEqual({ ok: true, product: { price: '0', currency: 'JPY' } });
    expect(parseProduct({ description: 'x'.repeat(1000) }).ok).toBe(true);
  });

  it.each([
    [{ description: 'x'.repeat(1001) }, 'product.description'],
    [{ description: 'nul\u0000' }, 'product.description'],
    [{ imageUrl: 'http://a.example/x.png' }, 'product.imageUrl'],
    [{ imageUrl: 'data:image/png;base64,AAAA' }, 'product.imageUrl'],
    [{ imageUrl: '//a.example/x.png' }, 'product.imageUrl'],
    [{ imageUrl: '' }, 'product.imageUrl'],
    [{ price: '01', currency: 'EUR' }, 'product.price'],
    [{ price: Number.NaN, currency: 'EUR' }, 'product.price'],
    [{ price: '1.23456', currency: 'EUR' }, 'product.price'],
    [{ price: '5' }, 'product.currency'],
    [{ price: '5', currency: 'Eur' }, 'product.currency'],
    [{ currency: 'EUR' }, 'product.currency'],
  ])('refuses %j naming the field', (input, field) => {
    const r = parseProduct(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem.startsWith(field)).toBe(true);
  });
});
