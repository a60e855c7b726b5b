import fp from 'fastify-plugin';
import { Identities } from '../http/identity.js';
import { AdmissionTokens } from '../tokens/admission-token.js';
import { ProofOfWork } from '../tokens/proof-of-work.js';
import { TicketSigner } from '../tokens/queue-ticket.js';
import { keyRingFromDatabase, keyRingFromJwks, sharedSecret, type KeyRing } from '../tokens/signing-keys.js';
import { VisitorCookie } from '../tokens/visitor-id.js';
import { AccountCookie, AccountIds } from '../tokens/account.js';
import { ShopperIdentities } from '../tokens/shopper-identity.js';
import { GateCookie } from '../gate/gate.js';
import { SignInStateCookie } from '../tokens/sign-in-state.js';

declare module 'fastify' {
  interface FastifyInstance {
    keys: KeyRing;
    tickets: TicketSigner;
    admissions: AdmissionTokens;
    visitorCookie: VisitorCookie;
    /** shop accounts' visitor ids (tokens/account.ts) */
    accountIds: AccountIds;
    /** the signed-in session cookie `vr_account` (tokens/account.ts) */
    accountCookie: AccountCookie;
    proofOfWork: ProofOfWork;
    /** an OpenID Connect sign-in under way (tokens/sign-in-state.ts) */
    signInState: SignInStateCookie;
    /** the cookie that opens the gate in front of the shop's pages (gate/gate.ts) */
    gateCookie: GateCookie;
    /** the shop's signed shopper identities (tokens/shopper-identity.ts); undefined when not configured */
    shopperIdentities: ShopperIdentities | undefined;
    /** who is asking (http/identity.ts): routes, rate limits and sockets */
    identity: Identities;
  }
}

/**
 * Signing keys (EdDSA, admission tokens) and the ticket secret (HS256), shared by all
 * gateways, and the one answer to who is asking built from them.
 */
export default fp(
  async (app) => {
    const { config } = app;
    const keys = config.signingKeys ? await keyRingFromJwks(config.signingKeys) : await keyRingFromDatabase(app.pg);
    const ticketSecret = await sharedSecret(app.pg, 'ticket_secret', config.ticketSecret);
    app.decorate('keys', keys);
    const tickets = new TicketSigner([ticketSecret], config.issuer);
    const admissions = new AdmissionTokens(keys, config.issuer);
    const visitorCookie = new VisitorCookie(ticketSecret);
    app.decorate('tickets', tickets);
    app.decorate('admissions', admissions);
    app.decorate('visitorCookie', visitorCookie);
    const accountIds = new AccountIds(ticketSecret);
    app.decorate('accountIds', accountIds);
    app.decorate('shopperIdentities', config.shopIdentity ? new ShopperIdentities(config.shopIdentity, accountIds) : undefined);
    app.decorate('accountCookie', new AccountCookie(ticketSecret));
    app.decorate('identity', new Identities(tickets, admissions, visitorCookie));
    // each request's ticket, verified once (identity.ts); declared here so every request has the same shape
    app.decorateRequest('presentedTicket', null);
    app.decorate('proofOfWork', new ProofOfWork(ticketSecret));
    app.decorate('gateCookie', new GateCookie(ticketSecret));
    app.decorate('signInState', new SignInStateCookie(ticketSecret));
  },
  { name: 'tokens', dependencies: ['config', 'postgres'] },
);
