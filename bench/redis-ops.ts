import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { createTokenLimiter, RedisStore } from '../src/index.js';

/**
 * Redis round trips of the engine's reserve and of its commit (counted from the server's command
 * stats). Throughput against raw EVALSHA pairs is measured by redis-pairs.ts.
 */
export async function benchRedisOps(url: string): Promise<{ roundTrips: { reserve: number; commit: number } }> {
  const client = new Redis(url);
  const prefix = `bench${randomBytes(4).toString('hex')}`;
  const store = new RedisStore({ client, prefix });
  const limiter = createTokenLimiter({ store, defaultLimits: [{ id: 'm', tokens: Number.MAX_SAFE_INTEGER, period: 'month' }], storeTimeoutMs: 30_000 });
  await limiter.warmup();
  const roundTrips = await countRoundTrips(client, async () => {
    const r = await limiter.reserve('rt-user', { tokens: 10 });
    return async () => {
      await limiter.commit(r, { inputTokens: 5, outputTokens: 5 });
      await limiter.flush();
    };
  });
  await limiter.close();
  client.disconnect();
  return { roundTrips };
}

/**
 * Counts the script calls the server saw during reserve and during commit: EVALSHA and EVAL, and
 * FCALL, by which the hot path runs once its Functions library is loaded (warmup loads it).
 */
async function countRoundTrips(client: Redis, reserveThenCommit: () => Promise<() => Promise<void>>): Promise<{ reserve: number; commit: number }> {
  const probe = new Redis(client.options);
  const calls = async () => {
    const info = await probe.info('commandstats');
    let total = 0;
    for (const m of info.matchAll(/cmdstat_(evalsha|eval|evalsha_ro|eval_ro|fcall|fcall_ro):calls=(\d+)/g)) total += Number(m[2]);
    return total;
  };
  // Warm (scripts loaded, user config cached), then measure ten calls.
  await (await reserveThenCommit())();
  let reserve = 0;
  let commit = 0;
  for (let i = 0; i < 10; i += 1) {
    const a = await calls();
    const finish = await reserveThenCommit();
    const b = await calls();
    await finish();
    const c = await calls();
    // The probe's own INFO is not an EVAL; other clients on a shared Redis could add noise, so take the minimum.
    reserve = i === 0 ? b - a : Math.min(reserve, b - a);
    commit = i === 0 ? c - b : Math.min(commit, c - b);
  }
  probe.disconnect();
  return { reserve, commit };
}
