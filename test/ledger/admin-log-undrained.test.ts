import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenLimiter, RedisStore, type TokenLimiter } from '../../src/index.js';
import { createPostgresLedger } from '../../src/postgres/index.js';
import { connectPostgres, dropSchema, uniqueSchema } from '../helpers/postgres.js';
import { connectRedis, redisForThisFile, uniquePrefix } from '../helpers/redis.js';
import { deleteKeysWithPrefix } from '../support/redis-available.js';

// A log read the ledger answers (more of one user's records than usageLog.userMaxLength, a range
// past the log's retention) answered the ledger's records only: a call just made, still waiting
// in the store's feed for a drainer (a fraction of a second, or the whole of a PostgreSQL outage),
// was missing from it although the store held it. The store's records are now read beside it.

const client = await redisForThisFile();
let pool: pg.Pool;
const schema = uniqueSchema();
const prefix = uniquePrefix('admin-log-undrained');
const limiters: TokenLimiter[] = [];

beforeAll(async () => {
  pool = await connectPostgres();
});
afterAll(async () => {
  for (const l of limiters) await l.close();
  await dropSchema(pool, schema);
  await pool?.end();
  await deleteKeysWithPrefix(client, prefix);
});

async function call(limiter: TokenLimiter, userId: string, input: number) {
  const r = await limiter.reserve(userId, { tokens: 10 });
  await limiter.commit(r, { inputTokens: input, outputTokens: 1, model: 'gpt-4o' });
}

describe('a log read answered by the ledger, with records not drained yet', () => {
  it('lists the records still waiting in the store beside those in the ledger, each once', async () => {
    const drained = createPostgresLedger({ pool, schema, drain: { pollMs: 20 } });
    await drained.migrate();
    const drainer = createTokenLimiter({ store: new RedisStore({ client, prefix }), ledger: drained, usageLog: { userMaxLength: 2 } });
    limiters.push(drainer);
    for (const input of [1, 2, 3]) await call(drainer, 'alice', input);
    await drainer.flushLedger();
    // A process that only appends to the feed: its records wait for a drainer.
    const app = createTokenLimiter({ store: new RedisStore({ client, prefix }), ledger: createPostgresLedger({ pool, schema, drain: false }), usageLog: { userMaxLength: 2 } });
    limiters.push(app);
    await drainer.close();
    for (const input of [4, 5]) await call(app, 'alice', input);

    // Three records asked of a store that keeps two per user: the ledger answers, with the newest too.
    expect((await app.admin.getUsageLog({ userId: 'alice', limit: 3 })).map((r) => r.inputTokens)).toEqual([5, 4, 3]);
    const all = await app.admin.getUsageLog({ userId: 'alice', limit: 50 });
    expect(all.map((r) => r.inputTokens)).toEqual([5, 4, 3, 2, 1]);
    expect(new Set(all.map((r) => r.id)).size).toBe(5);
    // Everyone's log, from before the store's retention: the same five.
    expect((await app.admin.getUsageLog({ since: Date.now() - 40 * 86_400_000, limit: 50 })).map((r) => r.inputTokens)).toEqual([5, 4, 3, 2, 1]);
  });

  it('a store that fails leaves the ledger answering such a read, as before it was read beside it', async () => {
    const ledger = createPostgresLedger({ pool, schema: `${schema}_b`, drain: { pollMs: 20 } });
    await ledger.migrate();
    const own = await connectRedis();
    const limiter = createTokenLimiter({ store: new RedisStore({ client: own, prefix: `${prefix}:b` }), ledger, usageLog: { userMaxLength: 1 }, storeTimeoutMs: 300 });
    limiters.push(limiter);
    limiter.on('store-error', () => {});
    limiter.on('ledger-error', () => {});
    for (const input of [1, 2]) await call(limiter, 'bob', input);
    await limiter.flushLedger();
    // The store's connection gone: its reads fail at once.
    own.disconnect();
    expect((await limiter.admin.getUsageLog({ userId: 'bob', limit: 10 })).map((r) => r.inputTokens)).toEqual([2, 1]);
    await dropSchema(pool, `${schema}_b`);
  });
});
