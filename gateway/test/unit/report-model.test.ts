import { describe, expect, it } from 'vitest';
import { bucketOf } from '../../src/report/log-histogram.js';
import { buildReport, csvField, seriesCsv, type ReportRecords, type ReportSale } from '../../src/report/report-model.js';

const START = Date.parse('2030-01-01T10:00:00Z');
const sale: ReportSale = { id: 's1', name: 'Drop', stock: 100, sold: 100, startsAt: START, endsAt: null, ratePerMinute: 600 };

function records(over: Partial<ReportRecords> = {}): ReportRecords {
  return {
    funnel: { joined: 300, admitted: 120, bought: 100, walkedAway: 0, lapsed: 20, toldSoldOut: 180, refused: 4 },
    freed: 0,
    soldOutAt: START + 15_000,
    endedAt: null,
    orders: 100,
    orderedUnits: 100,
    minutes: [
      { minute: -2, arrivals: 200, admissions: 0, bought: 0, ratePerMinute: 600 },
      { minute: 0, arrivals: 100, admissions: 120, bought: 100, ratePerMinute: 300 },
    ],
    waits: new Map([
      [`p:${bucketOf(60_000)}`, 100],
      [`0:${bucketOf(5_000)}`, 20],
    ]),
    routes: [],
    requestMinutes: new Map([[0, { requests: 500, errors5xx: 1 }]]),
    peak: { second: START + 3_000, requests: 90 },
    ...over,
  };
}

describe('the report figures', () => {
  it('builds the funnel, conversion, sell-out time and the rate it allows', () => {
    const r = buildReport(sale, records(), START + 60_000);
    expect(r.conversion).toBeCloseTo(100 / 120);
    expect(r.sellOut.seconds).toBe(15);
    // 100 units, one per order, at 600 a minute: 10 s
    expect(r.sellOut.rateAllowsSeconds).toBe(10);
    expect(r.peakRequestsPerSecond).toEqual({ requests: 90, at: new Date(START + 3_000).toISOString() });
  });

  it('fills every minute of the series, carrying the rate over empty minutes', () => {
    const r = buildReport(sale, records(), START);
    expect(r.series.map((p) => [p.minute, p.arrivals, p.ratePerMinute])).toEqual([
      [-2, 200, 600],
      [-1, 0, 600],
      [0, 100, 300],
    ]);
    expect(r.series[2]).toMatchObject({ requests: 500, errors5xx: 1, rateSet: 600 });
    // the pre-queue arrivals have their own window; minute 0's arrivals waited about 5 s
    expect(r.timeInQueue.byWindow.map((w) => w.window)).toEqual(['prequeue', 0]);
    expect(r.series[2]!.queueP50!).toBeCloseTo(5, 0);
    expect(r.timeInQueue.overall.count).toBe(120);
    expect(r.timeInQueue.overall.p50!).toBeCloseTo(60, -1);
  });

  it('has no conversion before anyone is admitted, and no series without records', () => {
    const r = buildReport(
      sale,
      records({
        funnel: { joined: 0, admitted: 0, bought: 0, walkedAway: 0, lapsed: 0, toldSoldOut: 0, refused: 0 },
        minutes: [],
        requestMinutes: new Map(),
        waits: new Map(),
        soldOutAt: null,
        peak: null,
      }),
      START,
    );
    expect(r.conversion).toBeNull();
    expect(r.series).toEqual([]);
    expect(r.sellOut.seconds).toBeNull();
    expect(r.timeInQueue.overall).toEqual({ count: 0, p50: null, p90: null, p99: null });
  });
});

describe('the report CSV', () => {
  it('quotes what needs quoting and leaves missing values empty', () => {
    expect(csvField(null)).toBe('');
    expect(csvField(12)).toBe('12');
    expect(csvField(1 / 3)).toBe('0.333');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
  });

  it('writes a header and one CRLF line per minute', () => {
    const csv = seriesCsv(buildReport(sale, records(), START).series);
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe('minute,at,arrivals,admissions,bought,ratePerMinute,rateSet,requests,errors5xx,queueP50,queueP90,queueP99');
    expect(lines).toHaveLength(5); // header, three minutes, and the final line end
    expect(lines[2]).toBe(`-1,${new Date(START - 60_000).toISOString()},0,0,0,600,600,0,0,,,`);
    expect(lines[4]).toBe('');
  });
});
