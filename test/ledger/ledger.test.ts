import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenLimiter, InvalidArgumentError, MemoryStore, RedisStore, type LedgerErrorEvent, type LedgerLag, type QuotaStore, type StoreErrorEvent, type TokenLimiter } from '../../src/index.js';
import { createPostgresLedger, type PostgresLedger } from '../../src/postgres/index.js';
import { manualClock } from '../helpers/clock.js';
import { MAX_COST_USD } from '../../src/kernel/units.js';
import { LEDGER_DEAD_LETTER, LEDGER_READ } from '../../src/stores/redis/lua/ledger.js';
import { defineScript } from '../../src/stores/redis/scripts.js';
import { connectPostgres, DATABASE_URL, dropSchema, uniqueSchema } from '../helpers/postgres.js';
import { connectRedis, uniquePrefix } from '../helpers/redis.js';
import { startRedisServer } from '../support/index.js';

let pool: pg.Pool;
let redis: Redis;
const schemas: string[] = [];
const limiters: TokenLimiter[] = [];

beforeAll(async () => {
  pool = await connectPostgres();
  redis = await connectRedis();
});
afterAll(async () => {
  await Promise.all(limiters.map((l) => l.close().catch(() => {})));
  for (const schema of schemas) await dropSchema(pool, schema);
  await pool?.end();
  redis?.disconnect();
});

async function newLedger(options: { drain?: Parameters<typeof createPostgresLedger>[0]['drain']; pool?: pg.Pool | { query: pg.Pool['query'] } } = {}): Promise<PostgresLedger> {
  const schema = uniqueSchema();
  schemas.push(schema);
  const ledger = createPostgresLedger({ pool: (options.pool ?? pool) as pg.Pool, schema, drain: options.drain ?? { pollMs: 20, claimIdleMs: 500 } });
  await ledger.migrate();
  return ledger;
}

function track(limiter: TokenLimiter): TokenLimiter {
  limiters.push(limiter);
  return limiter;
}

const STORES: Array<[string, () => QuotaStore]> = [
  ['MemoryStore', () => new MemoryStore()],
  ['RedisStore', () => new RedisStore({ client: redis, prefix: uniquePrefix('tl-ledger') })],
];

/** One reserve + commit of `input` + `output` tokens at $1 per million tokens. */
async function call(limiter: TokenLimiter, userId: string, input: number, output: number, model = 'gpt-4o') {
  const reservation = await limiter.reserve(userId, { tokens: input + output });
  return limiter.commit(reservation, { inputTokens: input, outputTokens: output, model, provider: 'openai', costUsd: (input + output) / 1_000_000 });
}

async function rowCount(ledger: PostgresLedger): Promise<{ rows: number; ids: number }> {
  const { rows } = await pool.query(`SELECT count(*)::int AS rows, count(DISTINCT id)::int AS ids FROM ${ledger.tableName}`);
  return rows[0] as { rows: number; ids: number };
}

describe.each(STORES)('ledger over %s', (_name, makeStore) => {
  it('writes every committed record once, with its fields, and reconciles with the store', async () => {
    const ledger = await newLedger();
    const limiter = track(createTokenLimiter({ store: makeStore(), ledger, defaultLimits: [{ id: 'm', tokens: 1_000_000, period: 'month' }] }));
    const records = [];
    for (let i = 0; i < 30; i += 1) records.push(await call(limiter, `u${i % 3}`, 10 + i, 5, i % 2 === 0 ? 'gpt-4o' : 'gpt-4o-mini'));
    await limiter.flushLedger();
    expect(await rowCount(ledger)).toEqual({ rows: 30, ids: 30 });
    const { rows } = await pool.query(`SELECT * FROM ${ledger.tableName} WHERE id = $1`, [records[4]!.id]);
    expect(rows[0]).toMatchObject({
      id: records[4]!.id,
      user_id: 'u1',
      account_id: null,
      provider: 'openai',
      model: 'gpt-4o',
      input_tokens: '14',
      output_tokens: '5',
      total_tokens: '19',
      cost_micros: '19',
      estimated: false,
      status: 'ok',
    });
    expect((rows[0] as { created_at: Date }).created_at.getTime()).toBe(records[4]!.timestamp.getTime());
    const [total] = await ledger.query({ from: 0, to: Date.now() + 3_600_000 });
    expect(total).toMatchObject({ requests: 30, totalTokens: 30 * 15 + 435, costMicros: 30 * 15 + 435 });
    const byModel = await ledger.query({ userId: 'u0', from: 0, to: Date.now() + 3_600_000, groupBy: 'model' });
    expect(byModel.map((r) => [r.model, r.requests])).toEqual([['gpt-4o', 5], ['gpt-4o-mini', 5]]);
    const usage = await limiter.admin.getUsage('u2');
    const [u2] = await ledger.query({ userId: 'u2', from: 0, to: Date.now() + 3_600_000 });
    expect(u2!.totalTokens).toBe(usage.used);
    expect(await ledger.reconcile({ from: Date.now() - 3_600_000, to: Date.now() + 60_000 })).toEqual([]);
    expect(await limiter.ledgerLag()).toMatchObject({ pending: 0, written: 30, failures: 0 });
  });

  it('never writes a record twice: replayed commits, and a drainer that crashed between insert and ack', async () => {
    const store = makeStore();
    // MemoryStore's queue can only be drained by its own process: a drainer that never runs stands in for "drain: false".
    const ledger = await newLedger({ drain: store.kind === 'memory' ? { pollMs: 60_000, claimIdleMs: 60_000 } : false });
    const appender = track(createTokenLimiter({ store, ledger }));
    // Its drainer's first cycle runs as it starts: let it pass on the empty feed (the commits below
    // each wait for a turn of the event loop, in which that cycle would otherwise take some).
    await new Promise((resolve) => setTimeout(resolve, 50));
    const reservation = await appender.reserve('dup', { tokens: 10 });
    const usage = { inputTokens: 3, outputTokens: 4, model: 'gpt-4o', costUsd: 0.000007 };
    await appender.commit(reservation, usage);
    await appender.commit(reservation, usage);
    for (let i = 0; i < 9; i += 1) await call(appender, 'dup', 1, 1);
    // A drainer reads and writes, then dies before acknowledging: the records stay in the feed.
    const feed = store.ledgerFeed!;
    const taken = await feed.read('crashed', 100, 0);
    expect(taken).toHaveLength(10);
    const half = taken.slice(0, 5).map((e) => JSON.parse(e.record) as { id: string });
    await pool.query(
      `INSERT INTO ${ledger.tableName} (id, user_id, provider, model, endpoint, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, total_tokens, estimated, status, latency_ms, created_at)
       SELECT id, 'dup', 'openai', 'gpt-4o', 'x', 0, 0, 0, 0, 0, 0, false, 'ok', 0, now() FROM unnest($1::text[]) AS id`,
      [half.map((r) => r.id)],
    );
    // Another process takes the unacknowledged records over once they are idle.
    const drainer = track(createTokenLimiter({ store, ledger: createPostgresLedger({ pool, schema: ledger.tableName.split('"')[1]!, drain: { pollMs: 20, claimIdleMs: 200 } }) }));
    await drainer.flushLedger();
    expect(await rowCount(ledger)).toEqual({ rows: 10, ids: 10 });
    expect((await feed.lag()).pending).toBe(0);
  });

  it('keeps records while the database fails, reports it, and writes them all once it is back', async () => {
    let failing = true;
    const flaky = {
      query: ((text: string, values?: unknown[]) =>
        failing && text.startsWith('INSERT') ? Promise.reject(new Error('connection refused')) : pool.query(text, values)) as pg.Pool['query'],
    };
    const ledger = await newLedger({ pool: flaky, drain: { pollMs: 10, claimIdleMs: 100_000 } });
    const limiter = track(createTokenLimiter({ store: makeStore(), ledger }));
    const errors: LedgerErrorEvent[] = [];
    limiter.on('ledger-error', (e) => errors.push(e));
    // At once, so that the 20 commits land in one turn of the event loop, before the drainer's next cycle.
    await Promise.all(Array.from({ length: 20 }, () => call(limiter, 'pgdown', 2, 3)));
    await expect.poll(() => errors.length, { timeout: 5_000 }).toBeGreaterThan(1);
    expect(errors[0]).toMatchObject({ policy: 'retrying', records: 20 });
    expect(await limiter.ledgerLag()).toMatchObject({ pending: 20 });
    expect((await limiter.ledgerLag())!.failures).toBeGreaterThan(0);
    expect(await rowCount(ledger)).toEqual({ rows: 0, ids: 0 });
    failing = false;
    await limiter.flushLedger();
    expect(await rowCount(ledger)).toEqual({ rows: 20, ids: 20 });
    expect(await limiter.ledgerLag()).toMatchObject({ pending: 0, failures: 0 });
  });

  /** The store, its ledger feed's `method` failing (a Redis that went away) until `heal()`; `calls()` counts its calls. */
  function storeFailingFeed(method: 'read' | 'ack') {
    const store = makeStore();
    const feed = store.ledgerFeed!;
    let failing = true;
    let calls = 0;
    const flakyFeed = new Proxy(feed, {
      get(target, key) {
        if (key === method) {
          const real = (target[method] as (...a: unknown[]) => Promise<unknown>).bind(target);
          return (...args: unknown[]) => (calls++, failing ? Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6399')) : real(...args));
        }
        const value = Reflect.get(target, key, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const flaky = new Proxy(store, {
      get(target, key) {
        if (key === 'ledgerFeed') return flakyFeed;
        const value = Reflect.get(target, key, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    return { store: flaky, calls: () => calls, heal: () => (failing = false) };
  }

  it('reports a feed it cannot read as retrying, backs off, and drains once it reads again', async () => {
    // The store's feed, failing its reads (a Redis that went away).
    const { store: flaky, calls: reads, heal } = storeFailingFeed('read');
    const ledger = await newLedger({ drain: { pollMs: 10, claimIdleMs: 100_000 } });
    const limiter = track(createTokenLimiter({ store: flaky, ledger }));
    const errors: LedgerErrorEvent[] = [];
    limiter.on('ledger-error', (e) => errors.push(e));
    await call(limiter, 'feeddown', 2, 3);
    await expect.poll(() => errors.length, { timeout: 5_000 }).toBeGreaterThan(0);
    expect(errors[0]).toMatchObject({ policy: 'retrying', records: 0, error: { message: expect.stringContaining('ECONNREFUSED') } });
    expect((await limiter.ledgerLag())!.failures).toBeGreaterThan(0);
    // Backing off (10, 20, 40... ms), not polling every 10 ms: about 30 reads in 300 ms without.
    const before = reads();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(reads() - before).toBeLessThan(10);
    heal();
    await limiter.flushLedger();
    expect(await rowCount(ledger)).toEqual({ rows: 1, ids: 1 });
    expect(await limiter.ledgerLag()).toMatchObject({ pending: 0, failures: 0 });
  });

  it('reports a batch it wrote but cannot acknowledge as retrying, backs off, and acknowledges it once the feed answers', async () => {
    // The store's feed, failing its acknowledgements (a Redis that went away after the write).
    const { store: flaky, calls: acks, heal } = storeFailingFeed('ack');
    const ledger = await newLedger({ drain: { pollMs: 10, claimIdleMs: 100_000 } });
    const limiter = track(createTokenLimiter({ store: flaky, ledger }));
    const errors: LedgerErrorEvent[] = [];
    limiter.on('ledger-error', (e) => errors.push(e));
    await call(limiter, 'ackdown', 2, 3);
    await expect.poll(() => errors.length, { timeout: 5_000 }).toBeGreaterThan(0);
    expect(errors[0]).toMatchObject({ policy: 'retrying', records: 1, error: { message: expect.stringContaining('ECONNREFUSED') } });
    expect((await limiter.ledgerLag())!.failures).toBeGreaterThan(0);
    // Backing off, not writing the batch again every 10 ms: about 30 tries in 300 ms without.
    const before = acks();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(acks() - before).toBeLessThan(10);
    heal();
    await limiter.flushLedger();
    expect(await rowCount(ledger)).toEqual({ rows: 1, ids: 1 });
    expect(await limiter.ledgerLag()).toMatchObject({ pending: 0, failures: 0 });
  });

  it('records the account a member was charged to', async () => {
    const ledger = await newLedger();
    const limiter = track(createTokenLimiter({ store: makeStore(), ledger }));
    await limiter.admin.setAccountLimits('acme', [{ id: 'a', tokens: 100_000, period: 'month' }]);
    await limiter.admin.setAccount('member', 'acme');
    await call(limiter, 'member', 5, 5);
    await call(limiter, 'loner', 5, 5);
    await limiter.flushLedger();
    const [acme] = await ledger.query({ accountId: 'acme', from: 0, to: Date.now() + 60_000 });
    expect(acme).toMatchObject({ requests: 1, totalTokens: 10 });
    const { rows } = await pool.query(`SELECT user_id, account_id FROM ${ledger.tableName} ORDER BY user_id`);
    expect(rows).toEqual([
      { user_id: 'loner', account_id: null },
      { user_id: 'member', account_id: 'acme' },
    ]);
  });

  it("exports a user's month as CSV and JSON lines that match ledger.query", async () => {
    const clock = manualClock('2026-03-30T22:00:00Z');
    const ledger = await newLedger();
    const limiter = track(createTokenLimiter({ store: makeStore(), ledger, clock: clock.now, defaultLimits: [{ id: 'm', tokens: 10_000_000, period: 'month' }] }));
    for (let i = 0; i < 60; i += 1) {
      await call(limiter, i % 2 === 0 ? 'csv-user' : 'other', 100 + i, 7 * i, i % 3 === 0 ? 'gpt-4o' : 'model,with "quotes"');
      clock.advance(3_600_000 * 2);
    }
    await limiter.flushLedger();
    const from = new Date('2026-04-01T00:00:00Z');
    const to = new Date('2026-05-01T00:00:00Z');
    const [total] = await ledger.query({ userId: 'csv-user', from, to });
    const byDay = await ledger.query({ userId: 'csv-user', from, to, groupBy: 'day' });
    expect(total!.requests).toBeGreaterThan(10);
    expect(total!.requests).toBeLessThan(30);

    const csv = await text(ledger.export({ userId: 'csv-user', from, to, format: 'csv' }));
    const [header, ...lines] = parseCsv(csv);
    expect(header).toEqual(expect.arrayContaining(['id', 'user_id', 'model', 'total_tokens', 'cost_micros', 'created_at']));
    const col = (name: string) => header!.indexOf(name);
    expect(lines).toHaveLength(total!.requests);
    expect(lines.every((l) => l[col('user_id')] === 'csv-user')).toBe(true);
    expect(lines.every((l) => l[col('created_at')]! >= from.toISOString() && l[col('created_at')]! < to.toISOString())).toBe(true);
    const sum = (name: string) => lines.reduce((s, l) => s + Number(l[col(name)]), 0);
    expect({ tokens: sum('total_tokens'), input: sum('input_tokens'), output: sum('output_tokens'), cost: sum('cost_micros') }).toEqual({
      tokens: total!.totalTokens,
      input: total!.inputTokens,
      output: total!.outputTokens,
      cost: total!.costMicros,
    });
    expect(byDay.reduce((s, d) => s + d.totalTokens, 0)).toBe(total!.totalTokens);
    expect(new Set(lines.map((l) => l[col('model')]))).toEqual(new Set(['gpt-4o', 'model,with "quotes"']));

    const jsonl = (await text(ledger.export({ userId: 'csv-user', from, to, format: 'jsonl' }))).trim().split('\n').map((l) => JSON.parse(l) as { total_tokens: number });
    expect(jsonl.reduce((s, r) => s + r.total_tokens, 0)).toBe(total!.totalTokens);
  });

  it('reconciles a range that starts long before the store kept anything, as fast as a recent one', async () => {
    const ledger = await newLedger();
    const limiter = track(createTokenLimiter({ store: makeStore(), ledger }));
    for (const user of ['early-1', 'early-2']) await call(limiter, user, 3, 4);
    await limiter.flushLedger();
    await pool.query(`DELETE FROM ${ledger.tableName} WHERE user_id = 'early-2'`);
    const started = Date.now();
    // From 4000 BC: the store's history was read a month at a time over all of it (73,000 reads per user).
    const differences = await ledger.reconcile({ from: Date.UTC(-4_000, 0, 1), to: Date.now() + 60_000 });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(differences).toEqual([{ userId: 'early-2', ledger: { requests: 0, totalTokens: 0, costMicros: 0 }, store: { requests: 1, totalTokens: 7, costMicros: 7 } }]);
  });

  it('answers admin log and history reads past the store retention from the ledger', async () => {
    const clock = manualClock('2026-01-10T10:00:00Z');
    const ledger = await newLedger();
    const limiter = track(createTokenLimiter({ store: makeStore(), ledger, clock: clock.now, usageLog: { retentionDays: 1 } }));
    await call(limiter, 'old', 10, 10);
    await limiter.flushLedger();
    clock.advance(90 * 86_400_000);
    await call(limiter, 'old', 1, 1);
    await limiter.flushLedger();
    const since = new Date('2026-01-01T00:00:00Z');
    const log = await limiter.admin.getUsageLog({ userId: 'old', since, limit: 10 });
    expect(log.map((r) => r.totalTokens)).toEqual([2, 20]);
    const history = await limiter.admin.getUsageHistory({ userId: 'old', from: '2026-01-10T00:00:00Z', to: '2026-01-11T00:00:00Z', granularity: 'hour' });
    expect(history).toEqual([expect.objectContaining({ time: new Date('2026-01-10T10:00:00Z'), requests: 1, totalTokens: 20, costUsd: 0.00002 })]);
  });

  it('reads a log range past the store retention with both ends included, as the stores do', async () => {
    const clock = manualClock('2026-01-10T10:00:00Z');
    const ledger = await newLedger();
    const limiter = track(createTokenLimiter({ store: makeStore(), ledger, clock: clock.now, usageLog: { retentionDays: 1 } }));
    await call(limiter, 'ends', 10, 10);
    clock.advance(1000);
    await call(limiter, 'ends', 5, 5);
    await limiter.flushLedger();
    clock.advance(90 * 86_400_000);
    // Both records are past the store's retention: the ledger answers, for the instants of each.
    const range = { userId: 'ends', since: new Date('2026-01-10T10:00:00Z'), until: new Date('2026-01-10T10:00:01Z'), limit: 10 };
    expect((await limiter.admin.getUsageLog(range)).map((r) => r.totalTokens)).toEqual([10, 20]);
    expect((await limiter.admin.getUsageLog({ ...range, until: range.since })).map((r) => r.totalTokens)).toEqual([20]);
  });
});

describe('RedisStore ledger streams', () => {
  it('forget readers that ended with nothing pending, and keep the others', async () => {
    const prefix = uniquePrefix('tl-ledger');
    const store = new RedisStore({ client: redis, prefix });
    const ledger = await newLedger({ drain: false });
    const limiter = track(createTokenLimiter({ store, ledger }));
    for (let i = 0; i < 4; i += 1) await call(limiter, 'prune-me', 1, 1);
    const feed = store.ledgerFeed;
    await feed.ack(await feed.read('ended', 2, 60_000));
    const held = await feed.read('holder', 2, 60_000);
    expect(held).toHaveLength(2);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(await feed.prune!(10)).toBe(1);
    const [stream] = await redis.smembers(`${prefix}:{g}:lqs`);
    const consumers = (await redis.xinfo('CONSUMERS', stream!, 'g')) as unknown[][];
    expect(consumers.map((c) => c[1])).toEqual(['holder']);
    expect(await feed.prune!(60_000)).toBe(0);
  });
});

describe('RedisStore ledger streams after the data was lost', () => {
  it('drain the records committed after a Redis restart without persistence, by a process that had indexed their stream', async () => {
    const server = await startRedisServer({ persistence: 'none' });
    try {
      const client = server.client();
      const ledger = await newLedger({ drain: { pollMs: 20, claimIdleMs: 500 } });
      const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix: 'lost' }), ledger });
      try {
        for (let i = 0; i < 3; i += 1) await call(limiter, 'survivor', 1, 1);
        await limiter.flushLedger(5_000);
        await server.restart(); // the index, the streams and the counters are gone
        await new Promise((resolve) => setTimeout(resolve, 2_500)); // the drainer has read the (empty) index again
        // The same slot's stream: this process knew it indexed, and appended to it without indexing it again.
        for (let i = 0; i < 3; i += 1) await call(limiter, 'survivor', 1, 1);
        await expect.poll(async () => (await rowCount(ledger)).rows, { timeout: 15_000, interval: 200 }).toBe(6);
        expect(await rowCount(ledger)).toEqual({ rows: 6, ids: 6 });
      } finally {
        await limiter.close();
      }
    } finally {
      await server.stop();
    }
  }, 30_000);
});

describe('RedisStore ledger streams that filled Redis', () => {
  it('drain once PostgreSQL is back, though Redis refuses writes for want of memory', async () => {
    const server = await startRedisServer({ args: ['--maxmemory', '3mb', '--maxmemory-policy', 'noeviction'] });
    try {
      let down = true;
      const flaky = { query: ((text: string, values?: unknown[]) => (down && text.startsWith('INSERT') ? Promise.reject(new Error('database down')) : pool.query(text, values))) as pg.Pool['query'] };
      // The drainer's own rounds are a minute apart: flushLedger is what drains here.
      const ledger = await newLedger({ pool: flaky, drain: { pollMs: 60_000, batchSize: 100 } });
      const limiter = createTokenLimiter({ store: new RedisStore({ client: server.client(), prefix: 'full' }), ledger, storeTimeoutMs: 1_000 });
      try {
        // PostgreSQL is down: records wait in the streams until Redis is full and refuses calls.
        let committed = 0;
        for (let refused = false; !refused && committed < 20_000; ) {
          try {
            await limiter.commit(await limiter.reserve(`full-${committed % 50}`, { tokens: 5 }), { inputTokens: 1, outputTokens: 1, model: 'm'.repeat(200) });
            committed += 1;
          } catch (error) {
            expect((error as Error).message).toContain('OOM');
            refused = true;
          }
        }
        expect(committed).toBeGreaterThan(100);
        down = false;
        // The drain's read and acknowledgement were refused as writes (OOM), so nothing could free
        // Redis; and flushLedger, whose flush of this process's aggregates Redis refuses, drains the
        // feed all the same (it may then reject for those aggregates).
        await limiter.flushLedger(15_000).catch(() => {});
        expect((await rowCount(ledger)).rows).toBeGreaterThanOrEqual(committed);
        await expect.poll(async () => (await limiter.ledgerLag())!.pending, { timeout: 15_000, interval: 200 }).toBe(0);
        const { rows, ids } = await rowCount(ledger);
        expect(rows).toBe(ids);
        expect(await ledger.reconcile({ from: Date.now() - 3_600_000, to: Date.now() + 60_000 })).toEqual([]);
      } finally {
        await limiter.close();
      }
    } finally {
      await server.stop();
    }
  }, 60_000);
});

describe('ledger-lag', () => {
  it.each(STORES)('is emitted by draining processes over %s, with the figures', async (_name, makeStore) => {
    const ledger = await newLedger({ drain: { pollMs: 20, lagReportMs: 50 } });
    const limiter = track(createTokenLimiter({ store: makeStore(), ledger }));
    const lags: LedgerLag[] = [];
    limiter.on('ledger-lag', (lag) => lags.push(lag));
    for (let i = 0; i < 5; i += 1) await call(limiter, 'lagging', 1, 1);
    await limiter.flushLedger();
    await expect.poll(() => lags.at(-1), { timeout: 5_000 }).toMatchObject({ pending: 0, oldestMs: null, written: 5, failures: 0 });
  });
});

describe('ledger-lag listeners that throw', () => {
  it('never cause an unhandled rejection, even with a logger that throws too', async () => {
    const ledger = await newLedger({ drain: { pollMs: 20, lagReportMs: 20 } });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const failing = () => {
        throw new Error('the logger is down');
      };
      const limiter = track(createTokenLimiter({ store: new MemoryStore(), ledger, logger: { debug: failing, info: failing, warn: failing, error: failing } }));
      let reports = 0;
      limiter.on('ledger-lag', () => {
        reports += 1;
        throw new Error('a bug in the listener');
      });
      await expect.poll(() => reports, { timeout: 5_000 }).toBeGreaterThan(2);
      await limiter.close();
      await new Promise((resolve) => setTimeout(resolve, 50));
      // Each report rejected a promise nobody handled (a process on Node's defaults ends there).
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('MemoryStore ledger queue', () => {
  it('is written out when the limiter closes', async () => {
    const ledger = await newLedger({ drain: { pollMs: 60_000 } });
    const limiter = createTokenLimiter({ store: new MemoryStore(), ledger });
    await new Promise((resolve) => setTimeout(resolve, 500)); // the drainer's first (empty) read is done; the next is a minute away
    for (let i = 0; i < 7; i += 1) await call(limiter, 'closing', 1, 1);
    expect((await limiter.ledgerLag())!.pending).toBe(7);
    await limiter.close();
    expect(await rowCount(ledger)).toEqual({ rows: 7, ids: 7 });
  });

  it('is bounded: past maxQueue the oldest records are dropped, and reported', async () => {
    let failing = true;
    const flaky = { query: ((text: string, values?: unknown[]) => (failing && text.startsWith('INSERT') ? Promise.reject(new Error('down')) : pool.query(text, values))) as pg.Pool['query'] };
    const ledger = await newLedger({ pool: flaky, drain: { pollMs: 10, maxQueue: 5, batchSize: 2 } });
    const limiter = track(createTokenLimiter({ store: new MemoryStore(), ledger }));
    const dropped: LedgerErrorEvent[] = [];
    limiter.on('ledger-error', (e) => e.policy === 'dropped' && dropped.push(e));
    await call(limiter, 'bounded', 1, 1);
    await expect.poll(async () => (await limiter.ledgerLag())!.failures, { timeout: 5_000 }).toBeGreaterThan(0);
    for (let i = 1; i < 12; i += 1) await call(limiter, 'bounded', 1, 1);
    expect((await limiter.ledgerLag())!.pending).toBeLessThanOrEqual(5 + 2); // the bound, plus the batch being written
    await expect.poll(() => dropped.reduce((n, e) => n + e.records, 0), { timeout: 5_000 }).toBeGreaterThan(0);
    failing = false;
    await limiter.flushLedger();
    const { rows, ids } = await rowCount(ledger);
    expect(rows).toBe(ids);
    expect(rows + dropped.reduce((n, e) => n + e.records, 0)).toBe(12);
  });
});

describe('RedisStore ledger feed', () => {
  it('drains the streams it can read when one of them cannot be read (a key of another type in the index)', async () => {
    const ledger = await newLedger({ drain: { pollMs: 60_000 } });
    const prefix = uniquePrefix('ledger-bad-stream');
    const limiter = track(createTokenLimiter({ store: new RedisStore({ client: redis, prefix }), ledger }));
    for (let i = 0; i < 20; i += 1) await call(limiter, `reader-${i}`, 1, 1);
    // A damaged index: it names a key that is not a stream (every read of it fails, WRONGTYPE).
    await redis.set(`${prefix}:{l0}:not-a-stream`, 'x');
    await redis.sadd(`${prefix}:{g}:lqs`, `${prefix}:{l0}:not-a-stream`);
    // Every record of the readable streams is written; the unreadable one is still reported.
    await expect(limiter.flushLedger(2_000)).rejects.toThrow(/WRONGTYPE/);
    expect(await rowCount(ledger)).toEqual({ rows: 20, ids: 20 });
  });
});

describe('RedisStore ledger entries that are no records', () => {
  it('are moved to a dead-letter stream and reported as ledger-error, and the records beside them are written', async () => {
    const ledger = await newLedger({ drain: { pollMs: 20, claimIdleMs: 200 } });
    const prefix = uniquePrefix('ledger-dead');
    const limiter = track(createTokenLimiter({ store: new RedisStore({ client: redis, prefix }), ledger }));
    const storeErrors: StoreErrorEvent[] = [];
    const ledgerErrors: LedgerErrorEvent[] = [];
    limiter.on('store-error', (e) => storeErrors.push(e));
    limiter.on('ledger-error', (e) => ledgerErrors.push(e));
    const written = [await call(limiter, 'beside', 1, 1)];
    const [stream, ...others] = await redis.smembers(`${prefix}:{g}:lqs`);
    expect(others).toEqual([]);
    const now = String(Date.now());
    // Tampering, or a bug: entries beside the commits' own that no drainer can write.
    const bad = [
      await redis.xadd(stream!, '*', 't', now, 'r', 'not json', 'n', '{}'),
      await redis.xadd(stream!, '*', 'note', 'no t, r or n'),
    ];
    written.push(await call(limiter, 'beside', 2, 2));
    bad.push(
      await redis.xadd(stream!, '*', 't', now, 'r', '{"userId":"beside"}', 'n', '{}'),
      await redis.xadd(stream!, '*', 't', 'yesterday', 'r', '{"id":"forged","userId":"beside"}', 'n', '{}'),
    );
    written.push(await call(limiter, 'beside', 3, 3));
    // It waited for ever: the entries stayed pending, claimed and skipped every claimIdleMs.
    await limiter.flushLedger(5_000);
    const { rows } = await pool.query(`SELECT id FROM ${ledger.tableName} ORDER BY id`);
    expect(rows.map((r) => r.id as string)).toEqual(written.map((r) => r.id).sort());
    expect(await redis.xlen(stream!)).toBe(0);
    expect((await redis.xpending(stream!, 'g'))[0]).toBe(0);
    expect(await limiter.ledgerLag()).toMatchObject({ pending: 0 });
    // Kept for an operator, each with where it was, why, and its own fields as they were.
    const dead = await redis.xrange(`${stream!}d`, '-', '+');
    expect(dead.map(([, fields]) => fields)).toEqual([
      ['stream', stream, 'id', bad[0], 'reason', 'r is not JSON', 't', now, 'r', 'not json', 'n', '{}'],
      ['stream', stream, 'id', bad[1], 'reason', 'no field t, r, n', 'note', 'no t, r or n'],
      ['stream', stream, 'id', bad[2], 'reason', 'r is not a record with an id', 't', now, 'r', '{"userId":"beside"}', 'n', '{}'],
      ['stream', stream, 'id', bad[3], 'reason', 't is not ms since the epoch', 't', 'yesterday', 'r', '{"id":"forged","userId":"beside"}', 'n', '{}'],
    ]);
    // Reported where a ledger user listens: a ledger-error event (and the logger), not a store-error.
    expect(storeErrors).toEqual([]);
    // One report per batch that held some: four entries in all, whatever the batches.
    expect(ledgerErrors.length).toBeGreaterThan(0);
    expect(ledgerErrors.reduce((n, e) => n + e.records, 0)).toBe(4);
    for (const e of ledgerErrors) {
      expect(e.policy).toBe('dead-lettered');
      expect(e.error.message).toMatch(new RegExp(`^${e.records} ledger entries were moved unwritten out of \\S+ to \\S+d \\(XRANGE \\S+d - \\+\\): `));
      expect(e.error.message).toContain(`out of ${stream!} to ${stream!}d`);
    }
    const messages = ledgerErrors.map((e) => e.error.message).join(' ');
    for (const [i, reason] of ['r is not JSON', 'no field t, r, n', 'r is not a record with an id', 't is not ms since the epoch'].entries()) expect(messages).toContain(`${bad[i]!} (${reason})`);
  });
});

describe('RedisStore ledger records the ledger cannot store', () => {
  it('are moved to the dead-letter stream, each alone, and every record beside them is written', async () => {
    const appending = await newLedger({ drain: false });
    const schema = /^"([^"]+)"/.exec(appending.tableName)![1]!;
    // A constraint of the operator's own, which one record breaks (SQLSTATE 23514).
    await pool.query(`ALTER TABLE ${appending.tableName} ADD CONSTRAINT no_refused_model CHECK (model <> 'refused-model')`);
    const prefix = uniquePrefix('ledger-poison');
    const appender = track(createTokenLimiter({ store: new RedisStore({ client: redis, prefix }), ledger: appending }));
    const written = [await call(appender, 'beside', 1, 1)];
    const [stream] = await redis.smembers(`${prefix}:{g}:lqs`);
    const now = String(Date.now());
    const record = (id: string, fields: Record<string, unknown>): string =>
      JSON.stringify({ id, userId: 'beside', provider: 'openai', model: 'gpt-4o', endpoint: 'chat', inputTokens: 1, cachedInputTokens: 0, outputTokens: 1, reasoningTokens: 0, totalTokens: 2, costUsd: null, estimated: false, requestId: null, latencyMs: 1, status: 'ok', ...fields });
    // Tampering, or a bug: records whose numbers a bigint column refuses, or holds wrong.
    const poison: Array<[string, string, string]> = [
      ['poison-fraction', record('poison-fraction', { inputTokens: 1.5 }), now],
      ['poison-negative', record('poison-negative', { outputTokens: -3 }), now],
      ['poison-huge', record('poison-huge', { totalTokens: 1e30 }), now],
      ['poison-string', record('poison-string', { latencyMs: '12' }), now],
      // A time a Date holds and PostgreSQL's timestamptz input does not (+011476-...: 22009).
      ['poison-year', record('poison-year', {}), '300000000000000'],
    ];
    const bad: string[] = [];
    for (const [, r, t] of poison.slice(0, 3)) bad.push((await redis.xadd(stream!, '*', 't', t, 'r', r, 'n', '{}'))!);
    written.push(await call(appender, 'beside', 2, 2));
    for (const [, r, t] of poison.slice(3)) bad.push((await redis.xadd(stream!, '*', 't', t, 'r', r, 'n', '{}'))!);
    const refused = await appender.commit(await appender.reserve('beside', { tokens: 2 }), { inputTokens: 1, outputTokens: 1, model: 'refused-model' });
    for (let i = 3; i < 20; i += 1) written.push(await call(appender, 'beside', i, i));
    // All in one batch: it failed ("invalid input syntax for type bigint") on every try, and
    // every record after the first refused one waited for good.
    const ledger = createPostgresLedger({ pool, schema, drain: { pollMs: 20, claimIdleMs: 500, batchSize: 100 } });
    const drainer = track(createTokenLimiter({ store: new RedisStore({ client: redis, prefix }), ledger }));
    const ledgerErrors: LedgerErrorEvent[] = [];
    drainer.on('ledger-error', (e) => ledgerErrors.push(e));
    await drainer.flushLedger(10_000);
    const { rows } = await pool.query(`SELECT id, input_tokens, output_tokens FROM ${ledger.tableName} ORDER BY id`);
    expect(rows.map((r) => r.id as string)).toEqual(written.map((r) => r.id).sort());
    expect(await redis.xlen(stream!)).toBe(0);
    expect(await drainer.ledgerLag()).toMatchObject({ pending: 0, failures: 0 });
    // Each kept for an operator with why; no retry.
    const dead = new Map((await redis.xrange(`${stream!}d`, '-', '+')).map(([, f]) => [f[3]!, f[5]!]));
    expect(dead.size).toBe(6);
    expect(dead.get(bad[0]!)).toBe('r.inputTokens is not a whole number from 0 to 2^53 - 1: 1.5');
    expect(dead.get(bad[1]!)).toBe('r.outputTokens is not a whole number from 0 to 2^53 - 1: -3');
    expect(dead.get(bad[2]!)).toBe('r.totalTokens is not a whole number from 0 to 2^53 - 1: 1e+30');
    expect(dead.get(bad[3]!)).toBe('r.latencyMs is not a whole number from 0 to 2^53 - 1: "12"');
    expect(dead.get(bad[4]!)).toMatch(/^the ledger refused it: 22009 time zone displacement out of range: "\+011476-/);
    const refusedEntry = [...dead].find(([id]) => !bad.includes(id));
    expect(refusedEntry![1]).toMatch(/^the ledger refused it: 23514 new row for relation "token_limits_usage" violates check constraint "no_refused_model"/);
    const [deadRefused] = await redis.xrange(`${stream!}d`, '-', '+').then((all) => all.filter(([, f]) => f[3] === refusedEntry![0]));
    expect(JSON.parse(deadRefused![1][9]!)).toMatchObject({ id: refused.id, model: 'refused-model' });
    expect(ledgerErrors.filter((e) => e.policy !== 'dead-lettered')).toEqual([]);
    expect(ledgerErrors.reduce((n, e) => n + e.records, 0)).toBe(6);
  });
});

describe('ledger records the database refuses over MemoryStore', () => {
  it('are dropped and reported (MemoryStore keeps no dead letters), and the records beside them are written', async () => {
    const ledger = await newLedger();
    await pool.query(`ALTER TABLE ${ledger.tableName} ADD CONSTRAINT no_refused_model CHECK (model <> 'refused-model')`);
    const limiter = track(createTokenLimiter({ store: new MemoryStore(), ledger }));
    const ledgerErrors: LedgerErrorEvent[] = [];
    limiter.on('ledger-error', (e) => ledgerErrors.push(e));
    const written = [await call(limiter, 'beside', 1, 1)];
    await call(limiter, 'beside', 1, 1, 'refused-model');
    written.push(await call(limiter, 'beside', 2, 2));
    await limiter.flushLedger(5_000);
    const { rows } = await pool.query(`SELECT id FROM ${ledger.tableName} ORDER BY id`);
    expect(rows.map((r) => r.id as string)).toEqual(written.map((r) => r.id).sort());
    expect(ledgerErrors).toEqual([{ policy: 'dropped', records: 1, error: expect.objectContaining({ message: expect.stringMatching(/^1 ledger entries cannot be written, and were dropped unwritten: \d+ \(the ledger refused it: 23514 /) }) }]);
  });
});

describe('a ledger that refuses a batch for a failure that is not its data', () => {
  it('keeps the whole batch and retries it, however often', async () => {
    const ledger = await newLedger();
    let failures = 0;
    // A connection lost in the middle of a write: no SQLSTATE (and one of class 08 is no data error either).
    const write = ledger.write.bind(ledger);
    (ledger as { write: PostgresLedger['write'] }).write = async (entries) => {
      failures += 1;
      if (failures <= 2) throw Object.assign(new Error('Connection terminated unexpectedly'), failures === 1 ? {} : { code: '08006' });
      return write(entries);
    };
    const limiter = track(createTokenLimiter({ store: new RedisStore({ client: redis, prefix: uniquePrefix('ledger-conn') }), ledger }));
    const ledgerErrors: LedgerErrorEvent[] = [];
    limiter.on('ledger-error', (e) => ledgerErrors.push(e));
    const written = [await call(limiter, 'kept', 1, 1), await call(limiter, 'kept', 2, 2)];
    await limiter.flushLedger(10_000);
    const { rows } = await pool.query(`SELECT id FROM ${ledger.tableName} ORDER BY id`);
    expect(rows.map((r) => r.id as string)).toEqual(written.map((r) => r.id).sort());
    expect(ledgerErrors.map((e) => e.policy)).toEqual(['retrying', 'retrying']);
  });

  it('keeps the whole batch when the connection fails while it writes a refused batch record by record', async () => {
    const ledger = await newLedger();
    const calls: number[] = [];
    const write = ledger.write.bind(ledger);
    (ledger as { write: PostgresLedger['write'] }).write = async (entries) => {
      calls.push(entries.length);
      // The batch is refused for its data (as PostgreSQL refuses 1.5 for a bigint), then the connection drops.
      if (calls.length === 1) throw Object.assign(new Error('invalid input syntax for type bigint: "1.5"'), { code: '22P02' });
      if (calls.length === 2) throw new Error('Connection terminated unexpectedly');
      return write(entries);
    };
    const prefix = uniquePrefix('ledger-conn-split');
    const appender = track(createTokenLimiter({ store: new RedisStore({ client: redis, prefix }), ledger: createPostgresLedger({ pool, schema: /^"([^"]+)"/.exec(ledger.tableName)![1]!, drain: false }) }));
    const written = [await call(appender, 'kept', 1, 1), await call(appender, 'kept', 2, 2)];
    const limiter = track(createTokenLimiter({ store: new RedisStore({ client: redis, prefix }), ledger }));
    const ledgerErrors: LedgerErrorEvent[] = [];
    limiter.on('ledger-error', (e) => ledgerErrors.push(e));
    await limiter.flushLedger(10_000);
    const { rows } = await pool.query(`SELECT id FROM ${ledger.tableName} ORDER BY id`);
    expect(rows.map((r) => r.id as string)).toEqual(written.map((r) => r.id).sort());
    expect(calls).toEqual([2, 1, 2]);
    expect(ledgerErrors.map((e) => [e.policy, e.records])).toEqual([['retrying', 2]]);
    expect(await redis.exists(`${(await redis.smembers(`${prefix}:{g}:lqs`))[0]!}d`)).toBe(0);
  });
});

describe('RedisStore warmup', () => {
  it('loads the dead-letter script with the other ledger scripts', async () => {
    const limiter = track(createTokenLimiter({ store: new RedisStore({ client: redis, prefix: uniquePrefix('ledger-warm') }) }));
    // An EVAL of another test may have cached them: start from an empty cache.
    await redis.script('FLUSH');
    await limiter.warmup();
    const shas = [defineScript('ledger-dead-letter', LEDGER_DEAD_LETTER).sha, defineScript('ledger-read', LEDGER_READ).sha];
    expect(await redis.script('EXISTS', ...shas)).toEqual([1, 1]);
  });
});

describe('ledger entries that cannot be moved to the dead letters at once', () => {
  it('stay in the batch, reported as retrying, and are moved once the move succeeds; the records beside them are written', async () => {
    const prefix = uniquePrefix('ledger-dead-fail');
    // Records are committed by a process that does not drain, so that the drainer, started after,
    // reads the entry and its neighbours in one batch (else it may read the entry alone).
    const writer = track(createTokenLimiter({ store: new RedisStore({ client: redis, prefix }), ledger: await newLedger({ drain: false }) }));
    const first = await call(writer, 'beside', 1, 1);
    const [stream] = await redis.smembers(`${prefix}:{g}:lqs`);
    // The dead-letter key holds a string: XADD to it fails, and so does the move.
    await redis.set(`${stream!}d`, 'in the way');
    const bad = await redis.xadd(stream!, '*', 't', String(Date.now()), 'r', 'not json', 'n', '{}');
    const second = await call(writer, 'beside', 2, 2);
    await writer.flush();
    const ledger = await newLedger({ drain: { pollMs: 20, claimIdleMs: 60_000 } });
    const limiter = track(createTokenLimiter({ store: new RedisStore({ client: redis, prefix }), ledger }));
    const ledgerErrors: LedgerErrorEvent[] = [];
    limiter.on('ledger-error', (e) => ledgerErrors.push(e));
    const deadline = Date.now() + 5_000;
    while (!ledgerErrors.some((e) => e.policy === 'retrying') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(ledgerErrors[0]).toMatchObject({ policy: 'retrying', records: 1, error: { message: expect.stringContaining(`moving them to ${stream!}d (XRANGE ${stream!}d - +) failed (tried again): WRONGTYPE`) } });
    expect(ledgerErrors.some((e) => e.policy === 'dead-lettered')).toBe(false);
    // Its neighbour is written meanwhile; the entry waits (claimIdleMs is a minute: the drainer keeps it).
    const { rows } = await pool.query(`SELECT id FROM ${ledger.tableName} ORDER BY id`);
    expect(rows.map((r) => r.id as string)).toEqual([first.id, second.id].sort());
    expect(await redis.xrange(stream!, '-', '+')).toEqual([[bad, ['t', expect.any(String), 'r', 'not json', 'n', '{}']]]);
    await redis.del(`${stream!}d`);
    await limiter.flushLedger(5_000);
    expect(ledgerErrors.filter((e) => e.policy === 'dead-lettered')).toEqual([
      { policy: 'dead-lettered', records: 1, error: expect.objectContaining({ message: `1 ledger entries were moved unwritten out of ${stream!} to ${stream!}d (XRANGE ${stream!}d - +): ${bad} (r is not JSON)` }) },
    ]);
    expect((await redis.xrange(`${stream!}d`, '-', '+')).map(([, f]) => f.slice(0, 6))).toEqual([['stream', stream, 'id', bad, 'reason', 'r is not JSON']]);
    expect(await redis.xlen(stream!)).toBe(0);
    // The neighbours count as written, though the move after their write failed.
    expect(await limiter.ledgerLag()).toMatchObject({ pending: 0, failures: 0, written: 2 });
  });
});

describe('MemoryStore ledger entries that are no records', () => {
  it('are dropped and reported as ledger-error (it keeps no dead letters), and the records beside them are written', async () => {
    const ledger = await newLedger();
    const store = new MemoryStore();
    const limiter = track(createTokenLimiter({ store, ledger }));
    const ledgerErrors: LedgerErrorEvent[] = [];
    limiter.on('ledger-error', (e) => ledgerErrors.push(e));
    const first = await call(limiter, 'beside', 1, 1);
    // A bug could queue one: the queue takes what commit gives it.
    (store.ledgerFeed as unknown as { push(t: number, r: string, n: string): void }).push(Date.now(), '{"userId":"beside"}', '{}');
    const second = await call(limiter, 'beside', 2, 2);
    await limiter.flushLedger(5_000);
    const { rows } = await pool.query(`SELECT id FROM ${ledger.tableName} ORDER BY id`);
    expect(rows.map((r) => r.id as string)).toEqual([first.id, second.id].sort());
    expect(ledgerErrors).toEqual([{ policy: 'dropped', records: 1, error: expect.objectContaining({ message: expect.stringMatching(/^1 ledger entries cannot be written, and were dropped unwritten: \d+ \(r is not a record with an id\)$/) }) }]);
    expect(await limiter.ledgerLag()).toMatchObject({ pending: 0 });
  });
});

describe('a record of a huge cost', () => {
  it('is written with the cost the engine bounds it to, and the records after it are written too', async () => {
    const ledger = await newLedger();
    // A price table's price times a huge usage (1.8e20 micro-dollars): charged at the largest cost
    // a store takes, which a bigint holds (the drain writes a cost no bigint holds as null).
    const limiter = track(createTokenLimiter({ store: new MemoryStore(), ledger, pricing: { models: { 'priced-high': { input: 1e7, output: 1e7 } } } }));
    const errors: LedgerErrorEvent[] = [];
    limiter.on('ledger-error', (e) => errors.push(e));
    await limiter.commit(await limiter.reserve('rich', { tokens: 10 }), { inputTokens: 9e12, outputTokens: 9e12, model: 'priced-high' });
    await call(limiter, 'after-rich', 1, 1);
    await limiter.flushLedger(5_000);
    expect(errors).toEqual([]);
    const { rows } = await pool.query(`SELECT user_id, total_tokens, cost_micros FROM ${ledger.tableName} ORDER BY user_id`);
    expect(rows).toEqual([
      { user_id: 'after-rich', total_tokens: '2', cost_micros: '2' },
      { user_id: 'rich', total_tokens: '18000000000000', cost_micros: String(MAX_COST_USD * 1_000_000) },
    ]);
  });
});

describe('flushLedger', () => {
  it('refuses a timeout that is not a whole number of ms, at once, and gives up on time on a ledger that stays down', async () => {
    const down = { query: ((text: string, values?: unknown[]) => (text.startsWith('INSERT') ? Promise.reject(new Error('down')) : pool.query(text, values))) as pg.Pool['query'] };
    const ledger = await newLedger({ pool: down, drain: { pollMs: 10 } });
    const limiter = track(createTokenLimiter({ store: new MemoryStore(), ledger }));
    await call(limiter, 'flushing', 1, 1);
    // Each of these made a deadline that never passed: the promise waited for as long as the ledger was down.
    for (const timeout of ['50', Number.NaN, Number.POSITIVE_INFINITY, 0, -1, 2.5, 86_400_001]) {
      await expect(limiter.flushLedger(timeout as number)).rejects.toMatchObject({ name: 'InvalidArgumentError', parameter: 'timeoutMs' });
    }
    const started = Date.now();
    await expect(limiter.flushLedger(200)).rejects.toThrow(/still lacks 1 records|down/);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await limiter.ledgerLag())!.pending).toBe(1);
  });
});

describe('flushLedger on a ledger that keeps failing', () => {
  it("rejects at its timeout with the ledger's own error, whatever the drainer's backoff", async () => {
    const down = { query: ((text: string, values?: unknown[]) => (text.startsWith('INSERT') ? Promise.reject(new Error('database down')) : pool.query(text, values))) as pg.Pool['query'] };
    const ledger = await newLedger({ pool: down, drain: { pollMs: 1_000 } });
    const limiter = track(createTokenLimiter({ store: new MemoryStore(), ledger }));
    await call(limiter, 'backing-off', 1, 1);
    // Two failed tries: the drainer now waits 4 s before the next.
    await expect.poll(async () => (await limiter.ledgerLag())!.failures, { timeout: 10_000, interval: 100 }).toBeGreaterThanOrEqual(2);
    const started = Date.now();
    // It slept the backoff out past its deadline (and then could only say that time ran out).
    await expect(limiter.flushLedger(300)).rejects.toThrow('database down');
    expect(Date.now() - started).toBeLessThan(1_500);
  }, 20_000);
});

describe('a PostgreSQL that takes the connection and never answers', () => {
  it('makes flushLedger reject on time and close() return; the record is written once it answers', async () => {
    const relay = await frozenRelay(Number(new URL(DATABASE_URL).port || 5432));
    const url = new URL(DATABASE_URL);
    url.host = `127.0.0.1:${relay.port}`;
    const partitioned = new pg.Pool({ connectionString: url.toString(), max: 2 });
    partitioned.on('error', () => {});
    try {
      const ledger = await newLedger({ pool: partitioned, drain: { pollMs: 20 } });
      const limiter = createTokenLimiter({ store: new MemoryStore(), ledger, storeTimeoutMs: 500 });
      relay.freeze(true);
      await call(limiter, 'partitioned', 1, 1);
      let started = Date.now();
      // Both waited for as long as the database stayed silent: the insert neither answers nor fails.
      await expect(limiter.flushLedger(300)).rejects.toThrow(/did not answer in time/);
      expect(Date.now() - started).toBeLessThan(2_000);
      started = Date.now();
      await limiter.close();
      // Within storeTimeoutMs (500 ms), with room for a loaded machine.
      expect(Date.now() - started).toBeLessThan(500 + 1_500);
      relay.freeze(false);
      await expect.poll(async () => (await rowCount(ledger)).rows, { timeout: 10_000 }).toBe(1);
    } finally {
      relay.freeze(false);
      await partitioned.end().catch(() => {});
      await relay.close();
    }
  }, 30_000);
});

/** A TCP relay to PostgreSQL that can stop passing bytes (held, then passed on when thawed). */
async function frozenRelay(targetPort: number): Promise<{ port: number; freeze(on: boolean): void; close(): Promise<void> }> {
  const pairs: Array<[net.Socket, net.Socket]> = [];
  let frozen = false;
  const link = ([a, b]: [net.Socket, net.Socket]) => {
    if (frozen) {
      a.unpipe(b);
      b.unpipe(a);
      a.pause();
      b.pause();
    } else {
      a.pipe(b);
      b.pipe(a);
    }
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair: [net.Socket, net.Socket] = [client, upstream];
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    pairs.push(pair);
    link(pair);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    freeze(on) {
      frozen = on;
      for (const pair of pairs) link(pair);
    },
    async close() {
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('ledger export', () => {
  it('gives each row once, oldest first, when times have microseconds (rows the drainer did not write)', async () => {
    const ledger = await newLedger({ drain: false });
    // An import of older usage, at the database's own precision: one row per 1.5 ms.
    await pool.query(
      `INSERT INTO ${ledger.tableName} (id, user_id, provider, model, endpoint, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, total_tokens, estimated, status, latency_ms, created_at)
       SELECT 'imported-' || g, 'importer', 'openai', 'gpt-4o', 'chat', 1, 0, 0, 1, 0, 2, false, 'ok', 1, timestamptz '2026-01-01 00:00:00.000123+00' + g * interval '1500 microseconds'
         FROM generate_series(1, 2500) AS g`,
    );
    const lines = (await text(ledger.export({ userId: 'importer', from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z', format: 'jsonl' }))).trim().split('\n');
    const ids = lines.map((l) => (JSON.parse(l) as { id: string }).id);
    // The last row of each 1,000-row page came again at the top of the next.
    expect(ids).toHaveLength(2500);
    expect(new Set(ids).size).toBe(2500);
    expect(ids.slice(0, 2)).toEqual(['imported-1', 'imported-2']);
    expect(ids.at(-1)).toBe('imported-2500');
  });
});

describe('a database whose DateStyle is not ISO', () => {
  it('exports and reads back every record with its time', async () => {
    // The session default a DBA may set (ALTER DATABASE ... SET DateStyle): pg cannot parse its dates.
    const sqlStyle = new pg.Pool({ connectionString: DATABASE_URL, max: 2, options: '-c DateStyle=SQL,DMY' });
    try {
      const clock = manualClock('2026-02-03T04:05:06.789Z');
      const ledger = await newLedger({ pool: sqlStyle, drain: { pollMs: 20 } });
      const limiter = track(createTokenLimiter({ store: new MemoryStore(), ledger, clock: clock.now, usageLog: { retentionDays: 1 } }));
      await call(limiter, 'dated', 1, 2);
      await limiter.flushLedger();
      const from = '2026-02-01T00:00:00Z';
      const to = '2026-03-01T00:00:00Z';
      // pg gave null for the time: the export failed (TypeError), the log had no timestamps.
      const [line] = (await text(ledger.export({ userId: 'dated', from, to, format: 'jsonl' }))).trim().split('\n');
      expect(JSON.parse(line!)).toMatchObject({ user_id: 'dated', created_at: '2026-02-03T04:05:06.789Z' });
      clock.advance(10 * 86_400_000);
      const log = await limiter.admin.getUsageLog({ userId: 'dated', since: new Date(from), limit: 5 });
      expect(log.map((r) => r.timestamp)).toEqual([new Date('2026-02-03T04:05:06.789Z')]);
    } finally {
      await sqlStyle.end();
    }
  });
});

describe('ledger options', () => {
  it('refuses bad options with typed errors', async () => {
    expect(() => createPostgresLedger({ pool, table: 'Robert"; DROP TABLE x' })).toThrow(InvalidArgumentError);
    expect(() => createPostgresLedger({ pool: {} as pg.Pool })).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
    expect(() => createPostgresLedger({ pool, drain: { batchSize: 0 } })).toThrow(InvalidArgumentError);
    expect(() => createTokenLimiter({ ledger: {} as PostgresLedger })).toThrow(InvalidArgumentError);
    expect(() => createTokenLimiter({ store: new MemoryStore(), ledger: createPostgresLedger({ pool, drain: false }) })).toThrow(/must drain/);
    const ledger = createPostgresLedger({ pool, drain: false });
    await expect(ledger.query({ from: 10, to: 5 })).rejects.toThrow(InvalidArgumentError);
    expect(() => ledger.export({ from: 0, to: 5, format: 'xml' as 'csv' })).toThrow(InvalidArgumentError);
    await expect(ledger.reconcile({ from: 0, to: 5 })).rejects.toThrow(InvalidArgumentError);
    // Numbers no Date or no timestamptz holds: PostgreSQL's own error, after a round trip.
    for (const [from, to] of [[0, 1e20], [-8.64e15, 0], [Date.UTC(-4713, 10, 24) - 1, 0], [new Date(Number.NaN), 0]]) {
      await expect(ledger.query({ from: from!, to: to! })).rejects.toMatchObject({ name: 'InvalidArgumentError' });
      expect(() => ledger.export({ from: from!, to: to!, format: 'csv' })).toThrow(InvalidArgumentError);
    }
    const migrated = await newLedger({ drain: false });
    await expect(migrated.query({ from: Date.UTC(-4713, 10, 24), to: 8.64e15 })).resolves.toEqual([expect.objectContaining({ requests: 0 })]);
  });

  it('reads a date-time by its offset and refuses one without, whatever the zone of the machine', async () => {
    const ledger = await newLedger();
    track(createTokenLimiter({ store: new MemoryStore(), ledger }));
    await pool.query(
      `INSERT INTO ${ledger.tableName} (id, user_id, provider, model, endpoint, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, total_tokens, estimated, status, latency_ms, created_at)
       SELECT id, 'zoned', 'openai', 'gpt-4o', 'chat', 1, 0, 0, 1, 0, 2, false, 'ok', 1, at::timestamptz
         FROM (VALUES ('at-0930z', '2026-01-01T09:30:00Z'), ('at-1030z', '2026-01-01T10:30:00Z'), ('at-1330z', '2026-01-01T13:30:00Z')) AS v(id, at)`,
    );
    const zone = process.env.TZ;
    // A machine 3 hours behind UTC (Node reads TZ again when it is set): 10:00 there is 13:00 UTC.
    process.env.TZ = 'America/Sao_Paulo';
    try {
      expect(new Date(2026, 0, 1, 10).toISOString()).toBe('2026-01-01T13:00:00.000Z');
      const requests = async (from: unknown, to: unknown): Promise<number> => (await ledger.query({ from: from as string, to: to as string }))[0]!.requests;
      expect(await requests('2026-01-01T10:00Z', '2026-01-01T11:00Z')).toBe(1);
      expect(await requests('2026-01-01T07:00-03:00', '2026-01-01T08:00-0300')).toBe(1);
      expect(await requests('2026-01-01T10:00:00.000+00:00', '2026-01-01T13:30:00.001Z')).toBe(2);
      expect(await requests(new Date('2026-01-01T10:00Z'), Date.UTC(2026, 0, 1, 11))).toBe(1);
      expect(await requests(new Date('2026-01-01T10:00Z').toISOString(), '+002026-01-01T11:00:00.000Z')).toBe(1);
      // A date is a UTC day, as Date.parse read it.
      expect(await requests('2026-01-01', '2026-01-02')).toBe(3);
      expect(await requests('2026', '2026-02')).toBe(3);
      // Without an offset it counted 13:00-14:00 UTC here, 10:00-11:00 UTC on a server in UTC.
      const refusals: Array<[string, () => Promise<unknown>]> = [
        ['options.from', () => ledger.query({ from: '2026-01-01T10:00', to: '2026-01-01T11:00Z' })],
        ['options.to', () => ledger.query({ from: '2026-01-01T10:00Z', to: '2026-01-01 11:00' })],
        ['options.from', async () => ledger.export({ from: '2026-01-01T10:00:00.000', to: '2026-01-02', format: 'csv' })],
        ['options.to', () => ledger.reconcile({ from: '2026-01-01', to: '2026-01-01T11:00:00' })],
      ];
      for (const [parameter, run] of refusals) {
        const error = await run().then(() => undefined, (e: unknown) => e);
        expect(error, parameter).toBeInstanceOf(InvalidArgumentError);
        expect(error, parameter).toMatchObject({ parameter, message: expect.stringContaining('needs its UTC offset: add Z for UTC') });
      }
      // Text that is no ISO form was read in the local zone too; so were impossible days, rolled over.
      for (const from of ['Jan 1 2026 10:00', 'Thu, 01 Jan 2026 10:00:00', '2026/01/01', '2026-02-30', '2026-01-01T24:00Z', '2026-01-01T10:00+25:00', '-000000-01-01T00:00Z']) {
        await expect(ledger.query({ from, to: '2026-01-02' }), from).rejects.toMatchObject({ name: 'InvalidArgumentError', parameter: 'options.from' });
        expect(() => ledger.export({ from, to: '2026-01-02', format: 'jsonl' }), from).toThrow(InvalidArgumentError);
      }
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  it('reads range ends as the exact instant in a zone whose offset then had seconds, and the earliest one', async () => {
    const ledger = await newLedger({ drain: false });
    await pool.query(
      `INSERT INTO ${ledger.tableName} (id, user_id, provider, model, endpoint, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, total_tokens, estimated, status, latency_ms, created_at)
       SELECT id, 'old', 'openai', 'gpt-4o', 'chat', 1, 0, 0, 1, 0, 2, false, 'ok', 1, at::timestamptz
         FROM (VALUES ('at-0000z', '1900-01-01T00:00:00Z'), ('at-0000-20z', '1900-01-01T00:00:20Z')) AS v(id, at)`,
    );
    const zone = process.env.TZ;
    // São Paulo kept its local mean time, -03:06:28, until 1914; pg wrote a Date as -03:06, 28 s off.
    process.env.TZ = 'America/Sao_Paulo';
    try {
      const from = Date.UTC(1900, 0, 1);
      const to = Date.UTC(1900, 0, 1, 0, 0, 10);
      expect((await ledger.query({ from, to }))[0]!.requests).toBe(1);
      expect((await text(ledger.export({ from, to, format: 'jsonl' }))).trim().split('\n')).toHaveLength(1);
      expect((await ledger.readLog({ userId: 'old', since: from, until: to, limit: 10 })).map((r) => r.id)).toEqual(['at-0000z']);
      // West of UTC the earliest instant was a local day PostgreSQL refuses.
      await expect(ledger.query({ from: Date.UTC(-4713, 10, 24), to: 0 })).resolves.toEqual([expect.objectContaining({ requests: 2 })]);
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  it('migrates idempotently, from several callers at once', async () => {
    const schema = uniqueSchema();
    schemas.push(schema);
    const ledgers = [1, 2, 3].map(() => createPostgresLedger({ pool, schema, table: 'usage' }));
    await Promise.all(ledgers.map((l) => l.migrate()));
    await ledgers[0]!.migrate();
    const { rows } = await pool.query(`SELECT indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname`, [schema]);
    expect(rows.map((r: { indexname: string }) => r.indexname)).toEqual(['usage_account_hash_time', 'usage_pkey', 'usage_time', 'usage_user_hash_time']);
  });

  it('migrates a new schema from six callers at once, ten times over, without a collision', async () => {
    const six = new pg.Pool({ connectionString: DATABASE_URL, max: 6 });
    try {
      for (let round = 0; round < 10; round += 1) {
        const schema = uniqueSchema();
        schemas.push(schema);
        // Each checked the table's form through to_regclass first, which cached "no such schema" in
        // its connection: one that then waited on the lock created the schema again (duplicate key).
        const results = await Promise.allSettled(Array.from({ length: 6 }, () => createPostgresLedger({ pool: six, schema, table: 'usage' }).migrate()));
        expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      }
    } finally {
      await six.end();
    }
  });

  it('refuses, at migrate, a database that cannot hold any Unicode text', async () => {
    const database = uniqueSchema('tl_latin1');
    await pool.query(`CREATE DATABASE ${database} ENCODING 'LATIN1' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'`);
    const url = new URL(DATABASE_URL);
    url.pathname = `/${database}`;
    const latin1 = new pg.Pool({ connectionString: url.toString(), max: 1 });
    try {
      const ledger = createPostgresLedger({ pool: latin1, drain: false });
      // It migrated, and the first user id in Chinese made every write of its batch fail, for ever.
      await expect(ledger.migrate()).rejects.toMatchObject({ name: 'InvalidArgumentError', parameter: 'options.pool', message: expect.stringContaining('UTF8') });
    } finally {
      await latin1.end();
      await pool.query(`DROP DATABASE ${database}`);
    }
  });

  it('refuses, at migrate, a table of that name in another form', async () => {
    const schema = uniqueSchema();
    schemas.push(schema);
    await pool.query(`CREATE SCHEMA "${schema}"`);
    // Someone's own usage table, under the ledger's default name.
    await pool.query(`CREATE TABLE "${schema}".token_limits_usage (id text, user_id text NOT NULL, account_id text, created_at timestamptz NOT NULL, total_tokens bigint)`);
    const ledger = createPostgresLedger({ pool, schema });
    // It migrated "fine", and every write of the drainer then failed, for as long as the table stayed.
    await expect(ledger.migrate()).rejects.toMatchObject({ name: 'InvalidArgumentError', parameter: 'options.table', message: expect.stringMatching(/lacks the columns provider, model, .*recorded_at and a unique index on id/) });
    expect((await pool.query(`SELECT indexname FROM pg_indexes WHERE schemaname = $1`, [schema])).rows).toEqual([]); // left as it was
    await pool.query(`DROP TABLE "${schema}".token_limits_usage`);
    await ledger.migrate();
    await pool.query(`ALTER TABLE ${ledger.tableName} DROP CONSTRAINT token_limits_usage_pkey`);
    await expect(ledger.migrate()).rejects.toThrow(/lacks a unique index on id/);
    await pool.query(`ALTER TABLE ${ledger.tableName} ADD PRIMARY KEY (id), ADD COLUMN note text`);
    await ledger.migrate(); // a column of its own more does not hinder the inserts
  });

  it('replaces the id indexes of a table made by an earlier version', async () => {
    const schema = uniqueSchema();
    schemas.push(schema);
    const ledger = createPostgresLedger({ pool, schema, table: 'usage' });
    await ledger.migrate();
    // The indexes an earlier version made, by the ids themselves.
    await pool.query(`CREATE INDEX usage_user_time ON ${ledger.tableName} (user_id, created_at)`);
    await pool.query(`CREATE INDEX usage_account_time ON ${ledger.tableName} (account_id, created_at) WHERE account_id IS NOT NULL`);
    await ledger.migrate();
    const { rows } = await pool.query(`SELECT indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname`, [schema]);
    expect(rows.map((r: { indexname: string }) => r.indexname)).toEqual(['usage_account_hash_time', 'usage_pkey', 'usage_time', 'usage_user_hash_time']);
  });
});

describe.each(STORES)('ledger of odd ids and labels, over %s', (_name, makeStore) => {
  it('writes a record whose user id holds U+0000 or is 65,536 characters, or whose model holds U+0000, and reads each back exactly', async () => {
    const ledger = await newLedger();
    const limiter = track(createTokenLimiter({ store: makeStore(), ledger, defaultLimits: [{ id: 'm', tokens: 1_000_000, period: 'month' }] }));
    const errors: LedgerErrorEvent[] = [];
    limiter.on('ledger-error', (e) => errors.push(e));
    // Ids PostgreSQL could not store, or that would look alike stored naively; a long random id
    // (no compression shortens it below a btree entry's limit).
    const users = ['nul\u0000id', 'nul\uFFFDid', '\uFFFFmarked', randomBytes(49_152).toString('base64url'), 'plain'];
    for (const user of users) await call(limiter, user, 10, 5, user === 'plain' ? 'gpt\u0000odd' : 'gpt-4o');
    await limiter.flushLedger();
    expect(errors).toEqual([]);
    expect(await rowCount(ledger)).toEqual({ rows: 5, ids: 5 });
    const from = Date.now() - 3_600_000;
    const to = Date.now() + 3_600_000;
    for (const user of users) {
      expect((await ledger.query({ userId: user, from, to }))[0]).toMatchObject({ requests: 1, totalTokens: 15 });
      const [line] = (await text(ledger.export({ userId: user, from, to, format: 'jsonl' }))).trim().split('\n');
      expect(JSON.parse(line!)).toMatchObject({ user_id: user });
    }
    const [plain] = (await text(ledger.export({ userId: 'plain', from, to, format: 'jsonl' }))).trim().split('\n');
    expect((JSON.parse(plain!) as { model: string }).model).toBe((await limiter.admin.getUsageLog({ userId: 'plain' }))[0]!.model);
    expect(await ledger.reconcile({ from, to })).toEqual([]);
  });

  it('charges and records the members of an account whose id is 65,536 characters of CJK', async () => {
    const ledger = await newLedger();
    const limiter = track(createTokenLimiter({ store: makeStore(), ledger }));
    // 196,608 bytes of UTF-8: the ledger note that names it is over 64 KB.
    const account = '账'.repeat(65_536);
    await limiter.admin.setAccountLimits(account, [{ id: 'a', tokens: 100_000, period: 'month' }]);
    await limiter.admin.setAccount('member', account);
    const errors: string[] = [];
    limiter.on('store-error', (e) => errors.push(e.error.message));
    await call(limiter, 'member', 5, 5);
    await limiter.flushLedger();
    expect(errors).toEqual([]);
    expect((await limiter.admin.getAccountUsage(account)).windows[0]!.used).toBe(10);
    const [row] = (await text(ledger.export({ accountId: account, from: 0, to: Date.now() + 60_000, format: 'jsonl' }))).trim().split('\n');
    expect(JSON.parse(row!)).toMatchObject({ user_id: 'member', account_id: account, total_tokens: 10 });
  });
});

async function text(stream: NodeJS.ReadableStream): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += String(chunk);
  return out;
}

/** RFC 4180 rows (quoted fields with doubled quotes, commas and line breaks inside). */
function parseCsv(csv: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < csv.length; i += 1) {
    const c = csv[i]!;
    if (quoted) {
      if (c === '"' && csv[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  return rows;
}
