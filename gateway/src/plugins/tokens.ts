import fp from 'fastify-plugin';
import { AdmissionTokens } from '../tokens/admission-token.js';
import { ProofOfWork } from '../tokens/proof-of-work.js';
import { TicketSigner } from '../tokens/queue-ticket.js';
import { keyRingFromDatabase, keyRingFromJwks, sharedSecret, type KeyRing } from '../tokens/signing-keys.js';
import { VisitorCookie } from '../tokens/visitor-id.js';

declare module 'fastify' {
  interface FastifyInstance {
    keys: KeyRing;
    tickets: TicketSigner;
    admissions: AdmissionTokens;
    visitorCookie: VisitorCookie;
    proofOfWork: ProofOfWork;
  }
}

/** Signing keys (EdDSA, admission tokens) and the ticket secret (HS256), shared by all gateways. */
export default fp(
  async (app) => {
    const { config } = app;
    const keys = config.signingKeys ? await keyRingFromJwks(config.signingKeys) : await keyRingFromDatabase(app.pg);
    const ticketSecret = await sharedSecret(app.pg, 'ticket_secret', config.ticketSecret);
    app.decorate('keys', keys);
    app.decorate('tickets', new TicketSigner([ticketSecret], config.issuer));
    app.decorate('admissions', new AdmissionTokens(keys, config.issuer));
    app.decorate('visitorCookie', new VisitorCookie(ticketSecret));
    app.decorate('proofOfWork', new ProofOfWork(ticketSecret));
  },
  { name: 'tokens', dependencies: ['config', 'postgres'] },
);
