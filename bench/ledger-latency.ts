import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import pg from 'pg';
import { createTokenLimiter, MemoryStore, RedisStore, withTokenLimits, type QuotaStore, type TokenLimiter } from '../src/index.js';
import { createPostgresLedger } from '../src/postgres/index.js';
import { startEmulator } from '../src/testing/index.js';

/** Caller-visible latency of a wrapped call with the ledger off and on, in the same run. */
export interface LedgerLatencyResult {
  store: 'memory' | 'redis';
  mode: 'non-stream' | 'stream';
  offP50Ms: number;
  offP99Ms: number;
  onP50Ms: number;
  onP99Ms: number;
  /** on p50 / off p50. */
  ratioP50: number;
  /** Rows in the table after the run, and calls made with the ledger on (they must match). */
  rows: number;
  callsOn: number;
}

const question = [{ role: 'user' as const, content: 'What is the capital of Portugal? Answer in one word.' }];
const CALLS = {
  'non-stream': (c: OpenAI) => c.chat.completions.create({ model: 'gpt-4o-mini', messages: question, max_completion_tokens: 20 }),
  stream: async (c: OpenAI) => {
    for await (const _ of await c.chat.completions.create({ model: 'gpt-4o-mini', messages: question, max_completion_tokens: 20, stream: true }));
  },
};

/**
 * Wrapped OpenAI calls against the local emulator through two limiters on the same kind of store,
 * one with a PostgreSQL ledger (draining in this very process, so its database writes compete with
 * the calls) and one without; calls alternate between them, so machine noise hits both alike.
 */
export async function benchLedgerLatency(redisUrl: string, databaseUrl: string, iterations = 300): Promise<LedgerLatencyResult[]> {
  const emulator = await startEmulator();
  const redis = new Redis(redisUrl);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  const schema = `bench_ledger_${randomBytes(4).toString('hex')}`;
  const results: LedgerLatencyResult[] = [];
  const limits = [{ id: 'm', tokens: Number.MAX_SAFE_INTEGER, period: 'month' as const }];
  try {
    for (const store of ['memory', 'redis'] as const) {
      const makeStore = (): QuotaStore => (store === 'memory' ? new MemoryStore() : new RedisStore({ client: redis, prefix: `bench${randomBytes(4).toString('hex')}` }));
      const ledger = createPostgresLedger({ pool, schema, table: `usage_${store}` });
      await ledger.migrate();
      const off = createTokenLimiter({ store: makeStore(), defaultLimits: limits });
      const on = createTokenLimiter({ store: makeStore(), defaultLimits: limits, ledger });
      await Promise.all([off.warmup(), on.warmup()]);
      let callsOn = 0;
      for (const mode of ['non-stream', 'stream'] as const) {
        const clients: Array<[TokenLimiter, OpenAI, number[]]> = [
          [off, withTokenLimits(new OpenAI({ apiKey: 'bench', baseURL: emulator.openaiBaseURL }), 'bench-user', { limiter: off }), []],
          [on, withTokenLimits(new OpenAI({ apiKey: 'bench', baseURL: emulator.openaiBaseURL }), 'bench-user', { limiter: on }), []],
        ];
        for (let i = 0; i < 30; i += 1) for (const [, client] of clients) await CALLS[mode](client);
        callsOn += 30;
        for (let i = 0; i < iterations; i += 1) {
          const order = i % 2 === 0 ? clients : [...clients].reverse();
          for (const [, client, times] of order) {
            const t = performance.now();
            await CALLS[mode](client);
            times.push(performance.now() - t);
          }
        }
        callsOn += iterations;
        emulator.clearRequests();
        const [offTimes, onTimes] = [clients[0]![2], clients[1]![2]];
        results.push({
          store,
          mode,
          offP50Ms: pct(offTimes, 0.5),
          offP99Ms: pct(offTimes, 0.99),
          onP50Ms: pct(onTimes, 0.5),
          onP99Ms: pct(onTimes, 0.99),
          ratioP50: pct(onTimes, 0.5) / pct(offTimes, 0.5),
          rows: 0,
          callsOn: 0,
        });
      }
      await on.flushLedger(60_000);
      const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${ledger.tableName}`);
      for (const r of results.filter((x) => x.store === store)) Object.assign(r, { rows: (rows[0] as { n: number }).n, callsOn });
      await Promise.all([off.close(), on.close()]);
    }
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await pool.end();
    await emulator.close();
    redis.disconnect();
  }
  return results;
}

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}
