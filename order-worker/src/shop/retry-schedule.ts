/**
 * When a failed webhook delivery is tried again, and when it is given up: exponential backoff
 * with full jitter (a random wait between 0 and `base * 2^attempts`, capped), so the retries
 * of many deliveries to an endpoint that was down do not come back in step; `failed` after
 * the last allowed attempt or once the delivery is older than the age limit. Pure.
 */

export interface RetryPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
  readonly maxAttempts: number;
  readonly maxAgeMs: number;
}

export type RetryDecision = { readonly kind: 'retry'; readonly delayMs: number } | { readonly kind: 'failed' };

/**
 * What follows a failed attempt. `attempts`: attempts made, this one included (1 after the
 * first); `ageMs`: how long ago the delivery was created; `random`: in [0, 1).
 */
export function afterFailedAttempt(policy: RetryPolicy, attempts: number, ageMs: number, random: number = Math.random()): RetryDecision {
  if (attempts >= policy.maxAttempts || ageMs >= policy.maxAgeMs) return { kind: 'failed' };
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempts - 1, 40));
  return { kind: 'retry', delayMs: Math.floor(random * ceiling) };
}
