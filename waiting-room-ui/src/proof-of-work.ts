/**
 * The shopper's side of a sale's proof of work on join: find `solution` such that
 * SHA-256(`<challenge>:<solution>`) starts with `difficulty` zero bits. About 2^difficulty
 * hashes; Web Crypto digests are asynchronous, so the page stays responsive while it works.
 */
function leadingZeroBits(digest: Uint8Array): number {
  let bits = 0;
  for (const byte of digest) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

export async function solveChallenge(challenge: string, difficulty: number): Promise<string> {
  const encoder = new TextEncoder();
  for (let i = 0; ; i++) {
    const solution = i.toString(36);
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(`${challenge}:${solution}`)));
    if (leadingZeroBits(digest) >= difficulty) return solution;
  }
}
