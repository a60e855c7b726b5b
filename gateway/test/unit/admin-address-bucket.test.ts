import { describe, expect, it } from 'vitest';
import { addressBucket } from '../../src/http/credentials.js';

describe("issue 12 item 9: wrong admin keys counted per address, an IPv6 subscriber's /64 as one", () => {
  it('keeps an IPv4 address, also when IPv4-mapped', () => {
    expect(addressBucket('203.0.113.7')).toBe('203.0.113.7');
    expect(addressBucket('::ffff:203.0.113.7')).toBe('203.0.113.7');
  });

  it('counts every address of one /64 together, whatever its spelling', () => {
    const bucket = '2001:db8:1:2::/64';
    for (const ip of ['2001:db8:1:2::a', '2001:0db8:0001:0002:ffff:1:2:3', '2001:DB8:1:2:0:0:0:1', '2001:db8:1:2::1%eth0']) {
      expect(addressBucket(ip), ip).toBe(bucket);
    }
    expect(addressBucket('2001:db8:1:3::a')).not.toBe(bucket);
    expect(addressBucket('::1')).toBe('0:0:0:0::/64');
    expect(addressBucket('2001:db8::1')).toBe('2001:db8:0:0::/64');
  });
});
