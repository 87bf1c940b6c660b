import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenLimiter, InvalidArgumentError } from '../../src/index.js';
import { createPostgresLedger, type PostgresLedger } from '../../src/postgres/index.js';
import { bothStores } from '../helpers/both-stores.js';
import { manualClock } from '../helpers/clock.js';
import { connectPostgres, dropSchema, uniqueSchema } from '../helpers/postgres.js';

// getUsageLog({ since, until }) with since after until (the dates swapped) answered [] on every
// store and on the ledger: an admin read "nothing was used" where they had asked a wrong question.
// It is refused as other bad dates are, naming since; since == until (both included) stays valid.

const stores = await bothStores('admin-log-range');
const T = Date.parse('2026-05-10T12:00:00.000Z');
let pool: pg.Pool;
let ledger: PostgresLedger;
const schema = uniqueSchema();

beforeAll(async () => {
  pool = await connectPostgres();
  ledger = createPostgresLedger({ pool, schema });
  await ledger.migrate();
});
afterAll(async () => {
  await dropSchema(pool, schema);
  await pool.end();
});

describe.each(stores)('getUsageLog with since after until ($name)', ({ create }) => {
  for (const withLedger of [false, true]) {
    it(`is refused with InvalidArgumentError naming since, ${withLedger ? 'with' : 'without'} a ledger; since == until is one instant`, async () => {
      const clock = manualClock(T);
      const limiter = createTokenLimiter({ store: create(), clock: clock.now, ...(withLedger ? { ledger } : {}) });
      await limiter.commit(await limiter.reserve('u', { tokens: 10 }), { inputTokens: 4, outputTokens: 6 });
      const at = (await limiter.admin.getUsageLog({ userId: 'u' }))[0]!.timestamp.getTime();
      const swapped: Array<[Record<string, unknown>, unknown]> = [
        [{ since: at + 1, until: at }, at + 1],
        [{ userId: 'u', since: new Date(at + 1), until: new Date(at) }, new Date(at + 1)],
        [{ since: '2026-05-11', until: '2026-05-10T23:59:59.999Z' }, '2026-05-11'],
        // Both ends older than the store's log retention: the ledger's read, with one.
        [{ since: T - 90 * 86_400_000, until: T - 91 * 86_400_000 }, T - 90 * 86_400_000],
      ];
      for (const [options, since] of swapped) {
        const refused = await limiter.admin.getUsageLog(options).catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(InvalidArgumentError);
        expect(refused).toMatchObject({ code: 'invalid_argument', parameter: 'options.since', value: since });
      }
      expect((await limiter.admin.getUsageLog({ since: at, until: at })).map((r) => r.totalTokens)).toEqual([10]);
      expect((await limiter.admin.getUsageLog({ userId: 'u', since: new Date(at), until: new Date(at) })).map((r) => r.totalTokens)).toEqual([10]);
      await limiter.close();
    });
  }
});
