import { describe, expect, it } from 'vitest';
import { createTokenLimiter, RedisStore, type LimitRule } from '../../src/index.js';
import { Aggregator, REPLAY_GUARD_MS, type AggregateEntry } from '../../src/stores/redis/aggregator.js';
import { RedisContext } from '../../src/stores/redis/context.js';
import { globalKeys } from '../../src/stores/redis/keys.js';
import { SCRIPTS } from '../../src/stores/redis/registry.js';
import { AGGREGATE_ARGS, encodeArgs, type AggregateArgs } from '../../src/stores/redis/schema.js';
import { runScript } from '../../src/stores/redis/scripts.js';
import { redisForThisFile, uniquePrefix } from '../helpers/redis.js';
import { waitFor } from '../support/index.js';

/**
 * The aggregates over all users are written in numbered batches, applied once each: Redis keeps
 * only the last number applied from each store instance (its replay guard), so what it keeps for
 * them does not grow with traffic, and a batch sent again after a lost reply is not counted twice.
 */
const client = await redisForThisFile();

const LIMITS: LimitRule[] = [{ id: 'm', tokens: 1_000_000, period: 'month' }];

function batch(source: string, sequence: number, tokens: number): AggregateArgs {
  return { source, sequence, guardTtl: 60_000, logMax: 100, logTtl: 60_000, historyTtl: 60_000, activeTtl: 60_000, totals: [tokens, 1, 0], hours: [], users: ['u'], tags: ['t'], logTimes: [] };
}

/** A committed call of 1 token by user u<i>, as the store hands it to the aggregator. */
function entry(timestamp: number, i: number): AggregateEntry {
  return { timestamp, userId: `u${i}`, tag: `t${i}`, model: 'gpt', actual: { tokens: 1, requests: 1, cost: 0 }, history: { inputTokens: 1, outputTokens: 0 }, record: `{"id":"r${i}"}` };
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

describe('the aggregates of a store that fails for long', () => {
  it('drops the oldest batch not being sent, and reports exactly what was dropped', async () => {
    const prefix = uniquePrefix('guard');
    const g = globalKeys(prefix);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let held = false;
    // The first batch's script call waits at the gate, as over a connection that answers late.
    const gated = {
      evalsha: async (sha: string, numKeys: number, ...rest: Array<string | Buffer | number>) => {
        if (sha === SCRIPTS.aggregate.sha && !held) {
          held = true;
          await gate;
        }
        return client.evalsha(sha, numKeys, ...rest);
      },
      eval: client.eval.bind(client),
    };
    const dropped: number[] = [];
    const aggregator = new Aggregator(new RedisContext(gated, prefix), (_error, count) => {
      if (count > 0) dropped.push(count);
    });
    const january = Date.UTC(2099, 0, 15);
    const february = Date.UTC(2099, 1, 15);
    // Batch 1 (3 records) goes out and waits at the gate.
    for (let i = 0; i < 3; i += 1) aggregator.add(entry(january, i));
    const first = aggregator.flush(Date.now() + 60_000);
    await waitFor(() => held || undefined, { timeoutMs: 5_000, what: 'the first batch sent' });
    // 1,001 more records, months alternating: a batch each. Sealing the 1,000th of them puts 1,001
    // batches in the queue, one over the bound: one must go.
    for (let i = 3; i < 1_004; i += 1) aggregator.add(entry(i % 2 === 1 ? february : january, i));
    expect(dropped).toEqual([1]);
    release();
    await first;
    await aggregator.flush(Date.now() + 60_000);
    // Every record is either applied once or reported dropped: 1,004 added, 1 dropped.
    expect(Number(await client.hget(g.totals, 'tokens'))).toBe(1_003);
    expect(await client.zcard(g.log)).toBe(1_003);
    aggregator.stop();
    const keys = await client.keys(`${prefix}:*`);
    if (keys.length > 0) await client.del(...keys);
  });
});

describe('batching of the aggregates', () => {
  /** An aggregator on a client that records, per aggregate batch sent, its records and when. */
  function recorded() {
    const prefix = uniquePrefix('batching');
    const g = globalKeys(prefix);
    const batches: number[] = [];
    const sentAt: number[] = [];
    const recorder = {
      evalsha: async (sha: string, numKeys: number, ...rest: Array<string | Buffer | number>) => {
        // ARGV: the header, then four lists, each a count and its values (hours of 6 values,
        // users, tags, record times), then the records.
        if (sha === SCRIPTS.aggregate.sha) {
          let at = numKeys + 1;
          at += 1 + 6 * Number(rest[at]);
          at += 1 + Number(rest[at]);
          at += 1 + Number(rest[at]);
          batches.push(Number(rest[at]));
          sentAt.push(Date.now());
        }
        return client.evalsha(sha, numKeys, ...rest);
      },
      eval: client.eval.bind(client),
    };
    const aggregator = new Aggregator(new RedisContext(recorder, prefix), () => {});
    return {
      batches,
      sentAt,
      aggregator,
      /** Waits until the totals hold `tokens` (one per record). */
      applied: async (tokens: number) =>
        waitFor(async () => (Number(await client.hget(g.totals, 'tokens')) === tokens ? true : undefined), { timeoutMs: 5_000, what: `${tokens} records applied` }),
      cleanup: async () => {
        aggregator.stop();
        const keys = await client.keys(`${prefix}:*`);
        if (keys.length > 0) await client.del(...keys);
      },
    };
  }
  const now = Date.UTC(2099, 0, 15);

  it('sends a full batch at once, and one still filling when it is 50 ms old', async () => {
    const { batches, sentAt, aggregator, applied, cleanup } = recorded();
    const started = Date.now();
    for (let i = 0; i < 600; i += 1) aggregator.add(entry(now, i));
    // The first full batch is on its way before any timer could fire; the second follows it once
    // it is applied; the third, still filling, waits until it is 50 ms old.
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches[0]).toBe(256);
    await applied(600);
    expect(batches).toEqual([256, 256, 88]);
    expect(sentAt[2]! - started).toBeGreaterThanOrEqual(50);
    await cleanup();
  });

  it('under light traffic, sends the aggregates of a call with those of the next 50 ms', async () => {
    const { batches, sentAt, aggregator, applied, cleanup } = recorded();
    const started = Date.now();
    aggregator.add(entry(now, 0));
    await new Promise((resolve) => setTimeout(resolve, 10));
    aggregator.add(entry(now, 1));
    // Nothing is sent before the first record is 50 ms old.
    expect(batches).toEqual([]);
    await applied(2);
    expect(batches).toEqual([2]);
    expect(sentAt[0]! - started).toBeGreaterThanOrEqual(50);
    await cleanup();
  });
});

describe('a batch the store refuses', () => {
  const huge = 2 ** 52;

  it('keeps each batch’s sums within what the store takes: calls of huge usage are all counted', async () => {
    const prefix = uniquePrefix('huge');
    const limits: LimitRule[] = [{ id: 'm', tokens: Number.MAX_SAFE_INTEGER, period: 'month' }];
    const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix }), defaultLimits: limits });
    const errors: string[] = [];
    limiter.on('store-error', ({ operation }) => errors.push(operation));
    // Each call's usage is valid (a safe integer); two of them in one batch would sum past 2^53.
    for (const user of ['a', 'b', 'c']) await limiter.commit(await limiter.reserve(user, { tokens: 1 }), { inputTokens: huge, outputTokens: 0 });
    await limiter.commit(await limiter.reserve('d', { tokens: 1 }), { inputTokens: 5, outputTokens: 5 });
    await limiter.flush();
    expect(errors).toEqual([]);
    expect((await limiter.admin.getUsageLog({ limit: 10 })).map((r) => r.userId).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(Number(await client.hget(globalKeys(prefix).totals, 'requests'))).toBe(4);
    await limiter.close();
  });

  it('drops a batch the store refuses for good, with a report, and goes on with the next', async () => {
    const prefix = uniquePrefix('refused');
    const g = globalKeys(prefix);
    const reports: Array<[string, number]> = [];
    const aggregator = new Aggregator(new RedisContext(client, prefix), (error, count) => reports.push([error.message, count]));
    const now = Date.UTC(2099, 0, 15);
    // A record time the script refuses (not an integer): nothing retrying can change.
    aggregator.add({ ...entry(now, 0), timestamp: now + 0.5 });
    await expect(aggregator.flush(Date.now() + 5_000)).resolves.toBeUndefined();
    aggregator.add(entry(now, 1));
    await aggregator.flush(Date.now() + 5_000);
    expect(reports).toHaveLength(1);
    expect(reports[0]![1]).toBe(1);
    expect(reports[0]![0]).toMatch(/dropped/);
    expect(await client.hget(g.totals, 'tokens')).toBe('1');
    aggregator.stop();
    const keys = await client.keys(`${prefix}:*`);
    if (keys.length > 0) await client.del(...keys);
  });
});
