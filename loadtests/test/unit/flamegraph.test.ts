import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { flamegraphCli, flameGraphSvg, foldProfile, frameName, topSelf, type CpuProfile } from '../../src/flamegraph.js';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });

/**
 * root ─ (idle)
 *      ├ main (gateway) ─ hot (a package) and cold (Node.js)
 *      └ (garbage collector)
 * Samples every 0.1 s: hot x3, cold, idle x2, GC, main itself.
 */
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 3, 6] },
    { id: 2, callFrame: frame('(idle)') },
    { id: 3, callFrame: frame('main', 'file:///srv/app/gateway/dist/app.js', 4), children: [4, 5] },
    { id: 4, callFrame: frame('hot', 'file:///srv/app/node_modules/pkg/index.js', 10) },
    { id: 5, callFrame: frame('<cold>', 'node:fs', 99) },
    { id: 6, callFrame: frame('(garbage collector)') },
  ],
  startTime: 1_000,
  endTime: 1_000 + 800_000,
  samples: [4, 4, 4, 5, 2, 2, 6, 3],
  timeDeltas: [100_000, 100_000, 100_000, 100_000, 100_000, 100_000, 100_000, 100_000],
};

describe('frameName', () => {
  it('names a frame by function, file from its package or workspace, and 1-based line', () => {
    expect(frameName(profile.nodes[2]!.callFrame)).toBe('main gateway/app.js:5');
    expect(frameName(profile.nodes[3]!.callFrame)).toBe('hot pkg/index.js:11');
    expect(frameName(profile.nodes[4]!.callFrame)).toBe('<cold> node:fs:100');
    expect(frameName(frame('', 'file:///x.js', 0))).toBe('(anonymous) /x.js:1');
    expect(frameName(frame('(program)'))).toBe('(program)');
  });
});

describe('foldProfile', () => {
  it('counts busy samples along each stack and leaves idle ones out of the width', () => {
    const f = foldProfile(profile);
    expect(f.samples).toBe(8);
    expect(f.idle).toBe(2);
    expect(f.root.value).toBe(6);
    const main = f.root.children.get('main gateway/app.js:5')!;
    expect([main.value, main.self]).toEqual([5, 1]);
    expect(main.children.get('hot pkg/index.js:11')).toMatchObject({ value: 3, self: 3 });
    expect(main.children.get('<cold> node:fs:100')).toMatchObject({ value: 1, self: 1 });
    expect(f.root.children.get('(garbage collector)')).toMatchObject({ value: 1, self: 1 });
    expect(f.root.children.has('(idle)')).toBe(false);
    expect(f.seconds).toBeCloseTo(0.7, 10);
  });

  it('keeps only the samples inside a window of seconds from the start', () => {
    // samples at 0.4 (cold), 0.5 and 0.6 (idle), 0.7 (GC)
    const f = foldProfile(profile, { fromSeconds: 0.35, toSeconds: 0.75 });
    expect([f.samples, f.idle, f.root.value]).toEqual([4, 2, 2]);
    expect(f.root.children.get('main gateway/app.js:5')!.children.get('<cold> node:fs:100')!.value).toBe(1);
    expect(f.root.children.get('main gateway/app.js:5')!.children.has('hot pkg/index.js:11')).toBe(false);
  });

  it('merges frames of the same name under the same caller', () => {
    const twice: CpuProfile = {
      ...profile,
      nodes: [
        { id: 1, callFrame: frame('(root)'), children: [2, 3] },
        { id: 2, callFrame: frame('f', 'file:///a.js', 1) },
        { id: 3, callFrame: frame('f', 'file:///a.js', 1) },
      ],
      samples: [2, 3, 3],
      timeDeltas: [1, 1, 1],
    };
    const f = foldProfile(twice);
    expect([...f.root.children.keys()]).toEqual(['f /a.js:2']);
    expect(f.root.children.get('f /a.js:2')!.self).toBe(3);
  });

  it('refuses what is not a CPU profile', () => {
    expect(() => foldProfile({} as CpuProfile)).toThrow(/not a V8 CPU profile/);
  });
});

describe('topSelf', () => {
  it('sorts frames by self time, as shares of the busy time (ties by name)', () => {
    const top = topSelf(foldProfile(profile), 3);
    expect(top).toEqual([
      { name: 'hot pkg/index.js:11', samples: 3, share: 0.5 },
      { name: '(garbage collector)', samples: 1, share: 1 / 6 },
      { name: '<cold> node:fs:100', samples: 1, share: 1 / 6 },
    ]);
  });
});

describe('flameGraphSvg', () => {
  it('draws one box per frame, as wide as its share, with escaped names and figures in the tooltip', () => {
    const svg = flameGraphSvg(foldProfile(profile), { title: 'a <test>', width: 620 });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('a &lt;test&gt;');
    expect(svg).not.toContain('<cold>');
    // all, main, hot, cold, GC
    expect(svg.match(/<rect x=/g)).toHaveLength(5);
    // the inner width is 600: hot holds 3 of 6 busy samples
    const hot =
      /<title>hot pkg\/index\.js:11\n3 samples, 50\.00 % of the busy time; self 3 \(50\.00 %\)<\/title><rect x="[\d.]+" y="\d+" width="([\d.]+)"/.exec(
        svg,
      );
    expect(hot).not.toBeNull();
    expect(Number(hot![1])).toBeCloseTo(300 - 0.3, 1);
    expect(svg).toContain('6 busy samples over 0.7 s (busy 75 % of the window)');
  });

  it('leaves out frames narrower than the minimum share', () => {
    const svg = flameGraphSvg(foldProfile(profile), { title: 't', minShare: 0.2 });
    // all, main, hot: cold and GC are 1/6 each
    expect(svg.match(/<rect x=/g)).toHaveLength(3);
  });
});

describe('the command line, on a real profile', () => {
  it('writes a flame graph in which the busy function shows, and lists it first', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vr-flame-'));
    try {
      const busy = 'function spinTheWheel(){let x=0;for(let i=0;i<4e7;i++)x+=i%7;return x}spinTheWheel();spinTheWheel();';
      await promisify(execFile)(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '-e', busy]);
      const [file] = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
      expect(file).toBeDefined();
      const out = join(dir, 'flame.svg');
      const printed: string[] = [];
      const write = process.stdout.write.bind(process.stdout);
      process.stdout.write = ((chunk: string) => (printed.push(String(chunk)), true)) as typeof process.stdout.write;
      let code: number;
      try {
        code = await flamegraphCli([join(dir, file!), '--out', out, '--top', '3']);
      } finally {
        process.stdout.write = write;
      }
      expect(code).toBe(0);
      const svg = await readFile(out, 'utf8');
      expect(svg).toContain('spinTheWheel');
      const lines = printed.join('').split('\n');
      expect(lines[2]).toMatch(/%\s+spinTheWheel /);
      expect(await flamegraphCli([join(dir, file!), '--from=-1'])).toBe(2);
      expect(await flamegraphCli([])).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
