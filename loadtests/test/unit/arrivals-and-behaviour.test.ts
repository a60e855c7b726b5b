import { describe, expect, it } from 'vitest';
import { arrivalOffsetsMs, arrivalWindow, windowAgrees } from '../../src/arrivals.js';
import { drawTraits, seededRandom } from '../../src/behaviour.js';
import { parseProcStatus } from '../../src/process-memory.js';
import { Semaphore } from '../../src/semaphore.js';

describe('arrivals', () => {
  it('spreads a spike so that half arrive in the first quarter', () => {
    const t = arrivalOffsetsMs(10_000, 40_000, 'spike');
    expect(t).toHaveLength(10_000);
    expect(t[0]).toBe(0);
    expect(t.every((v, i) => i === 0 || v >= t[i - 1]!)).toBe(true);
    expect(t.filter((v) => v < 10_000).length).toBeCloseTo(5000, -1);
    expect(Math.max(...t)).toBeLessThan(40_000);
  });

  it('spreads a flat profile evenly', () => {
    const t = arrivalOffsetsMs(100, 10_000, 'flat');
    expect(t.filter((v) => v < 5000)).toHaveLength(50);
  });

  it('numbers windows like the gateway: 0 before the start, then 1 + floor((t - start) / W)', () => {
    expect(arrivalWindow(999, 1000, 500)).toBe(0);
    expect(arrivalWindow(1000, 1000, 500)).toBe(1);
    expect(arrivalWindow(1499, 1000, 500)).toBe(1);
    expect(arrivalWindow(1500, 1000, 500)).toBe(2);
  });

  it("agrees with a server window inside the client's bracket, with a small tolerance", () => {
    expect(windowAgrees(1, 1400, 1450, 1000, 500)).toBe(true);
    expect(windowAgrees(2, 1300, 1350, 1000, 500)).toBe(false);
    // the join crossed a window boundary: either window is right
    expect(windowAgrees(2, 1480, 1520, 1000, 500)).toBe(true);
    expect(windowAgrees(1, 1480, 1520, 1000, 500)).toBe(true);
    expect(windowAgrees(2, 1460, 1470, 1000, 500, 50)).toBe(true);
  });
});

describe('behaviour', () => {
  it('is the same for the same seed', () => {
    const mix = { abandon: 0.1, retry: 0.2, impatient: 0.1, socketSample: 10 };
    expect(drawTraits(500, mix, 3)).toEqual(drawTraits(500, mix, 3));
    expect(drawTraits(500, mix, 3)).not.toEqual(drawTraits(500, mix, 4));
  });

  it('draws the asked proportions, and exactly the socket sample, spread over everyone', () => {
    const t = drawTraits(20_000, { abandon: 0.1, retry: 0.2, impatient: 0.1, socketSample: 200 }, 9);
    const share = (f: (x: (typeof t)[number]) => boolean) => t.filter(f).length / t.length;
    expect(share((x) => x.abandon !== 'none')).toBeCloseTo(0.1, 1);
    expect(share((x) => x.abandon === 'while-waiting')).toBeCloseTo(0.05, 1);
    expect(share((x) => x.retry !== 'none')).toBeCloseTo(0.2, 1);
    expect(share((x) => x.impatient)).toBeCloseTo(0.1, 1);
    const sockets = t.map((x, i) => (x.socket ? i : -1)).filter((i) => i >= 0);
    expect(sockets).toHaveLength(200);
    expect(sockets[199]).toBeGreaterThan(19_000);
  });

  it('draws the closers of the page at their turn, each with a socket, buying once and never walking away otherwise', () => {
    const without = drawTraits(5_000, { abandon: 0.1, retry: 0.2, impatient: 0.1, socketSample: 50 }, 9);
    const t = drawTraits(5_000, { abandon: 0.1, retry: 0.2, impatient: 0.1, socketSample: 50, closeAtTurn: 0.1 }, 9);
    expect(without.filter((x) => x.closeAtTurn)).toEqual([]);
    const closers = t.filter((x) => x.closeAtTurn);
    expect(closers.length / t.length).toBeCloseTo(0.1, 1);
    for (const c of closers) expect(c).toMatchObject({ socket: true, abandon: 'none', retry: 'none' });
  });

  it('draws uniform numbers in [0, 1)', () => {
    const r = seededRandom(1);
    const v = Array.from({ length: 10_000 }, r);
    expect(Math.min(...v)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...v)).toBeLessThan(1);
    expect(v.reduce((a, b) => a + b, 0) / v.length).toBeCloseTo(0.5, 1);
  });
});

describe('process memory', () => {
  it('reads VmRSS and VmHWM from /proc/<pid>/status', () => {
    const text = 'Name:\tnode\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t11\n';
    expect(parseProcStatus(text)).toEqual({ rssBytes: 102400 * 1024, peakRssBytes: 204800 * 1024 });
    expect(parseProcStatus('Name:\tkthread\n')).toBeUndefined();
  });
});

describe('Semaphore', () => {
  it('lets at most `size` run at once, first come first served', async () => {
    const s = new Semaphore(2);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        s.run(async () => {
          running++;
          most = Math.max(most, running);
          order.push(i);
          await new Promise((r) => setTimeout(r, 2));
          running--;
        }),
      ),
    );
    expect(most).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(s.inFlight).toBe(0);
    expect(s.waiting).toBe(0);
  });

  it('lets an urgent request go before every ordinary one that waits, in order among themselves', async () => {
    const s = new Semaphore(1);
    const order: string[] = [];
    const job = (name: string, urgent = false) =>
      s.run(async () => {
        order.push(name);
        await new Promise((r) => setTimeout(r, 2));
      }, urgent);
    await Promise.all([job('first'), job('poll-1'), job('poll-2'), job('buy-1', true), job('poll-3'), job('buy-2', true)]);
    expect(order).toEqual(['first', 'buy-1', 'buy-2', 'poll-1', 'poll-2', 'poll-3']);
    expect(s.waiting).toBe(0);
  });

  it('refuses a size that is not a positive whole number', () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
  });
});
