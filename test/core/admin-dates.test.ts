import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenLimiter, InvalidArgumentError, MemoryStore, type TokenLimiter } from '../../src/index.js';
import { createPostgresLedger, type PostgresLedger } from '../../src/postgres/index.js';
import { connectPostgres, dropSchema, uniqueSchema } from '../helpers/postgres.js';

// A date given as ms since the epoch beyond the latest instant a Date holds (8.64e15) is no date.
// The admin reads took it: with a ledger, a log read reaching past the store's retention sent it
// to PostgreSQL as an invalid timestamp, and failed as a store error (QuotaStoreError) instead of
// refusing the argument.

let pool: pg.Pool;
let ledger: PostgresLedger;
let limiter: TokenLimiter;
const schema = uniqueSchema();

beforeAll(async () => {
  pool = await connectPostgres();
  ledger = createPostgresLedger({ pool, schema });
  await ledger.migrate();
  limiter = createTokenLimiter({ store: new MemoryStore(), ledger });
});
afterAll(async () => {
  await limiter?.close();
  await dropSchema(pool, schema);
  await pool.end();
});

describe('admin dates beyond the range of a Date', () => {
  it('are refused with InvalidArgumentError naming the parameter, before anything is read', async () => {
    for (const [options, parameter] of [
      [{ since: 0, until: 1e17 }, 'options.until'],
      [{ since: 8.64e15 + 1 }, 'options.since'],
      [{ userId: 'u', until: Number.MAX_SAFE_INTEGER }, 'options.until'],
    ] as const) {
      const refused = await limiter.admin.getUsageLog(options).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(InvalidArgumentError);
      expect(refused).toMatchObject({ code: 'invalid_argument', parameter });
    }
    await expect(limiter.admin.getUsageHistory({ from: 1e17, to: 1e17 + 3_600_000, granularity: 'hour' })).rejects.toMatchObject({ code: 'invalid_argument', parameter: 'options.from' });
    expect(() => limiter.admin.exportUsage({ from: 0, to: 1e17, format: 'csv' })).toThrow(InvalidArgumentError);
    // The latest instant itself is a date.
    await expect(limiter.admin.getUsageLog({ since: 0, until: 8.64e15 })).resolves.toEqual([]);
    await expect(limiter.admin.getUsageLog({ since: new Date(8.64e15) })).resolves.toEqual([]);
  });
});
