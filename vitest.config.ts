import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

export default defineConfig({
  // Examples import the package by name: resolve it to the sources (as tsconfig paths do), not dist/.
  resolve: {
    alias: [
      { find: /^token-limits$/, replacement: src('index.ts') },
      { find: /^token-limits\/testing$/, replacement: src('testing/index.ts') },
      { find: /^token-limits\/express$/, replacement: src('integrations/express/index.ts') },
      { find: /^token-limits\/http$/, replacement: src('integrations/http/index.ts') },
      { find: /^token-limits\/ai$/, replacement: src('integrations/ai/index.ts') },
      { find: /^token-limits\/postgres$/, replacement: src('postgres/index.ts') },
      { find: /^token-limits\/react\/styles\.css$/, replacement: src('react/styles.css') },
      { find: /^token-limits\/react$/, replacement: src('react/index.ts') },
    ],
  },
  test: {
    // test/react/** runs in jsdom (a `// @vitest-environment jsdom` line in each file); the rest in Node.
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // test/node22/** needs Node 22 (ai 7, openai 7): vitest.node22.config.ts, run by scripts/test-env.mjs --suite node22 (part of npm test).
    exclude: ['test/faults/**', 'test/node22/**', 'node_modules/**', 'dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Tests isolate themselves with random key prefixes and user ids, never FLUSHALL.
    pool: 'forks',
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'] },
  },
});
