import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createTokenLimiter, QuotaStoreError, RedisStore, type TokenLimiter } from '../../src/index.js';
import { closedPort } from '../helpers/ports.js';

/**
 * `storeTimeoutMs` bounds a whole public call when the store does not answer, not each of its
 * steps (a read of the plans, when due, adds a quarter of it at most): an admin read or a check
 * right after a failed call (which first waits for this process's own writes, then for the store's
 * batches) waited two or three store timeouts before.
 */
const TIMEOUT_MS = 400;
/** Timers and a loaded machine: a call may end this late and still be within its time. */
const SLACK_MS = 90;

let limiter: TokenLimiter | undefined;
let client: Redis | undefined;
afterEach(async () => {
  await limiter?.close();
  client?.disconnect();
});

async function downStore(): Promise<TokenLimiter> {
  client = new Redis(await closedPort(), { maxRetriesPerRequest: null, retryStrategy: () => 50 });
  client.on('error', () => {});
  limiter = createTokenLimiter({ store: new RedisStore({ client }), storeTimeoutMs: TIMEOUT_MS, defaultLimits: [{ id: 'daily', tokens: 1000, period: 'day' }] });
  return limiter;
}

async function elapsed(call: () => Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const start = performance.now();
  let error: unknown;
  await call().catch((e: unknown) => (error = e));
  return { ms: performance.now() - start, error };
}

describe('a store that does not answer: each public call ends within storeTimeoutMs', () => {
  it("a process's first reserve (its plans not read yet) fails within storeTimeoutMs and a quarter of it for the plans", async () => {
    const l = await downStore();
    const { ms, error } = await elapsed(() => l.reserve('u', { tokens: 10 }));
    expect(error).toBeInstanceOf(QuotaStoreError);
    expect(ms).toBeLessThan(TIMEOUT_MS * 1.25 + SLACK_MS);
  });

  const reads: Array<[string, (l: TokenLimiter) => Promise<unknown>]> = [
    ['admin.getUsage', (l) => l.admin.getUsage('u')],
    ['admin.getStats', (l) => l.admin.getStats()],
    ['admin.listUsers', (l) => l.admin.listUsers()],
    ['admin.getUsageLog', (l) => l.admin.getUsageLog({ userId: 'u' })],
    ['admin.getAccountUsage', (l) => l.admin.getAccountUsage('acme')],
    ['admin.listAccounts', (l) => l.admin.listAccounts()],
  ];
  for (const [name, read] of reads) {
    it(`${name} right after a failed reserve (its release still under way) fails within storeTimeoutMs`, async () => {
      const l = await downStore();
      await expect(l.reserve('u', { tokens: 10 })).rejects.toBeInstanceOf(QuotaStoreError);
      const { ms, error } = await elapsed(() => read(l));
      expect(error).toBeInstanceOf(QuotaStoreError);
      expect(ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    });
  }

  it('check right after a failed reserve answers store_unavailable within storeTimeoutMs', async () => {
    const l = await downStore();
    await expect(l.reserve('u', { tokens: 10 })).rejects.toBeInstanceOf(QuotaStoreError);
    const start = performance.now();
    const decision = await l.check('u', { tokens: 10 });
    expect(decision).toMatchObject({ allowed: false, reason: 'store_unavailable' });
    expect(performance.now() - start).toBeLessThan(TIMEOUT_MS + SLACK_MS);
  });
});
