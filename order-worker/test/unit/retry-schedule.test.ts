import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { afterFailedAttempt, type RetryPolicy } from '../../src/shop/retry-schedule.js';

const policy: RetryPolicy = { baseMs: 1_000, maxMs: 300_000, maxAttempts: 12, maxAgeMs: 259_200_000 };

describe('afterFailedAttempt', () => {
  it('waits up to base * 2^(attempts - 1): full jitter from 0 to the ceiling', () => {
    expect(afterFailedAttempt(policy, 1, 0, 0)).toEqual({ kind: 'retry', delayMs: 0 });
    expect(afterFailedAttempt(policy, 1, 0, 0.999)).toEqual({ kind: 'retry', delayMs: 999 });
    expect(afterFailedAttempt(policy, 3, 0, 0.5)).toEqual({ kind: 'retry', delayMs: 2_000 });
  });

  it('caps the wait at maxMs', () => {
    expect(afterFailedAttempt(policy, 11, 0, 0.999)).toEqual({ kind: 'retry', delayMs: 299_700 });
  });

  it('gives up after the last allowed attempt, or once the delivery is too old', () => {
    expect(afterFailedAttempt(policy, 12, 0, 0.5)).toEqual({ kind: 'failed' });
    expect(afterFailedAttempt(policy, 2, policy.maxAgeMs, 0.5)).toEqual({ kind: 'failed' });
    expect(afterFailedAttempt(policy, 11, policy.maxAgeMs - 1, 0.5).kind).toBe('retry');
  });

  it('never waits less than 0 or more than the ceiling', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 11 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempts, random) => {
        const d = afterFailedAttempt(policy, attempts, 0, random);
        if (d.kind !== 'retry') return false;
        return d.delayMs >= 0 && d.delayMs < Math.min(policy.maxMs, policy.baseMs * 2 ** (attempts - 1));
      }),
    );
  });
});
