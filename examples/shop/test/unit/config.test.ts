/**
 * The shop's configuration: defaults, and a wrong value stops it with a message naming the variable.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const base = { SHOP_API_KEY: 'shop-key-0123456789', WEBHOOK_SECRET: 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=' };

describe('shop config', () => {
  it('has the documented defaults', () => {
    expect(loadConfig(base)).toMatchObject({
      port: 8080,
      velvetRopeUrl: 'http://127.0.0.1:3000',
      issuer: 'velvet-rope',
      saleIds: [],
      paymentFailRate: 0,
      paymentFailEvery: 0,
      testControls: false,
    });
  });

  it('reads the sales, the failure settings and a URL with a trailing slash', () => {
    const c = loadConfig({
      ...base,
      SHOP_SALE_ID: 'drop-1, drop-2',
      PAYMENT_FAIL_RATE: '0.25',
      PAYMENT_FAIL_EVERY: '5',
      VELVET_ROPE_URL: 'https://queue.shop.example/',
      SHOP_TEST_CONTROLS: '1',
    });
    expect(c).toMatchObject({
      saleIds: ['drop-1', 'drop-2'],
      paymentFailRate: 0.25,
      paymentFailEvery: 5,
      velvetRopeUrl: 'https://queue.shop.example',
      testControls: true,
    });
  });

  it.each([
    [{ SHOP_API_KEY: undefined }, /SHOP_API_KEY is required/],
    [{ WEBHOOK_SECRET: 'plain-secret' }, /WEBHOOK_SECRET must be a Standard Webhooks secret/],
    [{ PAYMENT_FAIL_RATE: '1.5' }, /PAYMENT_FAIL_RATE/],
    [{ PAYMENT_FAIL_EVERY: '-1' }, /PAYMENT_FAIL_EVERY/],
    [{ SHOP_PORT: 'eighty' }, /SHOP_PORT/],
    [{ VELVET_ROPE_URL: 'ftp://x' }, /VELVET_ROPE_URL/],
    [{ SHOP_SALE_ID: 'drop 1' }, /SHOP_SALE_ID/],
  ])('refuses %o', (change, message) => {
    expect(() => loadConfig({ ...base, ...change })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, ...change })).toThrow(message);
  });
});
