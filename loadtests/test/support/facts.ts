/** Facts of a simulated run where every promise held, for tests to break one at a time. */
import type { PromiseFacts } from '../../src/promises.js';

/** a run where every promise held */
export function goodFacts(): PromiseFacts {
  return {
    stock: 100,
    sold: 100,
    confirmedQuantity: 100,
    confirmedOrders: 100,
    rejectedOrders: 0,
    visitorsWithSeveralOrders: 0,
    accepted: 100,
    ordersTold: 100,
    acceptedNotConfirmed: 0,
    retriedPurchases: 20,
    retryMismatches: 0,
    buyersWanting: 900,
    outboxLeft: 0,
    fairness: {
      mode: 'prequeue-random',
      prequeueShoppers: 1000,
      prequeueRho: 0.01,
      inversions: 0,
      windowsCompared: 4,
      windowDisagreements: 0,
      rejoins: 50,
      rejoinMismatches: 0,
      duplicateIdentities: 0,
      botJoins: 40,
      botDistinctIdentities: 40,
    },
    stability: {
      answers5xx: 0,
      answers503: 3,
      missingRetryAfter: 0,
      networkErrors: 0,
      protocolErrors: 0,
      gatewayAlive: true,
      peakRssBytes: 200 * 2 ** 20,
      rssLimitBytes: 512 * 2 ** 20,
      unfinishedJourneys: 0,
    },
  };
}
