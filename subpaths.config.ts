import { readFileSync } from 'node:fs';

/**
 * The package's subpaths, declared once: package.json `exports`. tsup builds an entry per subpath
 * and vitest resolves each to its source from this list; test/integrations/package.test.ts holds
 * tsconfig.json's `paths` (JSON, which cannot import it) to the same list.
 */
export interface Subpath {
  /** The import specifier: `token-limits`, `token-limits/express`... */
  specifier: string;
  /** The built entry, relative to dist/ without extension: `integrations/express/index`. */
  entry: string;
  /** Its source: `src/integrations/express/index.ts`. */
  source: string;
}

interface ExportEntry {
  import?: { default?: string };
}

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { exports: Record<string, string | ExportEntry> };

export const SUBPATHS: Subpath[] = Object.entries(pkg.exports).flatMap(([key, value]) => {
  const target = typeof value === 'string' ? undefined : value.import?.default;
  if (target === undefined || !target.startsWith('./dist/') || !target.endsWith('.js')) return []; // package.json, styles.css
  const entry = target.slice('./dist/'.length, -'.js'.length);
  return [{ specifier: key === '.' ? 'token-limits' : `token-limits${key.slice(1)}`, entry, source: `src/${entry}.ts` }];
});
