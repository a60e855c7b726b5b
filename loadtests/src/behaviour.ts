/**
 * What each simulated shopper will do, drawn once from a seeded generator so that a run can
 * be repeated exactly: walk away (while waiting or once admitted), send the purchase twice
 * (one after the other, or as a double click), refresh impatiently, watch over socket.io,
 * close the page at their turn.
 */

/** mulberry32: small, fast, good enough to pick behaviours; not for anything secret. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Abandon = 'none' | 'while-waiting' | 'at-checkout';
export type PurchaseRetry = 'none' | 'sequential' | 'concurrent';

export interface Traits {
  readonly abandon: Abandon;
  readonly retry: PurchaseRetry;
  /** polls more often than advised, and joins again with the ticket once */
  readonly impatient: boolean;
  /** one of the socket.io sample */
  readonly socket: boolean;
  /**
   * closes the page at their turn: the socket is closed once admitted and nothing is bought
   * (always with a socket; never walks away otherwise or buys twice)
   */
  readonly closeAtTurn: boolean;
}

export interface BehaviourMix {
  /** fraction that walks away: half while waiting, half once admitted */
  readonly abandon: number;
  /** fraction of buyers that send the purchase twice */
  readonly retry: number;
  readonly impatient: number;
  /** how many shoppers (spread evenly over all) open a socket.io connection */
  readonly socketSample: number;
  /** fraction that closes the page (its socket) at their turn and never buys */
  readonly closeAtTurn?: number;
}

export function drawTraits(shoppers: number, mix: BehaviourMix, seed: number): Traits[] {
  const rnd = seededRandom(seed);
  const socketEvery = mix.socketSample > 0 ? shoppers / Math.min(mix.socketSample, shoppers) : Number.POSITIVE_INFINITY;
  let nextSocket = 0;
  const out = new Array<Traits>(shoppers);
  for (let i = 0; i < shoppers; i++) {
    const a = rnd();
    const abandon: Abandon = a < mix.abandon / 2 ? 'while-waiting' : a < mix.abandon ? 'at-checkout' : 'none';
    const r = rnd();
    const retry: PurchaseRetry = r < mix.retry / 2 ? 'sequential' : r < mix.retry ? 'concurrent' : 'none';
    const impatient = rnd() < mix.impatient;
    let socket = false;
    if (i >= nextSocket) {
      socket = true;
      nextSocket += socketEvery;
    }
    // drawn only when asked for, so that the runs of a seed without closers stay as they were
    const closeAtTurn = (mix.closeAtTurn ?? 0) > 0 && rnd() < mix.closeAtTurn!;
    out[i] = closeAtTurn
      ? { abandon: 'none', retry: 'none', impatient, socket: true, closeAtTurn }
      : { abandon, retry, impatient, socket, closeAtTurn };
  }
  return out;
}
