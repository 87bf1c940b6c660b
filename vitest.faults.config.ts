import { defineConfig } from 'vitest/config';

/**
 * `npm run test:faults`: the fault-injection suite (test/faults). Every test starts its own Redis
 * processes (standalone or Cluster) through the harness, so it never touches the shared Redis.
 * Files run one at a time: the scenarios kill, pause and delay servers and measure time bounds,
 * and the CI machine has two cores.
 */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    globalSetup: ['test/faults/support/global-setup.ts'],
  },
});
