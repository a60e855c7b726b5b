import { describe, expect, it } from 'vitest';
import { AmqpAddresses } from '../../src/amqp-addresses.js';
import { ConfigError, envAmqpUrls } from '../../src/env.js';

const A = 'amqp://u:p@mq-1:5672';
const B = 'amqp://u:p@mq-2:5672';
const C = 'amqps://u:p@mq-3:5671/vh';

describe('AmqpAddresses', () => {
  it('takes the addresses round robin, so a lost node is tried again only after every other one', () => {
    const a = new AmqpAddresses([A, B, C]);
    expect([a.take(), a.take(), a.take(), a.take(), a.take()]).toEqual([A, B, C, A, B]);
    expect(a.current).toBe(B);
  });

  it('with one address, takes it every time (one node, as before)', () => {
    const a = new AmqpAddresses([A]);
    expect([a.take(), a.take()]).toEqual([A, A]);
  });

  it('refuses an empty list', () => {
    expect(() => new AmqpAddresses([])).toThrow(/at least one/);
  });
});

describe('envAmqpUrls (AMQP_URL)', () => {
  const configError = (value: string): ConfigError => {
    try {
      envAmqpUrls({ AMQP_URL: value });
    } catch (err) {
      if (err instanceof ConfigError) return err;
      throw err;
    }
    throw new Error(`no ConfigError for ${value}`);
  };

  it('reads one address, or a comma-separated list in its order; the local node when unset', () => {
    expect(envAmqpUrls({ AMQP_URL: A })).toEqual([A]);
    expect(envAmqpUrls({ AMQP_URL: ` ${A}, ${B} ,${C}` })).toEqual([A, B, C]);
    expect(envAmqpUrls({})).toEqual(['amqp://guest:guest@127.0.0.1:5672']);
  });

  it.each([
    ['an empty item', `${A},,${B}`, /item 2 is empty/],
    ['a trailing comma', `${A},`, /item 2 is empty/],
    ['an item that is not AMQP', `${A},redis://x:6379`, /item 2 must start with amqp:\/\/ or amqps:\/\//],
    ['an item that is not a URL', `${A},mq-2:5672`, /item 2 /],
    ['the same node twice', `${A},${B},${A}`, /item 3 repeats item 1/],
  ])('refuses %s, naming the item and never echoing it', (_what, value, message) => {
    const err = configError(value);
    expect(err.variable).toBe('AMQP_URL');
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain('u:p');
  });
});
