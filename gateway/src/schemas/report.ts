import { Type } from 'typebox';
import { Nullable, StringEnum } from './common.js';

const Count = Type.Integer({ minimum: 0 });
const Seconds = Nullable(Type.Number({ description: 'seconds' }));
const Percentiles = {
  count: Count,
  p50: Seconds,
  p90: Seconds,
  p99: Seconds,
};

export const ReportQuery = Type.Object({
  format: Type.Optional(StringEnum(['json', 'csv'] as const, { description: 'csv: the time series only, one line per minute' })),
});

export const SaleReportResponse = Type.Object(
  {
    sale: Type.Object({
      id: Type.String(),
      name: Type.String(),
      stock: Count,
      sold: Count,
      startsAt: Type.String({ format: 'date-time' }),
      endsAt: Nullable(Type.String({ format: 'date-time' })),
      ratePerMinute: Count,
    }),
    generatedAt: Type.String({ format: 'date-time' }),
    funnel: Type.Object(
      {
        joined: Count,
        admitted: Count,
        bought: Count,
        walkedAway: Count,
        lapsed: Count,
        toldSoldOut: Count,
        refused: Count,
      },
      {
        description:
          'places taken; admissions; orders accepted; left while waiting; admissions that lapsed unused; shoppers still waiting when the sale sold out or ended; joins refused by rate limits or proof of work',
      },
    ),
    freed: Type.Integer({ minimum: 0, description: 'turns freed because the page closed' }),
    conversion: Nullable(Type.Number({ description: 'bought / admitted' })),
    orders: Type.Integer({ minimum: 0, description: 'orders PostgreSQL holds' }),
    timeInQueue: Type.Object({
      overall: Type.Object(Percentiles),
      byWindow: Type.Array(
        Type.Object({
          window: Type.Unsafe<'prequeue' | number>({
            type: ['string', 'integer'],
            description: "'prequeue' or the arrival minute from the start",
          }),
          from: Nullable(Type.String({ format: 'date-time' })),
          ...Percentiles,
        }),
      ),
      relativePrecision: Type.Number({ description: 'each percentile is within this share of the exact value' }),
    }),
    sellOut: Type.Object({
      soldOutAt: Nullable(Type.String({ format: 'date-time' })),
      endedAt: Nullable(Type.String({ format: 'date-time' })),
      seconds: Nullable(Type.Number({ description: 'from the start to sold out' })),
      rateAllowsSeconds: Type.Number({ description: 'the stock, one order per admission, at the rate set' }),
    }),
    series: Type.Array(
      Type.Object({
        minute: Type.Integer({ description: 'minute from the start (negative: before it)' }),
        at: Type.String({ format: 'date-time' }),
        arrivals: Count,
        admissions: Count,
        bought: Count,
        ratePerMinute: Nullable(Type.Number({ description: 'the rate in force' })),
        rateSet: Type.Number({ description: "the marketer's rate" }),
        requests: Count,
        errors5xx: Count,
        queueP50: Seconds,
        queueP90: Seconds,
        queueP99: Seconds,
      }),
    ),
    endpoints: Type.Array(
      Type.Object({
        route: Type.String(),
        requests: Count,
        errors4xx: Count,
        errors5xx: Count,
        errorRate: Type.Number({ description: '5xx per request' }),
        clientErrorRate: Type.Number({ description: '4xx per request' }),
        p50: Nullable(Type.Number({ description: 'ms' })),
        p90: Nullable(Type.Number({ description: 'ms' })),
        p99: Nullable(Type.Number({ description: 'ms' })),
      }),
    ),
    peakRequestsPerSecond: Nullable(Type.Object({ requests: Count, at: Type.String({ format: 'date-time' }) })),
  },
  { description: 'the sale report, recorded in PostgreSQL as the sale runs' },
);
