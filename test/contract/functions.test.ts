import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenLimiter, RedisStore, TokenLimitExceededError, type LimitRule } from '../../src/index.js';
import { LOAD_RETRY_MS, RULES_CACHE_SIZE } from '../../src/stores/redis/functions.js';
import { HOT_PATH_LIBRARY } from '../../src/stores/redis/registry.js';
import { commandCalls, libraryLoaded } from '../helpers/redis.js';
import { startRedisServer, waitFor, type RedisServer } from '../support/index.js';

/**
 * The hot path as a Redis Functions library (src/stores/redis/functions.ts): used once loaded,
 * loaded again after it is gone, and never needed (EVALSHA does the same work). A server of its
 * own: the test flushes functions and reads command counts, which other tests would disturb.
 */
let server: RedisServer;
let admin: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  admin = server.client();
}, 30_000);
afterAll(async () => {
  await server?.stop();
});

const LIMITS: LimitRule[] = [{ id: 'm', tokens: 1_000_000, period: 'month' }];
const loaded = async () => (await libraryLoaded(admin)) || undefined;

async function pairs(limiter: ReturnType<typeof createTokenLimiter>, user: string, n: number): Promise<void> {
  for (let i = 0; i < n; i += 1) await limiter.commit(await limiter.reserve(user, { tokens: 10 }), { inputTokens: 5, outputTokens: 5 });
  await limiter.flush();
}

describe('the hot path as a Redis Functions library', () => {
  it('runs reserve, commit and release by FCALL once the library is loaded', async () => {
    await admin.call('FUNCTION', 'FLUSH');
    const limiter = createTokenLimiter({ store: new RedisStore({ client: server.client(), prefix: 'by-fcall' }), defaultLimits: LIMITS });
    // The first call goes by EVALSHA and starts loading the library in the background.
    await pairs(limiter, 'u', 1);
    await waitFor(loaded, { timeoutMs: 5_000, what: 'the library loaded' });
    const before = await commandCalls(admin, 'fcall');
    await pairs(limiter, 'u', 20);
    await limiter.release(await limiter.reserve('u', { tokens: 10 }));
    expect((await commandCalls(admin, 'fcall')) - before).toBe(42);
    expect((await limiter.admin.getUsage('u')).used).toBe(210);
    await limiter.close();
  });

  it('falls back to EVALSHA when the library is gone, and loads it again', async () => {
    const limiter = createTokenLimiter({ store: new RedisStore({ client: server.client(), prefix: 'flushed' }), defaultLimits: LIMITS });
    await pairs(limiter, 'u', 1);
    await waitFor(loaded, { timeoutMs: 5_000, what: 'the library loaded' });
    for (let i = 0; i < 5; i += 1) {
      // Scripts too: the fallback then goes EVALSHA, NOSCRIPT, EVAL.
      await admin.call('FUNCTION', 'FLUSH');
      await admin.script('FLUSH');
      const r = await limiter.reserve('u', { tokens: 100 });
      await admin.call('FUNCTION', 'FLUSH');
      await admin.script('FLUSH');
      await limiter.commit(r, { inputTokens: 50, outputTokens: 50 });
      await limiter.flush();
    }
    expect((await limiter.admin.getUsage('u')).used).toBe(510);
    await pairs(limiter, 'u', 1);
    await waitFor(loaded, { timeoutMs: 5_000, what: 'the library loaded' });
    const before = await commandCalls(admin, 'fcall');
    await pairs(limiter, 'u', 3);
    expect((await commandCalls(admin, 'fcall')) - before).toBe(6);
    expect((await limiter.admin.getUsage('u')).used).toBe(550);
    await limiter.close();
  });

  it('works by EVALSHA alone where FUNCTION is refused, and stops asking', async () => {
    await admin.call('FUNCTION', 'FLUSH');
    await admin.call('ACL', 'SETUSER', 'no-functions', 'on', 'nopass', '~*', '&*', '+@all', '-function', '-fcall', '-fcall_ro');
    const client = server.client({ username: 'no-functions' });
    const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix: 'refused' }), defaultLimits: LIMITS });
    const before = await commandCalls(admin, 'fcall');
    for (let i = 0; i < 10; i += 1) await pairs(limiter, 'u', 2);
    expect((await limiter.admin.getUsage('u')).used).toBe(200);
    expect(await libraryLoaded(admin)).toBe(false);
    expect(await commandCalls(admin, 'fcall')).toBe(before);
    // Refused once: the store does not try to load it again on later calls.
    const info = String(await admin.call('INFO', 'commandstats'));
    const rejected = Number(/^cmdstat_function\|load:.*rejected_calls=(\d+)/m.exec(info)?.[1] ?? 0);
    expect(rejected).toBe(1);
    await limiter.close();
  });

  it('falls back to EVALSHA for good when the library loads but FCALL is refused to the user', async () => {
    // The library is there (loaded by another client); this user may not call it.
    await admin.call('FUNCTION', 'LOAD', 'REPLACE', HOT_PATH_LIBRARY.source);
    await admin.call('ACL', 'SETUSER', 'no-fcall', 'on', 'nopass', '~*', '&*', '+@all', '-fcall', '-fcall_ro');
    const client = server.client({ username: 'no-fcall' });
    const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix: 'no-fcall' }), defaultLimits: LIMITS });
    const rejected = async () => Number(/^cmdstat_fcall:.*rejected_calls=(\d+)/m.exec(String(await admin.call('INFO', 'commandstats')))?.[1] ?? 0);
    const before = await rejected();
    for (let i = 0; i < 5; i += 1) await pairs(limiter, 'u', 2);
    expect((await limiter.admin.getUsage('u')).used).toBe(100);
    // One refused FCALL (run again by EVALSHA), then none: the store stopped trying.
    expect((await rejected()) - before).toBe(1);
    await limiter.close();
  });

  it('surfaces a refusal of the keys as a store error, and keeps the library for when they are allowed', async () => {
    await admin.call('FUNCTION', 'LOAD', 'REPLACE', HOT_PATH_LIBRARY.source);
    // Keys under 'allowed' only: the store's keys (prefix 'denied') are refused, by FCALL and EVALSHA alike.
    await admin.call('ACL', 'SETUSER', 'few-keys', 'on', 'nopass', 'resetkeys', '~allowed*', '&*', '+@all');
    const limiter = createTokenLimiter({
      store: new RedisStore({ client: server.client({ username: 'few-keys' }), prefix: 'denied' }),
      defaultLimits: LIMITS,
      onStoreError: 'deny',
    });
    for (let i = 0; i < 3; i += 1) {
      await expect(limiter.reserve('u', { tokens: 10 })).rejects.toMatchObject({ code: 'store_unavailable' });
    }
    // That refusal was about keys, not FCALL: once the keys are allowed, calls go by FCALL.
    await admin.call('ACL', 'SETUSER', 'few-keys', '~*');
    const before = await commandCalls(admin, 'fcall');
    await pairs(limiter, 'u', 3);
    // 6 for the pairs; the engine may also release the refused reservations (their outcome was unknown to it).
    expect((await commandCalls(admin, 'fcall')) - before).toBeGreaterThanOrEqual(6);
    expect((await limiter.admin.getUsage('u')).used).toBe(30);
    await limiter.close();
  });

  it('keeps working by EVALSHA when loading the library throws, without an unhandled rejection', async () => {
    const client = server.client();
    // A Cluster-like client whose node list cannot be read (here it throws, as a client might
    // before its topology is known): the load fails in the background, and calls go on by EVALSHA.
    let asked = 0;
    const failing = {
      evalsha: client.evalsha.bind(client),
      eval: client.eval.bind(client),
      fcall: client.fcall.bind(client),
      call: client.call.bind(client),
      nodes: () => {
        asked += 1;
        throw new Error('no topology yet');
      },
    };
    const limiter = createTokenLimiter({ store: new RedisStore({ client: failing, prefix: 'load-throws' }), defaultLimits: LIMITS });
    const before = await commandCalls(admin, 'fcall');
    await pairs(limiter, 'u', 10);
    expect((await limiter.admin.getUsage('u')).used).toBe(100);
    expect(await commandCalls(admin, 'fcall')).toBe(before);
    // Tried once, then not again before the retry delay.
    expect(asked).toBe(1);
    await limiter.close();
  });

  it(`tries the load again when the first FUNCTION LOAD never answers (after ${LOAD_RETRY_MS} ms)`, async () => {
    await admin.call('FUNCTION', 'FLUSH');
    const client = server.client();
    let loads = 0;
    const stalling = {
      evalsha: client.evalsha.bind(client),
      eval: client.eval.bind(client),
      fcall: client.fcall.bind(client),
      // The first load is never answered, as by a client with no timeout and a lost reply.
      call: (command: string, ...args: string[]) => {
        if (command === 'FUNCTION') loads += 1;
        return command === 'FUNCTION' && loads === 1 ? new Promise<never>(() => {}) : client.call(command, ...args);
      },
    };
    const limiter = createTokenLimiter({ store: new RedisStore({ client: stalling, prefix: 'stalled' }), defaultLimits: LIMITS });
    await pairs(limiter, 'u', 2);
    expect(loads).toBe(1);
    expect(await libraryLoaded(admin)).toBe(false);
    // Calls go on by EVALSHA meanwhile; past the delay, the next call loads again, and FCALL follows.
    await new Promise((resolve) => setTimeout(resolve, LOAD_RETRY_MS + 200));
    await pairs(limiter, 'u', 1);
    await waitFor(loaded, { timeoutMs: 5_000, what: 'the library loaded' });
    const before = await commandCalls(admin, 'fcall');
    await pairs(limiter, 'u', 2);
    expect(loads).toBe(2);
    expect((await commandCalls(admin, 'fcall')) - before).toBe(4);
    expect((await limiter.admin.getUsage('u')).used).toBe(50);
    await limiter.close();
  }, LOAD_RETRY_MS + 15_000);

  it(`holds each user to their own limit when more rule sets are in use than the library caches (${RULES_CACHE_SIZE})`, async () => {
    const limiter = createTokenLimiter({ store: new RedisStore({ client: server.client(), prefix: 'many-rules' }), defaultLimits: LIMITS });
    await pairs(limiter, 'warm', 1);
    await waitFor(loaded, { timeoutMs: 5_000, what: 'the library loaded' });
    const users = Array.from({ length: RULES_CACHE_SIZE + 40 }, (_, i) => `u${i}`);
    await Promise.all(users.map((u, i) => limiter.admin.setLimits(u, [{ id: 'm', tokens: 100 + i, period: 'month' }])));
    const before = await commandCalls(admin, 'fcall');
    // Twice round: the second pass finds some rule sets cached and others dropped when it filled.
    for (let pass = 0; pass < 2; pass += 1) {
      await Promise.all(
        users.map(async (u, i) => {
          const r = await limiter.reserve(u, { tokens: 50 });
          await limiter.release(r);
          // One token over the user's own limit: refused; exactly the limit: admitted.
          await expect(limiter.reserve(u, { tokens: 101 + i })).rejects.toBeInstanceOf(TokenLimitExceededError);
          await limiter.release(await limiter.reserve(u, { tokens: 100 + i }));
        }),
      );
    }
    expect((await commandCalls(admin, 'fcall')) - before).toBeGreaterThanOrEqual(users.length * 2 * 4);
    await limiter.close();
  });
});
