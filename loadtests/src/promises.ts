/**
 * The six promises (I1-I6 of the design) checked against what a run observed and what
 * PostgreSQL holds afterwards. Pure: the facts in, one verdict per promise out, each with
 * the figures it rests on, so the report can show why it passed or failed.
 */
import { randomOrderRhoBound } from './rank-statistics.js';

export type QueueMode = 'prequeue-random' | 'fifo' | 'random';

export interface PromiseFacts {
  readonly stock: number;
  /** sales.sold in PostgreSQL */
  readonly sold: number;
  readonly confirmedQuantity: number;
  readonly confirmedOrders: number;
  readonly rejectedOrders: number;
  readonly visitorsWithSeveralOrders: number;
  /** purchases answered 202 */
  readonly accepted: number;
  /** distinct order ids the shoppers were told (202, 200, or a 503 body) */
  readonly ordersTold: number;
  /** of those, not confirmed in PostgreSQL after the worker drained */
  readonly acceptedNotConfirmed: number;
  /** shoppers who sent their purchase twice */
  readonly retriedPurchases: number;
  /** ... and got a different order id the second time */
  readonly retryMismatches: number;
  /** honest shoppers who would buy if admitted (not walking away) */
  readonly buyersWanting: number;
  /** Redis outbox entries left once the worker drained */
  readonly outboxLeft: number | null;
  readonly fairness: FairnessFacts;
  readonly stability: StabilityFacts;
}

export interface FairnessFacts {
  readonly mode: QueueMode;
  /** honest pre-queue shoppers with a score, and rho(arrival order, score) over them */
  readonly prequeueShoppers: number;
  readonly prequeueRho: number;
  /** see windowInversions() */
  readonly inversions: number;
  readonly windowsCompared: number;
  /** scores whose window the client's own clock does not allow */
  readonly windowDisagreements: number;
  readonly rejoins: number;
  readonly rejoinMismatches: number;
  /** honest shoppers sharing a visitor id with another */
  readonly duplicateIdentities: number;
  readonly botJoins: number;
  readonly botDistinctIdentities: number;
}

export interface StabilityFacts {
  /** 5xx other than 503 */
  readonly answers5xx: number;
  readonly answers503: number;
  readonly missingRetryAfter: number;
  readonly networkErrors: number;
  readonly protocolErrors: number;
  /** null: not known (a gateway the simulator did not start) */
  readonly gatewayAlive: boolean | null;
  readonly peakRssBytes: number | null;
  readonly rssLimitBytes: number;
  /** journeys that ran out of time instead of being told where they stand */
  readonly unfinishedJourneys: number;
}

export interface CheckItem {
  readonly name: string;
  readonly pass: boolean;
  readonly value: string;
  readonly expected: string;
}

export interface PromiseCheck {
  readonly id: 'I1' | 'I2' | 'I3' | 'I4' | 'I5' | 'I6';
  readonly promise: string;
  readonly pass: boolean;
  readonly items: readonly CheckItem[];
}

const item = (name: string, pass: boolean, value: unknown, expected: string): CheckItem => ({
  name,
  pass,
  value: typeof value === 'number' && !Number.isInteger(value) ? value.toFixed(4) : String(value),
  expected,
});

const check = (id: PromiseCheck['id'], promise: string, items: CheckItem[]): PromiseCheck => ({
  id,
  promise,
  pass: items.every((i) => i.pass),
  items,
});

export function evaluatePromises(f: PromiseFacts): PromiseCheck[] {
  const fair = f.fairness;
  const st = f.stability;
  const rhoItems: CheckItem[] = [];
  if (fair.prequeueShoppers < 30) {
    rhoItems.push(item('pre-queue too small to judge its order', true, fair.prequeueShoppers, '>= 30 to test'));
  } else if (fair.mode === 'fifo') {
    rhoItems.push(
      item('rho(arrival, queue order) in the pre-queue (fifo: arrival order)', fair.prequeueRho > 0.99, fair.prequeueRho, '> 0.99'),
    );
  } else {
    const bound = randomOrderRhoBound(fair.prequeueShoppers);
    rhoItems.push(
      item(
        'rho(arrival, queue order) in the pre-queue (uniformly random)',
        Math.abs(fair.prequeueRho) < bound,
        fair.prequeueRho,
        `|rho| < ${bound.toFixed(4)} (4 standard errors for n=${fair.prequeueShoppers})`,
      ),
    );
  }
  return [
    check('I1', 'no oversell', [
      item('sold (PostgreSQL sales.sold) <= stock', f.sold <= f.stock, `${f.sold} / ${f.stock}`, `<= ${f.stock}`),
      item('confirmed quantity <= stock', f.confirmedQuantity <= f.stock, f.confirmedQuantity, `<= ${f.stock}`),
      item('confirmed quantity == sold', f.confirmedQuantity === f.sold, f.confirmedQuantity, String(f.sold)),
    ]),
    check('I2', 'no lost order', [
      item('202 answers not confirmed in PostgreSQL', f.acceptedNotConfirmed === 0, `${f.acceptedNotConfirmed} of ${f.accepted}`, '0'),
      item('orders rejected (only after a Redis data loss)', f.rejectedOrders === 0, f.rejectedOrders, '0'),
    ]),
    check('I3', 'no duplicate', [
      item('visitors with more than one order', f.visitorsWithSeveralOrders === 0, f.visitorsWithSeveralOrders, '0'),
      item('retried purchases answered another order id', f.retryMismatches === 0, `${f.retryMismatches} of ${f.retriedPurchases}`, '0'),
      item(
        'orders stored == distinct order ids the shoppers were told',
        f.confirmedOrders + f.rejectedOrders === f.ordersTold,
        f.confirmedOrders + f.rejectedOrders,
        String(f.ordersTold),
      ),
    ]),
    check('I4', 'no undersell', [
      f.buyersWanting > f.stock
        ? item(
            'sold == stock (demand exceeded stock)',
            f.sold === f.stock,
            `${f.sold} / ${f.stock}`,
            `${f.stock} (demand ${f.buyersWanting})`,
          )
        : item('demand did not exceed stock: nothing to check', true, `demand ${f.buyersWanting}`, `> ${f.stock} to test`),
      item(
        'reservations left hanging (Redis outbox after the worker drained)',
        f.outboxLeft === null || f.outboxLeft === 0,
        f.outboxLeft ?? 'not read',
        '0',
      ),
    ]),
    check('I5', 'fairness', [
      ...rhoItems,
      item(
        'inversions across windows (a later window admitted before an earlier one)',
        fair.inversions === 0,
        `${fair.inversions} over ${fair.windowsCompared} windows`,
        '0',
      ),
      item("scores in a window the client's clock does not allow", fair.windowDisagreements === 0, fair.windowDisagreements, '0'),
      item(
        're-joins with the ticket that got another place',
        fair.rejoinMismatches === 0,
        `${fair.rejoinMismatches} of ${fair.rejoins}`,
        '0',
      ),
      item('honest shoppers sharing an identity', fair.duplicateIdentities === 0, fair.duplicateIdentities, '0'),
      item(
        'bot joins that got a new identity each',
        fair.botDistinctIdentities === fair.botJoins,
        `${fair.botDistinctIdentities} of ${fair.botJoins}`,
        String(fair.botJoins),
      ),
    ]),
    check('I6', 'stability', [
      item('5xx answers other than 503', st.answers5xx === 0, st.answers5xx, '0'),
      item('503 answers (allowed, with Retry-After)', true, st.answers503, 'any'),
      item('429/503 without Retry-After', st.missingRetryAfter === 0, st.missingRetryAfter, '0'),
      item('requests without an answer (connection errors, timeouts)', st.networkErrors === 0, st.networkErrors, '0'),
      item('answers without the documented shape', st.protocolErrors === 0, st.protocolErrors, '0'),
      item('gateway still up', st.gatewayAlive !== false, st.gatewayAlive ?? 'not known', 'true'),
      item(
        'gateway peak RSS',
        st.peakRssBytes === null || st.peakRssBytes <= st.rssLimitBytes,
        st.peakRssBytes === null ? 'not measured' : `${(st.peakRssBytes / 2 ** 20).toFixed(1)} MiB`,
        `<= ${(st.rssLimitBytes / 2 ** 20).toFixed(0)} MiB`,
      ),
      item('journeys that ran out of time (not told where they stand)', st.unfinishedJourneys === 0, st.unfinishedJourneys, '0'),
    ]),
  ];
}
