/**
 * The OpenAPI document is generated from the route schemas; this checks it against the
 * routes themselves and against the HTTP API the design promises clients.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h?.close();
});

/** the paths clients, operators and load scripts depend on (DESIGN.md, "HTTP API (v1)") */
const PROMISED: [string, string][] = [
  ['get', '/api/sales/{saleId}'],
  ['post', '/api/sales/{saleId}/queue'],
  ['get', '/api/sales/{saleId}/queue/me'],
  ['post', '/api/sales/{saleId}/purchases'],
  ['get', '/api/orders/{orderId}'],
  ['get', '/api/sales/{saleId}/fairness'],
  ['get', '/.well-known/jwks.json'],
  ['get', '/healthz'],
  ['get', '/readyz'],
  ['post', '/api/admin/sales'],
  ['patch', '/api/admin/sales/{saleId}'],
  ['get', '/api/admin/sales'],
  ['get', '/api/admin/sales/{saleId}/stats'],
];

describe('OpenAPI', () => {
  it('documents every promised route, and every documented route exists', async () => {
    const app = h.app();
    const res = await app.inject({ url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json() as { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    expect(doc.openapi).toMatch(/^3\./);
    for (const [method, path] of PROMISED) {
      expect(doc.paths[path]?.[method], `${method.toUpperCase()} ${path} documented`).toBeDefined();
    }
    let checked = 0;
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const method of Object.keys(methods)) {
        const url = path.replace('{saleId}', 'no-such-sale').replace('{orderId}', '00000000-0000-4000-8000-000000000000');
        const answer = await app.inject({ method: method.toUpperCase() as 'GET', url, payload: method === 'get' ? undefined : {} });
        const body = String(answer.headers['content-type'] ?? '').includes('json') ? answer.json() : {};
        expect(body.code, `${method.toUpperCase()} ${path} is routed`).not.toBe('ROUTE_NOT_FOUND');
        expect(answer.statusCode, `${method.toUpperCase()} ${path}`).toBeLessThan(500);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(PROMISED.length);
    // answers carry their error codes in the document too
    expect(Object.keys(doc.paths['/api/sales/{saleId}/purchases']!.post!.responses)).toEqual(
      expect.arrayContaining(['202', '200', '401', '403', '409', '422', '429', '503']),
    );
  });

  it('serves the browsable documentation at /docs', async () => {
    const res = await h.app().inject({ url: '/docs/' });
    expect([200, 302]).toContain(res.statusCode);
    const page = res.statusCode === 302 ? await h.app().inject({ url: String(res.headers.location) }) : res;
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('swagger');
  });
});
