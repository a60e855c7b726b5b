/**
 * The marketer's console: `/admin`.
 *
 * Asks for the admin key once per browser tab (sessionStorage: it goes when the tab does),
 * lists the sales and creates new ones, and for the selected sale polls its stats every second
 * into four charts (waiting shoppers, admissions per minute, remaining stock, confirmed orders)
 * next to the live controls: admission rate, cap on shoppers admitted at once, checkout window,
 * pause and resume. Every change is marked on the charts, so its effect shows beside it.
 *
 * A sale that hands its orders to the shop (issue 14: a checkout URL) also shows what became of
 * them (paid, held in checkouts, returned to sale) and its `held` status, and has its checkout
 * page and payment window among the controls. The shop's webhook endpoints and their delivery
 * log are the Webhooks panel (webhooks-panel.ts).
 *
 * What a sale sells (issue 15 item 5) is set in the New sale form and changed in the sale's
 * Product form, both with a preview (product-form.ts). Who may join (issue 15 item 2): the
 * sale's identity, chosen at creation, invite-only, and its invite list (invites-panel.ts).
 */
import { request, type Failure, type Result } from './api.js';
import { InvitesPanel } from './invites-panel.js';
import { ProductFieldset, ProductPanel } from './product-form.js';
import { LineChart } from './chart.js';
import { byId, h, setText, show } from './dom.js';
import { handsOff, obj, parseAdminSale, parseSaleStats, ShapeError, type AdminSale, type Product, type SaleStats } from './shapes.js';
import { StatsHistory, WINDOW_MS } from './stats-history.js';
import { count, localTime, spokenDuration } from './time-format.js';
import { WebhooksPanel, type ConsoleCalls, type Method } from './webhooks-panel.js';
import { NoticePanel } from './notice-panel.js';
import { ReportView } from './report-view.js';

const KEY_STORAGE = 'velvet-rope:admin-key';
const POLL_MS = 1_000;
const LIST_POLL_MS = 5_000;

const storage = {
  get: (): string | null => {
    try {
      return sessionStorage.getItem(KEY_STORAGE);
    } catch {
      return null;
    }
  },
  set: (key: string | null): void => {
    try {
      if (key === null) sessionStorage.removeItem(KEY_STORAGE);
      else sessionStorage.setItem(KEY_STORAGE, key);
    } catch {
      // storage disabled: the key lives as long as the page
    }
  },
};

const parseSales = (v: unknown): AdminSale[] => {
  const list = obj(v).sales;
  if (!Array.isArray(list)) throw new ShapeError('sales is not a list');
  return list.map(parseAdminSale);
};

const describe = (f: Failure) => (f.status === 0 ? "the gateway can't be reached" : `${f.message} (${f.code})`);

/** how the status badge reads; `held` says where the units are */
const statusLabel = (s: SaleStats): string =>
  s.paused && s.status === 'open' ? 'paused' : s.status === 'held' ? 'held in checkouts' : s.status.replace('_', ' ');

/** the new value of a setting the console changes (a number, pause, the checkout URL or none, the product or none) */
type Change = number | boolean | string | Product | null;

/** the flow as the console says it: standby tells whether its queue is on now */
const flowLabel = (s: SaleStats): string =>
  s.flow === 'standby'
    ? s.queueing
      ? 'standby, queueing'
      : 'standby, straight in'
    : s.flow === 'passthrough'
      ? s.queueing
        ? 'passthrough, waiting for stock'
        : 'passthrough'
      : s.flow === 'suspended'
        ? 'suspended (maintenance)'
        : 'queue';

class Console {
  private _key: string | null = storage.get();
  private _sales: AdminSale[] = [];
  private _selected: AdminSale | null = null;
  private _history = new StatsHistory();
  private _pollTimer: ReturnType<typeof setTimeout> | undefined;
  private _listTimer: ReturnType<typeof setTimeout> | undefined;
  private _pollGeneration = 0;
  /** server time minus client time, from the stats' `at` */
  private _offsetMs = 0;
  /** what the sale's alert says now ('' : nothing) */
  private _alertText = '';

  private readonly _signIn = byId('sign-in');
  private readonly _keyForm = byId<HTMLFormElement>('key-form');
  private readonly _keyInput = byId<HTMLInputElement>('key');
  private readonly _keyError = byId('key-error');
  private readonly _signOut = byId<HTMLButtonElement>('sign-out');
  private readonly _workspace = byId('workspace');
  private readonly _salesBody = byId('sales-body');
  private readonly _salesEmpty = byId('sales-empty');
  private readonly _createForm = byId<HTMLFormElement>('create-form');
  private readonly _createError = byId('create-error');
  private readonly _salePanel = byId('sale-panel');
  private readonly _saleTitle = byId('sale-title');
  private readonly _saleStatus = byId('sale-status');
  private readonly _shopperLink = byId<HTMLAnchorElement>('shopper-link');
  private readonly _statsError = byId('stats-error');
  private readonly _controls = byId<HTMLFormElement>('controls');
  private readonly _rate = byId<HTMLInputElement>('ctl-rate');
  private readonly _maxActive = byId<HTMLInputElement>('ctl-max-active');
  private readonly _checkout = byId<HTMLInputElement>('ctl-checkout');
  private readonly _payment = byId<HTMLInputElement>('ctl-payment');
  private readonly _checkoutUrl = byId<HTMLInputElement>('ctl-checkout-url');
  private readonly _flow = byId<HTMLSelectElement>('ctl-flow');
  private readonly _maxQueue = byId<HTMLInputElement>('ctl-max-queue');
  private readonly _handOff = byId('hand-off');
  private readonly _handOffLink = byId<HTMLAnchorElement>('hand-off-link');
  private readonly _handOffWindow = byId('hand-off-window');
  private readonly _saleAlert = byId('sale-alert');
  private readonly _pause = byId<HTMLButtonElement>('ctl-pause');
  private readonly _notice = byId('notice');
  private readonly _charts = {
    waiting: new LineChart(byId('chart-waiting'), 'Waiting shoppers'),
    admissions: new LineChart(byId('chart-admissions'), 'Admissions per minute'),
    remaining: new LineChart(byId('chart-remaining'), 'Remaining stock'),
    confirmed: new LineChart(byId('chart-confirmed'), 'Confirmed orders'),
  };
  /** what every panel needs of the console: its calls with the key, its live region, signing in again */
  private readonly _calls: ConsoleCalls = {
    call: (path, parse, method, body) => this._call(path, parse, method, body),
    say: (text, kind) => this._say(text, kind),
    describe,
    unauthorized: () => this._showSignIn('The key is no longer accepted. Sign in again.'),
  };
  private readonly _webhooks = new WebhooksPanel(this._calls);
  private readonly _broadcast = new NoticePanel(this._calls);
  /** the New sale form's product, and the selected sale's (product-form.ts) */
  private readonly _createProduct = new ProductFieldset(byId('c-product'), 'c-product');
  private readonly _product = new ProductPanel({ ...this._calls, patch: (changes, done) => this._patchFrom(changes, done) });
  private readonly _invites = new InvitesPanel({
    ...this._calls,
    upload: (path, parse, type, data) => request(path, parse, { method: 'PUT', token: this._key, raw: { type, data } }),
    patch: (changes, done) => this._patchFrom(changes, done),
  });
  // the sale report, beside another sale to compare (report-view.ts)
  private readonly _report = new ReportView({
    call: (path, parse) => this._call(path, parse),
    key: () => this._key,
    sales: () => this._sales,
    describe,
    say: (text, kind) => this._say(text, kind),
  });

  start(): void {
    this._keyForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const key = this._keyInput.value.trim();
      if (!key) return;
      this._key = key;
      void this._enter();
    });
    this._signOut.addEventListener('click', () => {
      storage.set(null);
      this._key = null;
      this._select(null);
      this._webhooks.close();
      this._showSignIn(null);
    });
    this._createForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this._create();
    });
    this._controls.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this._applyControls();
    });
    this._pause.addEventListener('click', () => {
      const paused = this._history.latest?.paused ?? this._selected?.paused ?? false;
      void this._patch({ paused: !paused }, paused ? 'Admissions resumed' : 'Admissions paused');
    });
    window.addEventListener('hashchange', () => this._selectFromHash());
    this._webhooks.start();
    this._broadcast.start();
    this._product.start();
    this._invites.start();
    this._defaultCreateTimes();
    if (this._key) void this._enter();
    else this._showSignIn(null);
  }

  private _call<T>(path: string, parse: (v: unknown) => T, method: Method = 'GET', body?: unknown): Promise<Result<T>> {
    return request(path, parse, { method, token: this._key, body });
  }

  private _say(text: string, kind: 'ok' | 'problem' = 'ok'): void {
    // the console's one live region: results of what the marketer did (a refusal in the problem colour)
    this._notice.dataset.kind = kind;
    setText(this._notice, '');
    setTimeout(() => setText(this._notice, text), 50);
  }

  private _showSignIn(error: string | null): void {
    show(this._signIn, true);
    show(this._workspace, false);
    show(this._signOut, false);
    show(this._keyError, error !== null);
    if (error) setText(this._keyError, error);
    this._keyInput.value = '';
    this._keyInput.focus();
  }

  /** checks the key by listing the sales; keeps it for this tab when it works */
  private async _enter(): Promise<void> {
    const r = await this._call('/api/admin/sales', parseSales);
    if (!r.ok) {
      if (r.status === 401) {
        storage.set(null);
        this._key = null;
        return this._showSignIn('That key was not accepted. Check it and try again.');
      }
      return this._showSignIn(`Could not sign in: ${describe(r)}.`);
    }
    storage.set(this._key);
    show(this._signIn, false);
    show(this._workspace, true);
    show(this._signOut, true);
    this._sales = r.value;
    this._renderSales();
    this._selectFromHash();
    this._pollList();
    void this._webhooks.open();
  }

  private async _refreshSales(): Promise<void> {
    const r = await this._call('/api/admin/sales', parseSales);
    if (r.ok) {
      this._sales = r.value;
      this._renderSales();
    }
  }

  /** the list row of the sale being watched follows its live figures (not only the last list load) */
  private _followInList(saleId: string, s: SaleStats): void {
    const i = this._sales.findIndex((x) => x.id === saleId);
    const listed = this._sales[i];
    if (!listed || (listed.sold === s.sold && listed.paused === s.paused)) return;
    this._sales[i] = { ...listed, sold: s.sold, paused: s.paused };
    this._renderSales();
  }

  /** the other sales' rows follow too, less often: one list call every LIST_POLL_MS while signed in */
  private _pollList(): void {
    clearTimeout(this._listTimer);
    this._listTimer = setTimeout(() => {
      if (this._key === null) return;
      void this._refreshSales().finally(() => this._pollList());
    }, LIST_POLL_MS);
  }

  private _renderSales(): void {
    const rows = [...this._sales]
      .sort((a, b) => b.startsAt - a.startsAt)
      .map((s) => {
        const watch = h('button', { type: 'button', class: 'link-button', 'data-sale': s.id }, s.name);
        watch.addEventListener('click', () => {
          location.hash = encodeURIComponent(s.id);
        });
        if (s.id === this._selected?.id) watch.setAttribute('aria-current', 'true');
        const facts = `${s.id} · ${count(s.ratePerMinute)}/min${s.paused ? ' · paused' : ''}${handsOff(s) ? ' · shop checkout' : ''}${s.identity === 'shop' ? ' · shop accounts' : ''}${s.inviteOnly ? ' · invite-only' : ''}${s.retiredAt !== null ? ' · archived' : ''}`;
        return h(
          'tr',
          {},
          h('th', { scope: 'row' }, watch, h('span', { class: 'muted small sale-facts' }, facts)),
          h('td', {}, localTime(s.startsAt)),
          h('td', { class: 'num' }, `${count(s.sold)} / ${count(s.stock)}`),
        );
      });
    this._salesBody.replaceChildren(...rows);
    show(this._salesEmpty, rows.length === 0);
    this._report.salesChanged();
  }

  private _selectFromHash(): void {
    const id = decodeURIComponent(location.hash.replace(/^#/, ''));
    this._select(this._sales.find((s) => s.id === id) ?? null);
  }

  private _select(sale: AdminSale | null): void {
    const changed = sale?.id !== this._selected?.id;
    this._selected = sale;
    if (changed) {
      void this._broadcast.open(sale?.id ?? null);
      this._history = new StatsHistory();
      this._pollGeneration++;
      clearTimeout(this._pollTimer);
    }
    this._renderSales();
    this._report.show(sale?.id ?? null);
    this._product.show(sale);
    void this._invites.show(sale);
    show(this._salePanel, sale !== null);
    if (!sale) return;
    setText(this._saleTitle, sale.name);
    this._shopperLink.href = `/sales/${encodeURIComponent(sale.id)}`;
    setText(this._shopperLink, `Shopper page: /sales/${sale.id}`);
    this._fillControls(sale);
    this._showHandOff(sale);
    if (changed) {
      this._alert('');
      void this._poll(this._pollGeneration);
    }
  }

  private _fillControls(sale: AdminSale): void {
    this._rate.value = String(sale.ratePerMinute);
    this._maxActive.value = String(sale.maxActive);
    this._checkout.value = String(sale.checkoutSeconds);
    this._payment.value = String(sale.paymentSeconds);
    this._checkoutUrl.value = sale.checkoutUrl ?? '';
    this._flow.value = sale.flow;
    this._maxQueue.value = sale.maxQueue === null ? '' : String(sale.maxQueue);
  }

  /** the hand-off line and figures: only for a sale that hands its orders to the shop */
  private _showHandOff(sale: AdminSale): void {
    const on = handsOff(sale);
    show(this._handOff, on);
    for (const e of this._salePanel.querySelectorAll<HTMLElement>('.hands-off')) show(e, on);
    if (!on) return;
    this._handOffLink.href = sale.checkoutUrl ?? '/';
    setText(this._handOffLink, sale.checkoutUrl ?? '');
    setText(this._handOffWindow, spokenDuration(sale.paymentSeconds * 1000));
  }

  /** the sale's one standing alert (a polite live region): said when it appears or changes */
  private _alert(text: string): void {
    if (text === this._alertText) return;
    this._alertText = text;
    this._saleAlert.replaceChildren(...(text ? [h('p', { class: 'banner' }, text)] : []));
  }

  private async _poll(generation: number): Promise<void> {
    const sale = this._selected;
    if (!sale || generation !== this._pollGeneration) return;
    const sentAt = Date.now();
    const r = await this._call(`/api/admin/sales/${encodeURIComponent(sale.id)}/stats`, parseSaleStats);
    if (generation !== this._pollGeneration) return;
    if (r.ok) {
      this._offsetMs = r.value.at - (sentAt + r.receivedAt) / 2;
      show(this._statsError, false);
      this._history.add(r.value);
      this._renderStats(r.value);
      this._followInList(sale.id, r.value);
    } else {
      show(this._statsError, true);
      setText(this._statsError, `Live figures unavailable: ${describe(r)}. Retrying…`);
      if (r.status === 401) return this._showSignIn('The key is no longer accepted. Sign in again.');
    }
    this._pollTimer = setTimeout(() => void this._poll(generation), Math.max(POLL_MS, r.ok ? 0 : (r.retryAfterMs ?? 2_000)));
  }

  private _renderStats(s: SaleStats): void {
    setText(this._saleStatus, statusLabel(s));
    this._saleStatus.dataset.status = s.status;
    const sale = this._selected;
    this._alert(
      s.status === 'held' && sale
        ? `Every unit is in a shopper's checkout, waiting for payment. Unpaid orders go back on sale at the end of ` +
            `their payment window (${spokenDuration(sale.paymentSeconds * 1000)}), so the line stays open.`
        : s.status === 'suspended'
          ? 'Suspended: every shopper sees a maintenance notice; joins and purchases are refused and nobody is admitted. ' +
            'Places in line are kept. Switch the flow back to resume.'
          : '',
    );
    setText(byId('kpi-flow'), flowLabel(s));
    setText(this._pause, s.paused ? 'Resume admissions' : 'Pause admissions');
    this._pause.setAttribute('aria-pressed', String(s.paused));
    const kpi: Record<string, number> = {
      waiting: s.waiting,
      'told-sold-out': s.toldSoldOut,
      admitted: s.admitted,
      'admitted-total': s.admittedTotal,
      remaining: s.remaining,
      pending: s.pending,
      sold: s.sold,
      confirmed: s.confirmedOrders,
      rejected: s.rejectedOrders,
      paid: s.paid,
      held: s.held,
      returned: s.returned,
    };
    for (const [k, v] of Object.entries(kpi)) setText(byId(`kpi-${k}`), count(v));

    const h = this._history;
    // the window grows with the watching, from half a minute up to WINDOW_MS
    const to = s.at;
    const from = to - Math.min(WINDOW_MS, Math.max(30_000, to - (h.firstAt ?? to)));
    const markers = h.markers;
    this._charts.waiting.draw([{ name: 'waiting', points: h.series((x) => x.waiting), className: 's-waiting' }], markers, from, to);
    this._charts.admissions.draw(
      [
        { name: 'admitted per minute', points: h.admissionsPerMinute(), className: 's-admissions' },
        // the rate in force: the marketer's, or the closed loop's when it is on
        { name: 'rate in force', points: h.series((x) => (x.paused ? 0 : x.effectiveRatePerMinute)), className: 's-configured' },
      ],
      markers,
      from,
      to,
    );
    this._charts.remaining.draw([{ name: 'remaining', points: h.series((x) => x.remaining), className: 's-remaining' }], markers, from, to);
    this._charts.confirmed.draw(
      [{ name: 'confirmed orders', points: h.series((x) => x.confirmedOrders), className: 's-confirmed' }],
      markers,
      from,
      to,
    );
    const perMinute = h.admissionsPerMinute();
    setText(byId('value-waiting'), count(s.waiting));
    setText(byId('value-admissions'), `${count(Math.round(perMinute[perMinute.length - 1]?.[1] ?? 0))}/min`);
    setText(byId('value-remaining'), count(s.remaining));
    setText(byId('value-confirmed'), count(s.confirmedOrders));
  }

  private async _applyControls(): Promise<void> {
    const sale = this._selected;
    if (!sale) return;
    const changes: Record<string, Change> = {};
    const fields: [string, HTMLInputElement, number][] = [
      ['ratePerMinute', this._rate, sale.ratePerMinute],
      ['maxActive', this._maxActive, sale.maxActive],
      ['checkoutSeconds', this._checkout, sale.checkoutSeconds],
      ['paymentSeconds', this._payment, sale.paymentSeconds],
    ];
    for (const [name, input, current] of fields) {
      if (!input.reportValidity()) return;
      const v = Number(input.value);
      if (v !== current) changes[name] = v;
    }
    if (!this._checkoutUrl.reportValidity()) return;
    // empty: the sale stops handing off
    const url = this._checkoutUrl.value.trim() || null;
    if (url !== sale.checkoutUrl) changes.checkoutUrl = url;
    if (this._flow.value !== sale.flow) changes.flow = this._flow.value;
    if (!this._maxQueue.reportValidity()) return;
    // empty: no cap
    const maxQueue = this._maxQueue.value.trim() === '' ? null : Number(this._maxQueue.value);
    if (maxQueue !== sale.maxQueue) changes.maxQueue = maxQueue;
    if (Object.keys(changes).length === 0) return this._say('Nothing to change.');
    const labels: Record<string, string> = {
      ratePerMinute: `rate ${sale.ratePerMinute}→${changes.ratePerMinute}/min`,
      maxActive: `max active ${sale.maxActive}→${changes.maxActive}`,
      checkoutSeconds: `checkout ${sale.checkoutSeconds}→${changes.checkoutSeconds} s`,
      paymentSeconds: `payment ${sale.paymentSeconds}→${changes.paymentSeconds} s`,
      checkoutUrl: url === null ? 'shop checkout off' : sale.checkoutUrl === null ? 'shop checkout on' : 'shop checkout changed',
      flow: `flow ${sale.flow}→${String(changes.flow)}`,
      maxQueue: `max queue ${sale.maxQueue ?? 'none'}→${maxQueue ?? 'none'}`,
    };
    await this._patch(
      changes,
      `Changed: ${Object.keys(changes)
        .map((k) => labels[k])
        .join(', ')}`,
      labels,
    );
  }

  /** a panel's change of the selected sale, marked on the charts with what it did */
  private _patchFrom(changes: Record<string, Change>, done: string): Promise<Failure | null> {
    const label = done.charAt(0).toLowerCase() + done.slice(1);
    return this._patch(changes, done, Object.fromEntries(Object.keys(changes).map((k) => [k, label])));
  }

  /** changes the selected sale; null when done, else the refusal (said in the live region) */
  private async _patch(changes: Record<string, Change>, done: string, labels: Record<string, string> = {}): Promise<Failure | null> {
    const sale = this._selected;
    if (!sale) return null;
    const r = await this._call(`/api/admin/sales/${encodeURIComponent(sale.id)}`, parseAdminSale, 'PATCH', changes);
    if (!r.ok) {
      if (r.status === 401) this._showSignIn('The key is no longer accepted. Sign in again.');
      else this._say(`Not changed: ${describe(r)}.`, 'problem');
      return r;
    }
    const at = Date.now() + this._offsetMs;
    for (const k of Object.keys(changes)) {
      this._history.mark(k, k === 'paused' ? (changes.paused ? 'paused' : 'resumed') : (labels[k] ?? k), at);
    }
    this._selected = r.value;
    this._sales = this._sales.map((s) => (s.id === r.value.id ? r.value : s));
    this._renderSales();
    this._fillControls(r.value);
    this._showHandOff(r.value);
    this._product.show(r.value);
    void this._invites.show(r.value);
    this._say(`${done} at ${new Date().toLocaleTimeString()}.`);
    return null;
  }

  private _defaultCreateTimes(): void {
    const local = (ms: number) => {
      const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
      return d.toISOString().slice(0, 16);
    };
    const starts = this._createForm.elements.namedItem('startsAt');
    if (starts instanceof HTMLInputElement && !starts.value) starts.value = local(Date.now() + 10 * 60_000);
  }

  private async _create(): Promise<void> {
    const form = this._createForm;
    if (!form.reportValidity()) return;
    const data = new FormData(form);
    const text = (k: string) => String(data.get(k) ?? '').trim();
    const int = (k: string) => (text(k) === '' ? undefined : Number(text(k)));
    const when = (k: string) => (text(k) === '' ? undefined : new Date(text(k)).toISOString());
    const body = {
      id: text('id'),
      name: text('name'),
      stock: int('stock'),
      startsAt: when('startsAt'),
      prequeueOpensAt: when('prequeueOpensAt'),
      endsAt: when('endsAt'),
      ratePerMinute: int('ratePerMinute'),
      maxActive: int('maxActive'),
      checkoutSeconds: int('checkoutSeconds'),
      maxPerShopper: int('maxPerShopper'),
      queueMode: text('queueMode') || undefined,
      windowSeconds: int('windowSeconds'),
      checkoutUrl: text('checkoutUrl') || undefined,
      paymentSeconds: int('paymentSeconds'),
      flow: text('flow') || undefined,
      maxQueue: int('maxQueue'),
      // the identity is for good (the gateway refuses to change it); invite-only needs `shop`
      identity: text('identity') || undefined,
      inviteOnly: data.get('inviteOnly') === 'on' ? true : undefined,
      product: this._createProduct.value() ?? undefined,
    };
    const r = await this._call('/api/admin/sales', parseAdminSale, 'POST', body);
    if (!r.ok) {
      if (r.status === 401) return this._showSignIn('The key is no longer accepted. Sign in again.');
      show(this._createError, true);
      setText(this._createError, `The sale was not created: ${describe(r)}.`);
      this._say(`The sale was not created: ${r.message}`, 'problem');
      return;
    }
    show(this._createError, false);
    form.reset();
    this._createProduct.fill(null);
    this._defaultCreateTimes();
    this._say(`Sale ${r.value.name} created.`);
    await this._refreshSales();
    location.hash = encodeURIComponent(r.value.id);
  }
}

new Console().start();
