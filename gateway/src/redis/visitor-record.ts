/**
 * The visitor record in a sale's `visitors` hash: the TypeScript half of the codec whose Lua
 * half is in redis/scripts/includes/common.lua (visitor_decode and the visitor_* writers; the
 * scripts write it, the gateway reads it for the purchase path and the fairness audit). This is
 * the only TypeScript code that knows the format: nothing else splits a record. Change both
 * halves together. Fields are separated by '|':
 *
 *   q|score|joinedAt|after|rounds                       queued
 *   a|score|jti|expiresAt|seq|joinedAt|after|rounds     admitted
 *   x|score|seq|joinedAt|after|rounds                   admission expired unused
 *   o|orderId|score|seq|joinedAt|after|rounds           ordered
 *   h|score|seq|joinedAt|after|rounds                   handed over (a sub-queue of a sale over
 *                                                       several shards: the main tag admitted it)
 *
 * joinedAt: when the place was taken (Redis ms); after: the admissions made before it;
 * rounds: earlier places of the same visitor (rejoins after a lapsed admission), ';'-separated
 * `score,joinedAt,after,seq`. Records written before these fields existed end early.
 */

export type VisitorKind = 'queued' | 'admitted' | 'expired' | 'ordered' | 'handed';

/** one place a visitor took in the queue */
export interface VisitorPlace {
  readonly score: number | null;
  readonly joinedAt: number | null;
  readonly after: number | null;
  /** the admission sequence number, when this place was admitted */
  readonly admission: number | null;
}

export interface VisitorRecord extends VisitorPlace {
  readonly kind: VisitorKind;
  readonly jti: string | null;
  readonly expiresAt: number | null;
  readonly orderId: string | null;
  /** the earlier places, oldest first (each was admitted and lapsed) */
  readonly rounds: readonly VisitorPlace[];
}

const KINDS: Record<string, VisitorKind> = { q: 'queued', a: 'admitted', x: 'expired', o: 'ordered', h: 'handed' };

const num = (v: string | undefined): number | null => {
  if (v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
};
const text = (v: string | undefined): string | null => (v === undefined || v === '' ? null : v);

function decodeRounds(s: string | undefined): VisitorPlace[] {
  if (!s) return [];
  return s.split(';').map((r) => {
    const [score, joinedAt, after, seq] = r.split(',');
    return { score: num(score), joinedAt: num(joinedAt), after: num(after), admission: num(seq) };
  });
}

/** Decodes a record; undefined for one this codec does not know. */
export function decodeVisitorRecord(record: string): VisitorRecord | undefined {
  const f = record.split('|');
  const kind = KINDS[f[0] ?? ''];
  if (!kind) return undefined;
  let score: string | undefined;
  let jti: string | undefined;
  let expiresAt: string | undefined;
  let seq: string | undefined;
  let orderId: string | undefined;
  let at: number;
  switch (kind) {
    case 'queued':
      [score, at] = [f[1], 2];
      break;
    case 'admitted':
      [score, jti, expiresAt, seq, at] = [f[1], f[2], f[3], f[4], 5];
      break;
    case 'expired':
    case 'handed':
      [score, seq, at] = [f[1], f[2], 3];
      break;
    case 'ordered':
      [orderId, score, seq, at] = [f[1], f[2], f[3], 4];
      break;
  }
  return {
    kind,
    score: num(score),
    jti: text(jti),
    expiresAt: num(expiresAt),
    admission: num(seq),
    orderId: text(orderId),
    joinedAt: num(f[at]),
    after: num(f[at + 1]),
    rounds: decodeRounds(f[at + 2]),
  };
}
