/**
 * The fairness score: the queue is a sorted set and the admission loop takes the lowest
 * scores first.
 *
 *   score = window(arrival) + random(visitor)
 *
 * `window` is 0 for everyone who arrived before the sale started (the pre-queue, shuffled as
 * one), then 1 + floor((t - start) / W). Window numbers only grow, so nobody from a later
 * window is ever admitted before anybody of an earlier one. The random part is
 * HMAC-SHA256(seed, visitorId) read as a fraction in [0, 1): deterministic given the seed, so
 * once the seed is revealed anyone can re-derive the order from the audit export, and
 * unpredictable before (only sha256(seed) is published).
 *
 * The Lua join script applies the same rule with Redis's clock (one clock for all gateways);
 * this module is the reference the audit, the simulator and the tests use.
 */
import { createHash } from 'node:crypto';
import { hmacFor } from '../tokens/hmac.js';

export type QueueMode = 'prequeue-random' | 'fifo' | 'random';
export const QUEUE_MODES: readonly QueueMode[] = ['prequeue-random', 'fifo', 'random'];

/**
 * 32 bits: `window + fraction` must be exact in a double (53 bits), so that every score of a
 * later window is strictly above every score of an earlier one. 32 bits of fraction leave 21
 * for the window: 2,097,151 windows (24 days of one-second windows). Two visitors of one
 * window tie on the fraction with odds 2^-32; the sorted set then orders them by visitor id,
 * which is itself random.
 */
export const FRACTION_BITS = 32;
const FRACTION_SCALE = 2 ** FRACTION_BITS;
export const MAX_WINDOW = 2 ** (53 - FRACTION_BITS) - 1;

/** The random part in [0, 1), from the sale's secret seed and the visitor id. */
export function fairnessFraction(seed: Buffer, visitorId: string): number {
  const mac = hmacFor(seed).digest(visitorId);
  return mac.readUInt32BE(0) / FRACTION_SCALE;
}

/** What the sale publishes before it starts. */
export function seedCommitment(seed: Buffer): string {
  return createHash('sha256').update(seed).digest('hex');
}

export interface ScoreInput {
  readonly mode: QueueMode;
  readonly startsAt: number;
  readonly windowMs: number;
  /** arrival time, ms */
  readonly arrivedAt: number;
  /** arrival sequence number (1, 2, ...), for FIFO */
  readonly seq: number;
  readonly fraction: number;
}

/** The window an arrival falls in: 0 is the pre-queue. */
export function arrivalWindow(startsAt: number, windowMs: number, arrivedAt: number): number {
  if (arrivedAt < startsAt) return 0;
  if (windowMs <= 0) return Number.POSITIVE_INFINITY; // strict FIFO: every arrival its own window
  return Math.min(MAX_WINDOW, 1 + Math.floor((arrivedAt - startsAt) / windowMs));
}

export function fairnessScore(input: ScoreInput): number {
  switch (input.mode) {
    case 'fifo':
      return input.seq;
    case 'random':
      return input.fraction;
    case 'prequeue-random': {
      if (input.arrivedAt < input.startsAt) return input.fraction;
      if (input.windowMs <= 0) return 1 + input.seq;
      return arrivalWindow(input.startsAt, input.windowMs, input.arrivedAt) + input.fraction;
    }
  }
}

/**
 * The visitor's pseudonym in this sale's audit: the first 16 bytes of
 * HMAC-SHA256(seed, 'visitor:' + visitorId), hex. Per sale (the seed is), so the audit links
 * nobody across sales and publishes no visitor id; the visitor learns their own from the API
 * (`auditId`) to find their line. It tells nothing of the fraction before the seed is out.
 */
export function auditPseudonym(seed: Buffer, visitorId: string): string {
  return hmacFor(seed).digest(`visitor:${visitorId}`).subarray(0, 16).toString('hex');
}

/**
 * The random part from the pseudonym, so that an outsider holding the revealed seed and the
 * audit recomputes every score: the first 32 bits of HMAC-SHA256(seed, 'score:' + pseudonym) / 2^32.
 */
export function pseudonymFraction(seed: Buffer, pseudonym: string): number {
  return hmacFor(seed).digest(`score:${pseudonym}`).readUInt32BE(0) / FRACTION_SCALE;
}

/** The random part a visitor's place is scored with (join.lua gets it from the gateway). */
export function visitorFraction(seed: Buffer, visitorId: string): number {
  return pseudonymFraction(seed, auditPseudonym(seed, visitorId));
}

/** What `/fairness` says about how scores are made, for an outsider re-deriving them. */
export const FAIRNESS_ALGORITHM =
  'auditId = first 16 bytes of HMAC-SHA256(seed, "visitor:" + visitorId), hex; ' +
  'fraction = first 32 bits of HMAC-SHA256(seed, "score:" + auditId) / 2^32; ' +
  'prequeue-random: score = fraction before startsAt, else window + fraction with window = min(2097151, 1 + floor((joinedAt - startsAt) / windowSeconds)) ' +
  '(windowSeconds 0: 1 + arrival sequence); random: score = fraction; fifo: score = arrival sequence; ' +
  'a rejoin after a lapsed admission (round > 0) where the first place would score the bare fraction (random, or before startsAt) scores min(2097151, 1 + after) + fraction, ' +
  'after = admissions made before the place was taken; ' +
  'the lowest score waiting is admitted first: admission n goes to the lowest score among the places with after < n not admitted before n';
