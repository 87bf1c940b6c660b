import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenLimiter, RedisStore } from '../../src/index.js';
import { createPostgresLedger } from '../../src/postgres/index.js';
import { connectPostgres, DATABASE_URL, dropSchema, uniqueSchema } from '../helpers/postgres.js';
import { connectRedis, REDIS_URL, uniquePrefix } from '../helpers/redis.js';

/** `npx token-limits ledger ...`, run as operators run it: a child process. */
const CLI = fileURLToPath(new URL('../../src/cli/index.ts', import.meta.url));

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { ...process.env, DATABASE_URL, REDIS_URL, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    // A CLI that hangs is killed, so a failing test leaves no process behind.
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** A CLI run the test drives while it runs (reads its first output, stops reading, interrupts it). */
function startCli(args: string[], stdout: 'pipe' | 'ignore' = 'ignore') {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { ...process.env, DATABASE_URL, REDIS_URL }, stdio: ['ignore', stdout, 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exit, stderr: () => stderr };
}

let pool: pg.Pool;
let redis: Redis;
const schema = uniqueSchema();

/**
 * Runs `test` on a ledger schema of its own holding `rows` generated records (g = 1..rows; each
 * row's user and time given as SQL over g), dropped afterwards.
 */
async function withGeneratedRows(rows: number, userSql: string, timeSql: string, test: (schema: string) => Promise<void>): Promise<void> {
  const own = uniqueSchema();
  const ledger = createPostgresLedger({ pool, schema: own, drain: false });
  await ledger.migrate();
  try {
    await pool.query(
      `INSERT INTO ${ledger.tableName} (id, user_id, provider, model, endpoint, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, total_tokens, estimated, status, latency_ms, created_at)
       SELECT 'r' || g, ${userSql}, 'openai', 'gpt-4o', 'chat', 1, 0, 0, 1, 0, 2, false, 'ok', 1, ${timeSql} FROM generate_series(1, ${rows}) AS g`,
    );
    await test(own);
  } finally {
    await dropSchema(pool, own);
  }
}
const dir = mkdtempSync(join(tmpdir(), 'tl-cli-'));
beforeAll(async () => {
  pool = await connectPostgres();
  redis = await connectRedis();
});
afterAll(async () => {
  await dropSchema(pool, schema);
  await pool?.end();
  redis?.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

describe('npx token-limits ledger', () => {
  it('migrate, export and reconcile against a RedisStore', async () => {
    const migrated = await cli(['ledger', 'migrate', '--schema', schema]);
    expect(migrated).toMatchObject({ code: 0, stderr: `token-limits: "${schema}"."token_limits_usage" is ready\n` });

    const prefix = uniquePrefix('tl-cli');
    const ledger = createPostgresLedger({ pool, schema, drain: { pollMs: 20 } });
    const limiter = createTokenLimiter({ store: new RedisStore({ client: redis, prefix }), ledger });
    for (let i = 0; i < 12; i += 1) {
      const r = await limiter.reserve(`cli-${i % 3}`, { tokens: 10 });
      await limiter.commit(r, { inputTokens: 4, outputTokens: i, model: 'gpt-4o', costUsd: 0.000001 });
    }
    await limiter.flushLedger();
    const from = new Date(Date.now() - 3_600_000).toISOString();

    const csv = await cli(['ledger', 'export', '--schema', schema, '--from', from, '--user', 'cli-1']);
    expect(csv.code).toBe(0);
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^id,user_id,account_id,/);
    expect(lines.slice(1).map((l) => l.split(',')[1])).toEqual(['cli-1', 'cli-1', 'cli-1', 'cli-1']);
    // A year is a year (ISO 8601), not 2,026 ms after 1970: that exported nothing, with exit code 0.
    const year = new Date().getUTCFullYear();
    const byYear = await cli(['ledger', 'export', '--schema', schema, '--from', '1970', '--to', String(year + 1), '--user', 'cli-1']);
    expect(byYear.stdout.trim().split('\n').slice(1)).toHaveLength(4);
    const file = join(dir, 'all.jsonl');
    expect((await cli(['ledger', 'export', '--schema', schema, '--from', from, '--format', 'jsonl', '--out', file])).code).toBe(0);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(12);

    const agree = await cli(['ledger', 'reconcile', '--schema', schema, '--from', from, '--prefix', prefix]);
    expect(agree).toMatchObject({ code: 0, stdout: '' });
    expect(agree.stderr).toContain('0 users differ');

    await pool.query(`DELETE FROM "${schema}".token_limits_usage WHERE id = (SELECT min(id) FROM "${schema}".token_limits_usage WHERE user_id = 'cli-2')`);
    const differ = await cli(['ledger', 'reconcile', '--schema', schema, '--from', from, '--prefix', prefix]);
    expect(differ.code).toBe(2);
    expect(JSON.parse(differ.stdout)).toMatchObject({ userId: 'cli-2', ledger: { requests: 3 }, store: { requests: 4 } });
    expect(differ.stderr).toBe('token-limits: 1 user differs between the ledger and the store\n');
    await limiter.close();
  });

  it('drain moves waiting records into the ledger until stopped, and reports entries that are no records', async () => {
    const drainSchema = uniqueSchema();
    const prefix = uniquePrefix('tl-cli');
    const ledger = createPostgresLedger({ pool, schema: drainSchema, drain: false });
    await ledger.migrate();
    try {
      const limiter = createTokenLimiter({ store: new RedisStore({ client: redis, prefix }), ledger });
      for (let i = 0; i < 6; i += 1) await limiter.commit(await limiter.reserve('drained', { tokens: 5 }), { inputTokens: 2, outputTokens: 3 });
      await limiter.close();
      // An entry that is no record, beside them: moved to the dead-letter stream, and said so.
      const [stream] = await redis.smembers(`${prefix}:{g}:lqs`);
      const bad = await redis.xadd(stream!, '*', 't', String(Date.now()), 'r', 'not json', 'n', '{}');
      const { child, exit, stderr } = startCli(['ledger', 'drain', '--schema', drainSchema, '--prefix', prefix]);
      const deadline = Date.now() + 20_000;
      let rows = 0;
      while ((rows < 6 || !stderr().includes('dead-lettered')) && Date.now() < deadline) {
        rows = (await pool.query(`SELECT count(*)::int AS n FROM ${ledger.tableName}`)).rows[0].n as number;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      child.kill('SIGINT');
      expect(rows).toBe(6);
      // Interrupted, but an entry went aside unwritten: a failure, not a clean stop (130).
      expect(await exit).toBe(1);
      expect(stderr()).toContain('token-limits: 1 entries were moved aside unwritten (see above)\n');
      expect(stderr()).toContain(`token-limits: dead-lettered: 1 ledger entries were moved unwritten out of ${stream!} to ${stream!}d (XRANGE ${stream!}d - +)`);
      expect(stderr()).toContain(`${bad} (r is not JSON)`);
      expect(await redis.xlen(`${stream!}d`)).toBe(1);
    } finally {
      await dropSchema(pool, drainSchema);
    }
  });

  it('export ends quietly when its reader stops early (| head)', async () => {
    // 20,000 rows: far more than a pipe holds, so the export is still writing when the reader goes.
    await withGeneratedRows(20_000, `'head'`, `date_trunc('milliseconds', now()) - g * interval '1 ms'`, async (headSchema) => {
      const { child, exit, stderr } = startCli(['ledger', 'export', '--schema', headSchema, '--from', '0'], 'pipe');
      await new Promise((resolve) => child.stdout!.once('data', resolve));
      child.stdout!.destroy();
      // It died of an unhandled 'error' event (EPIPE) on stdout, with a stack trace.
      expect(await exit).toBe(0);
      expect(stderr()).toBe('');
    });
  });

  it('reconcile ends quietly when its reader stops early (| head), still with exit code 2', async () => {
    // 3,000 users the store has never seen: 3,000 lines (400 kB) of differences, more than a pipe holds.
    await withGeneratedRows(3000, `'head-' || g`, `now() - interval '1 minute'`, async (headSchema) => {
      const { child, exit, stderr } = startCli(['ledger', 'reconcile', '--schema', headSchema, '--from', '2026', '--prefix', uniquePrefix('tl-cli')], 'pipe');
      await new Promise((resolve) => child.stdout!.once('data', resolve));
      child.stdout!.destroy();
      // It died of an unhandled 'error' event (EPIPE) on stdout: a stack trace and exit code 1.
      expect(await exit).toBe(2);
      expect(stderr()).toBe('token-limits: 3000 users differ between the ledger and the store\n');
    });
  }, 60_000);

  it('reads a date-time by its offset and refuses one without, whatever the zone of the machine', async () => {
    const tzSchema = uniqueSchema();
    const ledger = createPostgresLedger({ pool, schema: tzSchema, drain: false });
    await ledger.migrate();
    try {
      await pool.query(
        `INSERT INTO ${ledger.tableName} (id, user_id, provider, model, endpoint, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, total_tokens, estimated, status, latency_ms, created_at)
         SELECT id, 'zoned', 'openai', 'gpt-4o', 'chat', 1, 0, 0, 1, 0, 2, false, 'ok', 1, at::timestamptz
           FROM (VALUES ('at-0930z', '2026-01-01T09:30:00Z'), ('at-1030z', '2026-01-01T10:30:00Z'), ('at-1330z', '2026-01-01T13:30:00Z')) AS v(id, at)`,
      );
      // A machine 3 hours behind UTC: 10:00 there is 13:00 UTC.
      const zoned = { TZ: 'America/Sao_Paulo' };
      const ids = async (from: string, to: string): Promise<string[]> => {
        const run = await cli(['ledger', 'export', '--schema', tzSchema, '--from', from, '--to', to], zoned);
        expect(run, `${from} ${to}`).toMatchObject({ code: 0, stderr: '' });
        return run.stdout.trim().split('\n').slice(1).map((l) => l.split(',')[0]!);
      };
      expect(await ids('2026-01-01T10:00Z', '2026-01-01T11:00Z')).toEqual(['at-1030z']);
      expect(await ids('2026-01-01T07:00-03:00', '2026-01-01T08:00-0300')).toEqual(['at-1030z']);
      expect(await ids('2026-01-01T10:00:00.000+00:00', '2026-01-01T13:30:00.001Z')).toEqual(['at-1030z', 'at-1330z']);
      // A date is a UTC day, as it always was.
      expect(await ids('2026-01-01', '2026-01-02')).toEqual(['at-0930z', 'at-1030z', 'at-1330z']);
      // Without an offset it exported 13:00-14:00 UTC here, 10:00-11:00 UTC on a server in UTC.
      const bare = await cli(['ledger', 'export', '--schema', tzSchema, '--from', '2026-01-01T10:00', '--to', '2026-01-01T11:00'], zoned);
      expect(bare.code).toBe(1);
      expect(bare.stdout).toBe('');
      expect(bare.stderr).toMatch(/^token-limits: --from 2026-01-01T10:00 has no UTC offset: add Z for UTC/);
      const reconcile = await cli(['ledger', 'reconcile', '--schema', tzSchema, '--from', '2026-01-01', '--to', '2026-01-01 11:00'], zoned);
      expect(reconcile.code).toBe(1);
      expect(reconcile.stderr).toMatch(/^token-limits: --to 2026-01-01 11:00 has no UTC offset/);
      // Text that is no ISO form was read in the local zone too; so were impossible days, rolled over.
      for (const from of ['Jan 1 2026 10:00', '2026/01/01', '2026-02-30', '2026-01-01T24:00Z', '2026-01-01T10:00+25:00']) {
        const run = await cli(['ledger', 'export', '--schema', tzSchema, '--from', from], zoned);
        expect(run.code, from).toBe(1);
        expect(run.stderr, from).toMatch(/^token-limits: --from /);
      }
    } finally {
      await dropSchema(pool, tzSchema);
    }
    // Eleven CLI processes.
  }, 120_000);

  it('refuses bad commands and options with exit code 1 and the usage', async () => {
    for (const args of [['ledger', 'frobnicate'], ['ledger'], ['ledger', 'export', '--schema', schema], ['ledger', 'export', '--from', 'yesterday'], ['ledger', 'migrate', '--table', 'Bad"Name']]) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stderr, args.join(' ')).toMatch(/^token-limits: /);
    }
    expect((await cli(['ledger', 'migrate'], { DATABASE_URL: '' })).stderr).toContain('pass --database-url or set DATABASE_URL');
    expect(await cli(['--help'])).toMatchObject({ code: 0, stdout: expect.stringContaining('Usage: token-limits ledger <command>') });
  });

  it('refuses a --to that is not after --from in the command line\'s words', async () => {
    // The ledger's own message: "Invalid options.to: must be after options.from (got 1767225600000)".
    const export_ = await cli(['ledger', 'export', '--schema', schema, '--from', '2027', '--to', '2026']);
    expect(export_).toMatchObject({ code: 1, stdout: '' });
    expect(export_.stderr).toMatch(/^token-limits: --to must be after --from: 2026-01-01T00:00:00.000Z is not after 2027-01-01T00:00:00.000Z\n/);
    const reconcile = await cli(['ledger', 'reconcile', '--schema', schema, '--from', '2999']);
    expect(reconcile).toMatchObject({ code: 1, stdout: '' });
    expect(reconcile.stderr).toMatch(/^token-limits: --to must be after --from: now \(\d{4}-.*Z\) is not after 2999-01-01T00:00:00.000Z\n/);
  }, 30_000);

  it('names the option, not the library\'s parameter, when the library refuses a value', async () => {
    // "Invalid options.userId: must not be empty": no such option on the command line.
    for (const [args, message] of [
      [['ledger', 'export', '--schema', schema, '--from', '2026', '--user='], '--user: must not be empty'],
      [['ledger', 'migrate', '--table', 'Bad"Name'], '--table: expected 1-63 lower-case letters'],
      [['ledger', 'reconcile', '--schema', schema, '--from', '2026', '--prefix', 'a{b}'], '--prefix: expected 1-64 characters'],
    ] as const) {
      const run = await cli([...args]);
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stderr.startsWith(`token-limits: ${message}`), run.stderr).toBe(true);
    }
  }, 30_000);

  it('refuses an option given twice instead of keeping the last', async () => {
    for (const args of [['--from', '2026', '--from', '2025'], ['--from=2026', '--from', '2025'], ['--from', '2026', '--user', 'a', '--user=b']]) {
      const run = await cli(['ledger', 'export', '--schema', schema, ...args]);
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stdout, args.join(' ')).toBe('');
      expect(run.stderr, args.join(' ')).toMatch(/^token-limits: --(from|user) is given more than once\n/);
    }
  }, 30_000);

  it('refuses an option the command does not take instead of ignoring it', async () => {
    for (const [args, message] of [
      [['ledger', 'reconcile', '--from', '2026', '--user', 'u1'], 'ledger reconcile does not take --user'],
      [['ledger', 'migrate', '--from', '2026', '--format', 'jsonl'], 'ledger migrate does not take --from, --format'],
      [['ledger', 'export', '--from', '2026', '--prefix', 'tl'], 'ledger export does not take --prefix'],
      [['ledger', 'drain', '--out', 'x.csv'], 'ledger drain does not take --out'],
      [['ledger', 'constructor'], 'unknown command: ledger constructor'],
    ] as const) {
      const run = await cli([...args, '--schema', schema]);
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stdout, args.join(' ')).toBe('');
      expect(run.stderr, args.join(' ')).toMatch(new RegExp(`^token-limits: ${message}\\n`));
    }
  }, 30_000);

  it('refuses a connection URL of another scheme, without printing it', async () => {
    // pg took mysql:// for its own, and ioredis took http:// for a Unix socket path.
    const mysql = await cli(['ledger', 'migrate', '--schema', schema, '--database-url', 'mysql://postgres@127.0.0.1:5432/test']);
    expect(mysql).toMatchObject({ code: 1, stdout: '' });
    expect(mysql.stderr).toMatch(/^token-limits: --database-url must be a URL of scheme postgres: or postgresql: or socket:, not mysql:\n/);
    const http = await cli(['ledger', 'reconcile', '--schema', schema, '--from', '2026'], { REDIS_URL: 'http://:s3cret@127.0.0.1:6379' });
    expect(http).toMatchObject({ code: 1, stdout: '' });
    expect(http.stderr).toMatch(/^token-limits: --redis-url \(REDIS_URL\) must be a URL of scheme redis: or rediss:, not http:\n/);
    const port = await cli(['ledger', 'migrate', '--schema', schema], { DATABASE_URL: 'postgres://postgres:s3cret@127.0.0.1:pg/test' });
    expect(port).toMatchObject({ code: 1, stdout: '' });
    expect(port.stderr).toMatch(/^token-limits: --database-url \(DATABASE_URL\) is not a valid URL/);
    for (const run of [mysql, http, port]) expect(run.stderr).not.toContain('s3cret');
  }, 30_000);

  it('export writes all of its output or none of it', async () => {
    // The CSV header went out before the first query failed (no such table): a script saw an
    // empty export, and --out emptied the previous file.
    const missing = uniqueSchema();
    const stdout = await cli(['ledger', 'export', '--schema', missing, '--from', '2026']);
    expect(stdout).toMatchObject({ code: 1, stdout: '' });
    expect(stdout.stderr).toContain('does not exist');
    const outDir = mkdtempSync(join(dir, 'out-'));
    const file = join(outDir, 'usage.csv');
    writeFileSync(file, 'the previous export\n');
    const failed = await cli(['ledger', 'export', '--schema', missing, '--from', '2026', '--out', file]);
    expect(failed.code).toBe(1);
    expect(readFileSync(file, 'utf8')).toBe('the previous export\n');
    expect(readdirSync(outDir)).toEqual(['usage.csv']);
    const done = await cli(['ledger', 'export', '--schema', schema, '--from', '2026', '--out', file]);
    expect(done.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toMatch(/^id,user_id,account_id,/);
    expect(readdirSync(outDir)).toEqual(['usage.csv']);
    // An export of no rows is still the header, on stdout too.
    const empty = await cli(['ledger', 'export', '--schema', schema, '--from', '2026', '--to', '2026-01-02']);
    expect(empty).toMatchObject({ code: 0, stderr: '' });
    expect(empty.stdout).toMatch(/^id,user_id,account_id,[a-z_,]+\n$/);
  }, 30_000);

  it('export --out stopped by Ctrl-C leaves the previous file and no temporary one', async () => {
    // 100,000 rows: an export of a few seconds, stopped while its temporary file is written.
    await withGeneratedRows(100_000, `'int'`, `date_trunc('milliseconds', now()) - g * interval '1 ms'`, async (intSchema) => {
      const outDir = mkdtempSync(join(dir, 'int-'));
      const file = join(outDir, 'usage.csv');
      writeFileSync(file, 'the previous export\n');
      const { child, exit, stderr } = startCli(['ledger', 'export', '--schema', intSchema, '--from', '0', '--out', file]);
      const deadline = Date.now() + 15_000;
      while (readdirSync(outDir).length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(readdirSync(outDir)).toHaveLength(2);
      child.kill('SIGINT');
      // The default handler ended the process there, the hidden temporary file left in outDir.
      expect(await exit).toBe(1);
      expect(stderr()).toBe(`token-limits: interrupted: ${file} was left as it was\n`);
      expect(readdirSync(outDir)).toEqual(['usage.csv']);
      expect(readFileSync(file, 'utf8')).toBe('the previous export\n');
    });
  }, 60_000);

  it('export --out stopped by Ctrl-C while its query waits on a lock still ends, leaving the previous file', async () => {
    await withGeneratedRows(10, `'locked'`, `now() - g * interval '1 ms'`, async (lockedSchema) => {
      const outDir = mkdtempSync(join(dir, 'locked-'));
      const file = join(outDir, 'usage.csv');
      writeFileSync(file, 'the previous export\n');
      const locker = await pool.connect();
      try {
        await locker.query('BEGIN');
        await locker.query(`LOCK TABLE "${lockedSchema}".token_limits_usage IN ACCESS EXCLUSIVE MODE`);
        const { child, exit, stderr } = startCli(['ledger', 'export', '--schema', lockedSchema, '--from', '0', '--out', file]);
        const deadline = Date.now() + 15_000;
        const waiting = async () =>
          (await pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%' || $1 || '%'`, [lockedSchema])).rows[0].n > 0;
        while (!(await waiting()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
        const sent = Date.now();
        child.kill('SIGINT');
        // pool.end() waited for the blocked query: one Ctrl-C never ended the command.
        const code = await Promise.race([exit, new Promise((resolve) => setTimeout(() => resolve('still running'), 12_000))]);
        child.kill('SIGKILL');
        expect(code).toBe(1);
        expect(Date.now() - sent).toBeLessThan(12_000);
        expect(stderr()).toBe(`token-limits: interrupted: ${file} was left as it was\n`);
        expect(readdirSync(outDir)).toEqual(['usage.csv']);
        expect(readFileSync(file, 'utf8')).toBe('the previous export\n');
      } finally {
        await locker.query('ROLLBACK');
        locker.release();
      }
    });
  }, 60_000);

  describe('an unreachable server', () => {
    // A server that accepts connections and never answers: a firewalled port, a stuck host.
    let silent: Server;
    let silentPort = 0;
    const sockets = new Set<Socket>();
    beforeAll(async () => {
      silent = createServer((socket) => {
        sockets.add(socket);
        socket.on('error', () => {});
      });
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      silentPort = (silent.address() as { port: number }).port;
    });
    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });

    it('fails within --connect-timeout when PostgreSQL never answers (it hung for good)', async () => {
      const run = await cli(['ledger', 'migrate', '--connect-timeout', '500'], { DATABASE_URL: `postgres://postgres@127.0.0.1:${silentPort}/test` });
      expect(run).toMatchObject({ code: 1, stdout: '', stderr: 'token-limits: PostgreSQL did not answer within 500 ms\n' });
      expect(run.ms).toBeLessThan(8_000);
    }, 30_000);

    it('fails within --connect-timeout when Redis never answers, and the process exits', async () => {
      const run = await cli(['ledger', 'reconcile', '--schema', schema, '--from', '2026', '--connect-timeout', '500'], { REDIS_URL: `redis://127.0.0.1:${silentPort}` });
      expect(run).toMatchObject({ code: 1, stdout: '', stderr: 'token-limits: Redis did not answer within 500 ms\n' });
      expect(run.ms).toBeLessThan(8_000);
    }, 30_000);

    it('says which server refused, once, without ioredis stack traces, before any output', async () => {
      const redisDown = await cli(['ledger', 'drain', '--schema', schema, '--connect-timeout', '2000'], { REDIS_URL: 'redis://127.0.0.1:1' });
      expect(redisDown.code).toBe(1);
      expect(redisDown.stderr).toMatch(/^token-limits: cannot reach Redis: .*\n$/);
      expect(redisDown.stderr).not.toContain('[ioredis]');
      // The CSV header went out before the first query failed: half a file for the script reading it.
      const pgDown = await cli(['ledger', 'export', '--from', '2026'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/test' });
      expect(pgDown).toMatchObject({ code: 1, stdout: '', stderr: 'token-limits: cannot reach PostgreSQL: connect ECONNREFUSED 127.0.0.1:1\n' });
    }, 30_000);

    it('refuses a bad option before connecting: at once, and saying what is wrong', async () => {
      const silentDatabase = { DATABASE_URL: `postgres://postgres@127.0.0.1:${silentPort}/test` };
      for (const [args, message] of [
        [['ledger', 'export', '--from', '2026', '--format', 'xml'], '--format must be csv or jsonl, got xml'],
        [['ledger', 'export', '--from', '2027', '--to', '2026'], '--to must be after --from'],
        [['ledger', 'reconcile', '--from', '2026', '--redis-url', 'http://127.0.0.1:6379'], '--redis-url must be a URL of scheme redis: or rediss:'],
      ] as const) {
        // They waited for the server (here: the whole --connect-timeout), then named it instead.
        const run = await cli([...args, '--connect-timeout', '5000'], silentDatabase);
        expect(run.code, args.join(' ')).toBe(1);
        expect(run.stderr, args.join(' ')).toMatch(new RegExp(`^token-limits: ${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
        expect(run.ms, args.join(' ')).toBeLessThan(4_000);
      }
    }, 60_000);

    it('refuses a --connect-timeout that is no whole number of ms', async () => {
      for (const value of ['0', '1e3', '-5', 'soon', '2147483648']) {
        const run = await cli(['ledger', 'migrate', `--connect-timeout=${value}`]);
        expect(run.code, value).toBe(1);
        expect(run.stderr, value).toMatch(/^token-limits: --connect-timeout must be a whole number of ms/);
      }
    }, 30_000);
  });
});
