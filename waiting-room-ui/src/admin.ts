/**
 * The marketer's console: `/admin`.
 *
 * Asks for the admin key once per browser tab (sessionStorage: it goes when the tab does),
 * lists the sales and creates new ones, and for the selected sale polls its stats every second
 * into four charts (waiting shoppers, admissions per minute, remaining stock, confirmed orders)
 * next to the live controls: admission rate, cap on shoppers admitted at once, checkout window,
 * pause and resume. Every change is marked on the charts, so its effect shows beside it.
 */
import { request, type Failure, type Result } from './api.js';
import { LineChart } from './chart.js';
import { byId, h, setText, show } from './dom.js';
import { obj, parseAdminSale, parseSaleStats, type AdminSale, type SaleStats } from './shapes.js';
import { StatsHistory, WINDOW_MS } from './stats-history.js';
import { count, localTime } from './time-format.js';

const KEY_STORAGE = 'velvet-rope:admin-key';
const POLL_MS = 1_000;

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
  if (!Array.isArray(list)) throw new Error('sales is not a list');
  return list.map(parseAdminSale);
};

const describe = (f: Failure) => (f.status === 0 ? "the gateway can't be reached" : `${f.message} (${f.code})`);

class Console {
  #key: string | null = storage.get();
  #sales: AdminSale[] = [];
  #selected: AdminSale | null = null;
  #history = new StatsHistory();
  #pollTimer: ReturnType<typeof setTimeout> | undefined;
  #pollGeneration = 0;
  /** server time minus client time, from the stats' `at` */
  #offsetMs = 0;

  readonly #signIn = byId('sign-in');
  readonly #keyForm = byId<HTMLFormElement>('key-form');
  readonly #keyInput = byId<HTMLInputElement>('key');
  readonly #keyError = byId('key-error');
  readonly #signOut = byId<HTMLButtonElement>('sign-out');
  readonly #workspace = byId('workspace');
  readonly #salesBody = byId('sales-body');
  readonly #salesEmpty = byId('sales-empty');
  readonly #createForm = byId<HTMLFormElement>('create-form');
  readonly #createError = byId('create-error');
  readonly #salePanel = byId('sale-panel');
  readonly #saleTitle = byId('sale-title');
  readonly #saleStatus = byId('sale-status');
  readonly #shopperLink = byId<HTMLAnchorElement>('shopper-link');
  readonly #statsError = byId('stats-error');
  readonly #controls = byId<HTMLFormElement>('controls');
  readonly #rate = byId<HTMLInputElement>('ctl-rate');
  readonly #maxActive = byId<HTMLInputElement>('ctl-max-active');
  readonly #checkout = byId<HTMLInputElement>('ctl-checkout');
  readonly #pause = byId<HTMLButtonElement>('ctl-pause');
  readonly #notice = byId('notice');
  readonly #charts = {
    waiting: new LineChart(byId('chart-waiting'), 'Waiting shoppers'),
    admissions: new LineChart(byId('chart-admissions'), 'Admissions per minute'),
    remaining: new LineChart(byId('chart-remaining'), 'Remaining stock'),
    confirmed: new LineChart(byId('chart-confirmed'), 'Confirmed orders'),
  };

  start(): void {
    this.#keyForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const key = this.#keyInput.value.trim();
      if (!key) return;
      this.#key = key;
      void this.#enter();
    });
    this.#signOut.addEventListener('click', () => {
      storage.set(null);
      this.#key = null;
      this.#select(null);
      this.#showSignIn(null);
    });
    this.#createForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.#create();
    });
    this.#controls.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.#applyControls();
    });
    this.#pause.addEventListener('click', () => {
      const paused = this.#history.latest?.paused ?? this.#selected?.paused ?? false;
      void this.#patch({ paused: !paused }, paused ? 'Admissions resumed' : 'Admissions paused');
    });
    window.addEventListener('hashchange', () => this.#selectFromHash());
    this.#defaultCreateTimes();
    if (this.#key) void this.#enter();
    else this.#showSignIn(null);
  }

  #call<T>(path: string, parse: (v: unknown) => T, method: 'GET' | 'POST' | 'PATCH' = 'GET', body?: unknown): Promise<Result<T>> {
    return request(path, parse, { method, token: this.#key, body });
  }

  #say(text: string): void {
    // the console's one live region: results of what the marketer did
    setText(this.#notice, '');
    setTimeout(() => setText(this.#notice, text), 50);
  }

  #showSignIn(error: string | null): void {
    show(this.#signIn, true);
    show(this.#workspace, false);
    show(this.#signOut, false);
    show(this.#keyError, error !== null);
    if (error) setText(this.#keyError, error);
    this.#keyInput.value = '';
    this.#keyInput.focus();
  }

  /** checks the key by listing the sales; keeps it for this tab when it works */
  async #enter(): Promise<void> {
    const r = await this.#call('/api/admin/sales', parseSales);
    if (!r.ok) {
      if (r.status === 401) {
        storage.set(null);
        this.#key = null;
        return this.#showSignIn('That key was not accepted. Check it and try again.');
      }
      return this.#showSignIn(`Could not sign in: ${describe(r)}.`);
    }
    storage.set(this.#key);
    show(this.#signIn, false);
    show(this.#workspace, true);
    show(this.#signOut, true);
    this.#sales = r.value;
    this.#renderSales();
    this.#selectFromHash();
  }

  async #refreshSales(): Promise<void> {
    const r = await this.#call('/api/admin/sales', parseSales);
    if (r.ok) {
      this.#sales = r.value;
      this.#renderSales();
    }
  }

  #renderSales(): void {
    const rows = [...this.#sales]
      .sort((a, b) => b.startsAt - a.startsAt)
      .map((s) => {
        const watch = h('button', { type: 'button', class: 'link-button', 'data-sale': s.id }, s.name);
        watch.addEventListener('click', () => {
          location.hash = encodeURIComponent(s.id);
        });
        if (s.id === this.#selected?.id) watch.setAttribute('aria-current', 'true');
        return h(
          'tr',
          {},
          h('th', { scope: 'row' }, watch, h('span', { class: 'muted small' }, ` ${s.id}`)),
          h('td', {}, localTime(s.startsAt)),
          h('td', { class: 'num' }, `${count(s.sold)} / ${count(s.stock)}`),
          h('td', { class: 'num' }, `${count(s.ratePerMinute)}/min`),
          h('td', {}, s.paused ? 'paused' : ''),
        );
      });
    this.#salesBody.replaceChildren(...rows);
    show(this.#salesEmpty, rows.length === 0);
  }

  #selectFromHash(): void {
    const id = decodeURIComponent(location.hash.replace(/^#/, ''));
    this.#select(this.#sales.find((s) => s.id === id) ?? null);
  }

  #select(sale: AdminSale | null): void {
    const changed = sale?.id !== this.#selected?.id;
    this.#selected = sale;
    if (changed) {
      this.#history = new StatsHistory();
      this.#pollGeneration++;
      clearTimeout(this.#pollTimer);
    }
    this.#renderSales();
    show(this.#salePanel, sale !== null);
    if (!sale) return;
    setText(this.#saleTitle, sale.name);
    this.#shopperLink.href = `/sales/${encodeURIComponent(sale.id)}`;
    setText(this.#shopperLink, `Shopper page: /sales/${sale.id}`);
    this.#fillControls(sale);
    if (changed) void this.#poll(this.#pollGeneration);
  }

  #fillControls(sale: AdminSale): void {
    this.#rate.value = String(sale.ratePerMinute);
    this.#maxActive.value = String(sale.maxActive);
    this.#checkout.value = String(sale.checkoutSeconds);
  }

  async #poll(generation: number): Promise<void> {
    const sale = this.#selected;
    if (!sale || generation !== this.#pollGeneration) return;
    const sentAt = Date.now();
    const r = await this.#call(`/api/admin/sales/${encodeURIComponent(sale.id)}/stats`, parseSaleStats);
    if (generation !== this.#pollGeneration) return;
    if (r.ok) {
      this.#offsetMs = r.value.at - (sentAt + r.receivedAt) / 2;
      show(this.#statsError, false);
      this.#history.add(r.value);
      this.#renderStats(r.value);
    } else {
      show(this.#statsError, true);
      setText(this.#statsError, `Live figures unavailable: ${describe(r)}. Retrying…`);
      if (r.status === 401) return this.#showSignIn('The key is no longer accepted. Sign in again.');
    }
    this.#pollTimer = setTimeout(() => void this.#poll(generation), Math.max(POLL_MS, r.ok ? 0 : (r.retryAfterMs ?? 2_000)));
  }

  #renderStats(s: SaleStats): void {
    setText(this.#saleStatus, s.paused && s.status === 'open' ? 'paused' : s.status.replace('_', ' '));
    this.#saleStatus.dataset.status = s.status;
    setText(this.#pause, s.paused ? 'Resume admissions' : 'Pause admissions');
    this.#pause.setAttribute('aria-pressed', String(s.paused));
    const kpi: Record<string, number> = {
      waiting: s.waiting,
      admitted: s.admitted,
      'admitted-total': s.admittedTotal,
      remaining: s.remaining,
      pending: s.pending,
      sold: s.sold,
      confirmed: s.confirmedOrders,
      rejected: s.rejectedOrders,
    };
    for (const [k, v] of Object.entries(kpi)) setText(byId(`kpi-${k}`), count(v));

    const to = s.at;
    const from = to - WINDOW_MS;
    const h = this.#history;
    const markers = h.markers;
    this.#charts.waiting.draw([{ name: 'waiting', points: h.series((x) => x.waiting), className: 's-waiting' }], markers, from, to);
    this.#charts.admissions.draw(
      [
        { name: 'admitted per minute', points: h.admissionsPerMinute(), className: 's-admissions' },
        { name: 'configured rate', points: h.series((x) => (x.paused ? 0 : x.ratePerMinute)), className: 's-configured' },
      ],
      markers,
      from,
      to,
    );
    this.#charts.remaining.draw([{ name: 'remaining', points: h.series((x) => x.remaining), className: 's-remaining' }], markers, from, to);
    this.#charts.confirmed.draw(
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

  async #applyControls(): Promise<void> {
    const sale = this.#selected;
    if (!sale) return;
    const changes: Record<string, number> = {};
    const fields: [string, HTMLInputElement, number][] = [
      ['ratePerMinute', this.#rate, sale.ratePerMinute],
      ['maxActive', this.#maxActive, sale.maxActive],
      ['checkoutSeconds', this.#checkout, sale.checkoutSeconds],
    ];
    for (const [name, input, current] of fields) {
      if (!input.reportValidity()) return;
      const v = Number(input.value);
      if (v !== current) changes[name] = v;
    }
    if (Object.keys(changes).length === 0) return this.#say('Nothing to change.');
    const labels: Record<string, string> = {
      ratePerMinute: `rate ${sale.ratePerMinute}→${changes.ratePerMinute}/min`,
      maxActive: `max active ${sale.maxActive}→${changes.maxActive}`,
      checkoutSeconds: `checkout ${sale.checkoutSeconds}→${changes.checkoutSeconds} s`,
    };
    await this.#patch(changes, `Changed: ${Object.keys(changes).map((k) => labels[k]).join(', ')}`, labels);
  }

  async #patch(changes: Record<string, number | boolean>, done: string, labels: Record<string, string> = {}): Promise<void> {
    const sale = this.#selected;
    if (!sale) return;
    const r = await this.#call(`/api/admin/sales/${encodeURIComponent(sale.id)}`, parseAdminSale, 'PATCH', changes);
    if (!r.ok) return this.#say(`Not changed: ${describe(r)}.`);
    const at = Date.now() + this.#offsetMs;
    for (const k of Object.keys(changes)) {
      this.#history.mark(k, k === 'paused' ? (changes.paused ? 'paused' : 'resumed') : (labels[k] ?? k), at);
    }
    this.#selected = r.value;
    this.#sales = this.#sales.map((s) => (s.id === r.value.id ? r.value : s));
    this.#renderSales();
    this.#fillControls(r.value);
    this.#say(`${done} at ${new Date().toLocaleTimeString()}.`);
  }

  #defaultCreateTimes(): void {
    const local = (ms: number) => {
      const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
      return d.toISOString().slice(0, 16);
    };
    const starts = this.#createForm.elements.namedItem('startsAt');
    if (starts instanceof HTMLInputElement && !starts.value) starts.value = local(Date.now() + 10 * 60_000);
  }

  async #create(): Promise<void> {
    const form = this.#createForm;
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
    };
    const r = await this.#call('/api/admin/sales', parseAdminSale, 'POST', body);
    if (!r.ok) {
      show(this.#createError, true);
      setText(this.#createError, `The sale was not created: ${describe(r)}.`);
      this.#say(`The sale was not created: ${r.message}`);
      return;
    }
    show(this.#createError, false);
    form.reset();
    this.#defaultCreateTimes();
    this.#say(`Sale ${r.value.name} created.`);
    await this.#refreshSales();
    location.hash = encodeURIComponent(r.value.id);
  }
}

new Console().start();
