/**
 * Sign-in for shoppers who arrive without the shop's link (issue 15 item 3): OpenID Connect,
 * authorization code with PKCE (S256), against the shop's provider (OIDC_ISSUER: Keycloak,
 * Auth0, Cognito, the example shop's oidc-provider...), through openid-client.
 *
 * - `GET /auth/login?sale=<id>` (or `?return=<path>`): a fresh `state`, `nonce` and PKCE
 *   verifier, sealed in the browser's short-lived `vr_sign_in` cookie (tokens/sign-in-state.ts),
 *   and a redirect to the provider. Only a path of this gateway is a place to come back to
 *   (http/return-path.ts).
 * - `GET /auth/callback`: the cookie is used once, whatever happens; its `state` must be the
 *   callback's, the provider's error is a refusal, the code is exchanged with the verifier and
 *   the ID token checked (issuer, audience, nonce, expiry: openid-client). Its `sub` is the
 *   account, namespaced by OIDC_ACCOUNT_ISSUER (default the provider's issuer; tokens/account.ts),
 *   and the browser gets the same signed-in session (`vr_account`) a shop link gives, then goes
 *   back where it came from: a join there takes the account's place.
 * - `POST /auth/logout`: the session ends (204).
 * Refusals have stable codes (SIGN_IN_STATE_INVALID, SIGN_IN_DENIED, SIGN_IN_FAILED,
 * INVALID_RETURN_PATH; UNAVAILABLE while the provider cannot be discovered; 502
 * IDENTITY_PROVIDER_UNAVAILABLE when it fails the code exchange (a 5xx, or no answer), with a
 * fresh sign-in's address to retry; RATE_LIMITED past
 * RATE_LIMIT_SIGN_IN_PER_IP requests a minute from one address, with Retry-After), as a page in
 * the shopper's language to a browser and JSON otherwise; none sets a session.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import * as client from 'openid-client';
import { AppError } from '../errors.js';
import { accountCookieCleared, accountCookieHeader, cookieValue, signInCookieHeader } from '../http/credentials.js';
import { OpenIdProvider } from '../http/openid-provider.js';
import { returnPath } from '../http/return-path.js';
import { newAccountSession } from '../http/shop-identity.js';
import { formPostAllowed } from '../http/origin.js';
import { SIGN_IN_COOKIE, SIGN_IN_SECONDS } from '../tokens/sign-in-state.js';
import { problemPage } from './no-script.js';

/** an OAuth error code as the provider may send it (RFC 6749 4.1.2.1: a printable ASCII token) */
const OAUTH_ERROR_RE = /^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,64}$/;

const authRoutes: FastifyPluginAsync = async (app) => {
  const oidc = app.config.oidc;
  if (!oidc) return;
  const provider = new OpenIdProvider(oidc, app.log);
  app.addHook('onReady', async () => provider.warmUp());

  // a refusal is a page for a browser (a sign-in is a navigation), in the shopper's language and
  // branded as the waiting room; the catalogue's JSON otherwise
  app.setErrorHandler(async (err, req, reply) => {
    const page = err instanceof AppError ? problemPage(req, reply, err, app.pageLook.forRequest(req)) : undefined;
    if (page === undefined) throw err;
    return page;
  });

  // per address, the three routes together (RATE_LIMIT_SIGN_IN_PER_IP): 429 RATE_LIMITED with Retry-After
  const limited = { onRequest: app.limits.signIn };

  app.get('/auth/login', limited, async (req, reply) => {
    const back = returnPath(req.query as Record<string, unknown>);
    if (!back.ok) throw new AppError('INVALID_RETURN_PATH', `cannot come back there: ${back.reason}`);
    const configuration = await provider.configuration();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const codeVerifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(configuration, {
      redirect_uri: oidc.redirectUri,
      scope: oidc.scopes,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const sealed = app.signInState.seal({
      state,
      nonce,
      codeVerifier,
      returnTo: back.path,
      expiresAt: Date.now() + SIGN_IN_SECONDS * 1000,
    });
    reply.header('set-cookie', signInCookieHeader(req, sealed, SIGN_IN_SECONDS)).header('cache-control', 'no-store');
    return reply.redirect(url.href, 302);
  });

  app.get('/auth/callback', limited, async (req, reply) => {
    // used once: a replayed callback finds no sign-in under way
    reply.header('set-cookie', signInCookieHeader(req, null, 0)).header('cache-control', 'no-store');
    const signIn = app.signInState.open(cookieValue(req, SIGN_IN_COOKIE));
    if (!signIn) {
      throw new AppError('SIGN_IN_STATE_INVALID', 'this sign-in was not started in this browser, or took too long: start it again');
    }
    const query = req.query as Record<string, unknown>;
    if (typeof query.state !== 'string' || !sameText(query.state, signIn.state)) {
      throw new AppError('SIGN_IN_STATE_INVALID', 'this sign-in answer is not for the sign-in this browser started: start it again');
    }
    if (query.error !== undefined) {
      const code = typeof query.error === 'string' && OAUTH_ERROR_RE.test(query.error) ? query.error : 'error';
      req.log.info({ error: code }, 'the OpenID provider refused a sign-in');
      throw new AppError(
        'SIGN_IN_DENIED',
        code === 'access_denied' ? 'the sign-in was cancelled or refused at the shop' : `the shop's sign-in answered ${code}`,
      );
    }
    const configuration = await provider.configuration();
    const currentUrl = new URL(oidc.redirectUri);
    currentUrl.search = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
    let sub: string | undefined;
    try {
      const tokens = await client.authorizationCodeGrant(configuration, currentUrl, {
        pkceCodeVerifier: signIn.codeVerifier,
        expectedState: signIn.state,
        expectedNonce: signIn.nonce,
        idTokenExpected: true,
      });
      sub = tokens.claims()?.sub;
    } catch (err) {
      // a fresh sign-in back to the same place: this one's cookie is used up
      throw exchangeRefusal(req, err, `/auth/login?return=${encodeURIComponent(signIn.returnTo)}`);
    }
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > 255) {
      throw new AppError('SIGN_IN_FAILED', 'the ID token names no account (sub must be 1 to 255 characters)');
    }
    const account = { issuer: oidc.accountIssuer, subject: sub };
    const visitorId = app.accountIds.visitorId(account);
    // the way back to the account, for the order token's acct and the webhooks (accounts/shop-accounts.ts)
    await app.shopAccounts.remember(visitorId, account);
    reply.header('set-cookie', [
      signInCookieHeader(req, null, 0),
      accountCookieHeader(req, newAccountSession(app.accountCookie, visitorId, sub)),
    ]);
    return reply.redirect(signIn.returnTo, 303);
  });

  app.post('/auth/logout', limited, async (req, reply: FastifyReply) => {
    // another site's page may not sign the shopper out (a cross-site form post)
    if (!formPostAllowed(req, app.config.allowedOrigins, app.config.trustProxy)) {
      throw new AppError('FORBIDDEN_ORIGIN', 'this sign-out was sent from another site');
    }
    reply.header('set-cookie', accountCookieCleared(req)).header('cache-control', 'no-store');
    return reply.code(204).send();
  });
};

/**
 * What a failed code exchange tells the shopper. The provider failing (a 5xx, with an OAuth
 * error body or without one, or no answer at all: a network failure, a timeout) is a 502
 * IDENTITY_PROVIDER_UNAVAILABLE, retryable by signing in again; the callback's own fault (a
 * code used twice or too late, a verifier or ID token that does not validate) a 4xx.
 */
function exchangeRefusal(req: FastifyRequest, err: unknown, signInUrl: string): AppError {
  if (err instanceof client.AuthorizationResponseError) {
    return new AppError('SIGN_IN_DENIED', `the shop's sign-in answered ${OAUTH_ERROR_RE.test(err.error) ? err.error : 'error'}`);
  }
  const failing = providerFailed(err);
  if (failing !== undefined) {
    req.log.warn({ err: (err as Error).message, providerStatus: failing }, 'the OpenID provider failed a code exchange');
    return providerUnavailable(signInUrl);
  }
  if (err instanceof client.ResponseBodyError || err instanceof client.ClientError) {
    // a code used twice or too late (invalid_grant), a verifier or nonce that does not match
    req.log.info({ err: (err as Error).message, code: (err as { code?: string }).code }, 'an OpenID Connect callback did not validate');
    return new AppError(
      'SIGN_IN_FAILED',
      'the sign-in could not be completed (the answer was used already, expired or did not validate): start it again',
    );
  }
  // not an answer of the provider's: it could not be reached (openid-client lets fetch's TypeError through) or timed out
  req.log.warn({ err: (err as Error).message }, 'the OpenID provider could not be reached for a code exchange');
  return providerUnavailable(signInUrl);
}

const PROVIDER_RETRY_SECONDS = 5;

const providerUnavailable = (signInUrl: string) =>
  new AppError(
    'IDENTITY_PROVIDER_UNAVAILABLE',
    "the shop's sign-in service failed to complete the sign-in; sign in again in a moment",
    { signInUrl },
    PROVIDER_RETRY_SECONDS,
  );

/** the provider's HTTP status when it answered the exchange with a server error (5xx), else undefined */
function providerFailed(err: unknown): number | undefined {
  // oauth4webapi reads an OAuth error body from a 4xx only; should it read one from a 5xx
  if (err instanceof client.ResponseBodyError) return err.status >= 500 ? err.status : undefined;
  // a 5xx (whatever its body): openid-client's "unexpected HTTP response status code", the response as its cause
  if (err instanceof client.ClientError) {
    const status = (err.cause as { status?: unknown } | undefined)?.status;
    return typeof status === 'number' && status >= 500 ? status : undefined;
  }
  return undefined;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

export default authRoutes;
