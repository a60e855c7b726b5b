/**
 * The pretend payment's settings: a declining card always fails, PAYMENT_FAIL_EVERY fails
 * exactly every n-th payment, PAYMENT_FAIL_RATE a share drawn from the random source.
 */
import { describe, expect, it } from 'vitest';
import { cardChoice, pretendPayments } from '../../src/pretend-payment.js';

describe('pretend payment', () => {
  it('declines when the shopper picks the declining card, whatever the settings', () => {
    const p = pretendPayments({ failRate: 0, failEvery: 0 });
    expect([p.charge('decline'), p.charge('pay'), p.charge('decline')]).toEqual([false, true, false]);
  });

  it('fails every n-th payment; declined cards do not count', () => {
    const p = pretendPayments({ failRate: 0, failEvery: 3 });
    const results = [
      p.charge('pay'),
      p.charge('pay'),
      p.charge('decline'),
      p.charge('pay'),
      p.charge('pay'),
      p.charge('pay'),
      p.charge('pay'),
    ];
    expect(results).toEqual([true, true, false, false, true, true, false]);
  });

  it('fails the share PAYMENT_FAIL_RATE of the random draws', () => {
    const draws = [0.1, 0.5, 0.19, 0.2, 0.99];
    const p = pretendPayments({ failRate: 0.2, failEvery: 0 }, () => draws.shift()!);
    expect(Array.from({ length: 5 }, () => p.charge('pay'))).toEqual([false, true, false, true, true]);
  });

  it('reads the card field: only "decline" declines', () => {
    expect(cardChoice('decline')).toBe('decline');
    expect([cardChoice('pay'), cardChoice(undefined), cardChoice(['decline']), cardChoice('DECLINE')]).toEqual([
      'pay',
      'pay',
      'pay',
      'pay',
    ]);
  });
});
