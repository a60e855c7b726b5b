/**
 * Samples the sale every 500 ms while a run goes on: the marketer's live figures
 * (`GET /api/admin/sales/:id/stats`), the resident memory of the processes the simulator
 * started, and the simulator's own request count. The report draws its time charts from these.
 */
import { parseStats, type SaleStats } from './api-answers.js';
import type { ApiClient } from './api-client.js';
import { readProcessMemory } from './process-memory.js';

export interface Sample {
  /** seconds since the run began */
  readonly t: number;
  readonly stats: SaleStats | undefined;
  readonly gatewayRssBytes: number | undefined;
  readonly workerRssBytes: number | undefined;
  /** requests the simulator completed so far */
  readonly requests: number;
}

export interface SamplerOptions {
  readonly admin: ApiClient;
  readonly adminKey: string;
  readonly saleId: string;
  readonly intervalMs?: number;
  readonly gatewayPid?: number;
  readonly workerPid?: number;
  readonly requestCount: () => number;
  readonly t0: number;
}

export class SaleSampler {
  readonly samples: Sample[] = [];
  peakGatewayRss = 0;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  constructor(private readonly o: SamplerOptions) {}

  start(): void {
    this.#timer = setInterval(() => void this.sampleOnce(), this.o.intervalMs ?? 500);
  }

  async sampleOnce(): Promise<Sample | undefined> {
    if (this.#busy) return undefined; // a slow answer: skip a beat rather than pile up
    this.#busy = true;
    try {
      const [a, gw, wk] = await Promise.all([
        this.o.admin.call('stats', 'GET', `/api/admin/sales/${this.o.saleId}/stats`, { token: this.o.adminKey }),
        this.o.gatewayPid ? readProcessMemory(this.o.gatewayPid) : undefined,
        this.o.workerPid ? readProcessMemory(this.o.workerPid) : undefined,
      ]);
      if (gw) this.peakGatewayRss = Math.max(this.peakGatewayRss, gw.peakRssBytes, gw.rssBytes);
      const sample: Sample = {
        t: Math.round((Date.now() - this.o.t0) / 10) / 100,
        stats: a.status === 200 ? parseStats(a.body) : undefined,
        gatewayRssBytes: gw?.rssBytes,
        workerRssBytes: wk?.rssBytes,
        requests: this.o.requestCount(),
      };
      this.samples.push(sample);
      return sample;
    } finally {
      this.#busy = false;
    }
  }

  latest(): SaleStats | undefined {
    for (let i = this.samples.length - 1; i >= 0; i--) if (this.samples[i]!.stats) return this.samples[i]!.stats;
    return undefined;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
