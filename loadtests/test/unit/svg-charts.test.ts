import { describe, expect, it } from 'vitest';
import { escapeXml, formatNumber, lineChart, logTicks, niceTicks, scatterChart, thin } from '../../src/svg-charts.js';

describe('ticks', () => {
  it('picks round steps covering the range', () => {
    expect(niceTicks(0, 100, 5)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0, 17, 5)).toEqual([0, 5, 10, 15]);
    expect(niceTicks(-3, 3, 3)).toEqual([-2, 0, 2]);
    expect(niceTicks(5, 5)).toEqual([5]);
    expect(niceTicks(Number.NaN, 1)).toEqual([]);
  });

  it('puts log ticks on powers of ten (and 2x, 5x over a short range)', () => {
    expect(logTicks(1, 1000)).toEqual([1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]);
    expect(logTicks(0.5, 1e6)).toEqual([1, 10, 100, 1000, 10000, 100000, 1000000]);
    expect(logTicks(0, 10)).toEqual([]);
  });

  it('formats large and small numbers shortly', () => {
    expect(formatNumber(12_000)).toBe('12k');
    expect(formatNumber(2_500_000)).toBe('2.5M');
    expect(formatNumber(0.125)).toBe('0.125');
    expect(formatNumber(42)).toBe('42');
  });
});

describe('charts', () => {
  it('draws one polyline per series with points, and a legend entry each', () => {
    const svg = lineChart({ title: 'T', xLabel: 'x', yLabel: 'y' }, [
      {
        name: 'a',
        color: '#f00',
        points: [
          [0, 1],
          [1, 2],
          [2, 3],
        ],
      },
      {
        name: 'b',
        color: '#0f0',
        points: [
          [0, 3],
          [2, 1],
        ],
      },
      { name: 'empty', color: '#00f', points: [] },
    ]);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.endsWith('</svg>')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('>empty<');
  });

  it('says so when there is nothing to draw', () => {
    expect(lineChart({ title: 'T', xLabel: 'x', yLabel: 'y' }, [])).toContain('no data');
  });

  it('drops points a log axis cannot show', () => {
    const svg = lineChart({ title: 'T', xLabel: 'x', yLabel: 'y', logX: true }, [
      {
        name: 'a',
        color: '#f00',
        points: [
          [0, 1],
          [10, 2],
          [100, 3],
        ],
      },
    ]);
    const coords = /points="([^"]+)"/.exec(svg)![1]!.split(' ');
    expect(coords).toHaveLength(2);
  });

  it('escapes text', () => {
    const svg = scatterChart({ title: '<b>&"', xLabel: 'x', yLabel: 'y' }, [{ name: "it's", color: '#f00', points: [[1, 1]] }]);
    expect(svg).not.toContain('<b>');
    expect(svg).toContain('&lt;b&gt;&amp;&quot;');
    expect(svg).toContain('it&#39;s');
    expect(escapeXml('a<b')).toBe('a&lt;b');
  });

  it('thins evenly, keeping the first and the last point', () => {
    const pts = Array.from({ length: 1000 }, (_, i) => i);
    const t = thin(pts, 11);
    expect(t).toHaveLength(11);
    expect(t[0]).toBe(0);
    expect(t[10]).toBe(999);
    expect(thin([1, 2], 10)).toEqual([1, 2]);
  });
});
