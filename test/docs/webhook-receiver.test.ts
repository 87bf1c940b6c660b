import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenLimiter } from '../../src/index.js';
import { onAlert } from '../../src/integrations/http/index.js';
import { findFreePort } from '../support/ports.js';

/**
 * The receiver of docs/webhook.md, served as written (its own Node process, from the repository
 * root so that `token-limits/http` resolves to src/), fed real deliveries by `onAlert`, forged ones,
 * an oversized body, and started without its secret.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = fileURLToPath(new URL('../../.tmp/webhook-receiver/', import.meta.url));
const SECRET = 'a-receiver-secret-of-32-characters';

const page = readFileSync(new URL('../../docs/webhook.md', import.meta.url), 'utf8');
const block = [...page.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!).find((code) => code.includes('http.createServer'));


interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function start(env: NodeJS.ProcessEnv): Started {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', `${dir}receiver.mjs`], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function until(check: () => boolean, what: () => string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** POSTs `body`; resolves to the status, or to 'reset' when the receiver closed the connection first. */
function post(url: string, body: Buffer, headers: Record<string, string> = {}): Promise<number | 'reset'> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', () => resolve('reset'));
    req.end(body);
  });
}

let receiver: Started;
let url: string;

beforeAll(async () => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}receiver.mjs`, block ?? '');
  const port = await findFreePort();
  url = `http://127.0.0.1:${port}/`;
  receiver = start({ ...process.env, PORT: String(port), WEBHOOK_SECRET: SECRET });
  // Up once it answers an unsigned POST (401).
  for (const deadline = Date.now() + 20_000; ; ) {
    if (receiver.child.exitCode !== null) throw new Error(`the receiver exited:\n${receiver.output()}`);
    if ((await post(url, Buffer.from('{}'))) === 401) break;
    if (Date.now() > deadline) throw new Error(`the receiver did not answer on ${url}:\n${receiver.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}, 30_000);
afterAll(async () => {
  if (receiver?.child.exitCode === null) {
    receiver.child.kill();
    await receiver.exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('the receiver of docs/webhook.md', () => {
  it('is found in the page', () => {
    expect(block).toContain('verifyWebhookSignature');
  });

  it('accepts a real delivery from onAlert (204) and logs its user', async () => {
    const limiter = createTokenLimiter({ defaultLimits: [{ id: 'monthly', tokens: 1_000, period: 'month' }] });
    const errors: unknown[] = [];
    const hook = onAlert(limiter, { url, secret: SECRET, onError: (e) => void errors.push(e), backoffMs: 100 });
    const userId = `receiver-${Date.now()}`;
    const reservation = await limiter.reserve(userId, { tokens: 900 });
    await limiter.commit(reservation, { inputTokens: 500, outputTokens: 350, model: 'gpt-4o-mini' });
    await until(
      () => receiver.output().includes(`alert for ${userId}`),
      () => receiver.output(),
    );
    await hook.close();
    await limiter.close();
    expect(errors).toEqual([]);
  });

  it('answers a forged delivery 401', async () => {
    const body = Buffer.from(JSON.stringify({ id: 'x', type: 'alert', data: { userId: 'mallory' } }));
    const timestamp = String(Math.floor(Date.now() / 1000));
    expect(await post(url, body, { 'x-token-limits-timestamp': timestamp, 'x-token-limits-signature': `v1=${'0'.repeat(64)}` })).toBe(401);
    expect(receiver.output()).not.toContain('mallory');
  });

  it('stops reading a body far larger than a delivery, and keeps serving', async () => {
    const answer = await post(url, Buffer.alloc(4 * 1024 * 1024, 'a'));
    expect([413, 'reset']).toContain(answer);
    expect(receiver.child.exitCode).toBeNull();
    expect(await post(url, Buffer.from('{}'))).toBe(401);
  });

  it('refuses to start without its secret, rather than fail at the first delivery', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(await findFreePort()) };
    delete env.WEBHOOK_SECRET;
    const started = start(env);
    const code = await Promise.race([started.exited, new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 15_000))]);
    if (code === 'running') {
      started.child.kill();
      await started.exited;
    }
    expect(code).not.toBe('running');
    expect(code).not.toBe(0);
    expect(started.output()).toContain('WEBHOOK_SECRET');
  }, 30_000);
});
