// Checks the packed tarball as users get it: publint, "are the types wrong", an install into a
// fresh project that imports every subpath from both CommonJS and ESM, and a React 18 render of
// every component; every link of the packed README resolves inside the package; small consumer
// projects (one per peer, and the README's blocks) type-check (scripts/check-consumers.mjs).
// Run after `npm run build`: node scripts/check-package.mjs
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConsumers } from './check-consumers.mjs';
import { checkTarballReadme } from './readme-links.mjs';

const root = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const run = (cmd, args, cwd = root) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });

console.log(run('npx', ['--no-install', 'publint', '--strict']));
// Stylesheets (token-limits/react/styles.css) are for bundlers: no types to check.
const cssEntrypoints = Object.keys(pkg.exports).filter((k) => k.endsWith('.css'));
const exclude = cssEntrypoints.length > 0 ? ['--exclude-entrypoints', ...cssEntrypoints] : [];
console.log(run('npx', ['--no-install', 'attw', '--pack', '.', '--profile', 'node16', '--format', 'table-flipped', ...exclude]));

const work = mkdtempSync(join(tmpdir(), 'tl-pack-'));
try {
  const tarball = run('npm', ['pack', '--silent', '--pack-destination', work]).trim().split('\n').pop();
  // Every link of the README users read (on npm, in node_modules) resolves inside the package.
  console.log(`README: ${checkTarballReadme(join(work, tarball))} links, all resolve in the package`);
  // Apps with only the peers of the entry points they use type-check (skipLibCheck: false).
  await checkConsumers(join(work, tarball));
  writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'pack-check', private: true, type: 'commonjs' }));
  // The peer dependencies a subpath needs at run time (react for token-limits/react).
  const peers = Object.keys(pkg.peerDependencies ?? {}).filter((p) => ['react', 'react-dom'].includes(p));
  run('npm', ['install', '--no-audit', '--no-fund', '--silent', join(work, tarball), ...peers.map((p) => `${p}@${pkg.devDependencies[p]}`)], work);
  const subpaths = Object.keys(pkg.exports).filter((k) => k !== './package.json' && !k.endsWith('.css'));
  for (const sub of subpaths) {
    const name = sub === '.' ? 'token-limits' : `token-limits/${sub.slice(2)}`;
    const cjs = run('node', ['-e', `const m = require(${JSON.stringify(name)}); console.log(Object.keys(m).length)`], work).trim();
    const esm = run('node', ['--input-type=module', '-e', `const m = await import(${JSON.stringify(name)}); console.log(Object.keys(m).length)`], work).trim();
    if (!(Number(cjs) > 0 && Number(esm) > 0)) throw new Error(`${name}: no exports (cjs ${cjs}, esm ${esm})`);
    console.log(`${name}: ${cjs} exports from require(), ${esm} from import()`);
  }
  // token-limits/ai loads without the AI SDK (an optional peer, not installed here) and builds its middleware.
  const aiCheck = `const { tokenLimitsMiddleware: m } = %s; const mw = m({ user: 'u' }); if (mw.specificationVersion !== 'v3' || typeof mw.wrapStream !== 'function') throw new Error('token-limits/ai: not a middleware'); console.log('ok')`;
  run('node', ['-e', aiCheck.replace('%s', "require('token-limits/ai')")], work);
  run('node', ['--input-type=module', '-e', aiCheck.replace('%s', "await import('token-limits/ai')")], work);
  console.log('token-limits/ai: builds a middleware without the ai package installed');
  for (const sub of cssEntrypoints) {
    const name = `token-limits/${sub.slice(2)}`;
    const file = run('node', ['-p', `require.resolve(${JSON.stringify(name)})`], work).trim();
    if (!readFileSync(file, 'utf8').includes('.tl-')) throw new Error(`${name}: not the stylesheet (${file})`);
    console.log(`${name}: resolves to ${file.slice(work.length + 1)}`);
  }

  // The operators' CLI (`npx token-limits`), as npm links it.
  for (const bin of Object.keys(pkg.bin ?? {})) {
    const help = run(join(work, 'node_modules', '.bin', bin), ['--help'], work);
    if (!help.includes(`Usage: ${bin} `)) throw new Error(`${bin} --help printed no usage`);
    console.log(`${bin}: runs (--help)`);
  }

  // React 18: the peer range says ^18 || ^19 and the repository's tests run 19, so a second fresh
  // project installs the same tarball with react@18 and renders every component (scripts/react18-smoke.cjs).
  const r18 = join(work, 'react18');
  mkdirSync(r18);
  writeFileSync(join(r18, 'package.json'), JSON.stringify({ name: 'react18-check', private: true, type: 'commonjs' }));
  run('npm', ['install', '--no-audit', '--no-fund', '--silent', join(work, tarball), 'react@18', 'react-dom@18', `jsdom@${pkg.devDependencies.jsdom}`], r18);
  copyFileSync(join(root, 'scripts/react18-smoke.cjs'), join(r18, 'smoke.cjs'));
  console.log(run('node', ['smoke.cjs'], r18).trim());
} finally {
  rmSync(work, { recursive: true, force: true });
}
