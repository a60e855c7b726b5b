/**
 * The invite list of an invite-only drop as the console handles it (issue 15 item 2): the
 * gateway's answer, the accounts of a paste, and a preview of a CSV file before it is sent.
 * The gateway reads the upload itself (sales/sale-invites.ts) and its count is the one the
 * console shows after an upload; the preview only tells the marketer what they picked.
 */
import { bool, num, obj, str, ShapeError } from './shapes.js';

/** `GET`/`PUT /api/admin/sales/:id/invites` */
export interface InviteList {
  saleId: string;
  /** accounts invited */
  count: number;
  /** the first accounts, sorted */
  accounts: string[];
  truncated: boolean;
}

export function parseInviteList(v: unknown): InviteList {
  const o = obj(v, 'invite list');
  const accounts = o.accounts;
  if (!Array.isArray(accounts) || !accounts.every((a): a is string => typeof a === 'string')) {
    throw new ShapeError('accounts is not a list of strings');
  }
  return { saleId: str(o, 'saleId'), count: num(o, 'count'), accounts, truncated: bool(o, 'truncated') };
}

/** distinct, trimmed, blank ones left out, in the order given */
const distinct = (entries: string[]): string[] => [...new Set(entries.map((e) => e.trim()).filter((e) => e !== ''))];

/** pasted account ids: one a line (sent as a JSON array, so an id may hold a comma) */
export function pastedAccounts(text: string): string[] {
  return distinct(text.split(/\r?\n/));
}

export interface CsvPreview {
  /** distinct accounts the file names */
  accounts: number;
  /** the first few, to check it is the right file */
  first: string[];
}

/**
 * What a CSV file names, read as the gateway reads it: one account a line, the first column
 * (quotes around it dropped), a header line `account` skipped.
 */
export function csvPreview(text: string, firstCount = 3): CsvPreview {
  const cells = text.split(/\r?\n/).map((line) => (line.split(',')[0] ?? '').trim().replace(/^"(.*)"$/, '$1'));
  if (cells[0]?.toLowerCase() === 'account') cells.shift();
  const accounts = distinct(cells);
  return { accounts: accounts.length, first: accounts.slice(0, firstCount) };
}
