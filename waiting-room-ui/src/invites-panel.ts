/**
 * The console's "Who may join" box (issue 15 item 2): the selected sale's identity (anyone, or
 * the shop's signed-in accounts: chosen at creation, never changed), invite-only on or off
 * (`PATCH`), and for a sale of the shop's accounts its invite list
 * (`GET`/`PUT /api/admin/sales/:id/invites`): the count in force, a CSV file sent as it is
 * (`text/csv`, the gateway reads it), or account ids pasted one a line (sent as a JSON array).
 * A new list replaces the old one at once. A refusal (413 too large, 422 INVALID_INVITES) is
 * shown next to the box, and the list is as it was.
 */
import type { Failure, Result } from './api.js';
import { byId, setText, show } from './dom.js';
import { csvPreview, pastedAccounts, parseInviteList, type InviteList } from './invite-list.js';
import type { AdminSale } from './shapes.js';
import { count } from './time-format.js';
import type { ConsoleCalls } from './webhooks-panel.js';

/** a file larger than this is sent without a preview (reading it would only slow the tab) */
const PREVIEW_MAX_BYTES = 8 * 1024 * 1024;
const FIRST_SHOWN = 5;
const path = (saleId: string) => `/api/admin/sales/${encodeURIComponent(saleId)}/invites`;

export interface InviteCalls extends ConsoleCalls {
  /** sends a body as it is, with its content type (the CSV upload) */
  upload<T>(path: string, parse: (v: unknown) => T, type: string, data: Blob): Promise<Result<T>>;
  /** sends a change of the selected sale; null when done, else the refusal (already said) */
  patch(changes: { inviteOnly: boolean }, done: string): Promise<Failure | null>;
}

export class InvitesPanel {
  private readonly _identity = byId('invites-identity');
  private readonly _inviteOnly = byId<HTMLButtonElement>('invites-only');
  private readonly _inviteOnlyState = byId('invites-only-state');
  private readonly _list = byId('invites-list');
  private readonly _count = byId('invites-count');
  private readonly _first = byId('invites-first');
  private readonly _file = byId<HTMLInputElement>('invites-file');
  private readonly _filePreview = byId('invites-file-preview');
  private readonly _upload = byId<HTMLButtonElement>('invites-upload');
  private readonly _paste = byId<HTMLTextAreaElement>('invites-paste');
  private readonly _pasteForm = byId<HTMLFormElement>('invites-paste-form');
  private readonly _clear = byId<HTMLButtonElement>('invites-clear');
  private readonly _error = byId('invites-error');
  private _sale: AdminSale | null = null;
  /** the file's preview is about this file (a newer choice wins) */
  private _previewFor: File | null = null;

  constructor(private readonly calls: InviteCalls) {}

  start(): void {
    this._file.addEventListener('change', () => void this._previewFile());
    this._upload.addEventListener('click', () => void this._uploadFile());
    this._pasteForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this._sendPaste();
    });
    this._clear.addEventListener('click', () => {
      const sale = this._sale;
      if (!sale) return;
      // an empty list of an invite-only sale lets nobody new in: asked first
      if (!window.confirm(`Remove every account from the invite list of ${sale.name}?`)) return;
      void this._replace([], 'Invite list cleared');
    });
    this._inviteOnly.addEventListener('click', () => {
      const sale = this._sale;
      if (!sale) return;
      const on = !sale.inviteOnly;
      void this.calls.patch({ inviteOnly: on }, on ? 'Invite-only on' : 'Invite-only off').then((r) => {
        if (r && r.status !== 401) this._showError(`Not changed: ${this.calls.describe(r)}.`);
        else if (!r) this._showError(null);
      });
    });
  }

  /** the sale the box is about (null: none selected); its list is read when it changes */
  async show(sale: AdminSale | null): Promise<void> {
    const changed = sale?.id !== this._sale?.id;
    this._sale = sale;
    if (!sale) return;
    const shop = sale.identity === 'shop';
    setText(
      this._identity,
      shop
        ? 'The shop’s signed-in accounts (identity shop, set when the sale was created).'
        : 'Anyone, without an account (identity anonymous, set when the sale was created). Invite lists need a sale for the shop’s accounts.',
    );
    this._inviteOnly.setAttribute('aria-pressed', String(sale.inviteOnly));
    setText(this._inviteOnly, sale.inviteOnly ? 'Open to every account' : 'Make invite-only');
    setText(this._inviteOnlyState, sale.inviteOnly ? 'Invite-only: only the accounts on the list may take a place.' : 'Not invite-only.');
    show(this._inviteOnly, shop);
    show(this._list, shop);
    if (!changed) return;
    this._showError(null);
    this._file.value = '';
    this._paste.value = '';
    this._renderFilePreview(null);
    this._renderList(null);
    if (!shop) return;
    const r = await this.calls.call(path(sale.id), parseInviteList);
    if (this._sale?.id !== sale.id) return;
    if (!r.ok) return this._failed(r, 'The invite list could not be read');
    this._renderList(r.value);
  }

  private async _previewFile(): Promise<void> {
    const file = this._file.files?.[0] ?? null;
    this._previewFor = file;
    this._showError(null);
    if (!file) return this._renderFilePreview(null);
    if (file.size > PREVIEW_MAX_BYTES) {
      return this._renderFilePreview(`${file.name}: ${(file.size / 1024 / 1024).toFixed(1)} MB, counted by the gateway on upload.`);
    }
    const preview = csvPreview(await file.text());
    if (this._previewFor !== file) return;
    this._renderFilePreview(
      `${file.name}: ${count(preview.accounts)} account${preview.accounts === 1 ? '' : 's'}` +
        (preview.first.length ? ` (${preview.first.join(', ')}${preview.accounts > preview.first.length ? ', …' : ''})` : '') +
        '. Uploading replaces the list.',
    );
  }

  private _renderFilePreview(text: string | null): void {
    setText(this._filePreview, text ?? 'One account id a line, in the first column; a header line “account” is skipped.');
    this._upload.disabled = text === null;
  }

  private async _uploadFile(): Promise<void> {
    const sale = this._sale;
    const file = this._file.files?.[0];
    if (!sale || !file) return;
    const r = await this.calls.upload(path(sale.id), parseInviteList, 'text/csv', file);
    this._answered(sale, r, `Invite list replaced from ${file.name}`);
    if (r.ok) {
      this._file.value = '';
      this._renderFilePreview(null);
    }
  }

  private async _sendPaste(): Promise<void> {
    const accounts = pastedAccounts(this._paste.value);
    if (accounts.length === 0) return this._showError('Paste at least one account id (one a line).');
    if (await this._replace(accounts, 'Invite list replaced')) this._paste.value = '';
  }

  private async _replace(accounts: string[], done: string): Promise<boolean> {
    const sale = this._sale;
    if (!sale) return false;
    const r = await this.calls.call(path(sale.id), parseInviteList, 'PUT', accounts);
    return this._answered(sale, r, done);
  }

  /** an upload's answer: the new count, or the refusal next to the box (the list is as it was) */
  private _answered(sale: AdminSale, r: Result<InviteList>, done: string): boolean {
    if (this._sale?.id !== sale.id) return false;
    if (!r.ok) {
      this._failed(r, 'The invite list was not changed');
      if (r.status !== 401) this.calls.say(`The invite list was not changed: ${r.message}`, 'problem');
      return false;
    }
    this._showError(null);
    this._renderList(r.value);
    this.calls.say(`${done}: ${count(r.value.count)} account${r.value.count === 1 ? '' : 's'} invited.`);
    return true;
  }

  private _renderList(list: InviteList | null): void {
    setText(this._count, list === null ? '–' : `${count(list.count)} account${list.count === 1 ? '' : 's'} invited`);
    this._clear.disabled = list === null || list.count === 0;
    const first = list?.accounts.slice(0, FIRST_SHOWN) ?? [];
    setText(this._first, first.length ? `First: ${first.join(', ')}${list && list.count > first.length ? ', …' : ''}` : '');
    show(this._first, first.length > 0);
  }

  private _failed(r: Failure, what: string): void {
    if (r.status === 401) return this.calls.unauthorized();
    this._showError(`${what}: ${this.calls.describe(r)}.`);
  }

  private _showError(text: string | null): void {
    show(this._error, text !== null);
    setText(this._error, text ?? '');
  }
}
