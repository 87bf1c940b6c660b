import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { SUBPATHS } from './subpaths.config.js';

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

export default defineConfig({
  // Examples import the package by name: resolve it to the sources (as tsconfig paths do), not dist/.
  resolve: {
    alias: [
      { find: /^token-limits\/react\/styles\.css$/, replacement: src('react/styles.css') },
      ...SUBPATHS.map((s) => ({ find: new RegExp(`^${s.specifier.replace('/', '\\/')}$`), replacement: src(s.source.slice('src/'.length)) })),
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
    setupFiles: ['test/support/setup-dom.ts'],
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'] },
  },
});
