import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/testing/index.js';
import { findFreePort } from '../support/ports.js';

/**
 * README's Express block, served as a new user serves it (its own Node process with tsx, OpenAI
 * through the emulator) and called over HTTP: what README says it answers, it answers. The other
 * blocks only have to run (test/docs/readme.test.ts); this one has to behave.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = fileURLToPath(new URL('../../.tmp/readme-express/', import.meta.url));

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const block = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).find((code) => code.includes("from 'token-limits/express'"));


let emulator: Emulator;
let child: ChildProcess | undefined;
let base: string;
let output = '';

beforeAll(async () => {
  emulator = await startEmulator();
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}app.ts`, block ?? '');
  const port = await findFreePort();
  base = `http://127.0.0.1:${port}`;
  child = spawn(process.execPath, ['--import', 'tsx', `${dir}app.ts`], {
    cwd: root,
    // development: Express's own error handler then names the error in its page.
    env: { ...process.env, NODE_ENV: 'development', PORT: String(port), OPENAI_API_KEY: 'readme', OPENAI_BASE_URL: emulator.openaiBaseURL },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  // Up once it answers (any status).
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`README's Express block exited with ${child.exitCode}:\n${output}`);
    if (i > 300) throw new Error(`README's Express block did not listen on ${base} within 30 s:\n${output}`);
    const up = await fetch(`${base}/`).then(
      () => true,
      () => false,
    );
    if (up) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}, 60_000);
afterAll(async () => {
  if (child !== undefined && child.exitCode === null) {
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill();
    await exited;
  }
  await emulator?.close();
  rmSync(dir, { recursive: true, force: true });
});

const chat = (headers: Record<string, string>) =>
  fetch(`${base}/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }] }),
  });

describe("README's Express block, served", () => {
  it('is found in README', () => {
    expect(block).toContain('tokenLimitsErrorHandler()');
  });

  it("answers a signed-in user with the model's reply", async () => {
    const response = await chat({ 'x-user-id': `readme-${Date.now()}` });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { content: string }).content).toBe('Emulated reply to "Hi".');
    expect(emulator.requests).toHaveLength(1);
  });

  it('sends a request with no user to the error handler after it (a 500), as README says, and calls no provider', async () => {
    const before = emulator.requests.length;
    const response = await chat({});
    expect(response.status).toBe(500);
    expect(await response.text()).toContain('MissingUserError');
    expect(emulator.requests.length).toBe(before);
  });
});
