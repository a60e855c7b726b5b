import { describe, expect, it } from 'vitest';
import { newVisitorId, VISITOR_ID_RE, VisitorCookie } from '../../src/tokens/visitor-id.js';

const SECRET = 'cookie-secret-0123456789abcdef';
const ID = 'AbCdEfGhIjKlMnOpQrStUv';

/** Replace the character at i with another base64url character. */
function changeAt(s: string, i: number): string {
  return s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
}

describe('newVisitorId', () => {
  it('matches VISITOR_ID_RE and is unique over 10,000 ids', () => {
    const ids = Array.from({ length: 10_000 }, () => newVisitorId());
    for (const id of ids) expect(id).toMatch(VISITOR_ID_RE);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('VISITOR_ID_RE', () => {
  it.each(['', 'a'.repeat(21), 'a'.repeat(23), 'AbCdEfGhIjKlMnOpQrSt.v', 'AbCdEfGhIjKlMnOpQrSt+v', 'AbCdEfGhIjKlMnOpQrSt/v'])(
    'rejects %j',
    (id) => {
      expect(VISITOR_ID_RE.test(id)).toBe(false);
    },
  );
});

describe('VisitorCookie', () => {
  const cookie = new VisitorCookie(SECRET);

  it('opens what it sealed', () => {
    const sealed = cookie.seal(ID);
    expect(sealed.startsWith(`${ID}.`)).toBe(true);
    expect(cookie.open(sealed)).toBe(ID);
  });

  it('opens sealed fresh ids', () => {
    for (let i = 0; i < 100; i++) {
      const id = newVisitorId();
      expect(cookie.open(cookie.seal(id))).toBe(id);
    }
  });

  it('seals deterministically (another instance with the same secret opens it)', () => {
    const again = new VisitorCookie(SECRET);
    expect(again.seal(ID)).toBe(cookie.seal(ID));
    expect(again.open(cookie.seal(ID))).toBe(ID);
  });

  it('refuses a changed id under the original mac', () => {
    const [, mac] = cookie.seal(ID).split('.');
    for (const i of [0, 10, ID.length - 1]) {
      expect(cookie.open(`${changeAt(ID, i)}.${mac}`)).toBeUndefined();
    }
    // another valid id with this id's mac
    expect(cookie.open(`${newVisitorId()}.${mac}`)).toBeUndefined();
  });

  it('refuses a changed, shortened or lengthened mac', () => {
    const sealed = cookie.seal(ID);
    const mac = sealed.split('.')[1]!;
    for (const i of [0, 15, mac.length - 1]) {
      expect(cookie.open(`${ID}.${changeAt(mac, i)}`)).toBeUndefined();
    }
    expect(cookie.open(`${ID}.${mac.slice(0, -1)}`)).toBeUndefined();
    expect(cookie.open(`${ID}.${mac}A`)).toBeUndefined();
    expect(cookie.open(`${ID}.`)).toBeUndefined();
  });

  it('refuses a cookie sealed with another secret', () => {
    const other = new VisitorCookie('another-secret-0123456789abcdef');
    expect(cookie.open(other.seal(ID))).toBeUndefined();
    expect(other.open(cookie.seal(ID))).toBeUndefined();
  });

  it.each([
    ['undefined', undefined],
    ['empty', ''],
    ['no dot', ID],
    ['only a dot', '.'],
    ['an invalid id', 'short.abc'],
    ['an id with a dot', `${ID.slice(0, 11)}.${ID.slice(11)}`],
    ['101 characters', 'a'.repeat(101)],
    ['5000 characters', 'x'.repeat(5000)],
    ['unicode', 'é'.repeat(22) + '.🎉'],
  ])('refuses garbage (%s) without throwing', (_label, value) => {
    let result: string | undefined = 'not called';
    expect(() => {
      result = cookie.open(value);
    }).not.toThrow();
    expect(result).toBeUndefined();
  });
});
