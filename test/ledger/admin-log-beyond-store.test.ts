import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenLimiter, MemoryStore, RedisStore, type QuotaStore } from '../../src/index.js';
import { createPostgresLedger } from '../../src/postgres/index.js';
import { connectPostgres, dropSchema, uniqueSchema } from '../helpers/postgres.js';
import { redisForThisFile, uniquePrefix } from '../helpers/redis.js';
import { deleteKeysWithPrefix } from '../support/redis-available.js';

// With usageLog.maxLength set below what a read asks for (it may be as low as 1; a read asks up to
// 10,000), admin.getUsageLog of everyone answered only the records the store keeps, although the
// ledger held them all: the ledger answered such a read for one user's log only.

const client = await redisForThisFile();
let pool: pg.Pool;
const schemas: string[] = [];

beforeAll(async () => {
  pool = await connectPostgres();
});
afterAll(async () => {
  for (const schema of schemas) await dropSchema(pool, schema);
  await pool?.end();
});

describe("getUsageLog of everyone asking for more than the store's log keeps", () => {
  const prefix = uniquePrefix('admin-log-beyond');
  afterAll(() => deleteKeysWithPrefix(client, prefix));
  it.each([
    ['MemoryStore', () => new MemoryStore()],
    ['RedisStore', () => new RedisStore({ client, prefix })],
  ] as Array<[string, () => QuotaStore]>)('%s: the ledger answers, with every record', async (_name, makeStore) => {
    const schema = uniqueSchema();
    schemas.push(schema);
    const ledger = createPostgresLedger({ pool, schema, drain: { pollMs: 20 } });
    await ledger.migrate();
    const store = makeStore();
    const limiter = createTokenLimiter({ store, ledger, usageLog: { maxLength: 3 } });
    for (let i = 0; i < 7; i += 1) {
      const r = await limiter.reserve(`u${i % 2}`, { tokens: 10 });
      await limiter.commit(r, { inputTokens: 1 + i, outputTokens: 1, model: 'gpt-4o' });
    }
    await limiter.flushLedger();
    const all = await limiter.admin.getUsageLog({ limit: 10 });
    expect(all.map((r) => r.inputTokens)).toEqual([7, 6, 5, 4, 3, 2, 1]);
    // Within what the store keeps, the store answers as before.
    expect((await limiter.admin.getUsageLog({ limit: 3 })).map((r) => r.inputTokens)).toEqual([7, 6, 5]);
    await limiter.close();
  });
});
