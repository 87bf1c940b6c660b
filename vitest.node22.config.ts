import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The Node 22 lane (`scripts/ci-node22.sh`): tests of packages that need Node 22, such as openai 7
 * (installed as `openai-v7`) and the frameworks built on it. The main suite excludes these files.
 */
export default defineConfig({
  ...(base.resolve === undefined ? {} : { resolve: base.resolve }),
  test: {
    include: ['test/node22/**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
