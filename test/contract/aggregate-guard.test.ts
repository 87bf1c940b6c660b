import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenLimiter, RedisStore, type LimitRule } from '../../src/index.js';
import { REPLAY_GUARD_MS } from '../../src/stores/redis/aggregator.js';
import { globalKeys } from '../../src/stores/redis/keys.js';
import { SCRIPTS } from '../../src/stores/redis/registry.js';
import { AGGREGATE_ARGS, encodeArgs, type AggregateArgs } from '../../src/stores/redis/schema.js';
import { runScript } from '../../src/stores/redis/scripts.js';
import { connectRedis, uniquePrefix } from '../helpers/redis.js';

/**
 * The aggregates over all users are written in numbered batches, applied once each: Redis keeps
 * only the last number applied from each store instance (its replay guard), so what it keeps for
 * them does not grow with traffic, and a batch sent again after a lost reply is not counted twice.
 */
let client: Redis;
beforeAll(async () => {
  client = await connectRedis();
});
afterAll(() => client?.disconnect());

const LIMITS: LimitRule[] = [{ id: 'm', tokens: 1_000_000, period: 'month' }];

function batch(source: string, sequence: number, tokens: number): AggregateArgs {
  return { source, sequence, guardTtl: 60_000, logMax: 100, logTtl: 60_000, historyTtl: 60_000, activeTtl: 60_000, totals: [tokens, 1, 0], hours: [], users: ['u'], tags: ['t'], logTimes: [] };
}

describe('the replay guard of the aggregates', () => {
  it('applies each numbered batch of a source once, and nothing numbered at or below the last applied', async () => {
    const g = globalKeys(uniquePrefix('guard'));
    const send = (source: string, sequence: number, tokens: number) =>
      runScript(client, SCRIPTS.aggregate, [g.applied(source), g.log, g.historyMonth('209901'), g.totals, g.users, g.activeMonth('2099-01')], encodeArgs(AGGREGATE_ARGS, batch(source, sequence, tokens)));
    expect(await send('a', 1, 1)).toBe(1);
    expect(await send('a', 1, 10)).toBe(0); // the same batch again: its reply was lost
    expect(await send('a', 3, 100)).toBe(1); // batch 2 was dropped by its sender
    expect(await send('a', 2, 1000)).toBe(0); // ... and arrives late: not counted after its successor
    expect(await send('b', 1, 10_000)).toBe(1); // another source counts apart
    expect(await client.hget(g.totals, 'tokens')).toBe('10101');
    expect(await client.get(g.applied('a'))).toBe('3');
    expect(await client.pttl(g.applied('a'))).toBeGreaterThan(0);
    expect(await client.pttl(g.applied('a'))).toBeLessThanOrEqual(60_000);
    // A damaged marker guards nothing (the batch is applied) and is replaced.
    await client.set(g.applied('a'), 'not a number');
    expect(await send('a', 4, 100_000)).toBe(1);
    expect(await client.get(g.applied('a'))).toBe('4');
    expect(await client.hget(g.totals, 'tokens')).toBe('110101');
    await client.del(g.applied('a'), g.applied('b'), g.totals, g.users, g.activeMonth('2099-01'));
  });

  it('keeps one small key per store instance however many batches it sends', async () => {
    const prefix = uniquePrefix('guard');
    const g = globalKeys(prefix);
    const stores = [new RedisStore({ client, prefix }), new RedisStore({ client, prefix })];
    const limiters = stores.map((store) => createTokenLimiter({ store, defaultLimits: LIMITS }));
    for (let i = 0; i < 60; i += 1) {
      const limiter = limiters[i % 2]!;
      await limiter.commit(await limiter.reserve(`u${i}`, { tokens: 10 }), { inputTokens: 5, outputTokens: 5 });
      // Each flush sends what is waiting as a batch of its own: 30 batches per store.
      await limiter.flush();
    }
    const guards = await client.keys(g.applied('*'));
    expect(guards).toHaveLength(2);
    expect((await Promise.all(guards.map(async (key) => client.get(key)))).sort()).toEqual(['30', '30']);
    for (const key of guards) {
      expect(await client.pttl(key)).toBeGreaterThan(REPLAY_GUARD_MS - 60_000);
      expect(await client.pttl(key)).toBeLessThanOrEqual(REPLAY_GUARD_MS);
      expect(await client.memory('USAGE', key)).toBeLessThan(200);
    }
    expect((await limiters[0]!.admin.getStats()).totalTokens).toBe(600);
    await Promise.all(limiters.map(async (limiter) => limiter.close()));
  });

  it('counts a batch once when its reply is lost and the store sends it again', async () => {
    const prefix = uniquePrefix('guard');
    let lost = 0;
    // Runs every script, but loses the reply of the first aggregate batch (as a connection that
    // drops after Redis ran the command): the store must send that batch again.
    const losing = {
      evalsha: async (sha: string, numKeys: number, ...rest: Array<string | Buffer | number>) => {
        const reply = await client.evalsha(sha, numKeys, ...rest);
        if (sha === SCRIPTS.aggregate.sha && lost === 0) {
          lost += 1;
          throw new Error('Connection is closed.');
        }
        return reply;
      },
      eval: client.eval.bind(client),
    };
    const errors: string[] = [];
    const limiter = createTokenLimiter({ store: new RedisStore({ client: losing, prefix }), defaultLimits: LIMITS });
    limiter.on('store-error', ({ operation }) => errors.push(operation));
    for (let i = 0; i < 5; i += 1) await limiter.commit(await limiter.reserve('u', { tokens: 10 }), { inputTokens: 5, outputTokens: 5 });
    await limiter.flush();
    expect(lost).toBe(1);
    expect(errors).toContain('aggregate');
    const stats = await limiter.admin.getStats();
    expect(stats.totalTokens).toBe(50);
    expect((await limiter.admin.getUsageLog({ limit: 100 })).filter((r) => r.userId === 'u')).toHaveLength(5);
    await limiter.close();
  });
});
