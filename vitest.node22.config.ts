import { defineConfig } from 'vitest/config';
import main from './vitest.config.js';

// The Node 22 lane (npm run test:node22, part of npm test): test/node22/** only, with the main suite's aliases and
// settings (replaced, not merged: a merge would concatenate the include lists).
export default defineConfig({
  ...main,
  test: {
    ...main.test,
    include: ['test/node22/**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    typecheck: { enabled: false },
  },
});
