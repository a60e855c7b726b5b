/**
 * Reads a JWT's claims without verifying it: the load tools only look at what the gateway
 * put in its own tokens (the ticket's fairness score `scr`, the admission token's sequence
 * `adm`), they never decide anything on them.
 */
export type Claims = Readonly<Record<string, unknown>>;

export function decodeClaims(token: string): Claims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return typeof claims === 'object' && claims !== null && !Array.isArray(claims) ? (claims as Claims) : undefined;
  } catch {
    return undefined;
  }
}

/** A numeric claim, or undefined when absent or not a finite number. */
export function numericClaim(token: string, name: string): number | undefined {
  const v = decodeClaims(token)?.[name];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
