import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HmacSha256, hmacFor } from '../../src/tokens/hmac.js';

const reference = (key: Buffer | string, message: string) => createHmac('sha256', key).update(message, 'utf8').digest('hex');

describe('HmacSha256', () => {
  it('gives what createHmac gives, for keys shorter than, equal to and longer than a block', () => {
    for (const length of [0, 1, 32, 63, 64, 65, 200]) {
      const key = randomBytes(length);
      const h = new HmacSha256(key);
      for (const message of ['', 'a', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0', 'é€😀 unicode', 'x'.repeat(5000)]) {
        expect(h.digest(message).toString('hex'), `key ${length} B, message ${message.length} chars`).toBe(reference(key, message));
      }
    }
  });

  it('matches createHmac for any string key and message (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), fc.string({ unit: 'binary', maxLength: 1200 }), (key, message) => {
        expect(new HmacSha256(key).digest(message).toString('hex')).toBe(reference(key, message));
      }),
      { numRuns: 300 },
    );
  });

  it('does not let one digest change another: interleaved keys give their own answers', () => {
    const a = new HmacSha256('key a');
    const b = new HmacSha256('key b');
    const first = a.digest('same message');
    b.digest('another, longer message that overwrites the scratch space');
    expect(first.toString('hex')).toBe(reference('key a', 'same message'));
    expect(a.digest('same message').equals(first)).toBe(true);
  });

  it('keeps one instance per secret buffer', () => {
    const seed = randomBytes(32);
    expect(hmacFor(seed)).toBe(hmacFor(seed));
    expect(hmacFor(seed).digest('v').toString('hex')).toBe(reference(seed, 'v'));
  });
});
