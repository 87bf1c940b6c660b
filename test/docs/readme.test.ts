import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/testing/index.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';
import { defaultRedisUrl, requireRedis } from '../support/redis-available.js';

/**
 * Every ```ts and ```js block of README.md and docs/*.md is a complete module, and runs: each is written into
 * the repository (so `token-limits` resolves to src/ through tsconfig paths) and run in its own
 * Node process with tsx, against the provider emulator (through the SDKs' own base-URL
 * environment variables), the test Redis and a Redis Cluster started here. ```tsx blocks (React
 * components for a browser, importing a stylesheet) are complete modules too, typechecked only:
 * test/react/ and test/e2e/ run the components.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = fileURLToPath(new URL('../../.tmp/readme/', import.meta.url));
// The README and the reference it links to in docs/ hold the same kind of examples.
const documents = ['README.md', ...readdirSync(new URL('../../docs/', import.meta.url)).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
const blocks = documents.flatMap((document) => {
  const text = readFileSync(new URL(`../../${document}`, import.meta.url), 'utf8');
  return [...text.matchAll(/```(tsx|ts|js)\n([\s\S]*?)```/g)].map((m) => ({
    document,
    lang: m[1]!,
    code: m[2]!,
    line: text.slice(0, m.index).split('\n').length,
  }));
});

/**
 * Every fenced block of the documents, by its info string (the language after the opening fence), so
 * that a block the extraction above would skip (```typescript, ```ts title="…", ```jsx, a fence
 * of four backticks or of tildes) fails the suite instead of going unchecked.
 */
const fences = documents.flatMap((document) => {
  const lines = readFileSync(new URL(`../../${document}`, import.meta.url), 'utf8').split('\n');
  const found: Array<{ document: string; line: number; fence: string; info: string }> = [];
  let open: { fence: string } | undefined;
  for (const [i, text] of lines.entries()) {
    const m = /^\s*(`{3,}|~{3,})(.*)$/.exec(text);
    if (m === null) continue;
    if (open === undefined) {
      open = { fence: m[1]! };
      found.push({ document, line: i + 1, fence: m[1]!, info: m[2]!.trim() });
    } else if (m[1]!.startsWith(open.fence[0]!) && m[1]!.length >= open.fence.length && m[2]!.trim() === '') {
      open = undefined;
    }
  }
  return found;
});
/** Languages whose blocks are extracted above (typechecked, and run unless tsx). */
const CODE_LANGUAGES = new Set(['ts', 'tsx', 'js']);
/** Blocks that are not TypeScript or JavaScript: shell commands, HTTP exchanges, JSON bodies. */
const OTHER_LANGUAGES = new Set(['sh', 'http', 'json']);

let emulator: Emulator;
let cluster: RedisCluster;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  const redisUrl = await requireRedis(defaultRedisUrl());
  emulator = await startEmulator();
  cluster = await startRedisCluster({ masters: 3 });
  const node = cluster.startupNodes[0]!;
  env = {
    ...process.env,
    OPENAI_API_KEY: 'readme',
    OPENAI_BASE_URL: emulator.openaiBaseURL,
    ANTHROPIC_API_KEY: 'readme',
    ANTHROPIC_BASE_URL: emulator.anthropicBaseURL,
    GEMINI_API_KEY: 'readme',
    GOOGLE_GEMINI_BASE_URL: emulator.googleBaseUrl,
    REDIS_URL: redisUrl,
    REDIS_CLUSTER_NODE: `redis://${node.host}:${node.port}`,
    WEBHOOK_SECRET: 'a-readme-secret-of-32-characters',
    PORT: '0',
  };
  mkdirSync(dir, { recursive: true });
  for (const [i, block] of blocks.entries()) writeFileSync(fileOf(i), block.code);
  writeFileSync(
    `${dir}tsconfig.json`,
    JSON.stringify({ extends: '../../tsconfig.json', compilerOptions: { noEmit: true, baseUrl: '../..' }, include: ['./*.ts', './*.tsx'] }),
  );
}, 60_000);
afterAll(async () => {
  await emulator?.close();
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const fileOf = (i: number) => `${dir}block-${i}.${blocks[i]!.lang === 'js' ? 'mjs' : blocks[i]!.lang}`;
const run = promisify(execFile);

describe('README and docs examples', () => {
  it('has examples to run', () => {
    expect(blocks.length).toBeGreaterThan(10);
  });

  it('typechecks every ts block (strict, like the library)', async () => {
    const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));
    await run(process.execPath, [tsc, '-p', `${dir}tsconfig.json`], { cwd: root }).catch((error: { stdout?: string }) => {
      throw new Error(`README or docs code does not typecheck:\n${error.stdout ?? ''}`);
    });
  }, 120_000);

  it('leaves no code block out of the checks', () => {
    const unchecked = fences.filter((f) => !(f.fence === '```' && (CODE_LANGUAGES.has(f.info) || OTHER_LANGUAGES.has(f.info))));
    expect(
      unchecked.map((f) => `${f.document} line ${f.line}: ${f.fence}${f.info} (write \`\`\`ts, \`\`\`tsx or \`\`\`js for code, \`\`\`sh, \`\`\`http or \`\`\`json for the rest)`),
    ).toEqual([]);
    for (const document of documents) {
      const code = fences.filter((f) => f.document === document && CODE_LANGUAGES.has(f.info)).length;
      expect({ document, extracted: blocks.filter((b) => b.document === document).length }).toEqual({ document, extracted: code });
    }
  });

  it('has React blocks to typecheck', () => {
    expect(blocks.filter((b) => b.lang === 'tsx').length).toBeGreaterThan(0);
  });

  for (const [i, block] of blocks.entries()) {
    if (block.lang === 'tsx') continue; // typechecked above
    it(`runs the ${block.lang} block at ${block.document} line ${block.line}`, async () => {
      const file = fileOf(i);
      const result = await run(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./run-block.ts', import.meta.url)), file], {
        cwd: root,
        env,
        timeout: 60_000,
      }).catch((error: { stderr?: string; stdout?: string; message: string }) => {
        throw new Error(`${block.document} line ${block.line} failed:\n${error.stderr ?? ''}\n${error.stdout ?? ''}\n${error.message}`);
      });
      expect(result.stderr).not.toMatch(/Error/);
    }, 90_000);
  }
});
