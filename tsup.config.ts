import { copyFile, mkdir } from 'node:fs/promises';
import { defineConfig, type Options } from 'tsup';

// Peer dependencies and the SDKs stay external: the user's own copies are used.
const external = [/^openai/, /^@anthropic-ai\//, /^@google\//, /^ai$/, /^@ai-sdk\//, 'ioredis', 'pg', 'express', /^react($|\/)/, /^react-dom($|\/)/, 'js-tiktoken'];

const shared: Options = {
  format: ['esm', 'cjs'],
  sourcemap: true,
  splitting: true,
  treeshake: true,
  external,
};

const nodeEntries = {
  index: 'src/index.ts',
  'testing/index': 'src/testing/index.ts',
  'integrations/express/index': 'src/integrations/express/index.ts',
  'integrations/http/index': 'src/integrations/http/index.ts',
  'integrations/ai/index': 'src/integrations/ai/index.ts',
  'postgres/index': 'src/postgres/index.ts',
};

// Dual ESM + CJS with declaration files for every public subpath.
export default defineConfig([
  {
    ...shared,
    entry: nodeEntries,
    // The declarations of token-limits/react are written here too: tsup's declaration step removes
    // every .d.ts under dist/ before writing, so a second build's would race with it.
    dts: { entry: { ...nodeEntries, 'react/index': 'src/react/index.ts' } },
    target: 'node20',
    // dist/react/ (but its .d.ts files) is the other build's.
    clean: ['!react/**'],
  },
  {
    // `npx token-limits`: the operators' CLI (ESM only; the shebang line of its source is kept).
    ...shared,
    entry: { 'cli/index': 'src/cli/index.ts' },
    format: ['esm'],
    dts: false,
    target: 'node20',
    clean: false,
  },
  {
    // token-limits/react: its own build, for browsers, with 'use client' on top (Next.js client
    // components). It shares no chunk with the Node entries and imports nothing from Node.
    ...shared,
    entry: { index: 'src/react/index.ts' },
    outDir: 'dist/react',
    dts: false,
    target: 'es2022',
    platform: 'browser',
    clean: ['!**/*.d.{ts,cts}'],
    // tsup's Rollup tree-shaking pass drops module directives; esbuild's own bundling tree-shakes
    // and keeps the banner.
    treeshake: false,
    // One entry: no chunks; esbuild writes the CJS itself (tsup's chunk conversion would put helpers
    // above the directive).
    splitting: false,
    banner: { js: "'use client';" },
    async onSuccess() {
      await mkdir('dist/react', { recursive: true });
      await copyFile('src/react/styles.css', 'dist/react/styles.css');
    },
  },
]);
