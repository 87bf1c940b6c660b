import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineConfig, type Options } from 'tsup';
import { SUBPATHS } from './subpaths.config.js';

// Peer dependencies and the SDKs stay external: the user's own copies are used.
const external = [/^openai/, /^@anthropic-ai\//, /^@google\//, /^ai$/, /^@ai-sdk\//, 'ioredis', 'pg', 'express', /^react($|\/)/, /^react-dom($|\/)/, 'js-tiktoken'];

const shared: Options = {
  format: ['esm', 'cjs'],
  sourcemap: true,
  splitting: true,
  treeshake: true,
  external,
};

// One entry per subpath of package.json but token-limits/react, which has a build of its own below.
const nodeEntries = Object.fromEntries(SUBPATHS.filter((s) => !s.entry.startsWith('react/')).map((s) => [s.entry, s.source]));

/**
 * Writes the React Server Components boundary of token-limits/react beside its build: client.js and
 * client.cjs start with 'use client' and re-export the components by name (Next.js refuses
 * `export *` in a client boundary). package.json serves them under the `react-server` condition
 * only, which the server graph of Next.js (and other RSC bundlers) resolves with. Browser bundlers
 * such as Vite resolve index.js, which has no directive, so they have nothing to warn about
 * ("module level directive may not be preserved"). Their types are index.d.ts (the same exports).
 * Returns the names re-exported.
 */
export async function writeClientBoundary(outDir: string): Promise<string[]> {
  const esm = await readFile(join(outDir, 'index.js'), 'utf8');
  const list = [...esm.matchAll(/^export\s*\{([^}]*)\};?\s*$/gm)].pop()?.[1];
  if (list === undefined) throw new Error(`${outDir}/index.js: no export list found`);
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => s.split(/\s+as\s+/).pop()!);
  await writeFile(join(outDir, 'client.js'), `'use client';\nexport { ${names.join(', ')} } from './index.js';\n`);
  await writeFile(join(outDir, 'client.cjs'), `'use client';\nmodule.exports = require('./index.cjs');\n`);
  return names;
}

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
    // token-limits/react: its own build, for browsers. It shares no chunk with the Node entries and
    // imports nothing from Node. 'use client' is not in it but in the boundary files beside it
    // (writeClientBoundary), which only React Server Components bundlers resolve.
    ...shared,
    entry: { index: 'src/react/index.ts' },
    outDir: 'dist/react',
    dts: false,
    target: 'es2022',
    platform: 'browser',
    clean: ['!**/*.d.{ts,cts}'],
    // esbuild's own bundling tree-shakes; one entry, no chunks (esbuild writes the CJS itself).
    treeshake: false,
    splitting: false,
    async onSuccess() {
      await mkdir('dist/react', { recursive: true });
      await copyFile('src/react/styles.css', 'dist/react/styles.css');
      await writeClientBoundary('dist/react');
    },
  },
]);
