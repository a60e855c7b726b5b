import type { FastifyRequest } from 'fastify';
import { describe, expect, it, vi } from 'vitest';
import { AppError } from '../../src/errors.js';
import { Identities } from '../../src/http/identity.js';
import type { AdmissionTokens } from '../../src/tokens/admission-token.js';
import { TicketSigner } from '../../src/tokens/queue-ticket.js';
import { VisitorCookie } from '../../src/tokens/visitor-id.js';

const SECRET = 'ticket-secret-0123456789abcdef-0123456789';
const VISITOR = 'AbCdEfGhIjKlMnOpQrStUv';
const OTHER = 'ZyXwVuTsRqPoNmLkJiHgFe';

function setup() {
  const tickets = new TicketSigner([SECRET], 'velvet-rope');
  const cookie = new VisitorCookie(SECRET);
  const admissions = { verify: vi.fn(), verifyForItsSale: vi.fn() } as unknown as AdmissionTokens;
  return { tickets, cookie, identity: new Identities(tickets, admissions, cookie) };
}

const request = (headers: Record<string, string>, params: Record<string, string> = {}) =>
  ({ headers, params, ip: '192.0.2.1', presentedTicket: null }) as unknown as FastifyRequest;

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (err) {
    return err instanceof AppError ? err.code : 'not an AppError';
  }
  return undefined;
};

describe('Identities', () => {
  it("verifies a request's ticket once, for the rate limiter and the route alike", () => {
    const { tickets, identity } = setup();
    const ticket = tickets.sign(VISITOR, 'drop-1', 1.5);
    const verify = vi.spyOn(tickets, 'verify');
    const req = request({ authorization: `Bearer ${ticket}` });
    expect(identity.rateLimitKey(req)).toBe(`v:${VISITOR}`);
    expect(identity.joiner(req, 'drop-1')).toMatchObject({
      visitorId: VISITOR,
      provenBy: 'ticket',
      ticketScore: 1.5,
      ticketOfThisSale: true,
    });
    expect(identity.ticketClaims(req, 'drop-1').sub).toBe(VISITOR);
    expect(verify).toHaveBeenCalledTimes(1);
  });

  it('joins with a ticket of another sale, else the sealed cookie; refuses a bad ticket in the header only', () => {
    const { tickets, cookie, identity } = setup();
    const other = tickets.sign(VISITOR, 'drop-2', 0.5);
    expect(identity.joiner(request({ authorization: `Bearer ${other}` }), 'drop-1')).toEqual({
      visitorId: VISITOR,
      provenBy: 'ticket-of-another-sale',
    });
    expect(codeOf(() => identity.ticketClaims(request({ authorization: `Bearer ${other}` }), 'drop-1'))).toBe('WRONG_SALE');
    const sealed = `vr_vid=${cookie.seal(OTHER)}`;
    expect(identity.joiner(request({ cookie: `vr_ticket=forged; ${sealed}` }), 'drop-1')).toEqual({
      visitorId: OTHER,
      provenBy: 'visitor-cookie',
    });
    expect(codeOf(() => identity.joiner(request({ authorization: 'Bearer forged', cookie: sealed }), 'drop-1'))).toBe('INVALID_TICKET');
    expect(identity.joiner(request({}), 'drop-1')).toEqual({});
    expect(identity.rateLimitKey(request({ cookie: sealed }))).toBe('ip:192.0.2.1');
  });

  it("answers a socket's handshake: the auth ticket, else the cookie's for the sale asked about, else a follower", () => {
    const { tickets, identity } = setup();
    const ticket = tickets.sign(VISITOR, 'drop-1', 1);
    expect(identity.socket({ auth: { ticket }, headers: {} })).toEqual({ saleId: 'drop-1', visitorId: VISITOR });
    expect(identity.socket({ auth: { ticket, saleId: 'drop-2' }, headers: {} })).toBe('WRONG_SALE');
    expect(identity.socket({ auth: { ticket: 7 }, headers: {} })).toBe('INVALID_TICKET');
    expect(identity.socket({ auth: { saleId: 'drop-2' }, headers: { cookie: `vr_ticket=${ticket}` } })).toEqual({ saleId: 'drop-2' });
    expect(identity.socket({ auth: null, headers: { cookie: `vr_ticket=${ticket}` } })).toEqual({ saleId: 'drop-1', visitorId: VISITOR });
    expect(identity.socket({ auth: 'x', headers: {} })).toBe('INVALID_TICKET');
  });
});
