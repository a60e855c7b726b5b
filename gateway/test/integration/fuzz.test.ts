/**
 * Property-based fuzzing: at least 10,000 random and malformed requests (bodies, headers,
 * tokens, path parameters, huge and unicode values) against every route. No answer may be a
 * 5xx, and a rejected request (4xx) must change nothing: neither Redis's sale keys nor
 * PostgreSQL's sales and orders.
 */
import { ERROR_CODES } from '@velvet-rope/contracts';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, createHarness, createSale, join, me, type Harness } from '../support/harness.js';

let h: Harness;
let sales: string[];
let tickets: string[];
let admissionToken: string;

beforeAll(async () => {
  // limits off: the fuzzer is one client hammering, and a 429 would hide the route's answer
  h = await createHarness({ RATE_LIMIT_ENABLED: 'false' });
  const app = h.app();
  // a checkout window longer than any run: a loaded machine takes minutes over the 10,000
  // requests, and an admission lapsing mid-run is swept by whichever request reads it next
  // (a refused one too): a change the clock made, not the request
  sales = [
    await createSale(app, { ratePerMinute: 600_000, stock: 50, checkoutSeconds: 3_600 }),
    await createSale(app, { startsInMs: 3_600_000 }),
  ];
  tickets = [];
  for (let i = 0; i < 3; i++) tickets.push((await join(app, sales[0]!)).ticket);
  await app.admissionLoop.tickSale(sales[0]!);
  await new Promise((r) => setTimeout(r, 50));
  await app.admissionLoop.tickSale(sales[0]!);
  admissionToken = (await me(app, sales[0]!, tickets[0]!)).body.admission.token;
});
afterAll(async () => {
  await h?.close();
});

/** one round trip: a digest of every key of the test's sales */
const DIGEST = `
local parts = {}
for _, key in ipairs(KEYS) do
  local dumped = redis.call('DUMP', key)
  parts[#parts + 1] = key .. '=' .. (dumped and redis.sha1hex(dumped) or '-')
end
return redis.sha1hex(table.concat(parts, ';'))`;

async function stateDigest(): Promise<string> {
  const app = h.app();
  // one script per sale: a sale's keys share a hash slot, two sales' keys may not
  const redisDigest = await Promise.all(
    sales.map((id) => {
      const k = app.keyspace.sale(id);
      const keys = [k.config, k.queue, k.admitted, k.stock, k.pending, k.pendingDue, k.visitors, k.seq];
      return app.redis.eval(DIGEST, keys.length, ...keys) as Promise<string>;
    }),
  );
  const { rows } = await h.db.pool.query(
    `SELECT (SELECT json_agg(s ORDER BY id) FROM (SELECT id, name, stock, sold, starts_at, ends_at, rate_per_minute, max_active,
              checkout_seconds, max_per_shopper, queue_mode, window_seconds, paused FROM sales) s) AS sales,
            (SELECT count(*) FROM orders) AS orders,
            (SELECT json_agg(n ORDER BY sale_id) FROM sale_notices n) AS notices`,
  );
  return `${redisDigest.join(',')}|${JSON.stringify(rows[0])}`;
}

const weird = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom('', ' ', '..', '%00', '{sale:x}', 'a'.repeat(5000), '😀😀', 'null', '-1', '1e309', '__proto__', '%E0%A4%A'),
);

const saleIdArb = () => fc.oneof(fc.constantFrom(...sales), fc.constant('no-such-sale'), weird);

function tokenArb() {
  const real = [...tickets, admissionToken];
  return fc.oneof(
    fc.constantFrom(...real),
    // a real token with one character changed
    fc
      .tuple(fc.constantFrom(...real), fc.nat(), fc.string({ minLength: 1, maxLength: 1 }))
      .map(([t, i, c]) => t.slice(0, i % t.length) + c + t.slice((i % t.length) + 1)),
    fc.constant(
      `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"sub":"x","sale":"s"}').toString('base64url')}.`,
    ),
    weird,
  );
}

const headersArb = () =>
  fc.record(
    {
      authorization: fc.oneof(
        tokenArb().map((t) => `Bearer ${t}`),
        fc.constant(`Bearer ${ADMIN_KEY}`),
        weird,
      ),
      cookie: fc.oneof(
        tokenArb().map((t) => `vr_ticket=${t}`),
        weird.map((w) => `vr_vid=${w}`),
      ),
      'content-type': fc.constantFrom(
        'application/json',
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/json; charset=utf-16',
      ),
      'x-forwarded-for': weird,
    },
    { requiredKeys: [] },
  );

const bodyArb = () =>
  fc.oneof(
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    fc.record({ quantity: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null)) }).map((v) => JSON.stringify(v)),
    fc
      .record(
        {
          id: weird,
          name: weird,
          stock: fc.oneof(fc.integer(), fc.double()),
          startsAt: fc.oneof(
            weird,
            fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          ),
          ratePerMinute: fc.integer(),
          queueMode: weird,
          paused: fc.oneof(fc.boolean(), weird),
        },
        { requiredKeys: [] },
      )
      .map((v) => JSON.stringify(v)),
    weird,
    fc.constant('{"quantity": 1'),
  );

const requestArb = () =>
  fc.record({
    method: fc.constantFrom('GET', 'POST', 'PATCH', 'PUT', 'DELETE'),
    path: fc.oneof(
      saleIdArb().map((s) => `/api/sales/${encodeURIComponent(s)}`),
      saleIdArb().map((s) => `/api/sales/${encodeURIComponent(s)}/queue`),
      saleIdArb().map((s) => `/api/sales/${encodeURIComponent(s)}/queue/me`),
      saleIdArb().map((s) => `/api/sales/${encodeURIComponent(s)}/purchases`),
      saleIdArb().map((s) => `/api/sales/${encodeURIComponent(s)}/fairness`),
      saleIdArb().map((s) => `/api/sales/${encodeURIComponent(s)}/fairness/audit`),
      fc.oneof(fc.uuid(), weird).map((o) => `/api/orders/${encodeURIComponent(o)}`),
      fc.constant('/api/admin/sales'),
      saleIdArb().map((s) => `/api/admin/sales/${encodeURIComponent(s)}`),
      saleIdArb().map((s) => `/api/admin/sales/${encodeURIComponent(s)}/stats`),
      saleIdArb().map((s) => `/api/admin/sales/${encodeURIComponent(s)}/report`),
      saleIdArb().map((s) => `/api/admin/sales/${encodeURIComponent(s)}/report?format=${encodeURIComponent(s)}`),
      saleIdArb().map((s) => `/api/admin/sales/${encodeURIComponent(s)}/notice`),
      saleIdArb().map((s) => `/sales/${encodeURIComponent(s)}/join`),
      saleIdArb().map((s) => `/sales/${encodeURIComponent(s)}/wait`),
      saleIdArb().map((s) => `/sales/${encodeURIComponent(s)}/buy`),
      fc.constantFrom('/healthz', '/readyz', '/.well-known/jwks.json', '/metrics', '/sales/x', '/admin', '/nope'),
      weird.map((w) => `/${encodeURIComponent(w)}`),
    ),
    headers: headersArb(),
    body: fc.option(bodyArb(), { nil: undefined }),
  });

describe('fuzzing every route', () => {
  it('answers 10,000 random requests without a 5xx, and rejected ones change nothing', async () => {
    const app = h.app();
    const statuses = new Map<number, number>();
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(requestArb(), async (req) => {
        const before = await stateDigest();
        const res = await app.inject({
          method: req.method as 'GET',
          url: req.path,
          headers: req.headers,
          ...(req.body !== undefined && req.method !== 'GET' ? { payload: req.body } : {}),
        });
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        expect(res.statusCode, `${req.method} ${req.path} -> ${res.statusCode} ${res.body.slice(0, 200)}`).toBeLessThan(500);
        if (res.statusCode >= 400) {
          // every refusal speaks the catalogue's language
          expect(Object.keys(ERROR_CODES), `${req.method} ${req.path} -> ${res.body.slice(0, 200)}`).toContain(res.json().code);
          expect(res.json().statusCode).toBe(res.statusCode);
          expect(await stateDigest(), `${req.method} ${req.path} -> ${res.statusCode} changed state`).toBe(before);
        }
        checked++;
      }),
      { numRuns: 10_000, seed: Number(process.env.FUZZ_SEED ?? 20261121) },
    );
    process.stdout.write(`fuzz: ${checked} requests, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}\n`);
    expect(checked).toBe(10_000);
  }, 300_000);
});
