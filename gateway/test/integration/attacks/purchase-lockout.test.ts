import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admittedShoppers, createHarness, createSale, join, me, type Harness } from '../../support/harness.js';

/**
 * Issue 12 item 3: knowing only a shopper's visitor id (public in every ended sale's audit),
 * the public `kid` and the sale id, a stranger sent forged admission tokens carrying that `sub`;
 * each was refused, but each spent the shopper's purchase budget (reserve.lua counted it before
 * reading the admission; the memory store keyed limits on the token's unverified `sub`), and
 * the shopper's genuine purchase got 429 for the rest of the minute.
 */
const FORGER = '203.0.113.66';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** forged admission tokens for `sub`: an unsigned one, `alg: none`, and one signed with a key of our own */
async function forgedTokens(app: FastifyInstance, saleId: string, sub: string, n: number): Promise<string[]> {
  const jwks = (await app.inject({ url: '/.well-known/jwks.json' })).json() as { keys: { kid: string }[] };
  const kid = jwks.keys[0]!.kid;
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const tokens: string[] = [];
  for (let i = 0; i < n; i++) {
    const claims = {
      sale: saleId,
      max_qty: 1,
      adm: 1,
      iss: app.config.issuer,
      aud: saleId,
      sub,
      jti: randomBytes(16).toString('base64url'),
      exp: Math.floor(Date.now() / 1000) + 300,
    };
    // the shape of a real token with a made-up signature: the fast path hands it to the reserve script
    tokens.push(`${b64({ alg: 'EdDSA', kid, typ: 'JWT' })}.${b64(claims)}.${randomBytes(64).toString('base64url')}`);
    tokens.push(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`);
    tokens.push(
      await new SignJWT({ sale: saleId, max_qty: 1, adm: 1 })
        .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' })
        .setIssuer(app.config.issuer)
        .setAudience(saleId)
        .setSubject(sub)
        .setJti(claims.jti)
        .setExpirationTime(claims.exp)
        .sign(privateKey),
    );
  }
  return tokens;
}

/** the script's limits count in fixed one-minute windows: start well inside one, so a test meets only one */
async function awayFromAMinuteBoundary(roomMs: number): Promise<void> {
  const into = Date.now() % 60_000;
  if (into > 60_000 - roomMs) await new Promise((r) => setTimeout(r, 60_000 - into + 100));
}

function purchase(app: FastifyInstance, saleId: string, token: string, remoteAddress = '127.0.0.1') {
  return app.inject({
    method: 'POST',
    url: `/api/sales/${saleId}/purchases`,
    headers: { authorization: `Bearer ${token}` },
    payload: { quantity: 1 },
    remoteAddress,
  });
}

for (const store of ['redis', 'memory'] as const) {
  describe(`issue 12 item 3: forged admission tokens locked a shopper out of buying (${store} store)`, () => {
    let h: Harness;
    beforeAll(async () => {
      // the default per-visitor limits (30 purchases, 30 joins, 240 status polls a minute)
      h = await createHarness({ RATE_LIMIT_STORE: store, RATE_LIMIT_PER_IP: '100000' });
    });
    afterAll(async () => {
      await h?.close();
    });

    it("forged tokens with the shopper's sub spend nothing of the shopper's purchase budget: the genuine purchase answers 202", async () => {
      const app = h.app();
      const sale = await createSale(app, { stock: 5 });
      const [victim] = await admittedShoppers(app, sale, 1);
      // 35 of each kind: more than the whole minute's budget (30) of any one kind
      const forged = await forgedTokens(app, sale, victim!.visitorId, 35);
      for (const token of forged) {
        const res = await purchase(app, sale, token, FORGER);
        expect(res.statusCode).toBe(401);
        expect(res.json().code).toBe('INVALID_TOKEN');
      }
      const genuine = await purchase(app, sale, victim!.token);
      expect(genuine.statusCode).toBe(202);
      expect(Number(await app.redis.get(app.keyspace.sale(sale).stock))).toBe(4);
    });

    it("forged tokens on the status and join routes spend nothing of the shopper's budgets either", async () => {
      const app = h.app();
      const sale = await createSale(app, { ratePerMinute: 0 });
      const victim = await join(app, sale);
      const forged = await forgedTokens(app, sale, victim.visitorId, 100); // 300 > 240 status polls
      for (const token of forged) {
        const res = await app.inject({
          url: `/api/sales/${sale}/queue/me`,
          headers: { authorization: `Bearer ${token}` },
          remoteAddress: FORGER,
        });
        expect(res.statusCode).toBe(401);
      }
      for (const token of forged.slice(0, 40)) {
        const res = await app.inject({
          method: 'POST',
          url: `/api/sales/${sale}/queue`,
          headers: { authorization: `Bearer ${token}` },
          payload: {},
          remoteAddress: FORGER,
        });
        expect(res.statusCode).toBe(401);
      }
      const status = await me(app, sale, victim.ticket);
      expect(status.statusCode).toBe(200);
      expect(status.body.status).toBe('queued');
      const rejoin = await join(app, sale, { authorization: `Bearer ${victim.ticket}` });
      expect(rejoin.statusCode).toBe(200);
      expect(rejoin.visitorId).toBe(victim.visitorId);
    });
  });

  describe(`issue 12 item 3: the forger was not limited at its source (${store} store)`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness({ RATE_LIMIT_STORE: store, RATE_LIMIT_PER_IP: '10' });
    });
    afterAll(async () => {
      await h?.close();
    });

    it('past the per-address budget the forger gets 429 RATE_LIMITED, and the shopper still buys', async () => {
      await awayFromAMinuteBoundary(15_000);
      const app = h.app();
      const sale = await createSale(app, { stock: 5 });
      const [victim] = await admittedShoppers(app, sale, 1);
      const forged = await forgedTokens(app, sale, victim!.visitorId, 10);
      const codes: number[] = [];
      for (const token of forged) codes.push((await purchase(app, sale, token, FORGER)).statusCode);
      expect(codes.slice(0, 10)).toEqual(new Array(10).fill(401));
      expect(codes.slice(10)).toEqual(new Array(codes.length - 10).fill(429));
      const limited = await purchase(app, sale, forged[0]!, FORGER);
      expect(limited.json().code).toBe('RATE_LIMITED');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      // the genuine shopper, from its own address, is not the forger's bucket
      expect((await purchase(app, sale, victim!.token)).statusCode).toBe(202);
    }, 120_000);
  });
}
