import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// The example page: imports token-limits/react by name, resolved to the sources of this repository
// (an app using the published package needs no alias).
export default defineConfig({
  root: here('./'),
  base: '/',
  logLevel: 'warn',
  resolve: {
    alias: [
      { find: /^token-limits\/react\/styles\.css$/, replacement: here('../../../src/react/styles.css') },
      { find: /^token-limits\/react$/, replacement: here('../../../src/react/index.ts') },
    ],
  },
  build: {
    outDir: here('./dist'),
    emptyOutDir: true,
    sourcemap: true,
  },
});
