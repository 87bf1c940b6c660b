import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Where gpt-tokenizer's `.tiktoken` data files cannot be read (a bundle, a runtime without a file
 * system, a package copied without `data/`), the default tokenizer falls back to the package's
 * encoding modules. Here the tokenizer module is bundled into a directory whose copy of
 * gpt-tokenizer has everything but `data/`, and run in a child process.
 */
const require = createRequire(import.meta.url);
const packageRoot = dirname(require.resolve('gpt-tokenizer/package.json'));
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tl-tokenizer-fallback-'));
  const copy = join(dir, 'node_modules', 'gpt-tokenizer');
  mkdirSync(copy, { recursive: true });
  for (const entry of readdirSync(packageRoot)) if (entry !== 'data') symlinkSync(join(packageRoot, entry), join(copy, entry));
  await build({
    entry: { tokenizer: new URL('../../src/tokenizer/gpt-tokenizer.ts', import.meta.url).pathname },
    format: ['esm'],
    platform: 'node',
    external: [/^gpt-tokenizer/],
    outDir: dir,
    outExtension: () => ({ js: '.mjs' }),
    dts: false,
    sourcemap: false,
    silent: true,
    config: false,
  });
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(script: string): unknown {
  const file = join(dir, `run-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, `import { gptTokenizer, encodingSource } from './tokenizer.mjs';\n${script}`);
  return JSON.parse(execFileSync(process.execPath, [file], { cwd: dir, encoding: 'utf8' }));
}

describe('the default tokenizer without the data files', () => {
  it('loads the encoding module on warmup() and counts as it does', () => {
    const out = run(`
      const { countTokens } = await import('gpt-tokenizer/encoding/o200k_base');
      const t = gptTokenizer();
      await t.warmup(['o200k_base']);
      const texts = ['tiktoken is great!', 'Não há razão para preocupação às 9h.', '\\ufeff'];
      console.log(JSON.stringify({ source: encodingSource('o200k_base'), ours: texts.map((x) => t.count(x, 'o200k_base')), module: texts.map((x) => countTokens(x, { disallowedSpecial: new Set() })) }));
    `) as { source: string; ours: number[]; module: number[] };
    expect(out.source).toBe('module');
    expect(out.ours).toEqual(out.module);
    expect(out.ours[0]).toBe(6);
  }, 60_000);

  it('requires the encoding module on a first count before any warmup', () => {
    const out = run(`
      const t = gptTokenizer();
      const n = t.count('tiktoken is great!', 'cl100k_base');
      console.log(JSON.stringify({ source: encodingSource('cl100k_base'), n }));
    `);
    expect(out).toEqual({ source: 'module', n: 6 });
  }, 60_000);
});
