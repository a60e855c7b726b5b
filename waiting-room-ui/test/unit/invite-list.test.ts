/**
 * The console's invite list logic (issue 15 item 2): the gateway's answer parsed at the
 * boundary, pasted account ids (one a line, distinct), and the preview of a CSV file read as
 * the gateway reads it (first column, quotes dropped, a header `account` skipped).
 */
import { describe, expect, it } from 'vitest';
import { csvPreview, parseInviteList, pastedAccounts } from '../../src/invite-list.js';
import { ShapeError } from '../../src/shapes.js';

describe('parseInviteList', () => {
  it('takes the answer of GET and PUT', () => {
    const answer = { saleId: 'drop-1', count: 2, accounts: ['a', 'b'], truncated: false };
    expect(parseInviteList(answer)).toEqual(answer);
  });

  it('throws ShapeError for an answer that is not one', () => {
    expect(() => parseInviteList({ saleId: 'drop-1', count: '2', accounts: [], truncated: false })).toThrow(ShapeError);
    expect(() => parseInviteList({ saleId: 'drop-1', count: 2, accounts: [1], truncated: false })).toThrow(ShapeError);
    expect(() => parseInviteList({ saleId: 'drop-1', count: 2, accounts: 'a', truncated: false })).toThrow(ShapeError);
    expect(() => parseInviteList([])).toThrow(ShapeError);
  });
});

describe('pastedAccounts', () => {
  it('one id a line, trimmed, blank lines and repeats left out, commas kept', () => {
    expect(pastedAccounts(' acct-1 \r\n\nacct-2\nacct-1\n  \nshop,42\n')).toEqual(['acct-1', 'acct-2', 'shop,42']);
    expect(pastedAccounts('')).toEqual([]);
    expect(pastedAccounts('\n \n')).toEqual([]);
  });
});

describe('csvPreview', () => {
  it('counts the distinct accounts of the first column, the header skipped', () => {
    const csv = 'account,email\r\n"acct-1",a@example.com\nacct-2,b@example.com\nacct-1,again\n\nacct-3\n';
    expect(csvPreview(csv)).toEqual({ accounts: 3, first: ['acct-1', 'acct-2', 'acct-3'] });
    expect(csvPreview(csv, 2).first).toEqual(['acct-1', 'acct-2']);
  });

  it('reads "account" as an account when it is not the first line', () => {
    expect(csvPreview('acct-1\naccount\n')).toEqual({ accounts: 2, first: ['acct-1', 'account'] });
    expect(csvPreview('Account\nacct-1')).toEqual({ accounts: 1, first: ['acct-1'] });
  });

  it('an empty file names nobody (the gateway refuses it: JSON [] is how to clear)', () => {
    expect(csvPreview('')).toEqual({ accounts: 0, first: [] });
    expect(csvPreview('account\n\n')).toEqual({ accounts: 0, first: [] });
  });
});
