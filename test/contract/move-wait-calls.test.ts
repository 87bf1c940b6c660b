import { describe, expect, it } from 'vitest';
import { createTokenLimiter, QuotaStoreError, RedisStore, type TokenLimiter } from '../../src/index.js';
import { userTag } from '../../src/stores/redis/keys.js';
import { stopMoveHalfWay } from '../helpers/moves.js';
import { redisForThisFile, uniquePrefix } from '../helpers/redis.js';
import { deleteKeysWithPrefix } from '../support/redis-available.js';

// A move between accounts that stopped half-way (its process died between its steps) leaves the
// user out of their old home and not yet in the new one until setAccount finishes it. A call on
// that user (a reserve, a check, a read of their usage) waits for the move between tries: it
// waited ten tries, over a second, whatever storeTimeoutMs said, and then failed with an error
// that did not say why. It now gives up within storeTimeoutMs, saying the user is being moved.

const client = await redisForThisFile();
const STORE_TIMEOUT_MS = 300;
/** Scheduling and the last try's round trip to Redis. */
const MARGIN_MS = 100;

async function stuckMove(prefix: string): Promise<void> {
  const setup = createTokenLimiter({ store: new RedisStore({ client, prefix }), defaultLimits: [{ id: 'm', tokens: 1000, period: 'month' }] });
  await setup.admin.setAccount('u', 'A');
  await setup.commit(await setup.reserve('u', { tokens: 10 }), { inputTokens: 10, outputTokens: 0 });
  await setup.close();
  await stopMoveHalfWay(client, prefix, 'u', 'A', 'X');
}

async function timed(op: () => Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const start = performance.now();
  const error = await op().then(() => undefined, (e: unknown) => e);
  return { ms: performance.now() - start, error };
}

describe('calls on a user whose move stopped half-way', () => {
  it('reserve, check and getUsage end within storeTimeoutMs with QuotaStoreError saying the user is being moved', async () => {
    const prefix = uniquePrefix('move-wait-calls');
    await stuckMove(prefix);
    const limiter: TokenLimiter = createTokenLimiter({
      store: new RedisStore({ client, prefix }),
      storeTimeoutMs: STORE_TIMEOUT_MS,
      defaultLimits: [{ id: 'm', tokens: 1000, period: 'month' }],
    });
    const failures: Array<[string, string]> = [];
    limiter.on('store-error', (e) => failures.push([e.operation, e.error.message]));
    const ops: Record<string, () => Promise<unknown>> = {
      getUsage: () => limiter.admin.getUsage('u'),
      reserve: () => limiter.reserve('u', { tokens: 5 }),
    };
    for (const [name, op] of Object.entries(ops)) {
      const { ms, error } = await timed(op);
      expect(error, name).toBeInstanceOf(QuotaStoreError);
      expect(error, name).toMatchObject({ code: 'store_unavailable', message: expect.stringMatching(/User "u" is being moved between accounts/) });
      expect(ms, name).toBeLessThanOrEqual(STORE_TIMEOUT_MS + MARGIN_MS);
    }
    // An admin read first lets this process's writes land, for storeTimeoutMs at most: here the
    // release of the reserve that failed (it may have been applied), which waits for the move too.
    const after = await timed(() => limiter.admin.getUsage('u'));
    expect(after.error).toMatchObject({ code: 'store_unavailable', message: expect.stringMatching(/User "u" is being moved between accounts/) });
    expect(after.ms).toBeLessThanOrEqual(2 * STORE_TIMEOUT_MS + MARGIN_MS);
    // check answers rather than throws: not allowed, the store unavailable, and why in its event.
    const start = performance.now();
    expect(await limiter.check('u', { tokens: 5 })).toMatchObject({ allowed: false, reason: 'store_unavailable' });
    expect(performance.now() - start).toBeLessThanOrEqual(STORE_TIMEOUT_MS + MARGIN_MS);
    // The release of the reserve that failed failed too (it is queued and tried again later).
    expect(failures.map(([operation]) => operation)).toEqual(['reserve', 'release', 'check']);
    for (const [, message] of failures) expect(message).toMatch(/User "u" is being moved between accounts/);
    // setAccount finishes the move, and the calls go through again with the user's usage.
    await client.del(`${prefix}:{${userTag('u')}}:ml`);
    await limiter.admin.setAccount('u', 'X');
    await limiter.commit(await limiter.reserve('u', { tokens: 5 }), { inputTokens: 5, outputTokens: 0 });
    expect(await limiter.admin.getUsage('u')).toMatchObject({ used: 15, account: { accountId: 'X' } });
    await limiter.close();
    await deleteKeysWithPrefix(client, `${prefix}:`);
  });

  it('listUsers leaves that user out of the page, reported, and lists the others', async () => {
    const prefix = uniquePrefix('move-wait-list');
    const limiter = createTokenLimiter({
      store: new RedisStore({ client, prefix }),
      storeTimeoutMs: STORE_TIMEOUT_MS,
      defaultLimits: [{ id: 'm', tokens: 1000, period: 'month' }],
    });
    for (const id of ['t', 'v']) await limiter.commit(await limiter.reserve(id, { tokens: 5 }), { inputTokens: 5, outputTokens: 0 });
    await stuckMove(prefix);
    const failures: Array<{ operation: string; userId: string | undefined }> = [];
    limiter.on('store-error', (e) => failures.push({ operation: e.operation, userId: e.userId }));
    const start = performance.now();
    const page = await limiter.admin.listUsers();
    expect(performance.now() - start).toBeLessThanOrEqual(2 * STORE_TIMEOUT_MS + MARGIN_MS);
    expect(page.users.map((u) => [u.userId, u.used])).toEqual([
      ['t', 5],
      ['v', 5],
    ]);
    expect(failures).toEqual([{ operation: 'admin.listUsers', userId: 'u' }]);
    await limiter.close();
    await deleteKeysWithPrefix(client, `${prefix}:`);
  });
});
