import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createWorkerMetrics } from '../../src/metrics.js';
import { closeServer, serveMetrics } from '@velvet-rope/contracts';

describe('metrics endpoint', async () => {
  const metrics = createWorkerMetrics();
  const server = await serveMetrics(metrics.registry, 0, pino({ level: 'silent' }));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  afterAll(() => closeServer(server));

  it('serves the worker registry as Prometheus text at /metrics', async () => {
    metrics.orders.inc({ outcome: 'confirmed' }, 3);
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(await res.text()).toContain('order_worker_orders_total{outcome="confirmed"} 3');
  });

  it('answers 404 elsewhere', async () => {
    expect((await fetch(`${base}/`)).status).toBe(404);
  });
});
