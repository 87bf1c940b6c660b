import { describe, expect, it } from 'vitest';
import { createTokenLimiter, QuotaStoreError, RedisStore, type TokenLimiter } from '../../src/index.js';
import { stopMoveHalfWay } from '../helpers/moves.js';
import { redisForThisFile, uniquePrefix } from '../helpers/redis.js';
import { deleteKeysWithPrefix } from '../support/redis-available.js';

// A move between accounts that stopped half-way (its process died holding the user's move lock):
// the admin writes on that user waited for it about two seconds whatever storeTimeoutMs said.
// With a shorter storeTimeoutMs the caller got a bare timeout while the wait went on, and a
// deleteUser or setAccount that then found the lock free ran after its caller was told it failed.
// Each wait now ends within storeTimeoutMs with the store's own error.

const client = await redisForThisFile();
const STORE_TIMEOUT_MS = 300;
/** Scheduling and the last try's round trip to Redis (see moveWaitEnd in user-homes.ts). */
const MARGIN_MS = 100;

async function stuckMove(storeTimeoutMs: number): Promise<{ limiter: TokenLimiter; prefix: string; lock: string }> {
  const prefix = uniquePrefix('admin-move-wait');
  const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix }), storeTimeoutMs, defaultLimits: [{ id: 'm', tokens: 1000, period: 'month' }] });
  await limiter.admin.setPlan('p', [{ id: 'm', tokens: 500, period: 'month' }]);
  await limiter.admin.setLimits('u', [{ id: 'm', tokens: 700, period: 'month' }]);
  await limiter.admin.setAccount('u', 'A');
  await limiter.commit(await limiter.reserve('u', { tokens: 10 }), { inputTokens: 10, outputTokens: 0 });
  const lock = await stopMoveHalfWay(client, prefix, 'u', 'A', 'X');
  return { limiter, prefix, lock };
}

async function timed(op: () => Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const start = performance.now();
  const error = await op().then(() => undefined, (e: unknown) => e);
  return { ms: performance.now() - start, error };
}

describe('RedisStore: waits for a move that stopped half-way', () => {
  it('end within storeTimeoutMs with QuotaStoreError saying the user is being moved', async () => {
    const { limiter, prefix } = await stuckMove(STORE_TIMEOUT_MS);
    const ops: Record<string, () => Promise<unknown>> = {
      deleteUser: () => limiter.admin.deleteUser('u'),
      setAccount: () => limiter.admin.setAccount('u', 'Y'),
      setLimits: () => limiter.admin.setLimits('u', [{ id: 'm', tokens: 20, period: 'month' }]),
      getLimits: () => limiter.admin.getLimits('u'),
      assignPlan: () => limiter.admin.assignPlan('u', 'p'),
      resetUsage: () => limiter.admin.resetUsage('u'),
      setActive: () => limiter.admin.setActive('u', false),
    };
    for (const [name, op] of Object.entries(ops)) {
      const { ms, error } = await timed(op);
      expect(error, name).toBeInstanceOf(QuotaStoreError);
      expect(error, name).toMatchObject({ code: 'store_unavailable', message: expect.stringMatching(/User "u" is being moved between accounts/) });
      expect(ms, name).toBeLessThanOrEqual(STORE_TIMEOUT_MS + MARGIN_MS);
    }
    // Nothing was assigned meanwhile: the plan counts no user.
    expect((await limiter.admin.listPlans()).map((p) => [p.planId, p.users])).toEqual([['p', 0]]);
    await limiter.close();
    await deleteKeysWithPrefix(client, `${prefix}:`);
  });

  it('never deletes or moves the user after the caller was told the call failed', async () => {
    const { limiter, prefix, lock } = await stuckMove(STORE_TIMEOUT_MS);
    const deleted = timed(() => limiter.admin.deleteUser('u'));
    const moved = timed(() => limiter.admin.setAccount('u', 'Y'));
    expect((await deleted).error).toBeInstanceOf(QuotaStoreError);
    expect((await moved).error).toBeInstanceOf(QuotaStoreError);
    // The lock expires (as it does 10 s after its process died); the calls that failed stay failed.
    await client.del(lock);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(await client.exists(lock)).toBe(0);
    // setAccount finishes the move that stopped half-way, with the user's rules and usage.
    await limiter.admin.setAccount('u', 'X');
    expect(await limiter.admin.getUsage('u')).toMatchObject({ limit: 700, used: 10, account: { accountId: 'X' } });
    await limiter.close();
    await deleteKeysWithPrefix(client, `${prefix}:`);
  }, 10_000);

  it('with a longer storeTimeoutMs, still end after about two seconds', async () => {
    const { limiter, prefix } = await stuckMove(10_000);
    const { ms, error } = await timed(() => limiter.admin.deleteUser('u'));
    expect(error).toMatchObject({ code: 'store_unavailable', message: expect.stringMatching(/being moved between accounts by another call/) });
    expect(ms).toBeGreaterThanOrEqual(1900);
    expect(ms).toBeLessThanOrEqual(2000 + MARGIN_MS);
    await limiter.close();
    await deleteKeysWithPrefix(client, `${prefix}:`);
  }, 10_000);
});
