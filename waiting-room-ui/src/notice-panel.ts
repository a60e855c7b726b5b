/**
 * The console's notice box (issue 16 item 8): the message every waiting page of the selected
 * sale shows, live (`PUT`/`DELETE /api/admin/sales/:id/notice`). It shows the notice in force,
 * lets the marketer write one (plain text: pages show it as text), choose info or warning,
 * send it, and clear it. A refusal (`INVALID_NOTICE`) is said as a problem; nothing changed.
 */
import type { ConsoleCalls } from './webhooks-panel.js';
import { byId, setText, show } from './dom.js';
import { obj, parseNotice, type Notice } from './shapes.js';
import { localTime } from './time-format.js';

const MAX_LENGTH = 500;
const path = (saleId: string) => `/api/admin/sales/${encodeURIComponent(saleId)}/notice`;
const parseAnswer = (v: unknown): Notice | null => {
  const o = obj(v, 'notice answer');
  return o.notice === null ? null : parseNotice(o.notice);
};

export class NoticePanel {
  private readonly _form = byId<HTMLFormElement>('broadcast-form');
  private readonly _message = byId<HTMLTextAreaElement>('broadcast-message');
  private readonly _level = byId<HTMLSelectElement>('broadcast-level');
  private readonly _clear = byId<HTMLButtonElement>('broadcast-clear');
  private readonly _current = byId('broadcast-current');
  private readonly _currentText = byId('broadcast-current-text');
  private readonly _currentMeta = byId('broadcast-current-meta');
  private readonly _none = byId('broadcast-none');
  private readonly _error = byId('broadcast-error');
  private _saleId: string | null = null;

  constructor(private readonly calls: ConsoleCalls) {}

  start(): void {
    this._message.maxLength = MAX_LENGTH;
    this._form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this._send();
    });
    this._clear.addEventListener('click', () => void this._clearNotice());
  }

  /** the sale whose notice the box is about (null: none selected) */
  async open(saleId: string | null): Promise<void> {
    this._saleId = saleId;
    this._showError(null);
    if (!saleId) return;
    const r = await this.calls.call(path(saleId), parseAnswer);
    if (this._saleId !== saleId) return;
    if (!r.ok) {
      if (r.status === 401) return this.calls.unauthorized();
      return this._showError(`The notice could not be read: ${this.calls.describe(r)}.`);
    }
    this._render(r.value);
  }

  private async _send(): Promise<void> {
    const saleId = this._saleId;
    if (!saleId) return;
    const message = this._message.value.trim();
    if (!message) return this._showError('Write a message first.');
    const r = await this.calls.call(path(saleId), parseAnswer, 'PUT', { message, level: this._level.value });
    if (this._saleId !== saleId) return;
    if (!r.ok) {
      if (r.status === 401) return this.calls.unauthorized();
      const why = `Not sent: ${this.calls.describe(r)}.`;
      this._showError(why);
      return this.calls.say(why, 'problem');
    }
    this._showError(null);
    this._message.value = '';
    this._render(r.value);
    this.calls.say('Notice sent to every page of the sale.');
  }

  private async _clearNotice(): Promise<void> {
    const saleId = this._saleId;
    if (!saleId) return;
    const r = await this.calls.call(path(saleId), parseAnswer, 'DELETE');
    if (this._saleId !== saleId) return;
    if (!r.ok) {
      if (r.status === 401) return this.calls.unauthorized();
      return this.calls.say(`Not cleared: ${this.calls.describe(r)}.`, 'problem');
    }
    this._render(null);
    this.calls.say('Notice cleared.');
  }

  private _render(notice: Notice | null): void {
    show(this._current, notice !== null);
    show(this._none, notice === null);
    this._clear.disabled = notice === null;
    if (!notice) return;
    this._current.dataset.level = notice.level;
    // text only: the marketer's words are never HTML
    setText(this._currentText, notice.message);
    setText(this._currentMeta, `${notice.level === 'warning' ? 'Warning' : 'Info'}, sent ${localTime(notice.at)}`);
  }

  private _showError(text: string | null): void {
    show(this._error, text !== null);
    setText(this._error, text ?? '');
  }
}
