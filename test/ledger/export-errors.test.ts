import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createTokenLimiter, MemoryStore, QuotaStoreError } from '../../src/index.js';
import { createPostgresLedger } from '../../src/postgres/index.js';
import { closedPort } from '../helpers/ports.js';

/**
 * `admin.exportUsage` read from the JavaScript API: a ledger that cannot be read fails the read with
 * the library's QuotaStoreError (code store_unavailable), as every other ledger read does, not with
 * the database driver's own error (which may carry its connection settings).
 */
const pools: pg.Pool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end().catch(() => {})));
});

describe('admin.exportUsage when the ledger cannot be read', () => {
  it('fails its first read with QuotaStoreError, the driver error reduced to its name and message', async () => {
    const pool = new pg.Pool({ connectionString: `postgres://reporter:s3cret-pass@127.0.0.1:${await closedPort()}/test`, connectionTimeoutMillis: 2_000 });
    pools.push(pool);
    const limiter = createTokenLimiter({ store: new MemoryStore(), ledger: createPostgresLedger({ pool }) });
    for (const format of ['csv', 'jsonl'] as const) {
      const rows = limiter.admin.exportUsage({ from: '2026-04-01T00:00:00Z', to: '2026-05-01T00:00:00Z', format });
      const chunks: unknown[] = [];
      const error = await (async () => {
        for await (const chunk of rows) chunks.push(chunk);
      })().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, format).toBeInstanceOf(QuotaStoreError);
      expect(error, format).toMatchObject({ code: 'store_unavailable', operation: 'admin.exportUsage', message: expect.stringMatching(/^The ledger failed on admin\.exportUsage: /) });
      const cause = (error as Error).cause as Record<string, unknown>;
      // The driver's error says where it connected: only its name and message are kept.
      expect(cause, format).not.toHaveProperty('address');
      expect(cause, format).not.toHaveProperty('port');
      expect(JSON.stringify(error) + String(cause.message), format).not.toContain('s3cret');
      // The CSV header is written before the database is asked: it is all a reader can have got.
      expect(chunks.join('').split('\n').filter((line) => line !== '').length, format).toBeLessThanOrEqual(format === 'csv' ? 1 : 0);
    }
    await limiter.close();
  });
});
