/**
 * Issue 12 item 2: GET /metrics was served on the public port, to anyone: it lists sale ids,
 * live stock and the process's descriptor figures. It is now on METRICS_PORT only, unless the
 * operator opts in with METRICS_ON_PUBLIC_PORT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('issue 12 item 2: /metrics was published on the public port', () => {
  it('answers 404 on the public port by default', async () => {
    const res = await h.app().inject({ url: '/metrics' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ statusCode: 404, code: 'ROUTE_NOT_FOUND' });
    expect(res.body).not.toContain('vr_');
  });

  it('serves it on the public port only when METRICS_ON_PUBLIC_PORT opts in', async () => {
    const app = await h.addGateway({ METRICS_ON_PUBLIC_PORT: 'true' });
    const res = await app.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('vr_unhandled_rejections_total');
  });
});
