/**
 * A small SVG line chart for the console: a time window, one or more series, and marker
 * lines where the marketer changed something, so the effect of a change shows beside it.
 * Drawn from scratch on every update (a few hundred points): simpler than diffing, and cheap.
 */
const SVG = 'http://www.w3.org/2000/svg';
const W = 320;
const H = 150;
const PAD = { left: 38, right: 6, top: 16, bottom: 20 };

export interface Series {
  name: string;
  /** [time ms, value] in time order */
  points: readonly (readonly [number, number])[];
  /** CSS class for the stroke (colour and dash are the stylesheet's) */
  className: string;
}

export interface Marker {
  at: number;
  label: string;
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/** 1, 2, 5, 10, 20, 50 ... at or above v */
export function niceCeil(v: number): number {
  if (v <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const short = (v: number) =>
  v >= 10_000 ? `${Math.round(v / 1000)}k` : v >= 1000 ? `${(v / 1000).toFixed(1)}k` : Number.isInteger(v) ? String(v) : v.toFixed(1);
const ago = (ms: number) => (ms < 120_000 ? `${Math.round(ms / 1000)} s ago` : `${Math.round(ms / 60_000)} min ago`);

export class LineChart {
  private readonly _svg: SVGSVGElement;

  constructor(
    private readonly host: HTMLElement,
    private readonly title: string,
  ) {
    this._svg = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'chart-svg', focusable: 'false' });
    host.append(this._svg);
  }

  /** `axis`: the time axis's two ends (default: how long ago `from` was, and "now") */
  draw(series: readonly Series[], markers: readonly Marker[], from: number, to: number, axis?: { left: string; right: string }): void {
    const s = this._svg;
    s.replaceChildren();
    const max = niceCeil(Math.max(4, ...series.flatMap((x) => x.points.map((p) => p[1]))));
    const x = (t: number) => PAD.left + ((t - from) / Math.max(1, to - from)) * (W - PAD.left - PAD.right);
    const y = (v: number) => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);

    for (const v of [0, max / 2, max]) {
      s.append(svg('line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: v === 0 ? 'axis' : 'grid' }));
      const label = svg('text', { x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' });
      label.textContent = short(v);
      s.append(label);
    }
    const left = svg('text', { x: PAD.left, y: H - 4, class: 'tick' });
    left.textContent = axis?.left ?? ago(to - from);
    const right = svg('text', { x: W - PAD.right, y: H - 4, 'text-anchor': 'end', class: 'tick' });
    right.textContent = axis?.right ?? 'now';
    s.append(left, right);

    let row = 0;
    for (const m of markers) {
      if (m.at < from || m.at > to) continue;
      const mx = x(m.at);
      // labels of changes made close together take turns on three rows
      const ly = PAD.top + 6 + (row++ % 3) * 11;
      s.append(svg('line', { x1: mx, x2: mx, y1: PAD.top - 4, y2: H - PAD.bottom, class: 'marker' }));
      const t = svg('text', {
        x: mx + (mx > W * 0.7 ? -4 : 4),
        y: ly,
        'text-anchor': mx > W * 0.7 ? 'end' : 'start',
        class: 'marker-label',
      });
      t.textContent = m.label;
      s.append(t);
    }

    for (const ser of series) {
      const pts = ser.points.filter((p) => p[0] >= from);
      if (pts.length === 0) continue;
      const d = pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join('');
      s.append(svg('path', { d, class: `line ${ser.className}` }));
    }

    // a summary for screen readers: the chart is a picture of these numbers
    const parts = series.map((ser) => {
      const pts = ser.points.filter((p) => p[0] >= from);
      if (pts.length === 0) return `${ser.name}: no data yet`;
      return `${ser.name} from ${short(pts[0]![1])} to ${short(pts[pts.length - 1]![1])}`;
    });
    s.setAttribute(
      'aria-label',
      `${this.title}, from ${axis?.left ?? ago(to - from)} to ${axis?.right ?? 'now'}: ${parts.join('; ')}${markers.length ? `; ${markers.length} changes marked` : ''}`,
    );
    this.host.dataset.points = String(series[0]?.points.length ?? 0);
  }
}
