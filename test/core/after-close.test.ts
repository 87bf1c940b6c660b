import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createTokenLimiter, MemoryStore, RedisStore, type LedgerErrorEvent } from '../../src/index.js';
import { createPostgresLedger, type PostgresLedger } from '../../src/postgres/index.js';
import { connectPostgres, dropSchema, uniqueSchema } from '../helpers/postgres.js';
import { redisForThisFile, uniquePrefix } from '../helpers/redis.js';

// A call still running when `close()` returns (a shutdown that does not wait for every request)
// commits after it: its charge and its record must still land, though nothing runs in the
// background any more.

const redis = await redisForThisFile();
const pool = await connectPostgres();
const schemas: string[] = [];
afterAll(async () => {
  for (const schema of schemas) await dropSchema(pool, schema);
  await pool.end();
});

const LIMITS = [{ id: 'monthly', tokens: 1_000, period: 'month' as const }];
const USAGE = { inputTokens: 5, outputTokens: 5, model: 'gpt-4o-mini' };

async function newLedger(query?: pg.Pool['query'], pollMs = 60_000): Promise<PostgresLedger> {
  const schema = uniqueSchema();
  schemas.push(schema);
  const ledger = createPostgresLedger({ pool: (query ? { query } : pool) as pg.Pool, schema, drain: { pollMs } });
  await ledger.migrate();
  return ledger;
}

const rows = async (ledger: PostgresLedger, userId: string) => (await ledger.query({ userId, from: new Date(Date.now() - 60_000), to: new Date(Date.now() + 60_000) }))[0]?.requests ?? 0;

describe('a limiter after close()', () => {
  it('MemoryStore ledger: a commit made after close() is in the ledger when it resolves', async () => {
    const ledger = await newLedger();
    const limiter = createTokenLimiter({ store: new MemoryStore(), ledger, defaultLimits: LIMITS });
    const early = await limiter.reserve('closing-early', { tokens: 10 });
    await limiter.commit(early, USAGE);
    const late = await limiter.reserve('closing-late', { tokens: 10 });
    await limiter.close();
    expect(await rows(ledger, 'closing-early')).toBe(1);
    const record = await limiter.commit(late, USAGE);
    expect(record.totalTokens).toBe(10);
    expect(await rows(ledger, 'closing-late')).toBe(1);
    expect(await limiter.ledgerLag()).toMatchObject({ pending: 0 });
  });

  it('MemoryStore ledger down: a commit after close() still resolves, and the failure is reported', async () => {
    const failing = ((text: string, values?: unknown[]) => (text.startsWith('INSERT') ? Promise.reject(new Error('ledger down')) : pool.query(text, values))) as pg.Pool['query'];
    const ledger = await newLedger(failing, 20);
    const limiter = createTokenLimiter({ store: new MemoryStore(), ledger, defaultLimits: LIMITS, storeTimeoutMs: 300 });
    const errors: LedgerErrorEvent[] = [];
    limiter.on('ledger-error', (e) => errors.push(e));
    const late = await limiter.reserve('closing-down', { tokens: 10 });
    await limiter.close();
    await expect(limiter.commit(late, USAGE)).resolves.toMatchObject({ totalTokens: 10 });
    expect(errors.length).toBeGreaterThan(0);
    expect(await limiter.admin.getUsage('closing-down')).toMatchObject({ used: 10, reserved: 0 });
  });

  it('RedisStore: a commit after close() is charged, and reaches the aggregates over all users', async () => {
    const prefix = uniquePrefix('after-close');
    const limiter = createTokenLimiter({ store: new RedisStore({ client: redis, prefix }), defaultLimits: LIMITS });
    const late = await limiter.reserve('closing-redis', { tokens: 10 });
    await limiter.close();
    await limiter.commit(late, USAGE);
    await limiter.flush();
    const reader = createTokenLimiter({ store: new RedisStore({ client: redis, prefix }), defaultLimits: LIMITS });
    try {
      expect(await reader.admin.getUsage('closing-redis')).toMatchObject({ used: 10, reserved: 0 });
      expect(await reader.admin.getStats()).toMatchObject({ totalTokens: 10, users: 1 });
    } finally {
      await reader.close();
    }
  });
});
