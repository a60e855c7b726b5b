/**
 * The checkout's order-token check: what Velvet Rope signed passes, and every way a link can
 * be wrong (another key, another issuer or sale, another order, past its deadline, another
 * algorithm, keys out of reach) is refused with its own code.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderTokenVerifier, velvetRopeKeys } from '../../src/order-token.js';
import { signWith, testSigner, type TestSigner } from '../support/signing.js';

const ORDER = '0b9f5c1e-6a43-4c1d-9d7e-1f3a2b4c5d6e';
let signer: TestSigner;
let server: Server;
let jwksUrl: string;

beforeAll(async () => {
  signer = await testSigner();
  // the keys served as Velvet Rope serves them
  server = createServer((req, res) => {
    if (req.url === '/.well-known/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(signer.jwks));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

const local = () => orderTokenVerifier({ issuer: 'velvet-rope', saleIds: ['drop-1'], keys: createLocalJWKSet(signer.jwks) });

describe('order token', () => {
  it('accepts a token Velvet Rope signed, fetched through its JWKS, and reads the order from it', async () => {
    const exp = Math.floor(Date.now() / 1000) + 300;
    const token = await signer.sign({ orderId: ORDER, saleId: 'drop-1', qty: 2, exp, sub: 'v_abc' });
    const verifier = orderTokenVerifier({ issuer: 'velvet-rope', saleIds: ['drop-1'], keys: velvetRopeKeys(jwksUrl) });
    expect(await verifier.verify(token, ORDER)).toEqual({
      ok: true,
      claims: { orderId: ORDER, saleId: 'drop-1', shopperId: 'v_abc', quantity: 2, account: null, paymentDueAt: new Date(exp * 1000) },
    });
  });

  it("reads the shop's account of a signed-in shopper (`acct`) and refuses one that is not a non-empty string", async () => {
    const token = await signer.sign({ orderId: ORDER, saleId: 'drop-1', acct: 'customer-42' });
    const read = await local().verify(token, ORDER);
    expect(read.ok && read.claims.account).toBe('customer-42');
    for (const acct of [42, '', ['customer-42']]) {
      const bad = await signer.sign({ orderId: ORDER, saleId: 'drop-1', acct });
      expect(await local().verify(bad, ORDER)).toEqual({ ok: false, refused: 'INVALID_TOKEN' });
    }
  });

  it('refuses a token signed with another key under the same kid (forged)', async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const forged = await signWith(privateKey, 'test-key-1', { orderId: ORDER, saleId: 'drop-1' });
    expect(await local().verify(forged, ORDER)).toEqual({ ok: false, refused: 'INVALID_TOKEN' });
  });

  it('refuses a token whose payload was altered', async () => {
    const token = await signer.sign({ orderId: ORDER, saleId: 'drop-1', qty: 1 });
    const [h, p, s] = token.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const altered = `${h}.${Buffer.from(JSON.stringify({ ...payload, qty: 5 })).toString('base64url')}.${s}`;
    expect(await local().verify(altered, ORDER)).toEqual({ ok: false, refused: 'INVALID_TOKEN' });
  });

  it('refuses an expired token as TOKEN_EXPIRED', async () => {
    const token = await signer.sign({ orderId: ORDER, saleId: 'drop-1', exp: Math.floor(Date.now() / 1000) - 5 });
    expect(await local().verify(token, ORDER)).toEqual({ ok: false, refused: 'TOKEN_EXPIRED' });
  });

  it('refuses another issuer and a sale this shop does not sell', async () => {
    const otherIssuer = await signer.sign({ orderId: ORDER, saleId: 'drop-1', iss: 'someone-else' });
    const otherSale = await signer.sign({ orderId: ORDER, saleId: 'drop-2' });
    expect(await local().verify(otherIssuer, ORDER)).toEqual({ ok: false, refused: 'INVALID_TOKEN' });
    expect(await local().verify(otherSale, ORDER)).toEqual({ ok: false, refused: 'INVALID_TOKEN' });
  });

  it('refuses a token of another order than the link names', async () => {
    const token = await signer.sign({ orderId: ORDER, saleId: 'drop-1' });
    expect(await local().verify(token, '11111111-2222-4333-8444-555555555555')).toEqual({ ok: false, refused: 'ORDER_MISMATCH' });
  });

  it('refuses an HS256 token and garbage', async () => {
    const hs = await new SignJWT({ order_id: ORDER, qty: 1 })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('velvet-rope')
      .setAudience('drop-1')
      .setSubject('v')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('a-secret-that-is-long-enough-0123456789'));
    expect(await local().verify(hs, ORDER)).toEqual({ ok: false, refused: 'INVALID_TOKEN' });
    expect(await local().verify('not.a.token', ORDER)).toEqual({ ok: false, refused: 'INVALID_TOKEN' });
  });

  it('without configured sales takes the sale the signature covers, and still checks it', async () => {
    const any = orderTokenVerifier({ issuer: 'velvet-rope', saleIds: [], keys: createLocalJWKSet(signer.jwks) });
    const token = await signer.sign({ orderId: ORDER, saleId: 'drop-9' });
    const check = await any.verify(token, ORDER);
    expect(check.ok && check.claims.saleId).toBe('drop-9');
    expect(await any.verify('garbage', ORDER)).toEqual({ ok: false, refused: 'INVALID_TOKEN' });
  });

  it('answers UNAVAILABLE when the JWKS cannot be fetched', async () => {
    const token = await signer.sign({ orderId: ORDER, saleId: 'drop-1' });
    const closed = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const { port } = s.address() as AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const unreachable = orderTokenVerifier({
      issuer: 'velvet-rope',
      saleIds: ['drop-1'],
      keys: velvetRopeKeys(`http://127.0.0.1:${closed}`),
    });
    expect(await unreachable.verify(token, ORDER)).toEqual({ ok: false, refused: 'UNAVAILABLE' });
    const notFound = orderTokenVerifier({ issuer: 'velvet-rope', saleIds: ['drop-1'], keys: velvetRopeKeys(`${jwksUrl}/nowhere`) });
    // a 404 for the key set is Velvet Rope being away or misaddressed, not a bad token
    expect(await notFound.verify(token, ORDER)).toEqual({ ok: false, refused: 'UNAVAILABLE' });
  });
});
