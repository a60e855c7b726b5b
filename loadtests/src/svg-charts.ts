/**
 * Small inline SVG charts for the self-contained HTML report: lines (optionally on a log x
 * axis) and scatter plots, with axes, ticks and a legend. No scripts, no external assets.
 */

export type Point = readonly [number, number];

export interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly Point[];
  /** draw as a step line (values that hold until the next sample) */
  readonly step?: boolean;
}

export interface ChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly width?: number;
  readonly height?: number;
  readonly logX?: boolean;
  readonly yMin?: number;
  readonly yMax?: number;
}

const MARGIN = { left: 64, right: 16, top: 46, bottom: 44 };

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** About `count` round tick values covering [min, max] (steps of 1, 2 or 5 times a power of ten). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (max === min) return [min];
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Powers of ten (and 2x, 5x when the range is short) inside [min, max], min > 0. */
export function logTicks(min: number, max: number): number[] {
  if (!(min > 0) || !(max > min)) return min > 0 ? [min] : [];
  const lo = Math.floor(Math.log10(min));
  const hi = Math.ceil(Math.log10(max));
  const mult = hi - lo <= 4 ? [1, 2, 5] : [1];
  const out: number[] = [];
  for (let e = lo; e <= hi; e++)
    for (const m of mult) {
      const v = m * 10 ** e;
      if (v >= min * 0.999 && v <= max * 1.001) out.push(Number(v.toPrecision(6)));
    }
  return out;
}

export function formatNumber(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e4) return `${Number((v / 1e3).toPrecision(3))}k`;
  if (a >= 100 || Number.isInteger(v)) return String(Math.round(v));
  return String(Number(v.toPrecision(3)));
}

interface Frame {
  readonly x: (v: number) => number;
  readonly y: (v: number) => number;
  readonly svg: string[];
  readonly width: number;
  readonly height: number;
}

function frame(opts: ChartOptions, allPoints: readonly Point[]): Frame {
  const width = opts.width ?? 720;
  const height = opts.height ?? 300;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const xs = allPoints.map((p) => p[0]).filter((v) => Number.isFinite(v) && (!opts.logX || v > 0));
  const ys = allPoints.map((p) => p[1]).filter(Number.isFinite);
  let xMin = xs.length ? Math.min(...xs) : 0;
  let xMax = xs.length ? Math.max(...xs) : 1;
  if (xMax === xMin) xMax = xMin + (opts.logX ? xMin || 1 : 1);
  if (opts.logX && xMin <= 0) xMin = 1e-3;
  let yMin = opts.yMin ?? (ys.length ? Math.min(0, ...ys) : 0);
  let yMax = opts.yMax ?? (ys.length ? Math.max(...ys) : 1);
  if (yMax === yMin) yMax = yMin + 1;
  const yT = niceTicks(yMin, yMax, 5);
  if (opts.yMax === undefined && yT.length) yMax = Math.max(yMax, yT[yT.length - 1]!);
  if (opts.yMin === undefined && yT.length) yMin = Math.min(yMin, yT[0]!);
  const lx = (v: number) => Math.log10(Math.max(v, 1e-9));
  const x = opts.logX
    ? (v: number) => MARGIN.left + ((lx(v) - lx(xMin)) / (lx(xMax) - lx(xMin))) * plotW
    : (v: number) => MARGIN.left + ((v - xMin) / (xMax - xMin)) * plotW;
  const y = (v: number) => MARGIN.top + plotH - ((v - yMin) / (yMax - yMin)) * plotH;
  const svg: string[] = [];
  svg.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(opts.title)}" font-family="system-ui, sans-serif" font-size="11">`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="13" font-weight="600">${escapeXml(opts.title)}</text>`,
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="#fafafa" stroke="#ccc"/>`,
  );
  for (const t of niceTicks(yMin, yMax, 5)) {
    const py = y(t).toFixed(1);
    svg.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${py}" y2="${py}" stroke="#e4e4e4"/>`,
      `<text x="${MARGIN.left - 6}" y="${py}" text-anchor="end" dominant-baseline="middle">${formatNumber(t)}</text>`,
    );
  }
  const xTicks = opts.logX ? logTicks(xMin, xMax) : niceTicks(xMin, xMax, 8);
  for (const t of xTicks) {
    const px = x(t).toFixed(1);
    svg.push(
      `<line x1="${px}" x2="${px}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#eee"/>`,
      `<text x="${px}" y="${MARGIN.top + plotH + 14}" text-anchor="middle">${formatNumber(t)}</text>`,
    );
  }
  svg.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${height - 8}" text-anchor="middle">${escapeXml(opts.xLabel)}</text>`,
    `<text transform="translate(14 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(opts.yLabel)}</text>`,
  );
  return { x, y, svg, width, height };
}

function legend(f: Frame, series: readonly { name: string; color: string }[]): void {
  // one row between the title and the plot, so it never hides a line
  let px = MARGIN.left;
  const py = MARGIN.top - 8;
  for (const s of series) {
    f.svg.push(
      `<rect x="${px}" y="${py - 8}" width="10" height="10" fill="${escapeXml(s.color)}"/>`,
      `<text x="${px + 14}" y="${py}" >${escapeXml(s.name)}</text>`,
    );
    px += 22 + s.name.length * 6.2;
  }
}

export function lineChart(opts: ChartOptions, series: readonly Series[]): string {
  const all = series.flatMap((s) => s.points);
  const f = frame(opts, all);
  if (all.length === 0) {
    f.svg.push(`<text x="${f.width / 2}" y="${f.height / 2}" text-anchor="middle" fill="#888">no data</text>`);
  }
  for (const s of series) {
    const pts = s.points.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]) && (!opts.logX || p[0] > 0));
    if (pts.length === 0) continue;
    const coords: string[] = [];
    pts.forEach((p, i) => {
      if (s.step && i > 0) coords.push(`${f.x(p[0]).toFixed(1)},${f.y(pts[i - 1]![1]).toFixed(1)}`);
      coords.push(`${f.x(p[0]).toFixed(1)},${f.y(p[1]).toFixed(1)}`);
    });
    f.svg.push(`<polyline fill="none" stroke="${escapeXml(s.color)}" stroke-width="1.8" points="${coords.join(' ')}"/>`);
  }
  legend(f, series);
  f.svg.push('</svg>');
  return f.svg.join('');
}

export function scatterChart(opts: ChartOptions, series: readonly Series[]): string {
  const all = series.flatMap((s) => s.points);
  const f = frame(opts, all);
  for (const s of series) {
    const dots = s.points
      .filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]))
      .map((p) => `M${f.x(p[0]).toFixed(1)} ${f.y(p[1]).toFixed(1)}h0.01`)
      .join('');
    if (dots) f.svg.push(`<path d="${dots}" stroke="${escapeXml(s.color)}" stroke-width="3" stroke-linecap="round" opacity="0.6"/>`);
  }
  legend(f, series);
  f.svg.push('</svg>');
  return f.svg.join('');
}

/** Every k-th point so that at most `max` remain (first and last kept). */
export function thin<T>(points: readonly T[], max: number): T[] {
  if (points.length <= max) return [...points];
  const step = (points.length - 1) / (max - 1);
  const out: T[] = [];
  for (let i = 0; i < max; i++) out.push(points[Math.round(i * step)]!);
  return out;
}
