/**
 * The shop's calls to Velvet Rope's shop API: `POST /api/shop/orders/:orderId/paid` once the
 * payment went through, `.../cancel` when it failed, with `Authorization: Bearer SHOP_API_KEY`.
 * Both are idempotent on Velvet Rope's side, so a call whose answer was lost is safe to repeat.
 */

export type ShopCall = 'paid' | 'cancel';

/** the order as Velvet Rope answers it (the fields this shop reads) */
export interface VelvetRopeOrder {
  readonly orderId: string;
  readonly saleId?: string;
  readonly status: string;
  readonly quantity?: number;
  readonly paymentDueAt?: string | null;
  readonly cancelReason?: string | null;
}

export type ShopCallOutcome =
  | { readonly ok: true; readonly order: VelvetRopeOrder }
  /** Velvet Rope refused (409 ORDER_FINAL, 409 PAYMENT_WINDOW_OVER, 404 ORDER_NOT_FOUND, ...): its code */
  | { readonly ok: false; readonly status: number; readonly code: string; readonly message: string }
  /** Velvet Rope could not be reached, or answered 5xx: the call may be repeated */
  | { readonly ok: false; readonly status: 0 | 500 | 502 | 503 | 504; readonly code: 'UNAVAILABLE'; readonly message: string };

export interface VelvetRopeClient {
  settle(orderId: string, call: ShopCall): Promise<ShopCallOutcome>;
}

export function velvetRopeClient(baseUrl: string, shopApiKey: string, timeoutMs = 10_000): VelvetRopeClient {
  return {
    async settle(orderId, call) {
      let res: Response;
      try {
        res = await fetch(`${baseUrl}/api/shop/orders/${encodeURIComponent(orderId)}/${call}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${shopApiKey}`, accept: 'application/json' },
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        return { ok: false, status: 0, code: 'UNAVAILABLE', message: `Velvet Rope did not answer: ${(err as Error).message}` };
      }
      const body: unknown = await res.json().catch(() => undefined);
      // the order itself, or wrapped as `{ order }`
      const order = isOrder(body)
        ? body
        : isOrder((body as { order?: unknown } | undefined)?.order)
          ? (body as { order: VelvetRopeOrder }).order
          : undefined;
      if (res.status === 200 && order) return { ok: true, order };
      if (res.status >= 500 || res.status === 200) {
        return { ok: false, status: 503, code: 'UNAVAILABLE', message: `Velvet Rope answered ${res.status}` };
      }
      const err = (body ?? {}) as { code?: unknown; message?: unknown };
      return {
        ok: false,
        status: res.status,
        code: typeof err.code === 'string' ? err.code : `HTTP_${res.status}`,
        message: typeof err.message === 'string' ? err.message : `Velvet Rope answered ${res.status}`,
      };
    },
  };
}

function isOrder(body: unknown): body is VelvetRopeOrder {
  if (typeof body !== 'object' || body === null) return false;
  const o = body as Record<string, unknown>;
  return typeof o.orderId === 'string' && typeof o.status === 'string';
}
