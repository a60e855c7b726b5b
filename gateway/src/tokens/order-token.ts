/**
 * Order tokens: what the shopper carries to the shop's checkout (issue 14). An EdDSA JWT from
 * the same key ring as the admission tokens (`kid` in the header), so the shop verifies it
 * with `/.well-known/jwks.json` and any JOSE library: `iss` the admission tokens' issuer, `aud`
 * the sale, `sub` the shopper (visitor id), `order_id`, `qty`, `iat` the order's commit and
 * `exp` the payment deadline (epoch seconds), and for a shopper the shop signed in (a sale with
 * `identity: shop`) `acct`, the shop's own account id (its identity's `sub`). Ed25519 is deterministic and every claim comes
 * from the committed order, so the same order always gets the same token: nothing is stored.
 *
 * The checkout link is the sale's `checkoutUrl` with `order=<id>&token=<jwt>` added to its query.
 */
import { SignJWT } from 'jose';
import type { KeyRing } from './signing-keys.js';

export interface OrderToSign {
  readonly orderId: string;
  readonly saleId: string;
  readonly visitorId: string;
  /** the shop's account behind the visitor id, if the shopper was signed in (the `acct` claim) */
  readonly account?: string | null;
  readonly quantity: number;
  /** when the order was committed (ms) */
  readonly confirmedAt: number;
  /** the end of the payment window (ms) */
  readonly paymentDueAt: number;
}

export interface Checkout {
  /** the full link: the checkout URL with `order` and `token` in its query */
  readonly url: string;
  readonly token: string;
}

export class OrderTokens {
  constructor(
    private readonly keys: KeyRing,
    readonly issuer: string,
  ) {}

  sign(o: OrderToSign): Promise<string> {
    const key = this.keys.active;
    return (
      new SignJWT({ order_id: o.orderId, qty: o.quantity, ...(o.account ? { acct: o.account } : {}) })
        .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' })
        .setIssuer(this.issuer)
        .setAudience(o.saleId)
        .setSubject(o.visitorId)
        .setIssuedAt(Math.floor(o.confirmedAt / 1000))
        // rounded up, like the admission token's: never expired before the deadline announced
        .setExpirationTime(Math.ceil(o.paymentDueAt / 1000))
        .sign(key.privateKey)
    );
  }

  /** The hand-off for a confirmed order of a sale that has a checkout page. */
  async checkout(checkoutUrl: string, o: OrderToSign): Promise<Checkout> {
    const token = await this.sign(o);
    return { url: checkoutLink(checkoutUrl, o.orderId, token), token };
  }
}

/** `checkoutUrl` with `order` and `token` set in its query (its other parameters and fragment kept). */
export function checkoutLink(checkoutUrl: string, orderId: string, token: string): string {
  const url = new URL(checkoutUrl);
  url.searchParams.set('order', orderId);
  url.searchParams.set('token', token);
  return url.toString();
}
