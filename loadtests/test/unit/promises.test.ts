import { describe, expect, it } from 'vitest';
import { evaluatePromises, type PromiseFacts } from '../../src/promises.js';
import { goodFacts } from '../support/facts.js';

const verdict = (f: PromiseFacts) => Object.fromEntries(evaluatePromises(f).map((c) => [c.id, c.pass]));
const allPass = { I1: true, I2: true, I3: true, I4: true, I5: true, I6: true };

describe('evaluatePromises', () => {
  it('passes a clean run, every promise with its figures', () => {
    const checks = evaluatePromises(goodFacts());
    expect(checks.map((c) => c.id)).toEqual(['I1', 'I2', 'I3', 'I4', 'I5', 'I6']);
    expect(verdict(goodFacts())).toEqual(allPass);
    for (const c of checks) expect(c.items.length).toBeGreaterThan(0);
  });

  it('I1 breaks on oversell, in sales.sold or in the orders', () => {
    expect(verdict({ ...goodFacts(), sold: 101 }).I1).toBe(false);
    expect(verdict({ ...goodFacts(), confirmedQuantity: 101 }).I1).toBe(false);
    // the ledger disagreeing with itself is an I1 failure too
    expect(verdict({ ...goodFacts(), sold: 99 }).I1).toBe(false);
  });

  it('I2 breaks when a 202 order is not confirmed, or an order was rejected', () => {
    expect(verdict({ ...goodFacts(), acceptedNotConfirmed: 1 }).I2).toBe(false);
    expect(verdict({ ...goodFacts(), rejectedOrders: 1 }).I2).toBe(false);
  });

  it('I3 breaks on a visitor with two orders, a retry with another order id, or an order nobody was told of', () => {
    expect(verdict({ ...goodFacts(), visitorsWithSeveralOrders: 1 }).I3).toBe(false);
    expect(verdict({ ...goodFacts(), retryMismatches: 1 }).I3).toBe(false);
    expect(verdict({ ...goodFacts(), confirmedOrders: 101, confirmedQuantity: 101, sold: 101, stock: 200 }).I3).toBe(false);
  });

  it('I4 breaks on undersell only while demand exceeded stock, and on a hanging outbox', () => {
    expect(verdict({ ...goodFacts(), sold: 99, confirmedQuantity: 99, confirmedOrders: 99, accepted: 99, ordersTold: 99 }).I4).toBe(false);
    expect(
      verdict({ ...goodFacts(), sold: 50, confirmedQuantity: 50, confirmedOrders: 50, accepted: 50, ordersTold: 50, buyersWanting: 50 }),
    ).toEqual(allPass);
    expect(verdict({ ...goodFacts(), outboxLeft: 2 }).I4).toBe(false);
    expect(verdict({ ...goodFacts(), outboxLeft: null }).I4).toBe(true);
  });

  it('I5 breaks on an ordered pre-queue, inversions, a moved place, shared or reused identities', () => {
    const f = goodFacts();
    expect(verdict({ ...f, fairness: { ...f.fairness, prequeueRho: 0.3 } }).I5).toBe(false);
    expect(verdict({ ...f, fairness: { ...f.fairness, prequeueRho: -0.3 } }).I5).toBe(false);
    expect(verdict({ ...f, fairness: { ...f.fairness, inversions: 1 } }).I5).toBe(false);
    expect(verdict({ ...f, fairness: { ...f.fairness, windowDisagreements: 1 } }).I5).toBe(false);
    expect(verdict({ ...f, fairness: { ...f.fairness, rejoinMismatches: 1 } }).I5).toBe(false);
    expect(verdict({ ...f, fairness: { ...f.fairness, duplicateIdentities: 1 } }).I5).toBe(false);
    expect(verdict({ ...f, fairness: { ...f.fairness, botDistinctIdentities: 39 } }).I5).toBe(false);
  });

  it('I5 expects the arrival order in a fifo pre-queue, and does not judge a tiny one', () => {
    const f = goodFacts();
    expect(verdict({ ...f, fairness: { ...f.fairness, mode: 'fifo', prequeueRho: 0.01 } }).I5).toBe(false);
    expect(verdict({ ...f, fairness: { ...f.fairness, mode: 'fifo', prequeueRho: 0.999 } }).I5).toBe(true);
    expect(verdict({ ...f, fairness: { ...f.fairness, prequeueShoppers: 10, prequeueRho: 0.9 } }).I5).toBe(true);
  });

  it('I6 breaks on 5xx other than 503, a missing Retry-After, lost requests, a crash, memory, unfinished journeys', () => {
    const f = goodFacts();
    const st = f.stability;
    expect(verdict({ ...f, stability: { ...st, answers503: 50 } }).I6).toBe(true);
    expect(verdict({ ...f, stability: { ...st, answers5xx: 1 } }).I6).toBe(false);
    expect(verdict({ ...f, stability: { ...st, missingRetryAfter: 1 } }).I6).toBe(false);
    expect(verdict({ ...f, stability: { ...st, networkErrors: 1 } }).I6).toBe(false);
    expect(verdict({ ...f, stability: { ...st, protocolErrors: 1 } }).I6).toBe(false);
    expect(verdict({ ...f, stability: { ...st, gatewayAlive: false } }).I6).toBe(false);
    expect(verdict({ ...f, stability: { ...st, gatewayAlive: null, peakRssBytes: null } }).I6).toBe(true);
    expect(verdict({ ...f, stability: { ...st, peakRssBytes: 600 * 2 ** 20 } }).I6).toBe(false);
    expect(verdict({ ...f, stability: { ...st, unfinishedJourneys: 1 } }).I6).toBe(false);
  });
});
