/**
 * token-limits/react as apps bundle it: a Vite app builds it with no warning, and a React Server
 * Components bundler (Next.js resolves the server graph with the `react-server` condition) finds a
 * 'use client' boundary that re-exports every component by name. The react entry is built here
 * exactly as tsup.config.ts says and laid out as the package is (package.json + dist/react).
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build as tsupBuild, type Options } from 'tsup';
import { build as viteBuild, type Rollup } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import tsupConfig, { writeClientBoundary } from '../../tsup.config.js';

const root = new URL('../../', import.meta.url).pathname;
let app: string;
let dist: string;

beforeAll(async () => {
  app = await mkdtemp(join(tmpdir(), 'tl-vite-app-'));
  const pkg = join(app, 'node_modules', 'token-limits');
  dist = join(pkg, 'dist', 'react');
  const configs = (Array.isArray(tsupConfig) ? tsupConfig : [tsupConfig]) as Options[];
  const react = configs.find((c) => c.outDir === 'dist/react')!;
  const { onSuccess: _writesIntoRepoDist, ...options } = react;
  await tsupBuild({ ...options, outDir: dist, dts: false, sourcemap: false, silent: true, config: false });
  await writeClientBoundary(dist);
  await cp(join(root, 'src/react/styles.css'), join(dist, 'styles.css'));
  await cp(join(root, 'package.json'), join(pkg, 'package.json'));
  for (const dep of ['react', 'react-dom', 'scheduler']) await symlink(join(root, 'node_modules', dep), join(app, 'node_modules', dep), 'dir');
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'vite-app', private: true, type: 'module' }));
  await writeFile(join(app, 'index.html'), '<!doctype html><html><body><div id="root"></div><script type="module" src="/src/main.js"></script></body></html>');
  await mkdir(join(app, 'src'));
  await writeFile(
    join(app, 'src', 'main.js'),
    [
      "import { createElement } from 'react';",
      "import { createRoot } from 'react-dom/client';",
      "import { AdminTokenPanel, TokenDashboard, TokenWidget } from 'token-limits/react';",
      "import 'token-limits/react/styles.css';",
      "createRoot(document.getElementById('root')).render([createElement(TokenWidget, { key: 'w' }), createElement(TokenDashboard, { key: 'd' }), createElement(AdminTokenPanel, { key: 'a' })]);",
    ].join('\n'),
  );
}, 120_000);
afterAll(() => rm(app, { recursive: true, force: true }));

describe('bundling token-limits/react', () => {
  it('a Vite production build of an app that imports it logs no warning', async () => {
    const warnings: string[] = [];
    const logged: string[] = [];
    const result = await viteBuild({
      root: app,
      configFile: false,
      logLevel: 'warn',
      customLogger: {
        info: () => {},
        warn: (msg) => logged.push(msg),
        warnOnce: (msg) => logged.push(msg),
        error: (msg) => logged.push(msg),
        clearScreen: () => {},
        hasErrorLogged: () => false,
        hasWarned: false,
      },
      build: {
        outDir: join(app, 'out'),
        write: false,
        rollupOptions: {
          onwarn: (warning: Rollup.RollupLog) => {
            warnings.push(`${warning.code ?? ''} ${warning.message}`);
          },
        },
      },
    });
    expect(warnings).toEqual([]);
    expect(logged).toEqual([]);
    // It did bundle the components (not an empty build).
    const outputs = (Array.isArray(result) ? result : [result]) as Rollup.RollupOutput[];
    const code = outputs.flatMap((o) => o.output).map((c) => ('code' in c ? c.code : '')).join('');
    expect(code).toContain('tl-widget');
  }, 120_000);

  it('the module Vite and browsers get has no directive; the react-server one is a named client boundary', async () => {
    const esm = await readFile(join(dist, 'index.js'), 'utf8');
    expect(esm).not.toMatch(/^\s*['"]use client['"]/);
    const run = promisify(execFile);
    // Resolution only: under react-server, React itself has no client APIs, and the server graph
    // never runs a client module (it references it).
    const resolve = async (conditions: string[]) =>
      (await run(process.execPath, [...conditions, '--input-type=module', '-e', "console.log(import.meta.resolve('token-limits/react'))"], { cwd: app })).stdout.trim();
    expect(await resolve([])).toMatch(/dist\/react\/index\.js$/);
    expect(await resolve(['--conditions=react-server'])).toMatch(/dist\/react\/client\.js$/);
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', "console.log(Object.keys(await import('token-limits/react')).sort().join(','))"], { cwd: app });
    const names = stdout.trim().split(',');
    expect(names).toContain('TokenWidget');
    const boundary = await readFile(join(dist, 'client.js'), 'utf8');
    expect(boundary.startsWith("'use client';\n")).toBe(true);
    expect(boundary).not.toContain('export *'); // Next.js refuses export * in a client boundary
    const reexported = /export \{ ([^}]*) \} from '\.\/index\.js'/.exec(boundary)?.[1]?.split(', ').sort();
    expect(reexported).toEqual(names);
    const cjsBoundary = await readFile(join(dist, 'client.cjs'), 'utf8');
    expect(cjsBoundary.startsWith("'use client';\n")).toBe(true);
  }, 60_000);
});
