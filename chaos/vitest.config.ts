/**
 * The chaos suite on its own: `npx vitest run --config chaos/vitest.config.ts`.
 *
 * Each test file starts private Redis, PostgreSQL and RabbitMQ instances (never the shared
 * ones on the default ports), runs a flash sale against the built gateway and worker, breaks
 * something in the middle of it and checks the promises from PostgreSQL. Files run one at a
 * time: the machine has two cores and each file is a whole fleet.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    name: 'chaos',
    include: ['chaos/test/chaos/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 240_000,
    hookTimeout: 150_000,
    teardownTimeout: 60_000,
    fileParallelism: false,
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'test-results/vitest-chaos.json' }]] : ['default'],
  },
});
