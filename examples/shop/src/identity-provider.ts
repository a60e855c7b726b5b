/**
 * The shop's OpenID Connect provider (Velvet Rope issue 15 item 3): a real one, oidc-provider
 * (v8: the line that supports Node 20), on its own port in the shop's process, so that
 * Velvet Rope's sign-in (authorization code + PKCE, openid-client) is exercised end to end in
 * the tests and the demo, as it would be against Keycloak, Auth0 or Cognito.
 *
 * - one confidential client, Velvet Rope, from the shop's config: its secret, its one redirect
 *   URI, `client_secret_basic`, PKCE with S256 required;
 * - the shop's accounts: the example shop's sign-in is pretend, as `/api/sign-in` is: any
 *   account name (the same alphabet) with the demo password signs in, and `sub` is the account
 *   name, the same `sub` the shop's signed identities carry;
 * - a minimal login-and-consent interaction of our own (no devInteractions): one form at
 *   `/interaction/<uid>`, whose "Sign in and continue" grants the scopes asked for and whose
 *   "Cancel" answers `access_denied`.
 * Signing keys and cookie keys are made at boot: a restart signs everyone out, as a demo may.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type KoaContext } from 'oidc-provider';
import type { ShopOidcConfig } from './config.js';
import { signInPage } from './pages.js';

const ACCOUNT_RE = /^[A-Za-z0-9._@+-]{1,128}$/;
const MAX_FORM_BYTES = 4_096;

export interface IdentityProvider {
  readonly url: string;
  close(): Promise<void>;
}

export async function buildIdentityProvider(config: ShopOidcConfig): Promise<Provider> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signing = { ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: randomBytes(8).toString('hex') };
  const provider = new Provider(config.issuer, {
    clients: [
      {
        client_id: config.clientId,
        client_secret: config.clientSecret,
        client_name: 'Velvet Rope waiting room',
        redirect_uris: [config.redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    pkce: { methods: ['S256'], required: () => true },
    jwks: { keys: [signing] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    findAccount: async (_ctx: unknown, id: string) => ({ accountId: id, claims: async () => ({ sub: id }) }),
    claims: { openid: ['sub'] },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    // the example's own sessions and codes: short, as a shop's would be
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3_600, Grant: 3_600 },
    renderError: async (ctx: KoaContext, out: Record<string, unknown>) => {
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = `The shop's sign-in could not go on: ${String(out.error)}${out.error_description ? ` (${String(out.error_description)})` : ''}`;
    },
  });
  provider.use(async (ctx, next) => {
    const m = /^\/interaction\/([A-Za-z0-9_-]{1,64})$/.exec(ctx.path);
    if (!m) return next();
    ctx.set('cache-control', 'no-store');
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const clientName = 'The Velvet Rope waiting room';
    if (ctx.method === 'GET') {
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = signInPage(details.uid, clientName);
      return;
    }
    if (ctx.method !== 'POST') {
      ctx.status = 405;
      return;
    }
    const form = await readForm(ctx.req);
    if (form.get('do') === 'cancel') {
      const to = await provider.interactionResult(
        ctx.req,
        ctx.res,
        { error: 'access_denied', error_description: 'the shopper cancelled the sign-in' },
        { mergeWithLastSubmission: false },
      );
      ctx.status = 303;
      return ctx.redirect(to);
    }
    const account = form.get('account') ?? '';
    if (!ACCOUNT_RE.test(account) || form.get('password') !== config.demoPassword) {
      ctx.status = 401;
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = signInPage(details.uid, clientName, 'That account name and password do not match.');
      return;
    }
    // login and consent at once: the waiting room is the shop's own client
    const grant = new provider.Grant({ accountId: account, clientId: config.clientId });
    const scope = typeof details.params.scope === 'string' ? details.params.scope : 'openid';
    grant.addOIDCScope(scope);
    const grantId = await grant.save();
    const to = await provider.interactionResult(ctx.req, ctx.res, { login: { accountId: account }, consent: { grantId } });
    ctx.status = 303;
    return ctx.redirect(to);
  });
  return provider;
}

/** Listens on the configured port (0: any free one); the URL it answers at. */
export async function startIdentityProvider(config: ShopOidcConfig, host: string): Promise<IdentityProvider & { server: Server }> {
  const provider = await buildIdentityProvider(config);
  const server = createServer(provider.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) break;
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
