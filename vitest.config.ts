import { defineConfig } from 'vitest/config';

/** gateway suites the `cluster` project skips: they touch no sale's Redis keys */
const CLUSTER_BLIND = [
  'integration/openapi',
  'integration/load-shedding',
  'integration/oidc-discovery',
  'integration/oidc-exchange',
  'integration/read-replicas',
  'integration/order-publisher-nack',
  'integration/webhooks-admin',
  'integration/no-script-languages',
  'integration/attacks/hsts-and-page-caching',
  'integration/attacks/metrics-on-public-port',
  'integration/attacks/admin-auth-first',
  'e2e/attacks/slow-clients',
  'e2e/attacks/descriptor-exhaustion',
  'e2e/attacks/unhandled-rejection-policy',
  'e2e/attacks/socket-foreign-origin',
  // brings its own private Redis Cluster (it restarts one of its masters)
  'integration/active-sales-master-restarted',
];

export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        // pure logic; the timeout leaves room for property tests on a machine other jobs load
        test: { name: 'unit', include: ['*/test/unit/**/*.test.ts', 'examples/*/test/unit/**/*.test.ts'], testTimeout: 30_000 },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['*/test/integration/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        // faults injected into private Redis, RabbitMQ and PostgreSQL instances (chaos/README.md)
        extends: true,
        test: {
          name: 'chaos',
          include: ['chaos/test/chaos/**/*.test.ts'],
          testTimeout: 240_000,
          hookTimeout: 150_000,
          fileParallelism: false,
        },
      },
      {
        // the gateway's integration and end-to-end suites again, against a local Redis Cluster
        extends: true,
        test: {
          name: 'cluster',
          include: ['gateway/test/integration/**/*.test.ts', 'gateway/test/e2e/**/*.test.ts'],
          // not again: suites whose subject is HTTP, the process or PostgreSQL, which read no
          // sale keys a Cluster would place differently (each runs once, in its own project)
          exclude: ['**/node_modules/**', '**/dist/**', ...CLUSTER_BLIND.map((f) => `gateway/test/${f}.test.ts`)],
          globalSetup: ['test-support/redis-cluster-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['*/test/e2e/**/*.test.ts', 'examples/*/test/e2e/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
    ],
    exclude: ['**/node_modules/**', '**/dist/**'],
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'test-results/vitest.json' }]] : ['default'],
  },
});
