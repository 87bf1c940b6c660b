import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort } from '../helpers/ports.js';

/**
 * README's RedisStore block, as a new user first runs it: with no Redis at REDIS_URL. What the
 * README says then happens does: the call fails with QuotaStoreError (`store_unavailable`), and
 * the block's own `error` listener keeps ioredis from printing every failed reconnect.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = fileURLToPath(new URL('../../.tmp/readme-redis-down/', import.meta.url));
const run = promisify(execFile);

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const block = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).find((code) => code.includes('new RedisStore({ client: redis })'));


beforeAll(() => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}block.ts`, block ?? '');
  // Runs the block and prints what it threw, for the test to read.
  writeFileSync(
    `${dir}main.ts`,
    [
      "try { await import('./block.js'); console.log(JSON.stringify({ ok: true })); }",
      'catch (error) { const e = error as { name?: string; code?: string }; console.log(JSON.stringify({ name: e.name, code: e.code })); }',
      'process.exit(0);',
    ].join('\n'),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("README's RedisStore block with Redis down", () => {
  it('is found in README', () => {
    expect(block).toContain("redis.on('error'");
  });

  it('fails with store_unavailable, and ioredis prints nothing of its own', async () => {
    const port = await closedPort();
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', `${dir}main.ts`], {
      cwd: root,
      env: { ...process.env, REDIS_URL: `redis://127.0.0.1:${port}` },
      timeout: 30_000,
    });
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({ name: 'QuotaStoreError', code: 'store_unavailable' });
    expect(stderr).not.toContain('[ioredis] Unhandled error event');
    // The block's listener reported the refused connections.
    expect(stderr).toMatch(/quota Redis: connect ECONNREFUSED/);
  }, 60_000);
});
