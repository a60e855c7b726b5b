/**
 * Issue 12 item 1, beyond the cookie: an unhandled rejection ended the gateway process (Node's
 * default), so any input that reached one stopped the gateway. The policy now: a rejection is
 * logged with its stack and counted, and the gateway serves on; an uncaught exception closes
 * the gateway and exits 1 for the supervisor. Faults are injected into the built process by a
 * preloaded module (test-support/fault-injection.mjs) on a signal.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitForOutput } from '../../../../test-support/processes.js';
import { startOneGateway, type OneGateway } from './one-gateway.js';

const INJECTOR = fileURLToPath(new URL('../../../../test-support/fault-injection.mjs', import.meta.url));
let gw: OneGateway;
let metricsPort: number;

beforeAll(async () => {
  metricsPort = await freePort();
  gw = await startOneGateway({
    METRICS_PORT: String(metricsPort),
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${INJECTOR}`.trim(),
  });
  await waitForOutput(gw.service, 'fault injection armed');
});

afterAll(async () => {
  await gw?.close();
});

const rejectionsCounted = async (): Promise<number> => {
  const text = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text());
  const m = /^vr_unhandled_rejections_total (\d+)/m.exec(text);
  return m ? Number(m[1]) : NaN;
};

describe('issue 12 item 1: an unhandled rejection ended the gateway process', () => {
  it('logs an unhandled rejection with its stack, counts it, and keeps serving', async () => {
    gw.service.child.kill('SIGUSR2');
    await waitForOutput(gw.service, 'unhandled rejection');
    expect(gw.service.output()).toContain('injected rejection (test)');
    expect(gw.service.output()).toMatch(/"stack":"Error: injected rejection \(test\)\\n\s+at /);
    expect(gw.alive(), gw.service.output()).toBe(true);
    expect((await fetch(`${gw.base}/healthz`)).status).toBe(200);
    expect(await rejectionsCounted()).toBe(1);
    const saleId = await gw.createSale();
    expect((await gw.join(saleId)).ticket).toBeTypeOf('string');
  });

  it('on an uncaught exception, logs it, closes and exits 1 for the supervisor to restart', async () => {
    const { child } = gw.service;
    const exited =
      child.exitCode !== null
        ? Promise.resolve(child.exitCode)
        : new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    gw.service.child.kill('SIGHUP');
    expect(await exited).toBe(1);
    expect(gw.service.output()).toContain('uncaught exception');
    expect(gw.service.output()).toContain('injected exception (test)');
  });
});
