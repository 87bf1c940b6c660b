import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenLimiter, InvalidArgumentError, MemoryStore, RedisStore, type TokenLimiter } from '../../src/index.js';
import { createAdminHandler } from '../../src/integrations/http/index.js';
import { createPostgresLedger, type PostgresLedger } from '../../src/postgres/index.js';
import { connectPostgres, dropSchema, uniqueSchema } from '../helpers/postgres.js';
import { redisForThisFile, uniquePrefix } from '../helpers/redis.js';
import { deleteKeysWithPrefix } from '../support/redis-available.js';

const client = await redisForThisFile();

// Usage history imported into the ledger from before 1970 (a migration from another system that
// kept old records with their dates): ledger.query read it, but admin.getUsageLog, getUsageHistory
// and exportUsage refused any since/until/from/to before 1970 ("ms since the epoch" only). The
// admin functions now take the instants the ledger itself takes.

let pool: pg.Pool;
let ledger: PostgresLedger;
let limiter: TokenLimiter;
let bare: TokenLimiter;
const schema = uniqueSchema();

beforeAll(async () => {
  pool = await connectPostgres();
  ledger = createPostgresLedger({ pool, schema });
  await ledger.migrate();
  await pool.query(
    `INSERT INTO ${ledger.tableName} (id, user_id, provider, model, endpoint, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, total_tokens, estimated, status, latency_ms, created_at)
     SELECT id, 'old', 'openai', 'gpt-4o', 'chat', 1, 0, 0, 1, 0, 2, false, 'ok', 1, at::timestamptz
       FROM (VALUES ('y1900', '1900-06-01T00:00:00Z'), ('y1969a', '1969-12-30T10:00:00Z'), ('y1969b', '1969-12-31T23:59:59.999Z'), ('y1970', '1970-01-01T00:00:00Z')) AS v(id, at)`,
  );
  limiter = createTokenLimiter({ store: new MemoryStore(), ledger });
  bare = createTokenLimiter({ store: new MemoryStore() });
});
afterAll(async () => {
  await limiter?.close();
  await bare?.close();
  await dropSchema(pool, schema);
  await pool?.end();
});

describe('admin reads of records dated before 1970', () => {
  it('getUsageLog reads them from the ledger, as ledger.query counts them', async () => {
    const since = '1969-01-01';
    const until = new Date(-1);
    const records = await limiter.admin.getUsageLog({ userId: 'old', since, until, limit: 10 });
    expect(records.map((r) => [r.id, r.timestamp.toISOString()])).toEqual([
      ['y1969b', '1969-12-31T23:59:59.999Z'],
      ['y1969a', '1969-12-30T10:00:00.000Z'],
    ]);
    const [total] = await ledger.query({ userId: 'old', from: since, to: 0 });
    expect(total!.requests).toBe(records.length);
    expect((await limiter.admin.getUsageLog({ since: Date.UTC(1900, 0, 1), until: Date.UTC(1901, 0, 1) })).map((r) => r.id)).toEqual(['y1900']);
  });

  it('getUsageHistory and exportUsage read the same range', async () => {
    const points = await limiter.admin.getUsageHistory({ userId: 'old', from: '1969-12-01', to: '1970-01-01', granularity: 'day' });
    expect(points.map((p) => [p.time.toISOString(), p.requests])).toEqual([
      ['1969-12-30T00:00:00.000Z', 1],
      ['1969-12-31T00:00:00.000Z', 1],
    ]);
    let text = '';
    for await (const chunk of limiter.admin.exportUsage({ from: '1969-12-01', to: '1970-01-01T00:00:00.001Z', format: 'jsonl' })) text += String(chunk);
    expect(text.trim().split('\n').map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(['y1969a', 'y1969b', 'y1970']);
  });

  it('GET /log with a range before 1970 answers the records (it was a 400)', async () => {
    const handler = createAdminHandler({ limiter, authorize: () => ({ role: 'admin' }) });
    const res = await handler(new Request('http://api.test/log?userId=old&since=1969-12-01&until=1969-12-31T23:59:59.999Z'));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { records: Array<{ id: string }> }).records.map((r) => r.id)).toEqual(['y1969b', 'y1969a']);
  });

  it('without a ledger, a range before 1970 is an empty answer from the store (both stores), not an error', async () => {
    const prefix = uniquePrefix('admin-old-records');
    const onRedis = createTokenLimiter({ store: new RedisStore({ client, prefix }) });
    for (const l of [bare, onRedis]) {
      const r = await l.reserve('now', { tokens: 1 });
      await l.commit(r, { inputTokens: 1, outputTokens: 1, model: 'gpt-4o' });
      await expect(l.admin.getUsageLog({ since: '1969-01-01', until: '1969-12-31' })).resolves.toEqual([]);
      await expect(l.admin.getUsageLog({ userId: 'now', until: -1 })).resolves.toEqual([]);
      await expect(l.admin.getUsageHistory({ from: '1969-12-01', to: '1970-01-01', granularity: 'day' })).resolves.toEqual([]);
      await expect(l.admin.getUsageHistory({ userId: 'now', from: '1969-12-31T12:00Z', to: '1970-01-01T12:00Z', granularity: 'hour' })).resolves.toEqual([]);
    }
    await onRedis.close();
    await deleteKeysWithPrefix(client, prefix);
  });

  it('still refuses instants no record can have: before 4714-11-24 BC, NaN, beyond a Date', async () => {
    for (const since of [Date.UTC(-4713, 10, 23), Number.NaN, 8.64e15 + 1]) {
      const error = await limiter.admin.getUsageLog({ since }).then(() => undefined, (e: unknown) => e);
      expect(error, String(since)).toBeInstanceOf(InvalidArgumentError);
      expect(error, String(since)).toMatchObject({ parameter: 'options.since' });
    }
    await expect(limiter.admin.getUsageLog({ since: Date.UTC(-4713, 10, 24), until: -1, limit: 10 })).resolves.toHaveLength(3);
  });
});
