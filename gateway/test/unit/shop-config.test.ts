/**
 * The shop's configuration (issue 14), checked at boot: SHOP_API_KEY apart from the admin key,
 * WEBHOOK_URL + WEBHOOK_SECRET both or neither and well formed; and the one shop URL rule.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { shopUrlProblem } from '../../src/lib/shop-url.js';
import { isWebhookSecret, newWebhookId, newWebhookSecret } from '../../src/webhooks/webhook-input.js';

const ADMIN = 'admin-key-0123456789';
const base = { ADMIN_API_KEY: ADMIN };
const SECRET = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;

function variableRefused(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).variable;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('shop configuration', () => {
  it('has no shop key and no configured webhook by default', () => {
    expect(loadConfig(base)).toMatchObject({ shopApiKey: undefined, webhook: undefined });
  });

  it('takes a shop key of 16 characters or more, and refuses the admin key as the shop key', () => {
    expect(loadConfig({ ...base, SHOP_API_KEY: 'shop-key-0123456789' }).shopApiKey).toBe('shop-key-0123456789');
    expect(variableRefused({ ...base, SHOP_API_KEY: ADMIN })).toBe('SHOP_API_KEY');
    expect(variableRefused({ ...base, SHOP_API_KEY: 'short' })).toBe('SHOP_API_KEY');
  });

  it('registers a webhook only from a valid URL and a whsec_ secret, given together', () => {
    expect(loadConfig({ ...base, WEBHOOK_URL: 'https://shop.example/hooks', WEBHOOK_SECRET: SECRET }).webhook).toEqual({
      url: 'https://shop.example/hooks',
      secret: SECRET,
    });
    expect(variableRefused({ ...base, WEBHOOK_URL: 'https://shop.example/hooks' })).toBe('WEBHOOK_SECRET');
    expect(variableRefused({ ...base, WEBHOOK_SECRET: SECRET })).toBe('WEBHOOK_URL');
    expect(variableRefused({ ...base, WEBHOOK_URL: 'ftp://shop.example/hooks', WEBHOOK_SECRET: SECRET })).toBe('WEBHOOK_URL');
    expect(variableRefused({ ...base, WEBHOOK_URL: 'https://shop.example/hooks', WEBHOOK_SECRET: 'secret-without-prefix' })).toBe(
      'WEBHOOK_SECRET',
    );
    expect(variableRefused({ ...base, WEBHOOK_URL: 'https://shop.example/hooks', WEBHOOK_SECRET: 'whsec_c2hvcnQ=' })).toBe(
      'WEBHOOK_SECRET',
    );
  });
});

describe('shop URLs', () => {
  it('accepts absolute http(s) URLs and says what is wrong with the rest', () => {
    expect(shopUrlProblem('https://shop.example/checkout?x=1')).toBeUndefined();
    expect(shopUrlProblem('http://127.0.0.1:4000/checkout')).toBeUndefined();
    expect(shopUrlProblem('/checkout')).toBe('must be an absolute URL');
    expect(shopUrlProblem('javascript:alert(1)')).toBe('must be an http(s) URL');
    expect(shopUrlProblem('https://user:pw@shop.example/')).toBe('must not carry credentials');
    expect(shopUrlProblem(`https://shop.example/${'a'.repeat(2048)}`)).toBe('must be at most 2048 characters');
  });
});

describe('webhook ids and secrets', () => {
  it('makes wh_ ids and whsec_ secrets of 24 random bytes that its own check accepts', () => {
    const secret = newWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(24);
    expect(isWebhookSecret(secret)).toBe(true);
    expect(newWebhookId()).toMatch(/^wh_[A-Za-z0-9_-]{16}$/);
    expect(newWebhookSecret()).not.toBe(secret);
  });
});
