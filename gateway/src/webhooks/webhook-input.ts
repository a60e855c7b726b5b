/**
 * What a webhook endpoint is made of before it is stored: its id (`wh_<random>`), its
 * Standard Webhooks signing secret (`whsec_` + base64 of 24 random bytes, shown once), and the
 * checks of what a marketer or the environment gives (the URL rule is lib/shop-url.ts's).
 */
import { randomBytes } from 'node:crypto';

export function newWebhookId(): string {
  return `wh_${randomBytes(12).toString('base64url')}`;
}

export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

const SECRET_RE = /^whsec_([A-Za-z0-9+/]+={0,2})$/;

/** `whsec_` and the standard base64 of at least 16 bytes (what the standardwebhooks package signs with) */
export function isWebhookSecret(value: string): boolean {
  const m = SECRET_RE.exec(value);
  if (!m) return false;
  const body = m[1]!;
  if (body.length % 4 !== 0) return false;
  return Buffer.from(body, 'base64').length >= 16;
}
