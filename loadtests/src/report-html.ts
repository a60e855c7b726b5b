/**
 * The simulator's report as one self-contained HTML page: the verdict on each promise, the
 * key figures, and charts drawn as inline SVG (no scripts, no CDN), so the file can be
 * attached to an issue or opened from a CI artifact as it is.
 */
import type { SimulationReport } from './simulation-report.js';
import { escapeXml as esc, lineChart, scatterChart, thin, type Point, type Series } from './svg-charts.js';

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#17becf'];

const fmt = (v: number | null | undefined, digits = 1): string =>
  v === null || v === undefined || Number.isNaN(v) ? '–' : Number.isInteger(v) ? v.toLocaleString('en') : v.toFixed(digits);

function table(head: readonly string[], rows: readonly (readonly string[])[], cls = ''): string {
  return `<table class="${cls}"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function timeCharts(r: SimulationReport): string {
  const s = r.series;
  const pts = (f: (p: (typeof s)[number]) => number | null): Point[] =>
    s.filter((p) => f(p) !== null).map((p) => [p.t - r.sale.startT, f(p)!] as const);
  const queue: Series[] = [
    { name: 'waiting', color: COLORS[0]!, points: pts((p) => p.waiting) },
    { name: 'admitted now', color: COLORS[1]!, points: pts((p) => p.admitted) },
    { name: 'remaining stock', color: COLORS[2]!, points: pts((p) => p.remaining) },
    { name: 'sold (PostgreSQL)', color: COLORS[3]!, points: pts((p) => p.sold) },
  ];
  const admissions: Series[] = [
    { name: 'admitted in total', color: COLORS[4]!, points: pts((p) => p.admittedTotal) },
    { name: 'sold (PostgreSQL)', color: COLORS[3]!, points: pts((p) => p.sold) },
    { name: 'pending orders', color: COLORS[5]!, points: pts((p) => p.pending) },
  ];
  const load: Series[] = [{ name: 'simulator requests/s', color: COLORS[0]!, points: pts((p) => p.requestsPerSecond) }];
  const mem: Series[] = [
    { name: 'gateway RSS MiB', color: COLORS[1]!, points: pts((p) => p.gatewayRssMb) },
    { name: 'worker RSS MiB', color: COLORS[2]!, points: pts((p) => p.workerRssMb) },
  ];
  const x = 'seconds since the sale started (negative: pre-queue)';
  return [
    lineChart({ title: 'Waiting shoppers, admissions and stock', xLabel: x, yLabel: 'shoppers / units' }, queue),
    lineChart({ title: 'Admissions and orders', xLabel: x, yLabel: 'count' }, admissions),
    lineChart({ title: 'Load', xLabel: x, yLabel: 'requests/s' }, load),
    mem.some((m) => m.points.length) ? lineChart({ title: 'Memory', xLabel: x, yLabel: 'MiB', yMin: 0 }, mem) : '',
  ].join('\n');
}

function latencyChart(r: SimulationReport): string {
  const series: Series[] = Object.entries(r.latencyBuckets)
    .filter(([, b]) => b.length > 0)
    .map(([name, buckets], i) => {
      const total = buckets.reduce((n, b) => n + b.count, 0);
      let seen = 0;
      return {
        name,
        color: COLORS[i % COLORS.length]!,
        points: buckets.map((b) => {
          seen += b.count;
          return [b.upperMs, (100 * seen) / total] as const;
        }),
      };
    });
  return lineChart(
    {
      title: 'Latency distribution (share of requests answered within x ms)',
      xLabel: 'ms (log scale)',
      yLabel: '% of requests',
      logX: true,
      yMin: 0,
      yMax: 100,
    },
    series,
  );
}

function scatter(r: SimulationReport): string {
  return scatterChart(
    { title: 'Arrival order against admission order', xLabel: 'arrival order (shopper number)', yLabel: 'admission sequence' },
    [
      { name: 'pre-queue (shuffled as one)', color: COLORS[0]!, points: thin(r.scatter.prequeue, 4000) },
      { name: 'after the start (windows)', color: COLORS[1]!, points: thin(r.scatter.later, 4000) },
    ],
  );
}

export function renderReportHtml(r: SimulationReport): string {
  const verdict = r.passed ? '<span class="pass">PASSED</span>' : '<span class="fail">FAILED</span>';
  const checks = r.checks
    .map(
      (c) =>
        `<section class="check"><h3>${c.pass ? '✔' : '✘'} ${esc(c.id)} ${esc(c.promise)}</h3>${table(
          ['', 'what', 'measured', 'expected'],
          c.items.map((i) => [
            i.pass ? '<span class="pass">ok</span>' : '<span class="fail">broken</span>',
            esc(i.name),
            esc(i.value),
            esc(i.expected),
          ]),
        )}</section>`,
    )
    .join('');
  const f = r.figures;
  const mem = f.memory;
  const key = table(
    ['figure', 'value'],
    [
      ['shoppers / stock', `${fmt(Number(r.options.shoppers))} / ${fmt(r.sale.stock)}`],
      ['joins in total (incl. bots)', fmt(f.joins.total)],
      [
        'pre-queue join throughput',
        `${fmt(f.joins.prequeuePerSecond, 0)} joins/s (${fmt(f.joins.prequeue)} in ${fmt(f.joins.prequeueSeconds, 1)} s)`,
      ],
      ['peak joins in one second', fmt(f.joins.peakPerSecond)],
      [
        'requests (all endpoints)',
        `${fmt(f.requests.total)}; ${fmt(f.requests.perSecond, 0)}/s on average, ${fmt(f.requests.peakPerSecond, 0)}/s peak`,
      ],
      ['sold out (reserved in Redis) after the start', `${fmt(f.sellOut.reservedSeconds, 1)} s`],
      ['sold == stock in PostgreSQL after the start', `${fmt(f.sellOut.committedSeconds, 1)} s`],
      ['fastest the admission rate allows (stock / rate)', `${fmt(f.sellOut.rateAllowsSeconds, 1)} s at ${fmt(r.sale.ratePerMinute)}/min`],
      ['admitted in total', fmt(f.sellOut.admittedTotal)],
      [
        'gateway RSS before joins / with the queue / peak',
        `${fmt(mem.gatewayRssBeforeMb)} / ${fmt(mem.gatewayRssWithQueueMb)} / ${fmt(mem.gatewayPeakRssMb)} MiB`,
      ],
      ['worker peak RSS', `${fmt(mem.workerPeakRssMb)} MiB`],
      [
        'Redis bytes per queued shopper (queue + visitors)',
        mem.redis
          ? `${fmt(mem.redis.bytesPerShopper)} B (${fmt(mem.redis.queueBytes)} + ${fmt(mem.redis.visitorsBytes)} B for ${fmt(mem.redis.visitors)}); ${fmt(mem.redis.bytesPerShopperWithLimits)} B with the rate-limit counters`
          : '–',
      ],
      [
        'orders: 202 / told / confirmed / rejected',
        `${fmt(f.orders.accepted)} / ${fmt(f.orders.told)} / ${fmt(f.orders.confirmed)} / ${fmt(f.orders.rejected)}`,
      ],
      ['purchases sent twice / answered another order', `${fmt(f.orders.retried)} / ${fmt(f.orders.retryMismatches)}`],
      [
        'simulator: CPU / most requests queued / wait for a slot p99',
        `${fmt(f.simulator.cpuSeconds, 1)} s / ${fmt(f.simulator.maxQueued)} / ${fmt(f.simulator.slotWaitP99Ms, 1)} ms${
          f.simulator.slotWaitP99Ms > 250 ? ' (the simulator, not the gateway, limited the pace: see the README)' : ''
        }`,
      ],
    ],
  );
  const lat = table(
    ['endpoint', 'requests', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'mean ms'],
    Object.entries(r.latency).map(([e, s]) => [
      esc(e),
      fmt(s.count),
      fmt(s.p50, 2),
      fmt(s.p90, 2),
      fmt(s.p99, 2),
      fmt(s.max, 2),
      fmt(s.mean, 2),
    ]),
  );
  const codes = table(
    ['endpoint', 'answers by status (0 = no answer)'],
    Object.entries(r.statusCodes).map(([e, m]) => [
      esc(e),
      esc(
        Object.entries(m)
          .map(([c, n]) => `${c}: ${n.toLocaleString('en')}`)
          .join(', '),
      ),
    ]),
  );
  const fair = r.fairness;
  const b = fair.bots;
  const fairness = table(
    ['figure', 'value'],
    [
      ['mode / window', `${esc(fair.mode)} / ${fair.windowSeconds} s`],
      ['rho(arrival, queue order), pre-queue', `${fmt(fair.prequeueRho, 4)} over ${fmt(fair.prequeueShoppers)} shoppers`],
      ['rho(arrival, admission), pre-queue shoppers admitted', fmt(fair.prequeueAdmittedRho, 4)],
      [
        'inversions across windows',
        `${fmt(fair.windows.inversions)} (${fmt(fair.windows.admitted)} admitted, ${fmt(fair.windows.neverAdmitted)} waited until sold out, ${fmt(fair.windows.windows)} windows)`,
      ],
      ['scores outside the client-observed window', fmt(fair.windowDisagreements)],
      [
        're-joins with the ticket / other place / new place after a lapsed turn',
        `${fmt(fair.rejoins)} / ${fmt(fair.rejoinMismatches)} / ${fmt(fair.rejoinsAfterExpiry)}`,
      ],
      ['bots / joins / distinct identities', `${fmt(b.bots)} / ${fmt(b.joins)} / ${fmt(b.distinctIdentities)}`],
      [
        'bot place in its window (0 front, 1 back): mean / best',
        `${fmt(b.meanNormalizedRank, 3)} / ${fmt(b.bestNormalizedRank, 3)} (honest: ${fmt(b.honestMeanNormalizedRank, 3)})`,
      ],
      [
        'bot identities in the front tenth of their window',
        b.shareInFrontTenth === null ? '–' : `${(100 * b.shareInFrontTenth).toFixed(1)} % (no advantage: 10 %)`,
      ],
      [
        'position at join after the start: bots / honest (same windows)',
        `${fmt(b.meanPositionAtJoin)} / ${fmt(b.honestMeanPositionAtJoin)}`,
      ],
    ],
  );
  const so = r.socket;
  const socket = table(
    ['figure', 'value'],
    [
      ['sampled / connected / failed', `${so.sampled} / ${so.connected} / ${so.failed}`],
      ['sale:update events (per socket per second)', `${fmt(so.saleUpdates)} (${fmt(so.saleUpdatesPerSocketSecond, 2)})`],
      ['queue:admitted events / turns learnt by push first', `${fmt(so.admittedEvents)} / ${fmt(so.admittedByPush)}`],
      ['order:update events', fmt(so.orderUpdates)],
      ['first error', esc(so.firstError ?? '–')],
    ],
  );
  const journeys = table(
    ['journey ended', 'shoppers'],
    Object.entries(r.journeys).map(([k, v]) => [esc(k), fmt(v)]),
  );
  const behaviours = table(
    ['behaviour', 'shoppers'],
    Object.entries(r.behaviours).map(([k, v]) => [esc(k), fmt(v)]),
  );
  const options = table(
    ['option', 'value'],
    Object.entries(r.options).map(([k, v]) => [esc(k), esc(JSON.stringify(v) ?? 'undefined')]),
  );
  const problems = r.problems.length ? `<h2>Problems seen</h2><pre>${esc(r.problems.join('\n'))}</pre>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Velvet Rope simulation ${esc(r.startedAt)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}h3{font-size:14px;margin:12px 0 4px}
table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.pass{color:#137a13;font-weight:600}.fail{color:#b00020;font-weight:600}
.charts svg{display:block;margin:10px 0;max-width:100%;height:auto}.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}
pre{background:#f6f6f6;padding:8px;overflow:auto;font-size:12px}
</style></head><body>
<h1>Velvet Rope flash-sale simulation: ${verdict}</h1>
<p>${esc(r.startedAt)} → ${esc(r.finishedAt)} (${fmt(r.durationSeconds, 1)} s) against ${esc(r.target.baseUrl)}${
    r.target.spawned ? ' (gateway and worker started by the simulator)' : ''
  }; sale <code>${esc(r.sale.id)}</code>, ${fmt(r.sale.stock)} units, ${fmt(r.sale.ratePerMinute)} admissions/min, checkout ${r.sale.checkoutSeconds} s${
    (r.sale.shards ?? 1) > 1 ? `, queue over ${r.sale.shards} shards` : ''
  }.</p>
<h2>Promises</h2>${checks}
<h2>Key figures</h2>${key}
<div class="charts">${timeCharts(r)}</div>
<h2>Latency</h2>${lat}<div class="charts">${latencyChart(r)}</div>${codes}
<h2>Fairness</h2>${fairness}<div class="charts">${scatter(r)}</div>
<h2>Live updates (socket.io sample)</h2>${socket}
<div class="grid"><div><h2>Journeys</h2>${journeys}</div><div><h2>Behaviours</h2>${behaviours}</div></div>
${problems}
<h2>Options</h2>${options}
</body></html>
`;
}
