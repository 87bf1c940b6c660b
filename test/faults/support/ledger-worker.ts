/**
 * A process of the ledger fault test, started with `fork()`:
 * - `caller`: makes `calls` calls (reserve, commit) over `users` users on a RedisStore whose ledger
 *   only appends (drain: false), then reports the ids it committed;
 * - `drainer`: a limiter whose ledger drains the streams into PostgreSQL, until it is killed.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { createTokenLimiter, RedisStore } from '../../../src/index.js';
import { createPostgresLedger } from '../../../src/postgres/index.js';

export interface LedgerWorkerConfig {
  role: 'caller' | 'drainer';
  redisUrl: string;
  prefix: string;
  pgUrl: string;
  schema: string;
  calls: number;
  users: number;
  /** Caller: pause after each call (ms), so that the run lasts long enough for the faults. */
  pauseMs: number;
  claimIdleMs: number;
  seed: number;
}

const config = JSON.parse(process.argv[2]!) as LedgerWorkerConfig;
const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3 });
const pool = new pg.Pool({ connectionString: config.pgUrl, max: 2, connectionTimeoutMillis: 2_000 });
// PostgreSQL restarting ends idle connections: the pool reports it here, the drainer retries.
pool.on('error', () => {});
const ledger = createPostgresLedger({
  pool,
  schema: config.schema,
  drain: config.role === 'drainer' ? { batchSize: 200, pollMs: 20, claimIdleMs: config.claimIdleMs } : false,
});
const limiter = createTokenLimiter({
  store: new RedisStore({ client: redis, prefix: config.prefix }),
  ledger,
  defaultLimits: [{ id: 'month', tokens: 1_000_000_000, period: 'month' }],
  storeTimeoutMs: 5_000,
});

async function callLoop(): Promise<void> {
  const ids: string[] = [];
  let rnd = config.seed;
  const next = (n: number) => {
    rnd = (rnd * 1_103_515_245 + 12_345) % 2_147_483_648;
    return (rnd >>> 8) % n;
  };
  for (let i = 0; i < config.calls; i += 1) {
    const user = `u${(i + config.seed) % config.users}`;
    const input = 1 + next(500);
    const output = 1 + next(200);
    const reservation = await limiter.reserve(user, { tokens: input + output });
    const record = await limiter.commit(reservation, { inputTokens: input, outputTokens: output, model: 'gpt-4o-mini', provider: 'openai', costUsd: (input * 3 + output * 7) / 1_000_000 });
    ids.push(record.id);
    if (config.pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, config.pauseMs));
  }
  await limiter.flush();
  process.send!({ type: 'done', ids });
}

if (config.role === 'caller') {
  await limiter.warmup();
  process.send!({ type: 'ready' });
  await callLoop();
  await limiter.close();
  await pool.end();
  redis.disconnect();
} else {
  limiter.on('ledger-error', () => {});
  process.send!({ type: 'ready' });
  // Runs until killed.
  setInterval(() => {}, 1_000);
}
