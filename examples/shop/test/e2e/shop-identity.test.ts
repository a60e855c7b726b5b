/**
 * Shoppers from the shop (issue 15 items 1 and 2), on the real stack: the built gateway and
 * worker, and the example shop signing shopper identities with its own keys, which the gateway
 * fetches from the shop's `/.well-known/jwks.json`.
 * - one place per account: the same account from 20 cookie jars at once, and again later,
 *   holds one place and buys at most once;
 * - a bot that drops its cookies holds one place per account it has, and none without;
 * - the queue ticket and the admission token (polled and pushed) name the account (`acct`);
 * - identities the shop did not sign as it should are refused, and a key rotation is followed;
 * - invite-only: only invited accounts take a place, and the list changes live.
 */
import { createHash, generateKeyPairSync, createHmac } from 'node:crypto';
import { SignJWT, createRemoteJWKSet, generateKeyPair, jwtVerify } from 'jose';
import { io as ioClient } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, waitFor, type Answer, type Stack } from './support/stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
}, 180_000);

afterAll(async () => {
  await stack?.close();
});

async function signIn(account: string): Promise<string> {
  const r = await stack.shopApi('POST', '/api/sign-in', { account });
  if (r.status !== 200) throw new Error(`sign-in: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.identity as string;
}

/** a join from a fresh cookie jar: no cookies, only what is given */
function join(saleId: string, headers: Record<string, string> = {}): Promise<Answer> {
  return stack.apiWith('POST', `/api/sales/${saleId}/queue`, headers, {});
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('shoppers from the shop: identity "shop"', () => {
  it('gives one account one place and one order, from 20 cookie jars at once and again later', async () => {
    const saleId = await stack.createSale({ identity: 'shop', stock: 3 });
    const identity = await signIn('alice');
    const jars = await Promise.all(Array.from({ length: 20 }, () => join(saleId, { 'x-shopper-identity': identity })));
    expect(jars.map((j) => j.status).filter((s) => s !== 200 && s !== 201)).toEqual([]);
    const visitors = new Set(jars.map((j) => j.body.visitorId));
    expect(visitors.size, 'one visitor for the account').toBe(1);
    expect(jars.filter((j) => j.status === 201).length, 'one new place').toBe(1);
    // the join keeps the account in an HttpOnly session cookie: a reload needs no link
    const setCookie = ([] as string[]).concat(jars[0]!.headers['set-cookie'] as string[]);
    const session = setCookie.find((c) => c.startsWith('vr_account='));
    expect(session).toMatch(/HttpOnly/);

    // admitted (the sale is open), it buys once
    const ticket = jars[0]!.body.ticket as string;
    const admitted = await waitFor('the account admitted', async () => {
      const me = await stack.api('GET', `/api/sales/${saleId}/queue/me`, ticket);
      return me.body?.status === 'admitted' ? me.body : undefined;
    });
    const bought = await stack.api('POST', `/api/sales/${saleId}/purchases`, admitted.admission.token, { quantity: 1 });
    expect(bought.status).toBe(202);

    // later, a new link and another browser: the same visitor, told about its order
    const again = await join(saleId, { 'x-shopper-identity': await signIn('alice') });
    expect(again.status).toBe(200);
    expect(again.body.visitorId).toBe([...visitors][0]);
    expect(again.body.status).toBe('ordered');
    // and the session cookie alone speaks for the account
    const byCookie = await join(saleId, { cookie: session!.split(';')[0]! });
    expect(byCookie.body.visitorId).toBe([...visitors][0]);
    // a second purchase with the same admission answers the same order
    const twice = await stack.api('POST', `/api/sales/${saleId}/purchases`, admitted.admission.token, { quantity: 1 });
    expect(twice.body.orderId).toBe(bought.body.orderId);
    const orders = await waitFor('the order committed', async () => {
      const { rows } = await stack.db.pool.query<{ visitor_id: string }>('SELECT visitor_id FROM orders WHERE sale_id = $1', [saleId]);
      return rows.length > 0 ? rows : undefined;
    });
    expect(
      orders.map((o) => o.visitor_id),
      'one order, the account’s',
    ).toEqual([...visitors]);
  });

  it("hands the shop its own account with a signed-in shopper's order: the token's acct, the checkout, the shop API", async () => {
    const shopSale = await stack.createSale({ identity: 'shop', stock: 2 });
    const anonymousSale = await stack.createSale({ stock: 2 });
    const boughtIn = async (saleId: string, headers: Record<string, string>) => {
      const joined = await join(saleId, headers);
      expect(joined.status).toBe(201);
      const admitted = await waitFor('admitted', async () => {
        const me = await stack.api('GET', `/api/sales/${saleId}/queue/me`, joined.body.ticket as string);
        return me.body?.status === 'admitted' ? me.body : undefined;
      });
      const bought = await stack.api('POST', `/api/sales/${saleId}/purchases`, admitted.admission.token, { quantity: 1 });
      expect(bought.status).toBe(202);
      const orderId = bought.body.orderId as string;
      const order = await waitFor('the order confirmed', async () => {
        const o = await stack.api('GET', `/api/orders/${orderId}`, joined.body.ticket as string);
        return o.body?.status === 'confirmed' ? o.body : undefined;
      });
      return { orderId, token: order.checkout.token as string, url: order.checkout.url as string };
    };
    const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

    const signedIn = await boughtIn(shopSale, { 'x-shopper-identity': await signIn('carol@example.com') });
    expect(claims(signedIn.token).acct, "the order token names the shop's account").toBe('carol@example.com');
    // the shop's checkout reads it from the verified token, and the shop API answers it
    const checkout = await fetch(signedIn.url, { headers: { accept: 'application/json' } });
    expect(checkout.status).toBe(200);
    expect(((await checkout.json()) as { account: unknown }).account).toBe('carol@example.com');
    const page = await (await fetch(signedIn.url)).text();
    expect(page).toContain('<strong id="account">carol@example.com</strong>');
    const shopView = await stack.api('GET', `/api/shop/orders/${signedIn.orderId}`, stack.shopKey);
    expect(shopView.status).toBe(200);
    expect(shopView.body.account).toBe('carol@example.com');
    // and so does the webhook the shop receives
    const confirmedFor = (orderId: string) =>
      waitFor(`the order.confirmed webhook of ${orderId}`, async () => {
        const inbox = await stack.shopApi('GET', '/api/events');
        const events = inbox.body.events as { type: string; data: { orderId?: string; account?: unknown } }[];
        return events.find((e) => e.type === 'order.confirmed' && e.data.orderId === orderId);
      });
    expect((await confirmedFor(signedIn.orderId)).data.account).toBe('carol@example.com');

    // an anonymous shopper's order names no account anywhere
    const anonymous = await boughtIn(anonymousSale, {});
    expect(claims(anonymous.token)).not.toHaveProperty('acct');
    const anonymousView = await stack.api('GET', `/api/shop/orders/${anonymous.orderId}`, stack.shopKey);
    expect(anonymousView.body.account).toBeNull();
    expect(await (await fetch(anonymous.url)).text()).not.toContain('id="account"');
    expect((await confirmedFor(anonymous.orderId)).data.account).toBeNull();
  });

  it('names the account on the queue ticket and the admission token, however the shopper comes back: link, session, poll, push', async () => {
    // paused: nobody is admitted until the page is listening
    const saleId = await stack.createSale({ identity: 'shop', stock: 5, paused: true });
    const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    const account = 'dana+drops@example.com';
    const joined = await join(saleId, { 'x-shopper-identity': await signIn(account) });
    expect(joined.status).toBe(201);
    const ticket = joined.body.ticket as string;
    expect(claims(ticket).acct, "the ticket of a join with the shop's link").toBe(account);
    const setCookie = ([] as string[]).concat(joined.headers['set-cookie'] as string[]);
    const session = setCookie.find((c) => c.startsWith('vr_account='))!.split(';')[0]!;
    // another browser, the session cookie only (no ticket, no link): the same account's ticket
    const byCookie = await join(saleId, { cookie: session });
    expect(byCookie.status).toBe(200);
    expect(claims(byCookie.body.ticket as string).acct, 'the ticket of a join with the session cookie').toBe(account);
    // the ticket alone
    const byTicket = await stack.api('POST', `/api/sales/${saleId}/queue`, ticket, {});
    expect(claims(byTicket.body.ticket as string).acct, 'the ticket of a join with the ticket').toBe(account);

    // the page listens, then the marketer opens the sale: the turn arrives by push
    const socket = ioClient(stack.base, { transports: ['websocket'], auth: { ticket }, reconnection: false });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      const pushed = new Promise<{ token: string }>((resolve) => socket.once('queue:admitted', resolve));
      const resumed = await stack.api('PATCH', `/api/admin/sales/${saleId}`, stack.adminKey, { paused: false });
      expect(resumed.status).toBe(200);
      const push = await pushed;
      expect(claims(push.token).acct, 'the admission token pushed to the page').toBe(account);
      const polled = await stack.api('GET', `/api/sales/${saleId}/queue/me`, ticket);
      expect(polled.body.status).toBe('admitted');
      expect(polled.body.admission.token, 'the poll and the push sign the same token').toBe(push.token);
      // the shop verifies it with the gateway's published keys, and reads whose turn it is
      const jwks = createRemoteJWKSet(new URL(`${stack.base}/.well-known/jwks.json`));
      const { payload } = await jwtVerify(push.token, jwks, { audience: saleId });
      expect(payload.acct).toBe(account);
      expect(payload.sub).toBe(joined.body.visitorId);
      const bought = await stack.api('POST', `/api/sales/${saleId}/purchases`, push.token, { quantity: 1 });
      expect(bought.status).toBe(202);
    } finally {
      socket.close();
    }

    // an anonymous sale's ticket and token name no account
    const anonymousSale = await stack.createSale({ stock: 2 });
    const anonymous = await join(anonymousSale);
    expect(claims(anonymous.body.ticket as string)).not.toHaveProperty('acct');
    const turn = await waitFor('admitted', async () => {
      const me = await stack.api('GET', `/api/sales/${anonymousSale}/queue/me`, anonymous.body.ticket as string);
      return me.body?.status === 'admitted' ? me.body : undefined;
    });
    expect(claims(turn.admission.token as string)).not.toHaveProperty('acct');
  });

  it('lets a cookie-dropping bot hold one place per account it has, and none without', async () => {
    // a pre-queue: nobody is admitted, every place stays in line
    const saleId = await stack.createSale({ identity: 'shop', stock: 1_000, startsAt: new Date(Date.now() + 600_000).toISOString() });
    const accounts = Array.from({ length: 50 }, (_, i) => `bot-${i}`);
    const identities = await Promise.all(accounts.map(signIn));
    // each account 4 times, each from a fresh jar
    const withAccounts = await Promise.all(
      identities.flatMap((identity) => Array.from({ length: 4 }, () => join(saleId, { 'x-shopper-identity': identity }))),
    );
    const without = await Promise.all(Array.from({ length: 100 }, () => join(saleId)));
    const sale = await stack.api('GET', `/api/sales/${saleId}`);
    const places = new Set(withAccounts.filter((j) => j.status < 300).map((j) => j.body.visitorId)).size;
    process.stdout.write(
      `BOTS identity=shop: 200 joins with 50 accounts -> ${places} places; 100 joins without an account -> ` +
        `${without.filter((j) => j.status < 300).length} places (${[...new Set(without.map((j) => `${j.status} ${j.body.code}`))]}); ` +
        `queue ${sale.body.waiting}\n`,
    );
    expect(places).toBe(50);
    expect(without.every((j) => j.status === 401 && j.body.code === 'IDENTITY_REQUIRED')).toBe(true);
    expect(sale.body.waiting).toBe(50);
    expect(sale.body.identity).toBe('shop');
  });

  it('refuses identities the shop did not sign as it should, and follows a key rotation', async () => {
    const saleId = await stack.createSale({ identity: 'shop', stock: 100, startsAt: new Date(Date.now() + 600_000).toISOString() });
    const refused = async (what: string, identity: string) => {
      const r = await join(saleId, { 'x-shopper-identity': identity });
      expect({ what, status: r.status, code: r.body.code }).toEqual({ what, status: 401, code: 'INVALID_IDENTITY' });
    };
    const custom = async (claims: Record<string, unknown>) =>
      (await stack.shopApi('POST', '/api/test/sign-identity', claims)).body.identity as string;
    const jwks = (await stack.shopApi('GET', '/.well-known/jwks.json')).body as { keys: { kid: string; x: string }[] };

    // signed by someone else's key (with the shop's kid and with another)
    const { privateKey } = await generateKeyPair('ES256');
    const now = Math.floor(Date.now() / 1000);
    const forged = (kid: string) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid })
        .setIssuer(stack.shopBase)
        .setAudience('velvet-rope')
        .setSubject('mallory')
        .setExpirationTime(now + 300)
        .sign(privateKey);
    await refused('forged with the shop kid', await forged(jwks.keys[0]!.kid));
    await refused('forged with another kid', await forged('not-the-shops'));
    await refused('expired', await custom({ account: 'eve', lifetimeSeconds: -120 }));
    await refused('wrong issuer', await custom({ account: 'eve', iss: 'https://evil.example' }));
    await refused('wrong audience', await custom({ account: 'eve', aud: 'another-service' }));
    await refused('valid for two hours', await custom({ account: 'eve', lifetimeSeconds: 7_200 }));
    const claims = { iss: stack.shopBase, aud: 'velvet-rope', sub: 'eve', exp: now + 300 };
    await refused('alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`);
    // HS256 with the shop's public key as the secret (the classic RS/HS confusion)
    const hsInput = `${b64({ alg: 'HS256', typ: 'JWT', kid: jwks.keys[0]!.kid })}.${b64(claims)}`;
    const publicJwk = JSON.stringify(jwks.keys[0]);
    await refused('HS256 keyed with the public JWK', `${hsInput}.${createHmac('sha256', publicJwk).update(hsInput).digest('base64url')}`);
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' });
    await refused('HS256 keyed with a PEM', `${hsInput}.${createHmac('sha256', pem).update(hsInput).digest('base64url')}`);
    await refused('not a JWT', 'hello');
    // nothing of it took a place
    expect((await stack.api('GET', `/api/sales/${saleId}`)).body.waiting).toBe(0);

    // the shop's own identity joins
    expect((await join(saleId, { 'x-shopper-identity': await signIn('carol') })).status).toBe(201);
    // the shop rotates its key mid-sale: identities signed with the new key are taken (the
    // gateway fetches the key set again for the unknown kid), and the old key is gone
    const old = await signIn('dave');
    const rotated = (await stack.shopApi('POST', '/api/test/rotate-identity-key')).body.kid as string;
    const fresh = await signIn('frank');
    expect(JSON.parse(Buffer.from(fresh.split('.')[0]!, 'base64url').toString()).kid).toBe(rotated);
    const joined = await waitFor(
      'an identity signed with the rotated key taken',
      async () => {
        const r = await join(saleId, { 'x-shopper-identity': fresh });
        return r.status === 201 ? r : undefined;
      },
      30_000,
      500,
    );
    expect(joined.body.visitorId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const oldKey = await join(saleId, { 'x-shopper-identity': old });
    expect({ status: oldKey.status, code: oldKey.body.code }).toEqual({ status: 401, code: 'INVALID_IDENTITY' });
  });

  it('refuses a sale for accounts where the deployment cannot tell, and invites on an anonymous sale', async () => {
    const invite = await stack.api('POST', '/api/admin/sales', stack.adminKey, {
      id: `anon-invites-${createHash('sha1').update(String(Date.now())).digest('hex').slice(0, 8)}`,
      name: 'x',
      stock: 1,
      startsAt: new Date(Date.now() + 60_000).toISOString(),
      ratePerMinute: 60,
      inviteOnly: true,
    });
    expect({ status: invite.status, code: invite.body.code }).toEqual({ status: 422, code: 'INVALID_SALE_CONFIG' });
    const anon = await stack.createSale({ stock: 1 });
    const put = await stack.api('PUT', `/api/admin/sales/${anon}/invites`, stack.adminKey, ['a']);
    expect({ status: put.status, code: put.body.code }).toEqual({ status: 422, code: 'INVALID_SALE_CONFIG' });
    const change = await stack.api('PATCH', `/api/admin/sales/${anon}`, stack.adminKey, { identity: 'shop' });
    expect({ status: change.status, code: change.body.code }).toEqual({ status: 422, code: 'INVALID_SALE_CONFIG' });
  });
});

describe('invite-only drops', () => {
  it('lets invited accounts join, refuses the others 403 NOT_INVITED, and follows the list live', async () => {
    const saleId = await stack.createSale({
      identity: 'shop',
      inviteOnly: true,
      stock: 100,
      startsAt: new Date(Date.now() + 600_000).toISOString(),
    });
    const put = await stack.api('PUT', `/api/admin/sales/${saleId}/invites`, stack.adminKey, ['vip-1', 'vip-2', 'vip-1']);
    expect(put.status).toBe(200);
    expect(put.body.count, 'duplicates counted once').toBe(2);

    expect((await join(saleId, { 'x-shopper-identity': await signIn('vip-1') })).status).toBe(201);
    const stranger = await join(saleId, { 'x-shopper-identity': await signIn('stranger') });
    expect({ status: stranger.status, code: stranger.body.code }).toEqual({ status: 403, code: 'NOT_INVITED' });
    expect((await stack.api('GET', `/api/sales/${saleId}`)).body.waiting, 'the refused did not enter the queue').toBe(1);

    // a new list from the console's CSV: the stranger is in, vip-2 is out, vip-1 keeps its place
    const csv = await stack.apiWith(
      'PUT',
      `/api/admin/sales/${saleId}/invites`,
      { authorization: `Bearer ${stack.adminKey}`, 'content-type': 'text/csv' },
      undefined,
    );
    expect(csv.status, 'an empty CSV body is refused, not taken as an empty list').toBe(400);
    const csvUpload = await fetch(`${stack.base}/api/admin/sales/${saleId}/invites`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${stack.adminKey}`, 'content-type': 'text/csv' },
      body: 'account\nvip-1\n"stranger"\n',
    });
    const listed = (await csvUpload.json()) as { count: number; accounts: string[] };
    expect(csvUpload.status).toBe(200);
    expect(listed).toMatchObject({ count: 2, accounts: ['stranger', 'vip-1'] });
    expect((await join(saleId, { 'x-shopper-identity': await signIn('stranger') })).status).toBe(201);
    const out = await join(saleId, { 'x-shopper-identity': await signIn('vip-2') });
    expect({ status: out.status, code: out.body.code }).toEqual({ status: 403, code: 'NOT_INVITED' });
    const again = await join(saleId, { 'x-shopper-identity': await signIn('vip-1') });
    expect(again.status).toBe(200);

    const read = await stack.api('GET', `/api/admin/sales/${saleId}/invites`, stack.adminKey);
    expect(read.body).toMatchObject({ saleId, count: 2, truncated: false });
    const bad = await stack.api('PUT', `/api/admin/sales/${saleId}/invites`, stack.adminKey, ['ok', 42]);
    expect({ status: bad.status, code: bad.body.code }).toEqual({ status: 400, code: 'INVALID_INVITES' });
    expect(
      (await stack.api('GET', `/api/admin/sales/${saleId}/invites`, stack.adminKey)).body.count,
      'a refused upload changed nothing',
    ).toBe(2);
  });
});
