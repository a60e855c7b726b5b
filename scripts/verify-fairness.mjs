#!/usr/bin/env node
// Checks an ended sale's fairness from the outside, with nothing but its public answers:
//
//   node scripts/verify-fairness.mjs https://shop.example <saleId>
//
// It downloads `/api/sales/<saleId>/fairness` (the revealed seed and the rules) and the audit
// (one line per place in the queue), then checks that the seed is the one committed to before
// the sale (sha256), that every score is what the rules give for that place (recomputed from
// the pseudonym, the arrival and the seed), that every place sits in the window its arrival
// falls in, and that every admission went to the lowest score waiting at the time. Exit code 0:
// every check passed; 1: a check failed (each failure is printed); 2: the sale could not be read.
//
// Plain Node 20, no dependencies: copy this file anywhere and run it.
import { createHash, createHmac } from 'node:crypto';
import { pathToFileURL } from 'node:url';

/** window + a 32-bit fraction stays exact in a double up to this window */
const MAX_WINDOW = 2097151;

/** the random part of a place: the first 32 bits of HMAC-SHA256(seed, 'score:' + auditId) / 2^32 */
export function fractionOf(seed, auditId) {
  return createHmac('sha256', seed).update(`score:${auditId}`).digest().readUInt32BE(0) / 2 ** 32;
}

/** the arrival window: 0 before the start, then 1 + floor((t - start) / W); null when W = 0 */
export function windowOf(startsAt, windowMs, joinedAt) {
  if (joinedAt < startsAt) return 0;
  if (windowMs <= 0) return null;
  return Math.min(MAX_WINDOW, 1 + Math.floor((joinedAt - startsAt) / windowMs));
}

/**
 * The score the rules give a place, or 'sequence' for an arrival-sequence score (FIFO), which
 * only the order of arrivals can check.
 */
export function expectedScore(rules, seed, line) {
  const { mode, startsAt, windowMs } = rules;
  if (mode === 'fifo') return 'sequence';
  const fraction = fractionOf(seed, line.auditId);
  const lottery = mode === 'random' || line.joinedAt < startsAt;
  if (lottery) return line.round > 0 ? Math.min(MAX_WINDOW, 1 + line.after) + fraction : fraction;
  if (windowMs <= 0) return 'sequence';
  return windowOf(startsAt, windowMs, line.joinedAt) + fraction;
}

/** A binary min-heap of places by score. */
class Heap {
  #a = [];
  get size() {
    return this.#a.length;
  }
  peek() {
    return this.#a[0];
  }
  push(x) {
    const a = this.#a;
    a.push(x);
    for (let i = a.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (a[p].score <= a[i].score) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }
  pop() {
    const a = this.#a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0) {
      a[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l].score < a[m].score) m = l;
        if (r < a.length && a[r].score < a[m].score) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Checks a sale's audit against its `/fairness` answer. `lines`: the audit's parsed lines.
 * Returns { ok, errors, places, admissions }.
 */
export function verifyAudit(fairness, lines) {
  const errors = [];
  const fail = (msg) => {
    errors.push(msg);
  };
  if (typeof fairness.seed !== 'string') {
    return { ok: false, errors: ['the seed is not revealed yet: the sale has not ended'], places: 0, admissions: 0 };
  }
  const seed = Buffer.from(fairness.seed, 'hex');
  if (createHash('sha256').update(seed).digest('hex') !== fairness.seedCommitment) {
    fail('sha256(seed) is not the commitment published before the sale');
  }
  const rules = { mode: fairness.mode, startsAt: Date.parse(fairness.startsAt), windowMs: fairness.windowSeconds * 1000 };

  // 1. every score, and every window, from the rules
  const sequenced = [];
  for (const line of lines) {
    const where = `place ${line.auditId} round ${line.round}`;
    if (typeof line.auditId !== 'string' || !/^[0-9a-f]{32}$/.test(line.auditId)) fail(`${where}: no pseudonym`);
    if (typeof line.score !== 'number' || typeof line.joinedAt !== 'number' || typeof line.after !== 'number') {
      fail(`${where}: score, joinedAt or after missing`);
      continue;
    }
    const window = windowOf(rules.startsAt, rules.windowMs, line.joinedAt);
    if (line.window !== window) fail(`${where}: window ${line.window}, but its arrival falls in window ${window}`);
    const expected = expectedScore(rules, seed, line);
    if (expected === 'sequence') {
      if (!Number.isInteger(line.score)) fail(`${where}: score ${line.score} is not an arrival sequence number`);
      sequenced.push(line);
    } else if (line.score !== expected) {
      fail(`${where}: score ${line.score}, but the rules give ${expected}`);
    }
  }
  // arrival sequence numbers follow the arrivals
  sequenced.sort((a, b) => a.score - b.score);
  for (let i = 1; i < sequenced.length; i++) {
    if (sequenced[i].score === sequenced[i - 1].score) fail(`sequence number ${sequenced[i].score} given twice`);
    if (sequenced[i].joinedAt < sequenced[i - 1].joinedAt) {
      fail(`place ${sequenced[i].auditId} arrived before ${sequenced[i - 1].auditId} but has a later sequence number`);
    }
  }

  // 2. admission n went to the lowest score among the places taken before it (after < n) and
  //    not admitted yet
  const admitted = lines.filter((l) => typeof l.admission === 'number').sort((a, b) => a.admission - b.admission);
  for (let i = 1; i < admitted.length; i++) {
    if (admitted[i].admission === admitted[i - 1].admission) fail(`admission ${admitted[i].admission} given twice`);
  }
  // a place that left the queue without an admission (an order restored after a Redis loss) competed for nothing
  const competing = lines
    .filter((l) => typeof l.score === 'number' && typeof l.after === 'number' && (typeof l.admission === 'number' || l.state === 'queued'))
    .sort((a, b) => a.after - b.after);
  const heap = new Heap();
  const done = new Set();
  let next = 0;
  for (const place of admitted) {
    const n = place.admission;
    while (next < competing.length && competing[next].after < n) heap.push(competing[next++]);
    if (!(place.after < n)) fail(`admission ${n} went to place ${place.auditId}, taken after ${place.after} admissions`);
    while (heap.size > 0 && done.has(heap.peek())) heap.pop();
    const lowest = heap.peek();
    if (lowest && lowest.score < place.score) {
      fail(`admission ${n} went to score ${place.score} (${place.auditId}) while score ${lowest.score} (${lowest.auditId}) waited`);
    }
    done.add(place);
  }
  return { ok: errors.length === 0, errors, places: lines.length, admissions: admitted.length };
}

/** Downloads a sale's fairness answer and audit from `baseUrl` and verifies them. */
export async function verifySale(baseUrl, saleId, { fetch: get = fetch } = {}) {
  const fairnessRes = await get(new URL(`/api/sales/${encodeURIComponent(saleId)}/fairness`, baseUrl).href);
  if (!fairnessRes.ok) throw new Error(`GET /fairness answered ${fairnessRes.status}`);
  const fairness = await fairnessRes.json();
  if (!fairness.auditUrl) return { ok: false, errors: ['the sale has not ended: no audit yet'], places: 0, admissions: 0 };
  const auditRes = await get(new URL(fairness.auditUrl, baseUrl).href);
  if (!auditRes.ok) throw new Error(`GET ${fairness.auditUrl} answered ${auditRes.status}`);
  const lines = (await auditRes.text())
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
  return verifyAudit(fairness, lines);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [baseUrl, saleId] = process.argv.slice(2);
  if (!baseUrl || !saleId) {
    process.stderr.write('usage: node scripts/verify-fairness.mjs <baseUrl> <saleId>\n');
    process.exit(2);
  }
  try {
    const result = await verifySale(baseUrl, saleId);
    for (const e of result.errors) process.stdout.write(`FAIL ${e}\n`);
    process.stdout.write(
      `${result.ok ? 'OK' : 'FAILED'}: ${result.places} places, ${result.admissions} admissions, ${result.errors.length} problems\n`,
    );
    process.exit(result.ok ? 0 : 1);
  } catch (err) {
    process.stderr.write(`cannot verify: ${err.message}\n`);
    process.exit(2);
  }
}
