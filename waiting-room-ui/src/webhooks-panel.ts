/**
 * The console's Webhooks panel (issue 14): the shop's endpoints (`/api/admin/webhooks`), adding
 * one (its signing secret is shown once, in the answer to the add, and kept nowhere), deleting
 * one after a confirmation, and one endpoint's delivery log at a time, refreshed every few
 * seconds while it is open, with Retry for a delivery that was given up.
 */
import type { Failure, Result } from './api.js';
import { byId, focusHeading, h, setText, show } from './dom.js';
import {
  parseCreatedWebhook,
  parseDeliveries,
  parseDelivery,
  parseNothing,
  parseWebhooks,
  SHOP_EVENT_TYPES,
  type Webhook,
  type WebhookDelivery,
} from './shapes.js';
import { count, localTime } from './time-format.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** what the panel needs of the console around it */
export interface ConsoleCalls {
  call<T>(path: string, parse: (v: unknown) => T, method?: Method, body?: unknown): Promise<Result<T>>;
  /** the console's live region */
  /** the console's live region; `problem`: shown as a refusal, not a success */
  say(text: string, kind?: 'ok' | 'problem'): void;
  describe(f: Failure): string;
  /** the key was refused: back to signing in */
  unauthorized(): void;
}

const DELIVERIES_POLL_MS = 5_000;
const path = (id: string) => `/api/admin/webhooks/${encodeURIComponent(id)}`;

/** "14:03:12" today, else the day with it */
function when(ms: number): string {
  const d = new Date(ms);
  return d.toDateString() === new Date().toDateString() ? d.toLocaleTimeString() : localTime(ms);
}

const eventsText = (w: Webhook) =>
  SHOP_EVENT_TYPES.every((t) => w.events.includes(t)) ? 'All events' : w.events.length ? w.events.join(', ') : 'None';

/** the last answer of a delivery: the shop's status code, or why there was none */
function lastAnswer(d: WebhookDelivery): string {
  if (d.responseStatus !== null && d.lastError) return `HTTP ${d.responseStatus}: ${d.lastError}`;
  if (d.responseStatus !== null) return `HTTP ${d.responseStatus}`;
  return d.lastError ?? '–';
}

export class WebhooksPanel {
  private _webhooks: Webhook[] = [];
  /** the endpoint whose deliveries are shown */
  private _open: Webhook | null = null;
  private _deliveries: WebhookDelivery[] = [];
  private _pollTimer: ReturnType<typeof setTimeout> | undefined;
  private _pollGeneration = 0;
  /** the endpoint the confirmation is about */
  private _deleting: Webhook | null = null;

  private readonly _title = byId('webhooks-title');
  private readonly _error = byId('webhooks-error');
  private readonly _body = byId('webhooks-body');
  private readonly _empty = byId('webhooks-empty');
  private readonly _secret = byId('webhook-secret');
  private readonly _secretTitle = byId('webhook-secret-title');
  private readonly _secretUrl = byId('webhook-secret-url');
  private readonly _secretValue = byId<HTMLInputElement>('webhook-secret-value');
  private readonly _secretCopy = byId<HTMLButtonElement>('webhook-secret-copy');
  private readonly _secretDone = byId<HTMLButtonElement>('webhook-secret-done');
  private readonly _add = byId<HTMLDetailsElement>('webhook-add');
  private readonly _form = byId<HTMLFormElement>('webhook-form');
  private readonly _formError = byId('webhook-error');
  private readonly _events = byId('w-events');
  private readonly _log = byId('deliveries');
  private readonly _logTitle = byId('deliveries-title');
  private readonly _logCaption = byId('deliveries-caption');
  private readonly _logClose = byId<HTMLButtonElement>('deliveries-close');
  private readonly _logError = byId('deliveries-error');
  private readonly _logBody = byId('deliveries-body');
  private readonly _logEmpty = byId('deliveries-empty');
  private readonly _confirm = byId<HTMLDialogElement>('confirm-delete');
  private readonly _confirmText = byId('confirm-delete-text');
  private readonly _confirmYes = byId<HTMLButtonElement>('confirm-delete-yes');
  private readonly _confirmNo = byId<HTMLButtonElement>('confirm-delete-no');

  constructor(private readonly _console: ConsoleCalls) {}

  start(): void {
    this._events.replaceChildren(
      ...SHOP_EVENT_TYPES.map((t) =>
        h('label', {}, h('input', { type: 'checkbox', name: 'events', value: t }), h('span', { class: 'event-name' }, t)),
      ),
    );
    this._form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this._create();
    });
    this._secretCopy.addEventListener('click', () => void this._copySecret());
    this._secretDone.addEventListener('click', () => {
      this._forgetSecret();
      focusHeading(this._title);
    });
    this._logClose.addEventListener('click', () => {
      const id = this._open?.id;
      this._closeLog();
      this._renderWebhooks();
      if (id) this._body.querySelector<HTMLElement>(`button[data-deliveries="${CSS.escape(id)}"]`)?.focus();
    });
    this._confirmYes.addEventListener('click', () => this._confirm.close('delete'));
    this._confirmNo.addEventListener('click', () => this._confirm.close('keep'));
    this._confirm.addEventListener('close', () => {
      const w = this._deleting;
      this._deleting = null;
      if (w && this._confirm.returnValue === 'delete') void this._remove(w);
    });
  }

  /** after signing in: the endpoints */
  async open(): Promise<void> {
    await this._refresh();
  }

  /** signing out: nothing of it stays on the page, the secret least of all */
  close(): void {
    this._forgetSecret();
    this._closeLog();
    this._webhooks = [];
    this._renderWebhooks();
    if (this._confirm.open) this._confirm.close('keep');
  }

  private _failed(r: Failure, what: string, where: HTMLElement): void {
    if (r.status === 401) {
      this.close();
      return this._console.unauthorized();
    }
    show(where, true);
    setText(where, `${what}: ${this._console.describe(r)}.`);
  }

  private async _refresh(): Promise<void> {
    const r = await this._console.call('/api/admin/webhooks', parseWebhooks);
    if (!r.ok) return this._failed(r, 'The endpoints could not be listed', this._error);
    show(this._error, false);
    this._webhooks = r.value;
    if (this._open && !this._webhooks.some((w) => w.id === this._open?.id)) this._closeLog();
    this._renderWebhooks();
  }

  private _renderWebhooks(): void {
    const rows = this._webhooks.map((w) => {
      const log = h('button', { type: 'button', class: 'secondary', 'data-deliveries': w.id, 'aria-controls': 'deliveries' }, 'Deliveries');
      log.addEventListener('click', () => void this._openLog(w));
      const remove = h('button', { type: 'button', class: 'secondary', 'data-delete': w.id }, 'Delete');
      remove.addEventListener('click', () => this._askRemove(w));
      const open = w.id === this._open?.id;
      if (open) log.setAttribute('aria-expanded', 'true');
      // the endpoint a button acts on, for a screen reader that lists the buttons alone
      log.setAttribute('aria-label', `Deliveries to ${w.url}`);
      remove.setAttribute('aria-label', `Delete ${w.url}`);
      return h(
        'tr',
        { 'data-webhook': w.id, ...(open ? { 'aria-current': 'true' } : {}) },
        h(
          'th',
          { scope: 'row', class: 'url' },
          w.url,
          ...(w.source === 'config' ? [h('span', { class: 'muted small sale-facts' }, "from the gateway's WEBHOOK_URL")] : []),
        ),
        h('td', { class: 'events-cell' }, eventsText(w)),
        h('td', {}, localTime(w.createdAt)),
        h('td', {}, log, remove),
      );
    });
    this._body.replaceChildren(...rows);
    show(this._empty, rows.length === 0);
  }

  private async _create(): Promise<void> {
    const form = this._form;
    if (!form.reportValidity()) return;
    const data = new FormData(form);
    const url = String(data.get('url') ?? '').trim();
    const events = data.getAll('events').map(String);
    const body = events.length ? { url, events } : { url };
    const r = await this._console.call('/api/admin/webhooks', parseCreatedWebhook, 'POST', body);
    if (!r.ok) {
      this._failed(r, 'The endpoint was not added', this._formError);
      if (r.status !== 401) this._console.say(`The endpoint was not added: ${r.message}`, 'problem');
      return;
    }
    show(this._formError, false);
    form.reset();
    this._add.open = false;
    // the one time the secret is on the page
    setText(this._secretUrl, r.value.url);
    this._secretValue.value = r.value.secret;
    show(this._secret, true);
    focusHeading(this._secretTitle);
    this._console.say(`Endpoint ${r.value.url} added. Copy its signing secret now: it is shown only this once.`);
    await this._refresh();
  }

  private async _copySecret(): Promise<void> {
    const secret = this._secretValue.value;
    if (!secret) return;
    try {
      await navigator.clipboard.writeText(secret);
      this._console.say('The signing secret is on the clipboard.');
    } catch {
      // no clipboard here (permissions, an insecure origin): the marketer copies it by hand
      this._secretValue.focus();
      this._secretValue.select();
      this._console.say('The secret is selected: press Ctrl+C (⌘C on a Mac) to copy it.');
    }
  }

  private _forgetSecret(): void {
    this._secretValue.value = '';
    setText(this._secretUrl, '');
    show(this._secret, false);
  }

  private _askRemove(w: Webhook): void {
    this._deleting = w;
    setText(
      this._confirmText,
      `${w.url} will be sent nothing more. Its delivery log stays readable through the API.` +
        (w.source === 'config'
          ? " It was registered from the gateway's WEBHOOK_URL, and comes back when the gateway restarts with it."
          : ''),
    );
    this._confirm.returnValue = '';
    this._confirm.showModal();
    // the harmless choice first
    this._confirmNo.focus();
  }

  private async _remove(w: Webhook): Promise<void> {
    const r = await this._console.call(path(w.id), parseNothing, 'DELETE');
    if (!r.ok) {
      if (r.status === 401) return this._failed(r, 'Not deleted', this._error);
      return this._console.say(`Not deleted: ${this._console.describe(r)}.`, 'problem');
    }
    if (this._open?.id === w.id) this._closeLog();
    this._console.say(`Endpoint ${w.url} deleted.`);
    await this._refresh();
    focusHeading(this._title);
  }

  // ---- one endpoint's delivery log --------------------------------------------------------

  private async _openLog(w: Webhook): Promise<void> {
    const same = this._open?.id === w.id;
    this._open = w;
    this._pollGeneration++;
    clearTimeout(this._pollTimer);
    if (!same) {
      this._deliveries = [];
      this._renderLog();
    }
    setText(this._logTitle, `Deliveries to ${w.url}`);
    setText(this._logCaption, `Deliveries to ${w.url}`);
    show(this._log, true);
    this._renderWebhooks();
    focusHeading(this._logTitle);
    await this._pollLog(this._pollGeneration);
  }

  private _closeLog(): void {
    this._open = null;
    this._deliveries = [];
    this._pollGeneration++;
    clearTimeout(this._pollTimer);
    show(this._log, false);
    this._logBody.replaceChildren();
  }

  private async _pollLog(generation: number): Promise<void> {
    const w = this._open;
    if (!w || generation !== this._pollGeneration) return;
    const r = await this._console.call(`${path(w.id)}/deliveries`, parseDeliveries);
    if (generation !== this._pollGeneration) return;
    if (r.ok) {
      show(this._logError, false);
      this._deliveries = r.value;
      this._renderLog();
    } else {
      this._failed(r, 'Deliveries unavailable', this._logError);
      if (r.status === 401) return;
    }
    this._pollTimer = setTimeout(() => void this._pollLog(generation), Math.max(DELIVERIES_POLL_MS, r.ok ? 0 : (r.retryAfterMs ?? 0)));
  }

  private _renderLog(): void {
    // a re-render keeps the keyboard where it was
    const focused = document.activeElement instanceof HTMLElement ? document.activeElement.dataset.retry : undefined;
    const rows = this._deliveries.map((d) => {
      const actions: HTMLElement[] = [];
      if (d.status === 'failed') {
        const retry = h('button', { type: 'button', class: 'secondary', 'data-retry': String(d.id) }, 'Retry');
        retry.setAttribute('aria-label', `Retry ${d.eventType} delivery ${d.id}`);
        retry.addEventListener('click', () => void this._retry(d, retry));
        actions.push(retry);
      }
      const whenText =
        d.nextAttemptAt !== null ? `${when(d.createdAt)}; next try ${when(d.nextAttemptAt)}` : when(d.deliveredAt ?? d.createdAt);
      return h(
        'tr',
        { 'data-delivery': String(d.id) },
        h('th', { scope: 'row' }, d.eventType, h('span', { class: 'muted small sale-facts event-id' }, d.eventId)),
        h('td', {}, h('span', { class: 'badge', 'data-delivery': d.status }, d.status)),
        h('td', { class: 'num' }, count(d.attempts)),
        h('td', { class: 'last-answer' }, lastAnswer(d)),
        h('td', { class: 'num' }, d.latencyMs === null ? '–' : `${count(d.latencyMs)} ms`),
        h('td', {}, whenText),
        h('td', {}, ...actions),
      );
    });
    this._logBody.replaceChildren(...rows);
    show(this._logEmpty, rows.length === 0);
    if (focused !== undefined) {
      const again = this._logBody.querySelector<HTMLElement>(`button[data-retry="${CSS.escape(focused)}"]`);
      if (again) again.focus();
      else focusHeading(this._logTitle);
    }
  }

  private async _retry(d: WebhookDelivery, button: HTMLButtonElement): Promise<void> {
    const w = this._open;
    if (!w) return;
    button.disabled = true;
    const r = await this._console.call(`${path(w.id)}/deliveries/${d.id}/retry`, parseDelivery, 'POST');
    if (!r.ok) {
      button.disabled = false;
      if (r.status === 401) return this._failed(r, 'Not retried', this._logError);
      return this._console.say(`Not retried: ${this._console.describe(r)}.`, 'problem');
    }
    if (this._open?.id !== w.id) return;
    this._deliveries = this._deliveries.map((x) => (x.id === r.value.id ? r.value : x));
    this._renderLog();
    if (!this._logBody.contains(document.activeElement)) focusHeading(this._logTitle);
    this._console.say(`The ${d.eventType} delivery is queued to be sent again.`);
  }
}
