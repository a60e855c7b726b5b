/**
 * What the shop's webhook endpoint does with a delivery: verify its Standard Webhooks
 * signature over the exact bytes received (`standardwebhooks`, the specification's reference
 * implementation), then record the event once per `webhook-id` (Velvet Rope delivers at least
 * once: a retry after a lost answer carries the same id, and answers 200 without being recorded
 * again). Kept in memory, the oldest first out past `maxEvents`: an example, not a ledger.
 */
import { Webhook, WebhookVerificationError } from 'standardwebhooks';

export interface ReceivedEvent {
  readonly webhookId: string;
  readonly type: string;
  readonly timestamp: string | undefined;
  readonly data: unknown;
  /** when this shop first received it, ISO 8601 */
  readonly receivedAt: string;
  /** deliveries of the same webhook-id after the first */
  duplicates: number;
}

export type Receipt =
  | { readonly outcome: 'recorded' | 'duplicate'; readonly event: ReceivedEvent }
  | { readonly outcome: 'bad_signature'; readonly reason: string }
  | { readonly outcome: 'unavailable'; readonly retryAfterSeconds: number };

export interface InboxFigures {
  readonly events: readonly ReceivedEvent[];
  /** deliveries refused for their signature (or a missing header, or an old timestamp) */
  readonly badSignatures: number;
  /** deliveries answered 503 during a test outage */
  readonly refusedDuringOutage: number;
  readonly duplicates: number;
}

export interface WebhookInbox {
  receive(rawBody: string, headers: Readonly<Record<string, string | string[] | undefined>>): Receipt;
  /** answers 503 for the next `seconds` (a test's outage); 0 ends one */
  outage(seconds: number): void;
  figures(): InboxFigures;
}

const HEADERS = ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const;

export function webhookInbox(secret: string, maxEvents: number, now: () => number = Date.now): WebhookInbox {
  const verifier = new Webhook(secret);
  const byId = new Map<string, ReceivedEvent>();
  let downUntil = 0;
  let badSignatures = 0;
  let refusedDuringOutage = 0;
  let duplicates = 0;

  return {
    receive(rawBody, headers) {
      if (now() < downUntil) {
        refusedDuringOutage++;
        return { outcome: 'unavailable', retryAfterSeconds: Math.max(1, Math.ceil((downUntil - now()) / 1000)) };
      }
      const signed: Record<string, string> = {};
      for (const name of HEADERS) {
        const value = headers[name];
        if (typeof value !== 'string') {
          badSignatures++;
          return { outcome: 'bad_signature', reason: `missing header ${name}` };
        }
        signed[name] = value;
      }
      let body: unknown;
      try {
        body = verifier.verify(rawBody, signed);
      } catch (err) {
        badSignatures++;
        return { outcome: 'bad_signature', reason: err instanceof WebhookVerificationError ? err.message : 'not verifiable' };
      }
      const webhookId = signed['webhook-id']!;
      const seen = byId.get(webhookId);
      if (seen) {
        seen.duplicates++;
        duplicates++;
        return { outcome: 'duplicate', event: seen };
      }
      const b = (typeof body === 'object' && body !== null ? body : {}) as { type?: unknown; timestamp?: unknown; data?: unknown };
      const event: ReceivedEvent = {
        webhookId,
        type: typeof b.type === 'string' ? b.type : 'unknown',
        timestamp: typeof b.timestamp === 'string' ? b.timestamp : undefined,
        data: b.data,
        receivedAt: new Date(now()).toISOString(),
        duplicates: 0,
      };
      byId.set(webhookId, event);
      // a Map iterates in insertion order: the first key is the oldest event
      if (byId.size > maxEvents) byId.delete(byId.keys().next().value!);
      return { outcome: 'recorded', event };
    },
    outage(seconds) {
      downUntil = seconds > 0 ? now() + seconds * 1000 : 0;
    },
    figures() {
      return { events: [...byId.values()], badSignatures, refusedDuringOutage, duplicates };
    },
  };
}
