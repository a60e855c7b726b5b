/**
 * Issue 12 item 12: the fairness audit let an outsider check less than it should: only
 * `admitted` lines carried the admission sequence, no line its arrival window, a rejoin
 * overwrote the earlier score, and the raw visitor ids were published (stable across sales
 * through the `vr_vid` cookie: the lever of item 3). The verify recipe in the docs
 * (scripts/verify-fairness.mjs) is run here against a real ended sale.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminHeaders, buy, createHarness, createSale, join, me, type Harness, type Joined, until } from '../../support/harness.js';
// @ts-expect-error: a plain .mjs script without types, run as the docs say
import { verifyAudit, verifySale } from '../../../../scripts/verify-fairness.mjs';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h?.close();
});

interface AuditLine {
  auditId: string;
  round: number;
  state: string;
  score: number;
  window: number | null;
  joinedAt: number;
  after: number;
  admission: number | null;
}

/** fetch for the verifier, answered by the gateway in-process */
function injectFetch(url: string) {
  const u = new URL(url);
  return h
    .app()
    .inject({ url: u.pathname + u.search })
    .then((res) => ({ ok: res.statusCode < 300, status: res.statusCode, json: async () => res.json(), text: async () => res.body }));
}

describe('issue 12 item 12: the fairness audit let an outsider check less than it should', () => {
  let sale: string;
  let shoppers: Joined[];
  let rejoiner: Joined;
  let auditBody: string;
  let lines: AuditLine[];

  beforeAll(async () => {
    const app = h.app();
    // a pre-queue, then one-second windows; three admitted at a time, three-second checkout
    sale = await createSale(app, {
      queueMode: 'prequeue-random',
      windowSeconds: 1,
      startsInMs: 1_500,
      stock: 5,
      maxActive: 3,
      checkoutSeconds: 3,
    });
    shoppers = [];
    for (let i = 0; i < 4; i++) shoppers.push(await join(app, sale));
    await until('the sale started', async () => (await app.inject({ url: `/api/sales/${sale}` })).json().status === 'open');
    for (let i = 0; i < 3; i++) shoppers.push(await join(app, sale));

    // three let in: one buys, the others let their windows lapse
    await until('three admitted', async () => (await app.admissionLoop.tickSale(sale))?.active === 3);
    const states = await Promise.all(shoppers.map((s) => me(app, sale, s.ticket)));
    const admitted = shoppers.filter((_, i) => states[i]!.body.status === 'admitted');
    expect(admitted).toHaveLength(3);
    expect((await buy(app, sale, (await me(app, sale, admitted[0]!.ticket)).body.admission.token)).statusCode).toBe(202);
    rejoiner = admitted[1]!;
    await until('the windows lapsed', async () => (await me(app, sale, rejoiner.ticket)).body.status === 'expired');
    // one of them joins again (a second place, round 1), and admission goes on
    const again = await join(app, sale, { authorization: `Bearer ${rejoiner.ticket}` });
    expect(again.status).toBe('queued');
    rejoiner = again;
    await until('three more admitted', async () => {
      const tick = await app.admissionLoop.tickSale(sale);
      return (tick?.admittedTotal ?? 0) >= 6;
    });

    // the marketer ends the sale
    const end = await app.inject({
      method: 'PATCH',
      url: `/api/admin/sales/${sale}`,
      headers: adminHeaders,
      payload: { endsAt: new Date(Date.now() + 300).toISOString() },
    });
    expect(end.statusCode).toBe(200);
    await until('the sale ended', async () => (await app.inject({ url: `/api/sales/${sale}/fairness` })).json().seed !== null);
    const res = await app.inject({ url: `/api/sales/${sale}/fairness/audit` });
    expect(res.statusCode).toBe(200);
    auditBody = res.body;
    lines = auditBody
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as AuditLine);
  }, 120_000);

  it('publishes per-sale pseudonyms, never a visitor id, and tells each shopper theirs', async () => {
    for (const s of shoppers) expect(auditBody).not.toContain(s.visitorId);
    const ids = new Set(lines.map((l) => l.auditId));
    for (const s of shoppers) {
      const mine = (await me(h.app(), sale, s.ticket)).body.auditId as string;
      expect(mine).toMatch(/^[0-9a-f]{32}$/);
      expect(ids.has(mine)).toBe(true);
    }
    expect(rejoiner.status).toBe('queued');
    // a second sale gives the same visitor another pseudonym
    const other = await createSale(h.app());
    const there = await join(h.app(), other, { authorization: `Bearer ${shoppers[0]!.ticket}` });
    expect(there.visitorId).toBe(shoppers[0]!.visitorId);
    expect((there as unknown as { auditId: string }).auditId).not.toBe((await me(h.app(), sale, shoppers[0]!.ticket)).body.auditId);
  });

  it("puts the arrival on every line, the admission sequence on every line ever admitted, and keeps a rejoin's earlier place", async () => {
    expect(lines.length).toBe(shoppers.length + 1);
    for (const l of lines) {
      expect(typeof l.window).toBe('number');
      expect(typeof l.joinedAt).toBe('number');
      expect(typeof l.after).toBe('number');
      if (l.state !== 'queued') expect(typeof l.admission).toBe('number');
    }
    expect(lines.filter((l) => l.window === 0)).toHaveLength(4);
    expect(lines.filter((l) => l.state === 'ordered')).toHaveLength(1);
    const rejoinerId = (await me(h.app(), sale, rejoiner.ticket)).body.auditId as string;
    const places = lines.filter((l) => l.auditId === rejoinerId).sort((a, b) => a.round - b.round);
    expect(places.map((p) => p.round)).toEqual([0, 1]);
    expect(places[0]!.state).toBe('expired');
    expect(typeof places[0]!.admission).toBe('number');
    expect(places[1]!.after).toBeGreaterThanOrEqual(places[0]!.admission!);
  });

  it('passes the verify recipe on the honest sale, and fails it when one score is altered', async () => {
    const honest = await verifySale('http://gateway.test', sale, { fetch: injectFetch });
    expect(honest.errors).toEqual([]);
    expect(honest.ok).toBe(true);
    expect(honest.places).toBe(lines.length);
    expect(honest.admissions).toBe(lines.filter((l) => l.admission !== null).length);

    const fairness = (await h.app().inject({ url: `/api/sales/${sale}/fairness` })).json();
    expect(fairness.algorithm).toContain('score:');
    const altered = lines.map((l) => ({ ...l }));
    altered[0]!.score += 1e-6;
    expect(verifyAudit(fairness, altered).ok).toBe(false);
    // and when the admissions are swapped between two places
    const admittedLines = altered.filter((l) => l.admission !== null).sort((a, b) => a.score - b.score);
    const swapped = lines.map((l) => ({ ...l }));
    const [lo, hi] = [admittedLines[0]!, admittedLines[admittedLines.length - 1]!];
    const a = swapped.find((l) => l.auditId === lo.auditId && l.round === lo.round)!;
    const b = swapped.find((l) => l.auditId === hi.auditId && l.round === hi.round)!;
    if (a.admission! < b.admission! && a.after < b.admission! && b.after < a.admission!) {
      [a.admission, b.admission] = [b.admission, a.admission];
      expect(verifyAudit(fairness, swapped).ok).toBe(false);
    }
  });
});
