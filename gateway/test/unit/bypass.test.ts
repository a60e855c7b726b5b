import { describe, expect, it } from 'vitest';
import { Bypass, parseCidr } from '../../src/http/bypass.js';

const req = (headers: Record<string, string>, remoteAddress = '127.0.0.1') => ({ headers, socket: { remoteAddress } });

describe('bypass rules (http/bypass.ts)', () => {
  it('parses IPv4 and IPv6 CIDRs and bare addresses, and refuses the rest', () => {
    for (const ok of ['10.0.0.0/8', '192.168.1.7', '0.0.0.0/0', '2001:db8::/32', '::1', '::/0']) expect(parseCidr(ok), ok).toBeDefined();
    for (const bad of ['10.0.0.0/33', '2001:db8::/129', '10.0.0/8', 'example.com', '10.0.0.0/8/1', '10.0.0.0/-1', '10.0.0.0/ 8', '']) {
      expect(parseCidr(bad), bad).toBeUndefined();
    }
  });

  it('matches any of the keys, and nothing near one', () => {
    const b = new Bypass(['a-first-key-0123456789', 'a-second-key-0123456789'], [], false);
    expect(b.match(req({ 'x-bypass-key': 'a-second-key-0123456789' }))).toBe('key');
    expect(b.match(req({ 'x-bypass-key': 'a-first-key-0123456789' }))).toBe('key');
    for (const near of ['a-first-key-012345678', 'a-first-key-01234567890', 'A-FIRST-KEY-0123456789', '']) {
      expect(b.match(req({ 'x-bypass-key': near }))).toBeUndefined();
    }
    expect(b.match(req({}))).toBeUndefined();
  });

  it('judges the TCP peer without TRUST_PROXY, and the last X-Forwarded-For entry with it', () => {
    const direct = new Bypass([], ['10.1.0.0/16'], false);
    expect(direct.match(req({ 'x-forwarded-for': '10.1.2.3' }, '203.0.113.1'))).toBeUndefined();
    expect(direct.match(req({}, '10.1.9.9'))).toBe('cidr:10.1.0.0/16');
    // a v4 client on a dual-stack socket
    expect(direct.match(req({}, '::ffff:10.1.9.9'))).toBe('cidr:10.1.0.0/16');

    const proxied = new Bypass([], ['10.1.0.0/16', '2001:db8::/32'], true);
    expect(proxied.match(req({ 'x-forwarded-for': '10.1.2.3' }))).toBe('cidr:10.1.0.0/16');
    expect(proxied.match(req({ 'x-forwarded-for': '2001:db8::7' }))).toBe('cidr:2001:db8::/32');
    // the client wrote the front; the proxy appended the real address
    expect(proxied.match(req({ 'x-forwarded-for': '10.1.2.3, 198.51.100.4' }))).toBeUndefined();
    expect(proxied.match(req({ 'x-forwarded-for': 'not-an-address' }))).toBeUndefined();
    expect(proxied.match(req({}, '10.1.0.1'))).toBe('cidr:10.1.0.0/16');
  });
});
