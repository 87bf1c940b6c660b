import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { createTokenLimiter, RedisStore } from '../src/index.js';

/**
 * Reserve+commit pairs per second through RedisStore vs raw EVALSHA calls of a trivial script on
 * the same kind of connection, in the same run, at several concurrencies; and Redis round trips
 * per wrapped call, counted from the server's command stats.
 */
export interface RedisOpsResult {
  concurrency: number;
  pairsPerSecond: number;
  rawEvalshaPerSecond: number;
  /** Store round trips per pair (reserve + commit + aggregates). */
  roundTripsPerPair: number;
  /** Our round trips per second relative to raw EVALSHA calls per second. */
  roundTripRatio: number;
  pairP50Ms: number;
  pairP99Ms: number;
}

const TRIVIAL = "return redis.call('INCRBY', KEYS[1], ARGV[1])";

export async function benchRedisOps(url: string, concurrencies = [1, 100, 1000], durationMs = 3000): Promise<{ results: RedisOpsResult[]; roundTrips: { reserve: number; commit: number } }> {
  const client = new Redis(url);
  const prefix = `bench${randomBytes(4).toString('hex')}`;
  const store = new RedisStore({ client, prefix });
  const limiter = createTokenLimiter({ store, defaultLimits: [{ id: 'm', tokens: Number.MAX_SAFE_INTEGER, period: 'month' }], storeTimeoutMs: 30_000 });
  await limiter.warmup();
  const sha = (await client.script('LOAD', TRIVIAL)) as string;

  const roundTrips = await countRoundTrips(client, async () => {
    const r = await limiter.reserve('rt-user', { tokens: 10 });
    return async () => {
      await limiter.commit(r, { inputTokens: 5, outputTokens: 5 });
    };
  });

  const results: RedisOpsResult[] = [];
  for (const concurrency of concurrencies) {
    // Alternate to spread noise from the shared machine over both sides.
    const raw = await run(concurrency, durationMs / 2, async () => {
      await client.evalsha(sha, 1, `${prefix}:raw`, '1');
    });
    let n = 0;
    const ours = await run(concurrency, durationMs / 2, async () => {
      const user = `u${n++ % 1000}`;
      const r = await limiter.reserve(user, { tokens: 10 });
      await limiter.commit(r, { inputTokens: 5, outputTokens: 5 });
    });
    const perPair = roundTrips.reserve + roundTrips.commit;
    results.push({
      concurrency,
      pairsPerSecond: ours.perSecond,
      rawEvalshaPerSecond: raw.perSecond,
      roundTripsPerPair: perPair,
      roundTripRatio: (ours.perSecond * perPair) / raw.perSecond,
      pairP50Ms: ours.p50,
      pairP99Ms: ours.p99,
    });
  }
  await limiter.close();
  client.disconnect();
  return { results, roundTrips };
}

/** Counts EVALSHA/EVAL calls the server saw during reserve and during commit. */
async function countRoundTrips(client: Redis, reserveThenCommit: () => Promise<() => Promise<void>>): Promise<{ reserve: number; commit: number }> {
  const probe = new Redis(client.options);
  const calls = async () => {
    const info = await probe.info('commandstats');
    let total = 0;
    for (const m of info.matchAll(/cmdstat_(evalsha|eval|evalsha_ro|eval_ro):calls=(\d+)/g)) total += Number(m[2]);
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

async function run(concurrency: number, durationMs: number, op: () => Promise<void>): Promise<{ perSecond: number; p50: number; p99: number }> {
  const latencies: number[] = [];
  const end = performance.now() + durationMs;
  const started = performance.now();
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await op();
        latencies.push(performance.now() - t);
        done += 1;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    perSecond: done / elapsed,
    p50: latencies[Math.floor(latencies.length * 0.5)] ?? 0,
    p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
  };
}
