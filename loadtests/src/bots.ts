/**
 * Bots: scripts that fire joins as fast as they can, without cookies or a ticket, hoping for
 * a better place. Each join is a new identity (the gateway cannot tell them apart from new
 * shoppers), and the fairness score gives each a uniformly random place in its window: being
 * first to the door gains nothing. The simulator records every identity a bot got, to set its
 * place against the honest shoppers' of the same window.
 */
import { parseJoin, retryAfterMs } from './api-answers.js';
import type { ApiClient } from './api-client.js';
import { numericClaim } from './jwt-claims.js';

export interface BotIdentity {
  readonly bot: number;
  readonly visitorId: string;
  readonly score: number | undefined;
  /** the place the join answered (null in the pre-queue, where the order is not drawn yet) */
  readonly position: number | null;
  readonly sentAt: number;
  readonly status: number;
}

export interface BotRun {
  readonly identities: BotIdentity[];
  /** joins answered with something other than a new place (429, 409 sold out, ...) */
  readonly refused: Record<number, number>;
}

/** `bots` bots, each sending `joinsEach` joins back to back; all start at once. */
export async function runBots(
  api: ApiClient,
  saleId: string,
  bots: number,
  joinsEach: number,
  deadline: number,
  firstBot = 0,
): Promise<BotRun> {
  const identities: BotIdentity[] = [];
  const refused: Record<number, number> = {};
  await Promise.all(
    Array.from({ length: bots }, async (_, b) => {
      for (let i = 0; i < joinsEach && Date.now() < deadline; i++) {
        // one address per bot (TEST-NET-1): a per-IP limit, when configured, sees each bot as one client
        const a = await api.call('bot-join', 'POST', `/api/sales/${saleId}/queue`, { body: {}, from: `192.0.2.${(firstBot + b) % 250}` });
        const j = a.status === 201 || a.status === 200 ? parseJoin(a.body) : undefined;
        if (j) {
          identities.push({
            bot: firstBot + b,
            visitorId: j.visitorId,
            score: numericClaim(j.ticket, 'scr'),
            position: j.position,
            sentAt: a.sentAt,
            status: a.status,
          });
        } else {
          refused[a.status] = (refused[a.status] ?? 0) + 1;
          if (a.status === 409) return; // sold out or ended: nothing left to grab
          const wait = retryAfterMs(a.headers['retry-after']);
          // a bot ignores Retry-After; but give a gateway that said nothing a moment
          if (wait === undefined && a.status === 0) await new Promise((r) => setTimeout(r, 50));
        }
      }
    }),
  );
  return { identities, refused };
}
