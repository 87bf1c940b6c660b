import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error a plain .mjs script without declarations
import { brokenLinks } from '../../scripts/readme-links.mjs';
import { SUBPATHS } from '../../subpaths.config.js';

const root = new URL('../../', import.meta.url).pathname;
const read = (path: string) => readFileSync(join(root, path), 'utf8');

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name).slice(root.length));
}

describe('packaging of token-limits/express and token-limits/http', () => {
  it('every subpath is declared once (package.json exports) and tsconfig paths agree with it', () => {
    const pkg = JSON.parse(read('package.json')) as { exports: Record<string, any>; peerDependenciesMeta: Record<string, { optional: boolean }> };
    const tsconfig = JSON.parse(read('tsconfig.json')) as { compilerOptions: { paths: Record<string, string[]> } };
    expect(SUBPATHS.map((s) => s.specifier).sort()).toEqual(
      ['token-limits', 'token-limits/ai', 'token-limits/express', 'token-limits/http', 'token-limits/postgres', 'token-limits/react', 'token-limits/testing'],
    );
    for (const s of SUBPATHS) {
      const key = s.specifier === 'token-limits' ? '.' : `.${s.specifier.slice('token-limits'.length)}`;
      expect(pkg.exports[key].import).toEqual({ types: `./dist/${s.entry}.d.ts`, default: `./dist/${s.entry}.js` });
      expect(pkg.exports[key].require).toEqual({ types: `./dist/${s.entry}.d.cts`, default: `./dist/${s.entry}.cjs` });
      expect(tsconfig.compilerOptions.paths[s.specifier], s.specifier).toEqual([`./${s.source}`]);
      expect(existsSync(join(root, s.source)), s.source).toBe(true);
    }
    // tsup builds from the same list.
    expect(read('tsup.config.ts')).toContain('SUBPATHS');
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


describe('the Markdown pages the package ships', () => {
  it('link only to files the package ships, and to headings that exist', () => {
    // What npm publishes (package.json `files`), without building or running scripts.
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
    ) as Array<{ files: Array<{ path: string }> }>;
    const files = packed[0]!.files.map((f) => f.path);
    const pages = files.filter((f) => f.endsWith('.md'));
    // README, every docs/ page, the emulator's and the example app's.
    expect(pages).toEqual(expect.arrayContaining(['README.md', 'docs/webhook.md', 'src/testing/README.md', 'examples/express-app/README.md']));
    const problems = Object.fromEntries(
      pages.map((page) => [page, brokenLinks(page, files, read) as string[]] as const).filter(([, found]) => found.length > 0),
    );
    expect(problems).toEqual({});
  }, 60_000);
});
