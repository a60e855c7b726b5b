#!/usr/bin/env node
// Checks that every metric the Grafana dashboard queries is one the services export.
//
//   node deploy/check-dashboard.mjs [--dashboard <file.json>] [--verbose] <metrics-list>...
//
// A metrics list is a text file with one metric family name per line (blank lines and lines
// starting with '#' are skipped). The Prometheus text format works too, e.g. a saved
// `curl -s localhost:9464/metrics` (the gateway's METRICS_PORT): names are taken from `# TYPE`/`# HELP` lines and samples.
// Give one list per service (gateway, worker), or one list with all of them.
//
// Every PromQL expression in the dashboard (panel targets, `query_result(...)` and
// `label_values(<selector>, <label>)` variables) is reduced to the metric names it selects.
// A name matches a family in the list as it is, or as a histogram/summary series of it
// (`_bucket`, `_sum`, `_count`), or as the `_total`/`_created`/`_info` series of a family
// listed without the suffix (OpenMetrics style). Series that Prometheus makes itself (`up`,
// `scrape_*`, `ALERTS`) are not the services' and are not checked.
//
// Exit codes: 0 every metric found; 1 some missing (listed on stderr, with the panels that
// use them); 2 usage error or unreadable input. Plain Node, no dependencies.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DEFAULT_DASHBOARD = fileURLToPath(new URL('./grafana/dashboards/velvet-rope.json', import.meta.url));
const MADE_BY_PROMETHEUS = /^(up|scrape_[a-z_]+|ALERTS|ALERTS_FOR_STATE)$/;
const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'inf',
  'nan',
]);

function usage(message) {
  if (message) process.stderr.write(`check-dashboard: ${message}\n`);
  process.stderr.write('usage: node deploy/check-dashboard.mjs [--dashboard <file.json>] [--verbose] <metrics-list>...\n');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { dashboard: DEFAULT_DASHBOARD, verbose: false, lists: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--dashboard') {
      if (!argv[i + 1]) usage('--dashboard needs a file');
      opts.dashboard = argv[++i];
    } else if (a === '--verbose' || a === '-v') opts.verbose = true;
    else if (a === '--help' || a === '-h') usage();
    else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else opts.lists.push(a);
  }
  if (opts.lists.length === 0) usage('give at least one metrics list');
  return opts;
}

function read(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    usage(`cannot read ${file}: ${err.message}`);
  }
}

/** Metric family names from a list file (plain names, or Prometheus text format). */
export function parseMetricsList(text) {
  const names = new Set();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    const meta = line.match(/^#\s*(?:TYPE|HELP|UNIT)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)/);
    if (meta) {
      names.add(meta[1]);
      continue;
    }
    if (line.startsWith('#')) continue;
    const name = line.match(/^[a-zA-Z_:][a-zA-Z0-9_:]*/);
    if (name) names.add(name[0]);
  }
  return names;
}

/** Grafana's variables, in every spelling, replaced by something PromQL-neutral. */
function stripGrafanaVariables(expr) {
  return expr
    .replace(/\[\[[^\]]*\]\]/g, 'x')
    .replace(/\$\{[^}]*\}/g, 'x')
    .replace(/\$__[a-zA-Z_]+/g, '1m')
    .replace(/\$[a-zA-Z_][a-zA-Z0-9_]*/g, 'x');
}

/** The metric names a PromQL expression selects. */
export function metricNames(expr) {
  let s = stripGrafanaVariables(expr);
  // string literals (label values, regexes, label_replace arguments)
  s = s.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  // comments
  s = s.replace(/#[^\n]*/g, ' ');
  // label matchers (a {__name__="..."} selector names its metric in a string: not checked)
  s = s.replace(/\{[^}]*\}/g, ' ');
  // ranges and subqueries
  s = s.replace(/\[[^\]]*\]/g, ' ');
  // label lists of grouping and vector matching
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set();
  const token = /(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[a-zA-Z]*|0x[0-9a-fA-F]+)|([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g;
  for (const m of s.matchAll(token)) {
    if (m[1] !== undefined) continue; // a number or a duration
    const [, , ident, call] = m;
    if (call) continue; // a function or an aggregation
    if (KEYWORDS.has(ident)) continue;
    names.add(ident);
  }
  return names;
}

/** The names a Grafana variable query selects (Prometheus data source query syntax). */
export function variableQueryNames(query) {
  const q = query.trim();
  let m = q.match(/^label_values\s*\(\s*(.*)\s*,\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)$/s);
  if (m) return metricNames(m[1]);
  if (/^label_values\s*\(\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)$/.test(q)) return new Set();
  m = q.match(/^query_result\s*\((.*)\)$/s);
  if (m) return metricNames(m[1]);
  if (/^(label_names|metrics)\s*\(/.test(q)) return new Set();
  return metricNames(q);
}

/** [{ where, expr, names }] for every PromQL expression in the dashboard. */
export function dashboardQueries(dashboard) {
  const found = [];
  const visitPanel = (panel, path) => {
    const where = `panel "${panel.title ?? panel.id ?? '?'}"${path}`;
    for (const target of panel.targets ?? []) {
      if (typeof target.expr === 'string' && target.expr.trim()) {
        found.push({ where, expr: target.expr, names: metricNames(target.expr) });
      }
    }
    for (const inner of panel.panels ?? []) visitPanel(inner, ` in row "${panel.title}"`);
  };
  for (const panel of dashboard.panels ?? []) visitPanel(panel, '');
  for (const row of dashboard.rows ?? []) for (const panel of row.panels ?? []) visitPanel(panel, ' (old-style row)');
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const query = typeof v.query === 'string' ? v.query : (v.query?.query ?? v.definition);
    if (typeof query === 'string' && query.trim()) {
      found.push({ where: `variable $${v.name}`, expr: query, names: variableQueryNames(query) });
    }
  }
  return found;
}

/** Whether `name` is a series of a family in `families`. */
export function isExported(name, families) {
  if (families.has(name)) return true;
  const suffix = name.match(/^(.*)_(bucket|sum|count|total|created|info)$/);
  return Boolean(suffix && families.has(suffix[1]));
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  let dashboard;
  try {
    dashboard = JSON.parse(read(opts.dashboard));
  } catch (err) {
    usage(`${opts.dashboard} is not JSON: ${err.message}`);
  }
  const families = new Set();
  for (const file of opts.lists) for (const n of parseMetricsList(read(file))) families.add(n);
  if (families.size === 0) usage(`no metric names in ${opts.lists.join(', ')}`);

  const queries = dashboardQueries(dashboard);
  if (queries.length === 0) usage(`no PromQL expressions found in ${opts.dashboard}`);
  const uses = new Map(); // name -> Set(where)
  for (const q of queries) {
    for (const n of q.names) {
      if (!uses.has(n)) uses.set(n, new Set());
      uses.get(n).add(q.where);
    }
  }
  const names = [...uses.keys()].sort();
  const skipped = names.filter((n) => MADE_BY_PROMETHEUS.test(n));
  const checked = names.filter((n) => !MADE_BY_PROMETHEUS.test(n));
  const missing = checked.filter((n) => !isExported(n, families));

  if (opts.verbose) {
    for (const n of checked) process.stdout.write(`${missing.includes(n) ? 'MISSING' : 'ok     '} ${n}\n`);
    for (const n of skipped) process.stdout.write(`skipped ${n} (made by Prometheus)\n`);
  }
  process.stdout.write(
    `${queries.length} expressions, ${checked.length} metric names checked against ${families.size} families` +
      (skipped.length ? ` (${skipped.join(', ')} not checked: made by Prometheus)` : '') +
      '\n',
  );
  if (missing.length) {
    process.stderr.write(`${missing.length} metric(s) used by the dashboard but not in the list:\n`);
    for (const n of missing) process.stderr.write(`  ${n}  (${[...uses.get(n)].join('; ')})\n`);
    process.exit(1);
  }
  process.stdout.write('every metric the dashboard uses is exported\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
