import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenLimiter, RedisStore } from '../../src/index.js';
import { createPostgresLedger, type PostgresLedger } from '../../src/postgres/index.js';
import { connectPostgres, DATABASE_URL, dropSchema, uniqueSchema } from '../helpers/postgres.js';
import { connectRedis, REDIS_URL, uniquePrefix } from '../helpers/redis.js';

/** `npx token-limits ledger drain`, run as operators run it: a child process, stopped by a signal. */
const CLI = fileURLToPath(new URL('../../src/cli/index.ts', import.meta.url));

function startDrain(schema: string, prefix: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'ledger', 'drain', '--schema', schema, '--prefix', prefix], {
    env: { ...process.env, DATABASE_URL, REDIS_URL },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  // A drain that never stops is killed, so a failing test leaves no process behind.
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  let ended: { code: number | null; signal: NodeJS.Signals | null; at: number } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => {
      clearTimeout(killer);
      ended = { code, signal, at: Date.now() };
      resolve(ended);
    }),
  );
  return { child, exit: exited.then((e) => e.code), exited, running: () => ended === undefined, stderr: () => stderr };
}

async function until(condition: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

let pool: pg.Pool;
let redis: Redis;
beforeAll(async () => {
  pool = await connectPostgres();
  redis = await connectRedis();
});
afterAll(async () => {
  await pool?.end();
  redis?.disconnect();
});

/** Six records waiting in the feed of a RedisStore at `prefix`, for the ledger of `schema`. */
async function feed(schema: string, prefix: string, migrate = true): Promise<PostgresLedger> {
  const ledger = createPostgresLedger({ pool, schema, drain: false });
  if (migrate) await ledger.migrate();
  const limiter = createTokenLimiter({ store: new RedisStore({ client: redis, prefix }), ledger });
  for (let i = 0; i < 6; i += 1) await limiter.commit(await limiter.reserve('drained', { tokens: 5 }), { inputTokens: 2, outputTokens: 3 });
  await limiter.close();
  return ledger;
}

const rowsOf = async (ledger: PostgresLedger): Promise<number> => (await pool.query(`SELECT count(*)::int AS n FROM ${ledger.tableName}`)).rows[0].n as number;

describe('ledger drain exit codes: a script can tell how it stopped', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s with every record written: %i, and says so', async (signal, code) => {
    const schema = uniqueSchema();
    const prefix = uniquePrefix('tl-cli');
    try {
      const ledger = await feed(schema, prefix);
      const { child, exit, stderr } = startDrain(schema, prefix);
      await until(async () => (await rowsOf(ledger)) === 6 && stderr().includes('Ctrl-C stops'), 'the six records');
      child.kill(signal);
      expect(await exit).toBe(code);
      expect(stderr()).toContain(`token-limits: stopped by ${signal}: 6 records written, 0 waiting\n`);
      expect(stderr()).not.toContain('retrying');
    } finally {
      await dropSchema(pool, schema);
    }
  });

  it('stopped while the ledger fails (no table yet): 1, with what still waits', async () => {
    const schema = uniqueSchema();
    const prefix = uniquePrefix('tl-cli');
    try {
      await feed(schema, prefix, false);
      const { child, exit, stderr } = startDrain(schema, prefix);
      await until(() => stderr().includes('token-limits: retrying:'), 'a failed write');
      child.kill('SIGINT');
      expect(await exit).toBe(1);
      expect(stderr()).toContain('token-limits: stopped by SIGINT: 0 records written, 6 waiting\n');
      expect(stderr()).toMatch(/token-limits: the ledger was failing when the drain stopped \(\d+ failed writes in a row\)\n/);
    } finally {
      await dropSchema(pool, schema);
    }
  });

  describe('while a write is blocked in PostgreSQL (a lock held by another session)', () => {
    /** Six waiting records, a drain started, and its first write blocked on the table's lock; `release()` ends the lock. */
    async function blockedDrain() {
      const schema = uniqueSchema();
      const prefix = uniquePrefix('tl-cli');
      const ledger = await feed(schema, prefix);
      const locker = await pool.connect();
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE ${ledger.tableName} IN ACCESS EXCLUSIVE MODE`);
      const drain = startDrain(schema, prefix);
      await until(
        async () =>
          (await pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%' || $1 || '%'`, [schema])).rows[0].n > 0,
        'the drain to wait on the lock',
      );
      const release = async (): Promise<void> => {
        drain.child.kill('SIGKILL');
        await locker.query('ROLLBACK');
        locker.release();
        await dropSchema(pool, schema);
      };
      return { ...drain, release };
    }

    it('SIGTERM still ends it, within seconds, with 1 and why', async () => {
      const drain = await blockedDrain();
      try {
        const sent = Date.now();
        drain.child.kill('SIGTERM');
        const { code, at } = await drain.exited;
        expect(code).toBe(1);
        expect(at - sent).toBeLessThan(15_000);
        expect(drain.stderr()).toContain('token-limits: a write to the ledger was still under way after 5000 ms; its records wait for the next drain\n');
      } finally {
        await drain.release();
      }
    });

    it('a second signal, of either kind, ends the stop at once', async () => {
      const drain = await blockedDrain();
      try {
        drain.child.kill('SIGTERM');
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(drain.running()).toBe(true);
        const sent = Date.now();
        drain.child.kill('SIGINT');
        const { signal, at } = await drain.exited;
        expect(signal).toBe('SIGINT');
        expect(at - sent).toBeLessThan(1_500);
      } finally {
        await drain.release();
      }
    });
  });
});
