/**
 * The durable ledger under crashes: 10,000 calls from 4 processes on a real Redis, drained into a
 * real PostgreSQL by a process that is SIGKILLed twice, while PostgreSQL itself is crashed
 * (immediate shutdown) and restarted once. Every record must reach the table exactly once, and the
 * table must agree with the store.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenLimiter, RedisStore } from '../../src/index.js';
import { createPostgresLedger } from '../../src/postgres/index.js';
import { startRedisServer, sleep, uniquePrefix, type RedisServer } from '../support/index.js';
import { recordFigures } from './support/figures.js';
import type { LedgerWorkerConfig } from './support/ledger-worker.js';
import { startPostgresServer, type PostgresServer } from './support/postgres-server.js';

const WORKER = fileURLToPath(new URL('./support/ledger-worker.ts', import.meta.url));
const PROCESSES = 4;
const CALLS_PER_PROCESS = 2_500;
const USERS = 12;
const CLAIM_IDLE_MS = 1_000;

let redis: RedisServer;
let postgres: PostgresServer;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  [redis, postgres] = await Promise.all([startRedisServer(), startPostgresServer()]);
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all([redis?.stop(), postgres?.stop()]);
});

function spawnWorker(config: LedgerWorkerConfig): { child: ChildProcess; ready: Promise<void>; done: Promise<string[]> } {
  const child = fork(WORKER, [JSON.stringify(config)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const message = <T>(type: string, pick: (m: Record<string, unknown>) => T) =>
    new Promise<T>((resolve, reject) => {
      child.on('message', (m: Record<string, unknown>) => {
        if (m.type === type) resolve(pick(m));
      });
      child.once('exit', (code, signal) => reject(new Error(`${config.role} exited (${code ?? signal}) before '${type}'`)));
    });
  const ready = message('ready', () => undefined);
  const done = message('done', (m) => m.ids as string[]);
  done.catch(() => {});
  return { child, ready, done };
}

async function killHard(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

describe('ledger: crashes of the drainer and of PostgreSQL', () => {
  it('10,000 calls from 4 processes reach the table exactly once, and agree with the store', async () => {
    const prefix = uniquePrefix('ledger').replace(/:$/, '');
    const schema = 'ledger_fault';
    const admin = new pg.Pool({ connectionString: postgres.url, max: 2 });
    admin.on('error', () => {});
    const ledger = createPostgresLedger({ pool: admin, schema, drain: false });
    await ledger.migrate();
    const base = { redisUrl: redis.url, prefix, pgUrl: postgres.url, schema, calls: CALLS_PER_PROCESS, users: USERS, pauseMs: 3, claimIdleMs: CLAIM_IDLE_MS };
    const count = async (): Promise<number> => {
      try {
        const { rows } = await admin.query(`SELECT count(*)::int AS n FROM ${ledger.tableName}`);
        return (rows[0] as { n: number }).n;
      } catch {
        return -1; // PostgreSQL is down
      }
    };
    const waitForRows = async (n: number) => {
      const deadline = Date.now() + 60_000;
      while ((await count()) < n) {
        if (Date.now() > deadline) throw new Error(`the table never reached ${n} rows`);
        await sleep(25);
      }
    };

    const startedAt = Date.now();
    let drainer = spawnWorker({ ...base, role: 'drainer', seed: 0 });
    await drainer.ready;
    const callers = Array.from({ length: PROCESSES }, (_, i) => spawnWorker({ ...base, role: 'caller', seed: 1 + i * 7919 }));
    await Promise.all(callers.map((c) => c.ready));
    const events: string[] = [];

    // First drainer crash, mid-run.
    await waitForRows(1_500);
    await killHard(drainer.child);
    events.push(`drainer SIGKILLed at ${await count()} rows`);
    drainer = spawnWorker({ ...base, role: 'drainer', seed: 0 });
    await drainer.ready;

    // PostgreSQL crashes (immediate shutdown: no checkpoint) and comes back.
    await waitForRows(4_000);
    const rowsBeforePg = await count();
    await postgres.kill('SIGQUIT');
    const pgDownAt = Date.now();
    await sleep(1_500);
    await postgres.start();
    events.push(`PostgreSQL crashed at ${rowsBeforePg} rows, back after ${Date.now() - pgDownAt} ms`);

    // Second drainer crash.
    await waitForRows(6_500);
    await killHard(drainer.child);
    events.push(`drainer SIGKILLed at ${await count()} rows`);
    drainer = spawnWorker({ ...base, role: 'drainer', seed: 0 });
    await drainer.ready;

    const committed = (await Promise.all(callers.map((c) => c.done))).flat();
    const callsDoneMs = Date.now() - startedAt;
    expect(committed).toHaveLength(PROCESSES * CALLS_PER_PROCESS);

    // This process drains what is left (with the third drainer), then compares.
    const client = redis.client();
    const final = createPostgresLedger({ pool: admin, schema, drain: { pollMs: 20, claimIdleMs: CLAIM_IDLE_MS } });
    const limiter = createTokenLimiter({
      store: new RedisStore({ client, prefix }),
      ledger: final,
      defaultLimits: [{ id: 'month', tokens: 1_000_000_000, period: 'month' }],
    });
    try {
      await limiter.flushLedger(60_000);
      await killHard(drainer.child);
      const drainedMs = Date.now() - startedAt;
      const { rows } = await admin.query(`SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids FROM ${ledger.tableName}`);
      expect(rows[0]).toEqual({ n: 10_000, ids: 10_000 });
      const { rows: idRows } = await admin.query(`SELECT id FROM ${ledger.tableName}`);
      expect(new Set(idRows.map((r: { id: string }) => r.id))).toEqual(new Set(committed));
      expect(await limiter.ledgerLag()).toMatchObject({ pending: 0 });

      // Per user: the ledger's sums equal the store's counters.
      const { rows: sums } = await admin.query(`SELECT user_id, sum(total_tokens)::int8 AS tokens, count(*)::int AS n FROM ${ledger.tableName} GROUP BY user_id ORDER BY user_id`);
      expect(sums).toHaveLength(USERS);
      for (const s of sums as Array<{ user_id: string; tokens: string; n: number }>) {
        const usage = await limiter.admin.getUsage(s.user_id);
        expect({ user: s.user_id, tokens: Number(s.tokens) }).toEqual({ user: s.user_id, tokens: usage.used });
      }
      const differences = await final.reconcile({ from: startedAt - 60_000, to: Date.now() + 60_000 });
      expect(differences).toEqual([]);
      recordFigures({
        scenario: 'L1',
        name: `${PROCESSES} processes × ${CALLS_PER_PROCESS} calls; ledger drainer SIGKILLed twice; PostgreSQL crashed and restarted once`,
        criterion: 'the table holds every call exactly once; per-user sums equal the store; reconcile reports 0 differences',
        measured: {
          rows: (rows[0] as { n: number }).n,
          'distinct ids': (rows[0] as { ids: number }).ids,
          'reconcile differences': differences.length,
          faults: events.join('; '),
          'calls done (ms)': callsDoneMs,
          'all in the table (ms from start)': drainedMs,
        },
      });
    } finally {
      await limiter.close();
      await admin.end();
    }
  }, 240_000);
});
