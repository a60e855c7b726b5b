/**
 * Flame graphs from V8 CPU profiles (`node --cpu-prof` writes `*.cpuprofile`): where a
 * process's time went, as one self-contained SVG (no scripts; each frame's name, samples and
 * shares in its tooltip), and the frames with the most self time as text.
 *
 *   node loadtests/dist/flamegraph.js <file.cpuprofile> [--from S] [--to S] [--out F.svg] [--top N]
 *
 * `--from`/`--to` keep the samples taken that many seconds after the profile started (the
 * bench prints each path's window in the gateway's clock when the gateway is profiled).
 * Time the process spent idle, waiting for the event loop, is left out of the graph's width:
 * 100 % is the time it worked.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { runIfInvoked } from './cli.js';
import { escapeXml } from './svg-charts.js';

export interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

export interface CpuProfile {
  readonly nodes: readonly { readonly id: number; readonly callFrame: CallFrame; readonly children?: readonly number[] }[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  /** µs since the previous sample (the first: since startTime) */
  readonly timeDeltas: readonly number[];
}

export interface FlameNode {
  readonly name: string;
  /** samples in this frame and everything it called */
  value: number;
  /** samples in this frame itself */
  self: number;
  readonly children: Map<string, FlameNode>;
}

export interface FoldOptions {
  /** keep samples taken at or after this many seconds from the profile's start */
  readonly fromSeconds?: number;
  /** and before this many */
  readonly toSeconds?: number;
}

export interface Folded {
  readonly root: FlameNode;
  /** samples in the window, idle ones included */
  readonly samples: number;
  /** of which the process was idle */
  readonly idle: number;
  /** the window's length in seconds */
  readonly seconds: number;
}

/** V8's pseudo-frames: the root, the idle loop, and time outside JavaScript */
const IDLE = '(idle)';
const ROOT = '(root)';

/** A frame's name: function, then file (from the package or the repository) and line. */
export function frameName(cf: CallFrame): string {
  const fn = cf.functionName || '(anonymous)';
  if (!cf.url) return fn;
  const file = cf.url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, '')
    .replace(/^.*\/(gateway|order-worker|contracts|loadtests|waiting-room-ui)\/dist\//, '$1/');
  return `${fn} ${file}:${cf.lineNumber + 1}`;
}

/** Merges the profile's call tree by frame name, counting the samples in the window. */
export function foldProfile(profile: CpuProfile, opts: FoldOptions = {}): Folded {
  if (!Array.isArray(profile.nodes) || !Array.isArray(profile.samples) || !Array.isArray(profile.timeDeltas)) {
    throw new Error('not a V8 CPU profile (nodes, samples and timeDeltas expected)');
  }
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const from = (opts.fromSeconds ?? 0) * 1e6;
  const to = (opts.toSeconds ?? Infinity) * 1e6;

  const root: FlameNode = { name: 'all', value: 0, self: 0, children: new Map() };
  let t = 0;
  let samples = 0;
  let idle = 0;
  let first = Infinity;
  let last = -Infinity;
  const stack: string[] = [];
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (t < from || t >= to) continue;
    samples++;
    first = Math.min(first, t);
    last = Math.max(last, t);
    const leaf = byId.get(profile.samples[i]!);
    if (!leaf) continue;
    if (leaf.callFrame.functionName === IDLE) {
      idle++;
      continue;
    }
    stack.length = 0;
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const cf = byId.get(id)!.callFrame;
      if (cf.functionName !== ROOT) stack.push(frameName(cf));
    }
    root.value++;
    let node = root;
    for (let d = stack.length - 1; d >= 0; d--) {
      const name = stack[d]!;
      let child = node.children.get(name);
      if (!child) node.children.set(name, (child = { name, value: 0, self: 0, children: new Map() }));
      child.value++;
      node = child;
    }
    node.self++;
  }
  return { root, samples, idle, seconds: samples > 0 ? (last - first) / 1e6 : 0 };
}

/** The frames with the most self time, summed over every place they were called from. */
export function topSelf(folded: Folded, n = 25): { name: string; samples: number; share: number }[] {
  const self = new Map<string, number>();
  const walk = (node: FlameNode) => {
    if (node.self > 0) self.set(node.name, (self.get(node.name) ?? 0) + node.self);
    for (const c of node.children.values()) walk(c);
  };
  walk(folded.root);
  const total = Math.max(1, folded.root.value);
  return [...self]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, n)
    .map(([name, samples]) => ({ name, samples, share: samples / total }));
}

export interface FlameGraphOptions {
  readonly title: string;
  readonly width?: number;
  /** frames narrower than this share of the total are left out (with what they called) */
  readonly minShare?: number;
}

const ROW = 17;
const CHAR_PX = 6.6;

/** warm for the project's own code, green for packages, blue-grey for Node.js, red for V8's own */
function frameColor(name: string): string {
  const h = [...name].reduce((a, c) => (a * 31 + c.charCodeAt(0)) >>> 0, 7);
  const jitter = h % 40;
  if (/^\((garbage collector|program)\)/.test(name)) return `rgb(${210 + (jitter % 30)},80,70)`;
  if (/ (gateway|order-worker|contracts|loadtests)\//.test(name)) return `rgb(240,${140 + jitter},50)`;
  if (/ node:/.test(name) || !name.includes(' ')) return `rgb(${120 + jitter},${150 + jitter},190)`;
  return `rgb(${90 + jitter},${185 + (jitter % 30)},${95 + jitter})`;
}

/** The folded tree as an SVG flame graph: callers below, callees above, width = samples. */
export function flameGraphSvg(folded: Folded, opts: FlameGraphOptions): string {
  const width = opts.width ?? 1200;
  const minShare = opts.minShare ?? 0.0005;
  const total = folded.root.value;
  const pad = 10;
  const inner = width - 2 * pad;
  const rects: { x: number; w: number; depth: number; node: FlameNode }[] = [];
  let maxDepth = 0;
  const place = (node: FlameNode, x: number, depth: number) => {
    const w = total > 0 ? (node.value / total) * inner : 0;
    rects.push({ x, w, depth, node });
    maxDepth = Math.max(maxDepth, depth);
    let cx = x;
    const kids = [...node.children.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const c of kids) {
      if (c.value / Math.max(1, total) >= minShare) place(c, cx, depth + 1);
      cx += total > 0 ? (c.value / total) * inner : 0;
    }
  };
  place(folded.root, pad, 0);
  const top = 48;
  const height = top + (maxDepth + 1) * ROW + 24;
  const pct = (v: number) => `${((100 * v) / Math.max(1, total)).toFixed(2)} %`;
  const busy = folded.samples > 0 ? (100 * (folded.samples - folded.idle)) / folded.samples : 0;
  const body = rects
    .map(({ x, w, depth, node }) => {
      const y = height - 24 - (depth + 1) * ROW;
      const label = w >= 3 * CHAR_PX ? fit(node.name, Math.floor((w - 6) / CHAR_PX)) : '';
      const tip = `${node.name}\n${node.value} samples, ${pct(node.value)} of the busy time; self ${node.self} (${pct(node.self)})`;
      return (
        `<g><title>${escapeXml(tip)}</title><rect x="${x.toFixed(2)}" y="${y}" width="${Math.max(0.3, w - 0.3).toFixed(2)}" height="${ROW - 1}" fill="${depth === 0 ? 'rgb(200,200,200)' : frameColor(node.name)}" rx="2"/>` +
        (label ? `<text x="${(x + 3).toFixed(2)}" y="${y + ROW - 5}">${escapeXml(label)}</text>` : '') +
        '</g>'
      );
    })
    .join('\n');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace" font-size="11">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n` +
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-family="sans-serif">${escapeXml(opts.title)}</text>\n` +
    `<text x="${width / 2}" y="38" text-anchor="middle" font-size="12" font-family="sans-serif">${escapeXml(
      `${total} busy samples over ${folded.seconds.toFixed(1)} s (busy ${busy.toFixed(0)} % of the window); width = share of the busy time; hover for figures`,
    )}</text>\n` +
    `${body}\n</svg>\n`
  );
}

function fit(s: string, chars: number): string {
  if (s.length <= chars) return s;
  return chars <= 2 ? '' : `${s.slice(0, chars - 2)}..`;
}

/** The command line: writes the SVG, prints the top self-time frames; the exit code. */
export async function flamegraphCli(argv: readonly string[]): Promise<number> {
  const usage = 'usage: node loadtests/dist/flamegraph.js <file.cpuprofile> [--from S] [--to S] [--out F.svg] [--top N]\n';
  let args;
  try {
    args = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        out: { type: 'string' },
        top: { type: 'string' },
        help: { type: 'boolean' },
      },
    });
  } catch (err) {
    process.stderr.write(`flamegraph: ${(err as Error).message}\n${usage}`);
    return 2;
  }
  const { values, positionals } = args;
  if (values.help || positionals.length !== 1) {
    process.stderr.write(usage);
    return values.help ? 0 : 2;
  }
  const seconds = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const fromSeconds = seconds(values.from);
  const toSeconds = seconds(values.to);
  const top = Number(values.top ?? 25);
  for (const [name, v] of [
    ['from', fromSeconds],
    ['to', toSeconds],
    ['top', top],
  ] as const) {
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) {
      process.stderr.write(`flamegraph: --${name} must be a number >= 0\n${usage}`);
      return 2;
    }
  }
  const file = positionals[0]!;
  const folded = foldProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, { fromSeconds, toSeconds });
  if (folded.root.value === 0) {
    process.stderr.write(`${file}: no busy samples in the window\n`);
    return 1;
  }
  const window = values.from !== undefined || values.to !== undefined ? ` (${values.from ?? 0}–${values.to ?? 'end'} s)` : '';
  const out = values.out ?? file.replace(/\.cpuprofile$/, '') + '.svg';
  await writeFile(out, flameGraphSvg(folded, { title: `${file.split('/').pop()}${window}` }));
  process.stdout.write(`${out}\nself time (share of the busy time):\n`);
  for (const f of topSelf(folded, top)) process.stdout.write(`${(100 * f.share).toFixed(1).padStart(6)} %  ${f.name}\n`);
  return 0;
}

runIfInvoked(import.meta.url, 'flamegraph', flamegraphCli);
