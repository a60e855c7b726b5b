import { describe, expect, it } from 'vitest';
import { cookieValue } from '../../src/http/credentials.js';

const req = (cookie?: string) => ({ headers: { cookie } });

describe('cookieValue', () => {
  it('finds a cookie by its exact name among others, with or without spaces', () => {
    expect(cookieValue(req('a=1; vr_ticket=abc.def-ghi_; vr_vid=x.y'), 'vr_ticket')).toBe('abc.def-ghi_');
    expect(cookieValue(req('vr_vid=x.y;vr_ticket=t'), 'vr_vid')).toBe('x.y');
    expect(cookieValue(req(' vr_ticket = t '), 'vr_ticket')).toBe('t');
  });

  it('does not match a name that only ends or starts with the one asked for', () => {
    expect(cookieValue(req('xvr_ticket=no; vr_ticketx=no'), 'vr_ticket')).toBeUndefined();
  });

  it('takes the first of repeated cookies, unquotes a quoted value, keeps "=" inside a value', () => {
    expect(cookieValue(req('vr_ticket=first; vr_ticket=second'), 'vr_ticket')).toBe('first');
    expect(cookieValue(req('vr_ticket="quoted"'), 'vr_ticket')).toBe('quoted');
    expect(cookieValue(req('vr_ticket=a=b'), 'vr_ticket')).toBe('a=b');
  });

  it('answers undefined without a header, for an empty header and for parts without "="', () => {
    expect(cookieValue(req(), 'vr_ticket')).toBeUndefined();
    expect(cookieValue(req(''), 'vr_ticket')).toBeUndefined();
    expect(cookieValue(req('vr_ticket; other'), 'vr_ticket')).toBeUndefined();
  });
});
