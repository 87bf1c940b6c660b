import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const read = (path: string) => readFileSync(join(root, path), 'utf8');

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name).slice(root.length));
}

describe('packaging of token-limits/express and token-limits/http', () => {
  it('package.json exports, tsup entries and tsconfig paths agree', () => {
    const pkg = JSON.parse(read('package.json')) as { exports: Record<string, any>; peerDependenciesMeta: Record<string, { optional: boolean }> };
    const tsup = read('tsup.config.ts');
    const tsconfig = JSON.parse(read('tsconfig.json')) as { compilerOptions: { paths: Record<string, string[]> } };
    for (const name of ['express', 'http']) {
      const entry = `integrations/${name}/index`;
      expect(pkg.exports[`./${name}`]).toEqual({
        import: { types: `./dist/${entry}.d.ts`, default: `./dist/${entry}.js` },
        require: { types: `./dist/${entry}.d.cts`, default: `./dist/${entry}.cjs` },
      });
      expect(tsup).toContain(`'${entry}': 'src/${entry}.ts'`);
      expect(tsconfig.compilerOptions.paths[`token-limits/${name}`]).toEqual([`./src/${entry}.ts`]);
    }
    expect(pkg.peerDependenciesMeta.express).toEqual({ optional: true });
  });

  it('nothing imports express at run time (token-limits/express uses its types only)', () => {
    const files = sources('src');
    expect(files.length).toBeGreaterThan(20);
    for (const file of files) {
      const text = read(file);
      const runtime = [...text.matchAll(/^\s*import\s+(?!type\b)[^;]*?from\s+'(express[^']*)'/gm)].map((m) => m[1]);
      const dynamic = /(?:require|import)\(\s*'express/.test(text);
      expect({ file, runtime, dynamic }).toEqual({ file, runtime: [], dynamic: false });
    }
  });

  it('the i18n catalogue and the shared mappings use no Node built-ins (the React widgets bundle them)', () => {
    for (const file of [...sources('src/i18n'), 'src/integrations/shared/errors.ts', 'src/integrations/shared/rate-limit-headers.ts']) {
      expect(read(file), file).not.toMatch(/from 'node:/);
    }
  });
});
