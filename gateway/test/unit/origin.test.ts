/** Issue 12 item 10: which pages may open a socket.io connection (http/origin.ts). */
import { describe, expect, it } from 'vitest';
import { originAllowed } from '../../src/http/origin.js';

const req = (headers: Record<string, string>) => ({ headers });

describe('issue 12 item 10: socket.io accepted any Origin', () => {
  it('allows a client without an Origin (not a browser page)', () => {
    expect(originAllowed(req({ host: 'shop.example' }), [], false)).toBe(true);
    expect(originAllowed(req({}), ['https://shop.example'], false)).toBe(true);
  });

  it('without an allow-list, allows the request own host only', () => {
    expect(originAllowed(req({ origin: 'https://shop.example', host: 'shop.example' }), [], false)).toBe(true);
    expect(originAllowed(req({ origin: 'http://localhost:3000', host: 'localhost:3000' }), [], false)).toBe(true);
    expect(originAllowed(req({ origin: 'https://evil.example', host: 'shop.example' }), [], false)).toBe(false);
    expect(originAllowed(req({ origin: 'https://a.shop.example', host: 'shop.example' }), [], false)).toBe(false);
    expect(originAllowed(req({ origin: 'null', host: 'shop.example' }), [], false)).toBe(false);
    expect(originAllowed(req({ origin: 'https://shop.example' }), [], false)).toBe(false);
  });

  it('reads X-Forwarded-Host only when the proxy is trusted', () => {
    const r = req({ origin: 'https://shop.example', host: 'gateway-1:3000', 'x-forwarded-host': 'shop.example' });
    expect(originAllowed(r, [], true)).toBe(true);
    expect(originAllowed(r, [], false)).toBe(false);
  });

  it('with an allow-list (PUBLIC_URL, ALLOWED_ORIGINS), allows exactly its origins', () => {
    const allowed = ['https://shop.example', 'https://m.shop.example'];
    expect(originAllowed(req({ origin: 'https://m.shop.example', host: 'gw:3000' }), allowed, false)).toBe(true);
    expect(originAllowed(req({ origin: 'http://shop.example', host: 'shop.example' }), allowed, false)).toBe(false);
    expect(originAllowed(req({ origin: 'https://shop.example:8443', host: 'gw:3000' }), allowed, false)).toBe(false);
  });
});
