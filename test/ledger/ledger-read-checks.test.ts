import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/index.js';
import { createPostgresLedger, type PostgresLedger } from '../../src/postgres/index.js';
import { connectPostgres, dropSchema, uniqueSchema } from '../helpers/postgres.js';

// The ledger's own reads, called directly (an operator's script, a custom dashboard), not through
// the admin functions: readLog with `since` after `until` answered [] ("no usage"), where
// admin.getUsageLog refuses the swapped dates; readHistory with `to` before `from` did the same.

let pool: pg.Pool;
let ledger: PostgresLedger;
const schema = uniqueSchema();
const T0 = Date.UTC(2026, 4, 1, 12);

beforeAll(async () => {
  pool = await connectPostgres();
  ledger = createPostgresLedger({ pool, schema, drain: false });
  await ledger.migrate();
  await pool.query(
    `INSERT INTO ${ledger.tableName} (id, user_id, provider, model, endpoint, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, total_tokens, estimated, status, latency_ms, created_at)
     VALUES ('r1', 'alice', 'openai', 'gpt-4o', 'chat', 1, 0, 0, 1, 0, 2, false, 'ok', 1, $1::timestamptz)`,
    [new Date(T0).toISOString()],
  );
});
afterAll(async () => {
  await dropSchema(pool, schema);
  await pool?.end();
});

async function refusal(run: () => Promise<unknown>): Promise<unknown> {
  return run().then(() => undefined, (e: unknown) => e);
}

describe('ledger.readLog and ledger.readHistory called directly', () => {
  it('readLog refuses since after until, naming since, as admin.getUsageLog does; both ends stay included', async () => {
    const error = await refusal(() => ledger.readLog({ since: T0 + 1, until: T0, limit: 10 }));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ parameter: 'options.since', message: expect.stringContaining('must not be after options.until') });
    expect((await ledger.readLog({ since: T0, until: T0, limit: 10 })).map((r) => r.id)).toEqual(['r1']);
    expect((await ledger.readLog({ userId: 'alice', limit: 10 })).map((r) => r.id)).toEqual(['r1']);
  });

  it('readLog refuses a limit or a date that is no number in range, and unknown options, before reading', async () => {
    const bad: Array<[string, Record<string, unknown>]> = [
      ['options.limit', { limit: 0 }],
      ['options.limit', { limit: Number.NaN }],
      ['options.limit', { limit: 10_001 }],
      ['options.limit', {}],
      ['options.since', { since: Number.NaN, limit: 1 }],
      ['options.until', { until: Number.POSITIVE_INFINITY, limit: 1 }],
      ['options.userId', { userId: '', limit: 1 }],
      ['options.sinc', { sinc: T0, limit: 1 }],
    ];
    for (const [parameter, query] of bad) {
      const error = await refusal(() => ledger.readLog(query as never));
      expect(error, parameter).toBeInstanceOf(InvalidArgumentError);
      expect(error, parameter).toMatchObject({ parameter });
    }
  });

  it('readHistory refuses to before from (and an unknown granularity), as query and export refuse a reversed range', async () => {
    const reversed = await refusal(() => ledger.readHistory({ from: T0 + 3_600_000, to: T0, granularity: 'hour' }));
    expect(reversed).toBeInstanceOf(InvalidArgumentError);
    expect(reversed).toMatchObject({ parameter: 'options.to' });
    await expect(ledger.query({ from: T0 + 1, to: T0 })).rejects.toMatchObject({ parameter: 'options.to' });
    expect(() => ledger.export({ from: T0 + 1, to: T0, format: 'csv' })).toThrow(InvalidArgumentError);
    await expect(ledger.readHistory({ from: T0, to: T0 + 1, granularity: 'week' as never })).rejects.toMatchObject({ parameter: 'options.granularity' });
    const points = await ledger.readHistory({ from: T0 - 3_600_000, to: T0 + 3_600_000, granularity: 'hour' });
    expect(points.map((p) => [p.time.getTime(), p.requests])).toEqual([[T0, 1]]);
  });
});
