/**
 * One webhook delivery attempt: POSTs the stored body to the endpoint, signed as the Standard
 * Webhooks specification says (`webhook-id`, `webhook-timestamp`, `webhook-signature`, with
 * its reference implementation, the `standardwebhooks` package), within a timeout. Redirects
 * are not followed (a 3xx is a failure: the shop's endpoint is the URL it registered). The
 * answer is a value: ok (2xx) or a short reason that names no secret and no URL.
 */
import { Webhook } from 'standardwebhooks';

export interface WebhookRequest {
  readonly url: string;
  readonly secret: string;
  /** the event's id: the same on every attempt, so the shop de-duplicates by it */
  readonly eventId: string;
  readonly body: string;
}

export type SendResult =
  | { readonly ok: true; readonly status: number; readonly latencyMs: number }
  | { readonly ok: false; readonly status: number | null; readonly latencyMs: number; readonly error: string };

const MAX_ERROR_LENGTH = 200;

export async function sendWebhook(request: WebhookRequest, timeoutMs: number): Promise<SendResult> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  let signature: string;
  const now = new Date();
  try {
    signature = new Webhook(request.secret).sign(request.eventId, now, request.body);
  } catch {
    return { ok: false, status: null, latencyMs: 0, error: 'the endpoint secret is not a valid whsec_ key' };
  }
  try {
    const response = await fetch(request.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': request.eventId,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': signature,
      },
      body: request.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    // the answer's body is not read: only its status counts
    await response.body?.cancel().catch(() => undefined);
    if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status, latencyMs: elapsed() };
    const error =
      response.status >= 300 && response.status < 400 ? `redirect ${response.status} not followed` : `answered HTTP ${response.status}`;
    return { ok: false, status: response.status || null, latencyMs: elapsed(), error };
  } catch (err) {
    return { ok: false, status: null, latencyMs: elapsed(), error: describe(err, timeoutMs) };
  }
}

function describe(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `timed out after ${timeoutMs} ms`;
  // fetch's TypeError carries the socket error as its cause (ECONNREFUSED, ENOTFOUND, ...)
  const cause = err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const text =
    typeof cause?.code === 'string'
      ? `request failed: ${cause.code}`
      : err instanceof Error
        ? `request failed: ${err.message}`
        : 'request failed';
  return text.slice(0, MAX_ERROR_LENGTH);
}
