/**
 * HMAC-SHA256 (RFC 2104) for the hot paths, as two one-shot SHA-256 hashes over key pads
 * worked out once per key. `createHmac` builds a native object per call (key import, a
 * handle the garbage collector must finalise); a join computes three HMACs and a status
 * one, and that construction was the largest single cost in their profiles. The result is
 * byte for byte what `createHmac('sha256', key)` gives (unit-tested against it).
 */
import { createHash, hash } from 'node:crypto';

const BLOCK = 64;
/** one scratch buffer for every key: hashing is synchronous, so no two calls share it at once */
const scratch = Buffer.alloc(BLOCK + 2048);
const outerScratch = Buffer.alloc(BLOCK + 32);

export class HmacSha256 {
  readonly #ipad: Buffer;
  readonly #opad: Buffer;

  constructor(key: Buffer | string) {
    let k = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
    if (k.length > BLOCK) k = createHash('sha256').update(k).digest();
    this.#ipad = Buffer.alloc(BLOCK, 0x36);
    this.#opad = Buffer.alloc(BLOCK, 0x5c);
    for (let i = 0; i < k.length; i++) {
      this.#ipad[i]! ^= k[i]!;
      this.#opad[i]! ^= k[i]!;
    }
  }

  /** HMAC-SHA256(key, UTF-8 of `message`) */
  digest(message: string): Buffer {
    let inner: Buffer;
    if (message.length * 3 <= scratch.length - BLOCK) {
      this.#ipad.copy(scratch, 0);
      const n = scratch.write(message, BLOCK, 'utf8');
      inner = hash('sha256', scratch.subarray(0, BLOCK + n), 'buffer') as unknown as Buffer;
    } else {
      inner = hash('sha256', Buffer.concat([this.#ipad, Buffer.from(message, 'utf8')]), 'buffer') as unknown as Buffer;
    }
    this.#opad.copy(outerScratch, 0, 0, BLOCK);
    inner.copy(outerScratch, BLOCK);
    return hash('sha256', outerScratch, 'buffer') as unknown as Buffer;
  }
}

const bySecret = new WeakMap<Buffer, HmacSha256>();

/** The HMAC of a secret the caller keeps as one Buffer (a sale's seed): its pads are kept with it. */
export function hmacFor(secret: Buffer): HmacSha256 {
  let h = bySecret.get(secret);
  if (!h) bySecret.set(secret, (h = new HmacSha256(secret)));
  return h;
}
