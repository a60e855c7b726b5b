/**
 * The pure parts of the OpenID Connect sign-in (routes/auth.ts): where a sign-in may send the
 * shopper back (no open redirect), the sealed sign-in cookie (nobody reads or changes it, it
 * expires), and the provider's lazy discovery answering 503 while the provider is away.
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { OpenIdProvider } from '../../src/http/openid-provider.js';
import { returnPath, sameOriginPath } from '../../src/http/return-path.js';
import { SignInStateCookie, type SignInState } from '../../src/tokens/sign-in-state.js';

describe('the return path of a sign-in', () => {
  it('is a sale’s waiting room, or a path of this site', () => {
    expect(returnPath({ sale: 'drop-42' })).toEqual({ ok: true, path: '/sales/drop-42' });
    expect(returnPath({ return: '/sales/drop-42?x=1#top' })).toEqual({ ok: true, path: '/sales/drop-42?x=1#top' });
    expect(returnPath({})).toEqual({ ok: true, path: '/' });
  });

  it('is kept as a browser sends it: ASCII, fit for a Location header, and still within the bound', () => {
    expect(returnPath({ return: '/日本?q=café' })).toEqual({ ok: true, path: '/%E6%97%A5%E6%9C%AC?q=caf%C3%A9' });
    // 300 characters, 2,700 once percent-encoded: past the bound
    expect(returnPath({ return: '/' + '日'.repeat(300) }).ok).toBe(false);
    const longest = returnPath({ return: '/' + 'a'.repeat(511) });
    expect(longest.ok).toBe(true);
    // the longest kept path still seals into a cookie that opens
    const cookie = new SignInStateCookie('a-shared-secret-of-the-gateways-0123456789');
    const s = {
      state: 'x'.repeat(43),
      nonce: 'y'.repeat(43),
      codeVerifier: 'z'.repeat(43),
      returnTo: longest.ok ? longest.path : '',
      expiresAt: 2e12,
    };
    expect(cookie.open(cookie.seal(s), 1e12)).toEqual(s);
  });

  it('is never another site, however a browser would read it', () => {
    const offsite = [
      '//evil.example',
      '//evil.example/sales/x',
      '/\\evil.example',
      '\\\\evil.example',
      'https://evil.example/',
      'javascript:alert(1)',
      '/\t/evil.example',
      '/\n/evil.example',
      'evil.example',
      '',
      '/' + 'a'.repeat(600),
    ];
    for (const path of offsite) expect({ path, ok: returnPath({ return: path }).ok }).toEqual({ path, ok: false });
    expect(sameOriginPath('/sales/a/../b')).toBe('/sales/b');
    expect(returnPath({ sale: '../admin' }).ok).toBe(false);
    expect(returnPath({ sale: ['a'] }).ok).toBe(false);
    expect(returnPath({ return: ['/a'] }).ok).toBe(false);
  });
});

describe('the sign-in cookie', () => {
  const cookie = new SignInStateCookie('a-shared-secret-of-the-gateways-0123456789');
  const now = 1_800_000_000_000;
  const state: SignInState = {
    state: 'st-123',
    nonce: 'no-456',
    codeVerifier: 'verifier-that-must-stay-secret',
    returnTo: '/sales/drop',
    expiresAt: now + 600_000,
  };

  it('opens to what was sealed, on any gateway with the same secret, until it expires', () => {
    const sealed = cookie.seal(state);
    expect(sealed).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(new SignInStateCookie('a-shared-secret-of-the-gateways-0123456789').open(sealed, now)).toEqual(state);
    expect(cookie.open(sealed, now + 600_000)).toBeUndefined();
  });

  it('hides the verifier, and any change breaks it', () => {
    const sealed = cookie.seal(state);
    expect(Buffer.from(sealed.split('.')[1]!, 'base64url').toString('latin1')).not.toContain('verifier');
    expect(cookie.seal(state)).not.toBe(sealed);
    const [iv, body] = sealed.split('.') as [string, string];
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    for (const changed of [`${flip(iv, 0)}.${body}`, `${iv}.${flip(body, 3)}`, `${iv}.${flip(body, body.length - 1)}`, `${iv}.${body}.x`])
      expect(cookie.open(changed, now)).toBeUndefined();
    expect(new SignInStateCookie('another-secret-entirely-0123456789abcdef').open(sealed, now)).toBeUndefined();
    for (const junk of [undefined, '', '.', 'a.b', 'x'.repeat(2_000)]) expect(cookie.open(junk, now)).toBeUndefined();
  });
});

describe("the provider's discovery", () => {
  it('answers 503 UNAVAILABLE while the provider cannot be reached, and tries again only after a pause', async () => {
    // a port nothing listens on: taken, then let go
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const warnings: string[] = [];
    const provider = new OpenIdProvider(
      {
        issuer: `http://127.0.0.1:${port}`,
        clientId: 'c',
        clientSecret: 's',
        redirectUri: 'http://127.0.0.1/auth/callback',
        scopes: 'openid',
        accountIssuer: `http://127.0.0.1:${port}`,
      },
      { warn: (_obj, msg) => warnings.push(msg) },
    );
    const first = await provider.configuration().catch((err: unknown) => err);
    expect(first).toBeInstanceOf(AppError);
    expect({ code: (first as AppError).code, status: (first as AppError).statusCode }).toEqual({ code: 'UNAVAILABLE', status: 503 });
    expect((first as AppError).retryAfterSeconds).toBeGreaterThan(0);
    // at once again: refused without another attempt
    const second = await provider.configuration().catch((err: unknown) => err);
    expect((second as AppError).code).toBe('UNAVAILABLE');
    expect(warnings).toHaveLength(1);
  });
});
