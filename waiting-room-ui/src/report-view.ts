/**
 * The console's sale report (`GET /api/admin/sales/:saleId/report`): for the selected sale, and
 * beside it any other sale picked to compare, the funnel, conversion, time in queue (p50, p90,
 * p99, overall and by arrival window), sell-out time against what the rate allows, a chart of
 * arrivals and admissions per minute against the rate, the endpoints' latency and errors, and
 * the time series as a CSV download. Works for running sales (Refresh) and finished ones.
 */
import type { Failure, Result } from './api.js';
import { LineChart } from './chart.js';
import { byId, h, setText, show } from './dom.js';
import { obj, ShapeError } from './shapes.js';
import { count, localTime, spokenDuration } from './time-format.js';

type Obj = Record<string, unknown>;

export interface Percentiles {
  count: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

export interface SaleReport {
  sale: { id: string; name: string; stock: number; sold: number; startsAt: number; ratePerMinute: number };
  funnel: Record<FunnelStep, number>;
  freed: number;
  conversion: number | null;
  orders: number;
  timeInQueue: { overall: Percentiles; byWindow: (Percentiles & { window: 'prequeue' | number })[]; relativePrecision: number };
  sellOut: { soldOutAt: number | null; seconds: number | null; rateAllowsSeconds: number };
  series: { minute: number; at: number; arrivals: number; admissions: number; ratePerMinute: number | null; rateSet: number }[];
  endpoints: {
    route: string;
    requests: number;
    errors4xx: number;
    errors5xx: number;
    p50: number | null;
    p90: number | null;
    p99: number | null;
  }[];
  peakRequestsPerSecond: { requests: number; at: number } | null;
}

export const FUNNEL_STEPS = ['joined', 'admitted', 'bought', 'walkedAway', 'lapsed', 'toldSoldOut', 'refused'] as const;
export type FunnelStep = (typeof FUNNEL_STEPS)[number];

const FUNNEL_LABELS: Record<FunnelStep, string> = {
  joined: 'Joined',
  admitted: 'Admitted',
  bought: 'Bought',
  walkedAway: 'Walked away while waiting',
  lapsed: 'Let their turn lapse',
  toldSoldOut: 'Told sold out',
  refused: 'Refused (limits, proof of work)',
};

// ---- parsing (what arrives is checked, never cast) -------------------------------------------

const n = (o: Obj, k: string): number => {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ShapeError(`${k} is not a number`);
  return v;
};
const nOrNull = (o: Obj, k: string): number | null => (o[k] === null ? null : n(o, k));
const s = (o: Obj, k: string): string => {
  const v = o[k];
  if (typeof v !== 'string') throw new ShapeError(`${k} is not a string`);
  return v;
};
const time = (o: Obj, k: string): number => {
  const t = Date.parse(s(o, k));
  if (Number.isNaN(t)) throw new ShapeError(`${k} is not a time`);
  return t;
};
const timeOrNull = (o: Obj, k: string): number | null => (o[k] === null ? null : time(o, k));
const list = (o: Obj, k: string): Obj[] => {
  const v = o[k];
  if (!Array.isArray(v)) throw new ShapeError(`${k} is not a list`);
  return v.map((x) => obj(x, k));
};
const percentiles = (o: Obj): Percentiles => ({
  count: n(o, 'count'),
  p50: nOrNull(o, 'p50'),
  p90: nOrNull(o, 'p90'),
  p99: nOrNull(o, 'p99'),
});

export function parseReport(v: unknown): SaleReport {
  const o = obj(v);
  const sale = obj(o.sale, 'sale');
  const funnel = obj(o.funnel, 'funnel');
  const tiq = obj(o.timeInQueue, 'timeInQueue');
  const sellOut = obj(o.sellOut, 'sellOut');
  const peak = o.peakRequestsPerSecond === null ? null : obj(o.peakRequestsPerSecond, 'peakRequestsPerSecond');
  return {
    sale: {
      id: s(sale, 'id'),
      name: s(sale, 'name'),
      stock: n(sale, 'stock'),
      sold: n(sale, 'sold'),
      startsAt: time(sale, 'startsAt'),
      ratePerMinute: n(sale, 'ratePerMinute'),
    },
    funnel: Object.fromEntries(FUNNEL_STEPS.map((k) => [k, n(funnel, k)])) as Record<FunnelStep, number>,
    freed: n(o, 'freed'),
    conversion: nOrNull(o, 'conversion'),
    orders: n(o, 'orders'),
    timeInQueue: {
      overall: percentiles(obj(tiq.overall, 'overall')),
      byWindow: list(tiq, 'byWindow').map((w) => ({
        window: w.window === 'prequeue' ? 'prequeue' : n(w, 'window'),
        ...percentiles(w),
      })),
      relativePrecision: n(tiq, 'relativePrecision'),
    },
    sellOut: {
      soldOutAt: timeOrNull(sellOut, 'soldOutAt'),
      seconds: nOrNull(sellOut, 'seconds'),
      rateAllowsSeconds: n(sellOut, 'rateAllowsSeconds'),
    },
    series: list(o, 'series').map((p) => ({
      minute: n(p, 'minute'),
      at: time(p, 'at'),
      arrivals: n(p, 'arrivals'),
      admissions: n(p, 'admissions'),
      ratePerMinute: nOrNull(p, 'ratePerMinute'),
      rateSet: n(p, 'rateSet'),
    })),
    endpoints: list(o, 'endpoints').map((e) => ({
      route: s(e, 'route'),
      requests: n(e, 'requests'),
      errors4xx: n(e, 'errors4xx'),
      errors5xx: n(e, 'errors5xx'),
      p50: nOrNull(e, 'p50'),
      p90: nOrNull(e, 'p90'),
      p99: nOrNull(e, 'p99'),
    })),
    peakRequestsPerSecond: peak ? { requests: n(peak, 'requests'), at: time(peak, 'at') } : null,
  };
}

// ---- formatting -------------------------------------------------------------------------------

const pct = (x: number | null) => (x === null ? '–' : `${(x * 100).toFixed(1)} %`);
const secs = (x: number | null) => (x === null ? '–' : x < 10 ? `${x.toFixed(2)} s` : spokenDuration(x * 1000));
const ms = (x: number | null) => (x === null ? '–' : x < 10 ? `${x.toFixed(2)} ms` : `${Math.round(x)} ms`);
const windowLabel = (w: 'prequeue' | number) => (w === 'prequeue' ? 'Pre-queue' : `Minute ${w + 1}`);

function table(caption: string, head: readonly string[], rows: readonly (readonly (string | number)[])[]): HTMLTableElement {
  return h(
    'table',
    { class: 'data report-table' },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, ...head.map((c, i) => h('th', { scope: 'col', class: i > 0 ? 'num' : '' }, c)))),
    h(
      'tbody',
      {},
      ...rows.map((r) =>
        h('tr', {}, ...r.map((c, i) => (i === 0 ? h('th', { scope: 'row' }, String(c)) : h('td', { class: 'num' }, String(c))))),
      ),
    ),
  );
}

/** one sale's report, as a column */
export function renderReport(r: SaleReport): HTMLElement {
  const f = r.funnel;
  const widest = Math.max(1, f.joined, f.refused);
  const funnel = h(
    'ol',
    { class: 'funnel', 'aria-label': `Funnel of ${r.sale.name}` },
    ...FUNNEL_STEPS.map((k) => {
      const bar = h('span', { class: `funnel-bar funnel-${k}`, 'aria-hidden': 'true' });
      // a width set through the CSSOM: the page's policy allows no inline style attributes
      bar.style.width = `${Math.round((f[k] / widest) * 100)}%`;
      return h(
        'li',
        { 'data-step': k },
        h('span', { class: 'funnel-label' }, FUNNEL_LABELS[k]),
        h('strong', { class: 'funnel-value' }, count(f[k])),
        bar,
      );
    }),
  );

  const q = r.timeInQueue;
  const queue = table(
    `Time in queue (each figure within ${(q.relativePrecision * 100).toFixed(1)} %)`,
    ['Arrived', 'Shoppers', 'p50', 'p90', 'p99'],
    [
      ['All', count(q.overall.count), secs(q.overall.p50), secs(q.overall.p90), secs(q.overall.p99)],
      ...q.byWindow.map((w) => [windowLabel(w.window), count(w.count), secs(w.p50), secs(w.p90), secs(w.p99)]),
    ],
  );

  const facts = h(
    'dl',
    { class: 'kpis report-kpis' },
    ...(
      [
        ['Conversion', pct(r.conversion)],
        ['Orders', count(r.orders)],
        ['Sold out after', r.sellOut.seconds === null ? 'not sold out' : secs(r.sellOut.seconds)],
        ['The rate allows', secs(r.sellOut.rateAllowsSeconds)],
        ['Peak requests / s', r.peakRequestsPerSecond ? count(r.peakRequestsPerSecond.requests) : '–'],
        ['Turns freed (page closed)', count(r.freed)],
      ] as const
    ).map(([dt, dd]) => h('div', {}, h('dt', {}, dt), h('dd', {}, dd))),
  );

  const figure = h(
    'figure',
    { class: 'chart report-chart' },
    h(
      'figcaption',
      {},
      h(
        'span',
        {},
        'Per minute ',
        h(
          'span',
          { class: 'legend' },
          h('span', { class: 'key key-arrivals' }),
          'arrivals ',
          h('span', { class: 'key key-observed' }),
          'admissions ',
          h('span', { class: 'key key-configured' }),
          'rate',
        ),
      ),
    ),
  );
  const chart = new LineChart(figure, `Arrivals, admissions and rate per minute, ${r.sale.name}`);
  const pts = r.series;
  if (pts.length > 0) {
    const from = pts[0]!.at;
    const to = pts[pts.length - 1]!.at + 60_000;
    // steps: each minute's count held across its minute (a single minute still draws a line)
    const steps = (v: (p: (typeof pts)[number]) => number) => pts.flatMap((p) => [[p.at, v(p)] as const, [p.at + 60_000, v(p)] as const]);
    chart.draw(
      [
        { name: 'arrivals per minute', points: steps((p) => p.arrivals), className: 's-arrivals' },
        { name: 'admissions per minute', points: steps((p) => p.admissions), className: 's-admissions' },
        { name: 'rate in force', points: steps((p) => p.ratePerMinute ?? p.rateSet), className: 's-configured' },
      ],
      [{ at: r.sale.startsAt, label: 'start' }],
      from,
      to,
      { left: localTime(from), right: localTime(to) },
    );
  } else {
    figure.append(h('p', { class: 'muted small' }, 'Nothing recorded yet.'));
  }

  const endpoints = table(
    'Endpoints (under /api/sales/:saleId)',
    ['Route', 'Requests', '4xx', '5xx', 'p50', 'p90', 'p99'],
    r.endpoints.map((e) => [
      // every route counted is the sale's own: its common part said once, in the heading
      e.route.replace('/api/sales/:saleId', '') || e.route,
      count(e.requests),
      count(e.errors4xx),
      `${count(e.errors5xx)} (${pct(e.requests ? e.errors5xx / e.requests : 0)})`,
      ms(e.p50),
      ms(e.p90),
      ms(e.p99),
    ]),
  );

  return h(
    'article',
    { class: 'report-column', 'data-sale': r.sale.id },
    h('h3', {}, r.sale.name),
    h(
      'p',
      { class: 'muted small' },
      `${r.sale.id} · starts ${localTime(r.sale.startsAt)} · ${count(r.sale.ratePerMinute)}/min · ${count(r.sale.sold)} / ${count(r.sale.stock)} sold`,
    ),
    funnel,
    facts,
    figure,
    h('div', { class: 'table-wrap' }, queue),
    h('div', { class: 'table-wrap' }, endpoints),
  );
}

// ---- the panel --------------------------------------------------------------------------------

export interface ReportDeps {
  call<T>(path: string, parse: (v: unknown) => T): Promise<Result<T>>;
  /** the admin key, for the CSV download */
  key(): string | null;
  sales(): readonly { id: string; name: string }[];
  describe(f: Failure): string;
  say(text: string, kind?: 'ok' | 'problem'): void;
}

const reportPath = (id: string) => `/api/admin/sales/${encodeURIComponent(id)}/report`;

export class ReportView {
  private _saleId: string | null = null;
  private _compareId = '';
  private _generation = 0;
  private readonly _panel = byId('report-panel');
  private readonly _columns = byId('report-columns');
  private readonly _error = byId('report-error');
  private readonly _compare = byId<HTMLSelectElement>('report-compare');
  private readonly _refresh = byId<HTMLButtonElement>('report-refresh');
  private readonly _download = byId<HTMLButtonElement>('report-csv');

  constructor(private readonly deps: ReportDeps) {
    this._compare.addEventListener('change', () => {
      this._compareId = this._compare.value;
      void this.load();
    });
    this._refresh.addEventListener('click', () => void this.load());
    this._download.addEventListener('click', () => void this._downloadCsv());
  }

  /** the console selected a sale (or none) */
  show(saleId: string | null): void {
    const changed = saleId !== this._saleId;
    this._saleId = saleId;
    show(this._panel, saleId !== null);
    if (saleId === null) return;
    if (this._compareId === saleId) this._compareId = '';
    this.salesChanged();
    if (changed) void this.load();
  }

  /** the list of sales changed: the comparison choices follow it */
  salesChanged(): void {
    const options = [
      h('option', { value: '' }, 'No comparison'),
      ...this.deps
        .sales()
        .filter((x) => x.id !== this._saleId)
        .map((x) => h('option', { value: x.id }, `${x.name} (${x.id})`)),
    ];
    this._compare.replaceChildren(...options);
    this._compare.value = this._compareId;
  }

  async load(): Promise<void> {
    const id = this._saleId;
    if (id === null) return;
    const generation = ++this._generation;
    const ids = this._compareId ? [id, this._compareId] : [id];
    const answers = await Promise.all(ids.map((x) => this.deps.call(reportPath(x), parseReport)));
    if (generation !== this._generation) return;
    const failed = answers.find((a): a is Failure => !a.ok);
    show(this._error, failed !== undefined);
    if (failed) setText(this._error, `The report is unavailable: ${this.deps.describe(failed)}.`);
    const columns = answers.flatMap((a) => (a.ok ? [renderReport(a.value)] : []));
    this._columns.replaceChildren(...columns);
    this._columns.dataset.compared = String(columns.length);
  }

  /** the selected sale's time series as a file (the key goes in a header, so not a plain link) */
  private async _downloadCsv(): Promise<void> {
    const id = this._saleId;
    if (id === null) return;
    try {
      const res = await fetch(`${reportPath(id)}?format=csv`, { headers: { authorization: `Bearer ${this.deps.key() ?? ''}` } });
      if (!res.ok) return this.deps.say(`The CSV could not be made (HTTP ${res.status}).`, 'problem');
      const url = URL.createObjectURL(await res.blob());
      const a = h('a', { href: url, download: `${id}-report.csv` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      this.deps.say(`Downloaded ${id}-report.csv`);
    } catch {
      this.deps.say("The gateway can't be reached: no CSV.", 'problem');
    }
  }
}
