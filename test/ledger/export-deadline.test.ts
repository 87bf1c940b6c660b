import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenLimiter, MemoryStore, QuotaStoreError, type TokenLimiter } from '../../src/index.js';
import { createAdminHandler } from '../../src/integrations/http/index.js';
import { createPostgresLedger, type PostgresLedger } from '../../src/postgres/index.js';
import { connectPostgres, DATABASE_URL, dropSchema, uniqueSchema } from '../helpers/postgres.js';

// The first read of a usage export had no deadline of its own: a ledger that did not answer (here
// its table locked by another session, as a long migration or a VACUUM FULL holds it) held
// admin.exportUsage and GET /export until the pg pool's own timeouts, which by default never end.
// It now fails within storeTimeoutMs with QuotaStoreError, as every other ledger read does.

let pool: pg.Pool;
let locker: pg.Client;
let ledger: PostgresLedger;
let limiter: TokenLimiter;
const schema = uniqueSchema();
const TIMEOUT = 400;
const RANGE = { from: '2026-04-01T00:00:00Z', to: '2026-05-01T00:00:00Z' };

beforeAll(async () => {
  pool = await connectPostgres();
  locker = new pg.Client({ connectionString: DATABASE_URL });
  await locker.connect();
  ledger = createPostgresLedger({ pool, schema });
  await ledger.migrate();
  await pool.query(
    `INSERT INTO ${ledger.tableName} (id, user_id, provider, model, endpoint, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, total_tokens, estimated, status, latency_ms, created_at)
     SELECT 'r' || i, 'alice', 'openai', 'gpt-4o', 'chat', 1, 0, 0, 1, 0, 2, false, 'ok', 1, '2026-04-10T00:00:00Z'::timestamptz + i * interval '1 minute'
       FROM generate_series(1, 3) AS i`,
  );
  limiter = createTokenLimiter({ store: new MemoryStore(), ledger, storeTimeoutMs: TIMEOUT });
});
afterAll(async () => {
  await locker?.query('ROLLBACK').catch(() => {});
  await locker?.end().catch(() => {});
  await limiter?.close();
  await dropSchema(pool, schema);
  await pool?.end();
});

async function whileLocked<T>(run: () => Promise<T>): Promise<T> {
  await locker.query('BEGIN');
  await locker.query(`LOCK TABLE ${ledger.tableName} IN ACCESS EXCLUSIVE MODE`);
  try {
    return await run();
  } finally {
    await locker.query('ROLLBACK');
  }
}

async function drain(rows: AsyncIterable<string | Uint8Array>): Promise<string> {
  let text = '';
  for await (const chunk of rows) text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
  return text;
}

describe('the first read of a usage export has a deadline: storeTimeoutMs', () => {
  it('admin.exportUsage fails with QuotaStoreError within storeTimeoutMs while the ledger does not answer, then reads again', async () => {
    for (const format of ['csv', 'jsonl'] as const) {
      const started = Date.now();
      const error = await whileLocked(() => drain(limiter.admin.exportUsage({ ...RANGE, format })).then(() => undefined, (e: unknown) => e));
      const took = Date.now() - started;
      expect(error, format).toBeInstanceOf(QuotaStoreError);
      expect(error, format).toMatchObject({ code: 'store_unavailable', operation: 'admin.exportUsage', message: `The ledger did not answer admin.exportUsage within ${TIMEOUT} ms` });
      expect(took, format).toBeGreaterThanOrEqual(TIMEOUT - 20);
      expect(took, format).toBeLessThan(TIMEOUT + 1_500);
    }
    // The lock gone, the same export reads every row.
    expect((await drain(limiter.admin.exportUsage({ ...RANGE, format: 'jsonl' }))).trim().split('\n')).toHaveLength(3);
    expect((await drain(limiter.admin.exportUsage({ ...RANGE, format: 'csv' }))).trim().split('\n')).toHaveLength(4);
  });

  it('GET /export answers 503 store_unavailable as JSON within storeTimeoutMs, no file started', async () => {
    const handler = createAdminHandler({ limiter, authorize: () => ({ role: 'admin' }) });
    const started = Date.now();
    const res = await whileLocked(() => handler(new Request(`http://api.test/export?from=${RANGE.from}&to=${RANGE.to}`)));
    expect(Date.now() - started).toBeLessThan(TIMEOUT + 1_500);
    expect(res.status).toBe(503);
    expect(res.headers.get('content-disposition')).toBeNull();
    expect(await res.json()).toMatchObject({ code: 'store_unavailable' });
  });
});
