/**
 * Fairness (I5) from what the shoppers saw: the order the pre-queue was drawn in against the
 * order of arrival, the admission order against the arrival windows, whether each score's
 * window agrees with the client's clock, and where the bots' identities landed.
 */
import { windowAgrees } from './arrivals.js';
import type { BotIdentity } from './bots.js';
import type { QueueMode } from './promises.js';
import { mean, normalizedRanks, spearman, windowInversions, type InversionResult } from './rank-statistics.js';
import type { ShopperRecord } from './shopper.js';

export interface BotFigures {
  readonly bots: number;
  readonly joins: number;
  readonly distinctIdentities: number;
  /** mean place of the bots' identities among everyone of their window: 0 front, 1 back, 0.5 no advantage */
  readonly meanNormalizedRank: number | null;
  readonly honestMeanNormalizedRank: number | null;
  /** share of bot identities in the front 10 % of their window (no advantage: about 0.10) */
  readonly shareInFrontTenth: number | null;
  readonly bestNormalizedRank: number | null;
  /**
   * positions the join answered after the start (the pre-queue answers none), bots against
   * honest shoppers of the same windows
   */
  readonly meanPositionAtJoin: number | null;
  readonly honestMeanPositionAtJoin: number | null;
}

export interface FairnessFigures {
  readonly mode: QueueMode;
  readonly windowSeconds: number;
  readonly prequeueShoppers: number;
  /** Spearman rho of arrival order and queue order (score) in the pre-queue */
  readonly prequeueRho: number;
  /** Spearman rho of arrival order and admission order over the pre-queue shoppers admitted */
  readonly prequeueAdmittedRho: number;
  readonly windows: InversionResult;
  readonly windowDisagreements: number;
  readonly rejoins: number;
  /** re-joins that found the earlier place lapsed (admitted unseen, checkout over) and got a new one */
  readonly rejoinsAfterExpiry: number;
  readonly rejoinMismatches: number;
  readonly duplicateIdentities: number;
  readonly bots: BotFigures;
}

/** The key that admission must respect: the window, or the score itself in strict FIFO. */
export function orderKey(score: number, mode: QueueMode, windowSeconds: number): number {
  if (mode === 'random') return 0;
  if (mode === 'fifo') return score;
  if (windowSeconds <= 0) return score < 1 ? 0 : score;
  return Math.floor(score);
}

export interface FairnessInput {
  readonly shoppers: readonly ShopperRecord[];
  readonly bots: readonly BotIdentity[];
  readonly botCount: number;
  readonly mode: QueueMode;
  readonly windowSeconds: number;
  readonly startsAt: number;
}

export function analyseFairness(input: FairnessInput): FairnessFigures {
  const { shoppers, mode, windowSeconds, startsAt } = input;
  const scored = shoppers.filter((s) => s.score !== undefined);
  // who really joined before the start: the score says so (window 0), or in strict FIFO the clock
  const pre = scored.filter((s) => (mode === 'fifo' ? s.answeredAt < startsAt : s.score! < 1));
  const prequeueRho = spearman(
    pre.map((s) => s.index),
    pre.map((s) => s.score!),
  );
  const preAdmitted = pre.filter((s) => s.admission !== undefined);
  const prequeueAdmittedRho = spearman(
    preAdmitted.map((s) => s.index),
    preAdmitted.map((s) => s.admission!),
  );

  const windows = windowInversions(
    scored
      .filter((s) => s.admission !== undefined || s.end === 'sold_out')
      .map((s) => ({ window: orderKey(s.score!, mode, windowSeconds), admission: s.admission ?? null })),
  );

  let windowDisagreements = 0;
  if (mode === 'prequeue-random' && windowSeconds > 0) {
    for (const s of scored) {
      if (!windowAgrees(Math.floor(s.score!), s.sentAt, s.answeredAt, startsAt, windowSeconds * 1000)) windowDisagreements++;
    }
  }

  const ids = new Set<string>();
  let duplicateIdentities = 0;
  for (const s of shoppers) {
    if (s.visitorId === undefined) continue;
    if (ids.has(s.visitorId)) duplicateIdentities++;
    ids.add(s.visitorId);
  }

  return {
    mode,
    windowSeconds,
    prequeueShoppers: pre.length,
    prequeueRho,
    prequeueAdmittedRho,
    windows,
    windowDisagreements,
    rejoins: shoppers.filter((s) => s.rejoined).length,
    rejoinsAfterExpiry: shoppers.filter((s) => s.rejoinedAfterExpiry).length,
    rejoinMismatches: shoppers.filter((s) => s.rejoinMismatch !== undefined).length,
    duplicateIdentities,
    bots: botFigures(input, scored),
  };
}

function botFigures(input: FairnessInput, scored: readonly ShopperRecord[]): BotFigures {
  const { bots, mode, windowSeconds } = input;
  const scoredBots = bots.filter((b) => b.score !== undefined);
  // everyone of a window, honest and bot, by window key
  const byWindow = new Map<number, { honest: number[]; bots: number[] }>();
  const slot = (k: number) => {
    let w = byWindow.get(k);
    if (!w) byWindow.set(k, (w = { honest: [], bots: [] }));
    return w;
  };
  const key = (score: number) => (mode === 'fifo' ? 0 : orderKey(score, mode, windowSeconds === 0 ? 1 : windowSeconds));
  for (const s of scored) slot(key(s.score!)).honest.push(s.score!);
  for (const b of scoredBots) slot(key(b.score!)).bots.push(b.score!);
  const botRanks: number[] = [];
  const honestRanks: number[] = [];
  for (const w of byWindow.values()) {
    if (w.bots.length === 0) continue;
    const everyone = [...w.honest, ...w.bots];
    botRanks.push(...normalizedRanks(w.bots, everyone));
    honestRanks.push(...normalizedRanks(w.honest, everyone));
  }
  const botPositions = bots.map((b) => b.position).filter((p): p is number => p !== null);
  const botWindows = new Set(scoredBots.filter((b) => b.position !== null).map((b) => key(b.score!)));
  const honestPositions = scored.filter((s) => s.joinPosition !== null && botWindows.has(key(s.score!))).map((s) => s.joinPosition!);
  const orNull = (v: number) => (Number.isNaN(v) ? null : Math.round(v * 10_000) / 10_000);
  return {
    bots: input.botCount,
    joins: bots.length,
    distinctIdentities: new Set(bots.map((b) => b.visitorId)).size,
    meanNormalizedRank: orNull(mean(botRanks)),
    honestMeanNormalizedRank: orNull(mean(honestRanks)),
    shareInFrontTenth: botRanks.length ? orNull(botRanks.filter((r) => r < 0.1).length / botRanks.length) : null,
    bestNormalizedRank: botRanks.length ? orNull(Math.min(...botRanks)) : null,
    meanPositionAtJoin: botPositions.length ? Math.round(mean(botPositions)) : null,
    honestMeanPositionAtJoin: honestPositions.length ? Math.round(mean(honestPositions)) : null,
  };
}
