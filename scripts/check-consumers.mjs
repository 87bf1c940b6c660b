// Type-checks small consumer projects against the packed tarball, the way apps get the package:
// each project has only the peers of the entry points it uses (OpenAI only, Anthropic only,
// Google only, Express only, AI SDK only, PostgreSQL only, React only, RedisStore on ioredis 5 and
// on ioredis 6), and one has
// every README code block with the current major of every peer. Each is checked with
// `skipLibCheck: false` under `module: NodeNext` and under `moduleResolution: bundler`.
//
// Peers are installed once per project into ~/.cache/token-limits/consumer-types/<project>
// (TOKEN_LIMITS_CONSUMER_CACHE overrides it; reinstalled only when its dependency list changes);
// the tarball is unpacked into each project's node_modules on every run. The cache must not sit
// below a node_modules of another project (the repository's), or TypeScript would find there the
// peers a consumer lacks. Usage: node scripts/check-consumers.mjs [path/to/token-limits.tgz]
// (without a tarball it packs the current build). Also run by scripts/check-package.mjs.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const root = new URL('..', import.meta.url).pathname;
const cacheDir = process.env.TOKEN_LIMITS_CONSUMER_CACHE ?? join(homedir(), '.cache', 'token-limits', 'consumer-types');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const run = promisify(execFile);

/** The current major of each peer (and of the type packages apps install beside them). */
const peers = {
  openai: '^6',
  '@anthropic-ai/sdk': '^1',
  '@google/genai': '^2',
  '@google/generative-ai': '^0.24',
  express: '^5',
  '@types/express': '^5',
  ioredis: '^6',
  react: '^19',
  'react-dom': '^19',
  '@types/react': '^19',
  '@types/react-dom': '^19',
  '@types/node': '^20',
  // ioredis's own declarations import redis-errors, which has none: with skipLibCheck: false an
  // app using ioredis needs these (the README's Install section says so).
  '@types/redis-errors': '^1',
  ai: '^6',
  '@ai-sdk/openai': '^3',
  // The AI SDK's declarations import json-schema, which has none (and name DOM types).
  '@types/json-schema': '^7',
  pg: '^8',
  '@types/pg': '^8',
};
const pick = (...names) => Object.fromEntries(names.map((n) => [n, peers[n]]));

const openaiApp = `
import OpenAI from 'openai';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { createTokenLimiter, estimateOpenAIRequest, TokenLimitExceededError, withTokenLimits, type UserUsage } from 'token-limits';

const limiter = createTokenLimiter({ defaultLimits: [{ id: 'monthly', tokens: 100_000, period: 'month' }] });
const openai: OpenAI = withTokenLimits(new OpenAI({ apiKey: 'x' }), 'user-1', { limiter });
const params: ChatCompletionCreateParamsNonStreaming = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] };
export async function chat(): Promise<string | null | undefined> {
  try {
    const estimate = await estimateOpenAIRequest('chat.completions', params);
    const completion = await openai.chat.completions.create(params);
    return completion.choices[0]?.message.content ?? String(estimate.totalTokens);
  } catch (error) {
    if (error instanceof TokenLimitExceededError) return error.resetAt.toISOString();
    throw error;
  }
}
export const usage: Promise<UserUsage> = limiter.admin.getUsage('user-1');
`;

const anthropicApp = `
import Anthropic from '@anthropic-ai/sdk';
import { estimateAnthropicMessage, withTokenLimits } from 'token-limits';

const anthropic: Anthropic = withTokenLimits(new Anthropic({ apiKey: 'x' }), 'user-1');
export async function ask(): Promise<number> {
  const params = { model: 'claude-sonnet-4-5', max_tokens: 256, messages: [{ role: 'user' as const, content: 'Hi' }] };
  const message = await anthropic.messages.create(params);
  return message.usage.output_tokens + (await estimateAnthropicMessage(params)).inputTokens;
}
`;

const googleApp = `
import { GoogleGenAI } from '@google/genai';
import { GoogleGenerativeAI } from '@google/generative-ai';
import { estimateGenAIRequest, estimateGenerativeAIRequest, withTokenLimits } from 'token-limits';

const genai: GoogleGenAI = withTokenLimits(new GoogleGenAI({ apiKey: 'x' }), 'user-1');
const legacy: GoogleGenerativeAI = withTokenLimits(new GoogleGenerativeAI('x'), 'user-1');
export async function ask(): Promise<string | undefined> {
  const answer = await genai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Hi' });
  const model = legacy.getGenerativeModel({ model: 'gemini-2.0-flash' });
  const old = await model.generateContent('Hi');
  await estimateGenAIRequest({ model: 'gemini-2.5-flash', contents: 'Hi' });
  await estimateGenerativeAIRequest('Hi', { model: 'gemini-2.0-flash' });
  return answer.text ?? old.response.text();
}
`;

const expressApp = `
import express from 'express';
import { createTokenLimiter } from 'token-limits';
import { createAdminRouter, tokenLimits, tokenLimitsErrorHandler } from 'token-limits/express';
import { createAdminHandler, errorToResponse } from 'token-limits/http';

const limiter = createTokenLimiter();
const app = express();
app.use(tokenLimits({ limiter, getUserId: (req) => req.get('x-user') }));
app.use('/admin/api', createAdminRouter({ limiter, authorize: () => ({ role: 'admin' }) }));
app.use(tokenLimitsErrorHandler());
export const handler: (request: Request) => Promise<Response> = createAdminHandler({ limiter, authorize: () => null });
export const toResponse = errorToResponse;
export default app;
`;

const reactApp = `
import { AdminTokenPanel, TokenDashboard, TokenWidget, type Fetcher } from 'token-limits/react';
import 'token-limits/react/styles.css';

const fetcher: Fetcher = (url, init) => fetch(url, { ...init, credentials: 'include' });
export function Usage({ isAdmin }: { isAdmin: boolean }) {
  return (
    <>
      <TokenWidget baseUrl="/admin/api" locale="pt-BR" fetcher={fetcher} />
      <TokenDashboard baseUrl="/admin/api" />
      {isAdmin ? <AdminTokenPanel baseUrl="/admin/api" pageSize={50} /> : null}
    </>
  );
}
`;

const redisApp = `
import { Cluster, Redis } from 'ioredis';
import { createTokenLimiter, RedisStore } from 'token-limits';

const redis = new Redis('redis://127.0.0.1:6379', { commandTimeout: 1000, maxRetriesPerRequest: 2, lazyConnect: true });
export const limiter = createTokenLimiter({ store: new RedisStore({ client: redis, prefix: 'tl' }) });
const cluster = new Cluster([{ host: '127.0.0.1', port: 7000 }], { lazyConnect: true });
export const clustered = new RedisStore({ client: cluster });
`;

const aiApp = `
import { openai } from '@ai-sdk/openai';
import { generateText, wrapLanguageModel } from 'ai';
import { runWithUser } from 'token-limits';
import { tokenLimitsMiddleware } from 'token-limits/ai';

const model = wrapLanguageModel({ model: openai('gpt-4o-mini'), middleware: tokenLimitsMiddleware() });
export const ask = () => runWithUser('user-1', async () => (await generateText({ model, prompt: 'Hi' })).text);
`;

const postgresApp = `
import pg from 'pg';
import { createTokenLimiter } from 'token-limits';
import { createPostgresLedger } from 'token-limits/postgres';

const pool = new pg.Pool({ connectionString: 'postgres://127.0.0.1:5432/test' });
const ledger = createPostgresLedger({ pool, schema: 'billing' });
export const limiter = createTokenLimiter({ ledger });
export const migrate = () => ledger.migrate();
`;

/** Every ```ts / ```tsx block of the README and of the reference in docs/, each a module of its own. */
function readmeBlocks() {
  const documents = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => join('docs', f))];
  const blocks = documents.flatMap((document) => [...readFileSync(join(root, document), 'utf8').matchAll(/```(tsx|ts)\n([\s\S]*?)```/g)]);
  return Object.fromEntries(blocks.map((m, i) => [`block-${i}.${m[1]}`, m[2]]));
}

const projects = [
  // A Node app has Node's types; the React app (a browser bundle) has none.
  { name: 'openai-only', deps: pick('openai', '@types/node'), files: { 'app.ts': openaiApp } },
  { name: 'anthropic-only', deps: pick('@anthropic-ai/sdk', '@types/node'), files: { 'app.ts': anthropicApp } },
  // @google/genai's own declarations name DOM types (RequestInfo, CloseEvent): its users need lib DOM.
  { name: 'google-only', deps: pick('@google/genai', '@google/generative-ai', '@types/node'), files: { 'app.ts': googleApp }, dom: true },
  { name: 'express-only', deps: pick('express', '@types/express', '@types/node'), files: { 'app.ts': expressApp } },
  { name: 'ai-sdk-only', deps: pick('ai', '@ai-sdk/openai', '@types/json-schema', '@types/node'), files: { 'app.ts': aiApp }, dom: true },
  { name: 'postgres-only', deps: pick('pg', '@types/pg', '@types/node'), files: { 'app.ts': postgresApp } },
  // Side-effect imports checked (TypeScript 6's default): the stylesheet's import needs its types.
  { name: 'react-only', deps: pick('react', 'react-dom', '@types/react', '@types/react-dom'), files: { 'app.tsx': reactApp }, dom: true, options: { noUncheckedSideEffectImports: true } },
  { name: 'ioredis-5', deps: { ioredis: '^5.4.0', ...pick('@types/redis-errors', '@types/node') }, files: { 'app.ts': redisApp } },
  { name: 'ioredis-6', deps: pick('ioredis', '@types/redis-errors', '@types/node'), files: { 'app.ts': redisApp } },
  // The README's blocks are Node modules (and a few React components) as an app copies them.
  { name: 'readme', deps: { ...peers }, files: readmeBlocks(), dom: true, modes: ['nodenext'] },
];

const compilerOptions = {
  target: 'ES2022',
  strict: true,
  skipLibCheck: false,
  noEmit: true,
  jsx: 'react-jsx',
  esModuleInterop: true,
  forceConsistentCasingInFileNames: true,
};
const modes = {
  nodenext: { module: 'NodeNext', moduleResolution: 'NodeNext' },
  bundler: { module: 'ESNext', moduleResolution: 'bundler' },
};

/** Throws when a folder above `dir` has a node_modules (TypeScript and Node would look there). */
function assertIsolated(dir) {
  for (let up = dirname(dir); up !== dirname(up); up = dirname(up)) {
    if (existsSync(join(up, 'node_modules'))) throw new Error(`${dir} is below ${join(up, 'node_modules')}: set TOKEN_LIMITS_CONSUMER_CACHE elsewhere`);
  }
}

async function install(project) {
  const dir = join(cacheDir, project.name);
  mkdirSync(dir, { recursive: true });
  const manifest = { name: `consumer-${project.name}`, private: true, type: 'module', dependencies: project.deps };
  const stamp = createHash('sha256').update(JSON.stringify(manifest)).digest('hex');
  const stampFile = join(dir, 'node_modules', '.consumer-stamp');
  if (!existsSync(stampFile) || readFileSync(stampFile, 'utf8') !== stamp) {
    rmSync(join(dir, 'node_modules'), { recursive: true, force: true });
    rmSync(join(dir, 'package-lock.json'), { force: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
    await run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--silent'], { cwd: dir });
    writeFileSync(stampFile, stamp);
  }
  return dir;
}

function layout(project, dir, tarball) {
  // The package as npm would unpack it (its own dependencies carry no types the checks need).
  const target = join(dir, 'node_modules', 'token-limits');
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  execFileSync('tar', ['xzf', tarball, '-C', target, '--strip-components=1']);
  const src = join(dir, 'src');
  rmSync(src, { recursive: true, force: true });
  mkdirSync(src);
  for (const [file, code] of Object.entries(project.files)) writeFileSync(join(src, file), code);
  for (const [mode, options] of Object.entries(modes)) {
    const lib = project.dom ? ['ES2023', 'DOM', 'DOM.Iterable'] : ['ES2023'];
    const typeRoots = ['./node_modules/@types'];
    // Incremental: the peers' declarations do not change between runs, so their diagnostics are
    // reused and only the package's declarations and the app are checked again.
    const incremental = { incremental: true, tsBuildInfoFile: `./.tsbuildinfo.${mode}` };
    writeFileSync(
      join(dir, `tsconfig.${mode}.json`),
      JSON.stringify({ compilerOptions: { ...compilerOptions, ...options, ...project.options, lib, typeRoots, ...incremental }, include: ['src'] }, null, 2),
    );
  }
  return dir;
}

async function check(dir, mode) {
  try {
    await run(process.execPath, [tsc, '-p', join(dir, `tsconfig.${mode}.json`)], { cwd: dir, maxBuffer: 16 << 20 });
    return undefined;
  } catch (error) {
    return `${error.stdout ?? ''}${error.stderr ?? ''}`.trim() || String(error);
  }
}

/** Type-checks every consumer project against `tarball`; throws with the compiler's output. */
export async function checkConsumers(tarball) {
  const started = Date.now();
  assertIsolated(cacheDir);
  const dirs = await Promise.all(projects.map((project) => install(project)));
  const jobs = [];
  for (const [i, project] of projects.entries()) {
    layout(project, dirs[i], tarball);
    for (const mode of project.modes ?? Object.keys(modes)) jobs.push({ name: `${project.name} (${mode})`, dir: dirs[i], mode });
  }
  const installed = Date.now();
  const failures = [];
  // Two compilers at a time: the machine has two cores.
  const queue = [...jobs];
  await Promise.all(
    [0, 1].map(async () => {
      for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
        const output = await check(job.dir, job.mode);
        console.log(`${output === undefined ? 'ok  ' : 'FAIL'} ${job.name}`);
        if (output !== undefined) failures.push(`${job.name}:\n${output}`);
      }
    }),
  );
  const seconds = (ms) => (ms / 1000).toFixed(1);
  console.log(`consumer type-checks: ${jobs.length - failures.length}/${jobs.length} passed (installs ${seconds(installed - started)} s, checks ${seconds(Date.now() - installed)} s)`);
  if (failures.length > 0) throw new Error(`consumer projects do not type-check:\n\n${failures.join('\n\n')}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let tarball = process.argv[2];
  let work;
  if (tarball === undefined) {
    work = mkdtempSync(join(tmpdir(), 'tl-consumers-'));
    const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop();
    tarball = join(work, name);
  }
  try {
    await checkConsumers(tarball);
  } finally {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  }
}
