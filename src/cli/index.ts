#!/usr/bin/env node
/**
 * `npx token-limits ledger <command>`: operators' commands for the PostgreSQL usage ledger.
 * pg (and ioredis, for the commands that read the store) come from the app's own install.
 */
import process from 'node:process';
import { parseArgs } from 'node:util';
import { createTokenLimiter, InvalidArgumentError, RedisStore, type TokenLimiter } from '../index.js';
import { createPostgresLedger, type PgPoolLike, type PostgresLedger } from '../postgres/index.js';
import { INSTANT_FORMS, parseInstant } from '../kernel/instant.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, reach } from './reach.js';
import { connectionUrlProblem } from './urls.js';
import { pipeHeld, writeFileWhole, writeLines } from './output.js';

const USAGE = `Usage: token-limits ledger <command> [options]

Commands:
  migrate     create the ledger's schema, table and indexes (idempotent)
  export      write the records of [--from, --to) as CSV or JSON lines (stdout, or --out)
  reconcile   compare each user's ledger totals with the store's (RedisStore at --redis-url);
              exit code 2 when some differ
  drain       move waiting records from the store into the ledger, until stopped (Ctrl-C
              or SIGTERM); it never ends by itself, so it never exits 0

Options:
  --database-url URL   PostgreSQL (default: $DATABASE_URL)
  --schema NAME        the table's schema (default: public)
  --table NAME         the table (default: token_limits_usage)
  --from DATE          start (export, reconcile): a UTC date (2026, 2026-05, 2026-05-01), an
                       ISO date-time with its offset (2026-05-01T10:00Z, 2026-05-01T10:00-03:00;
                       one without an offset is refused: it would depend on the machine's zone),
                       or ms since the epoch
  --to DATE            end, excluded, in the same forms (export, reconcile; default: now)
  --format csv|jsonl   export format (default: csv)
  --user ID            export one user's records
  --account ID         export one account's records
  --out FILE           export to a file instead of stdout
  --redis-url URL      the store's Redis (reconcile, drain; default: $REDIS_URL)
  --prefix PREFIX      the RedisStore key prefix (default: tl)
  --connect-timeout MS how long PostgreSQL and Redis may take to answer the first time, before
                       the command fails (default: 10000)
  --help               this text

Exit codes: 0 done (reconcile: no difference); 1 error (drain: records were moved aside
unwritten, or the ledger was failing when it stopped); 2 reconcile found differences;
130 / 143 drain stopped by SIGINT (Ctrl-C) / SIGTERM with nothing failing.`;

class UsageError extends Error {}

/**
 * How long a command that is done, or stopped, waits for a PostgreSQL query still under way (a
 * drain's write, an interrupted export's read) before it exits without it.
 */
const STOP_GRACE_MS = 5_000;

/** Ends `pool`; false if that takes longer than `ms` (a query still running holds it). */
function endWithin(pool: { end(): Promise<void> }, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    pool.end().then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** 128 + the signal's number: what a shell reports for a command its signal ended. */
const EXIT_SIGINT = 130;
const EXIT_SIGTERM = 143;

/**
 * The options each command reads. Any other is refused: ignored, `reconcile --user u1` compared
 * every user, and `migrate --from 2026` looked as if it did something with the date.
 */
const COMMON_OPTIONS = ['database-url', 'schema', 'table', 'connect-timeout', 'help'];
const COMMAND_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  migrate: COMMON_OPTIONS,
  export: [...COMMON_OPTIONS, 'from', 'to', 'format', 'user', 'account', 'out'],
  reconcile: [...COMMON_OPTIONS, 'from', 'to', 'redis-url', 'prefix'],
  drain: [...COMMON_OPTIONS, 'redis-url', 'prefix'],
};

/**
 * The options the library checks itself (after connecting), by the parameter its errors name:
 * "Invalid options.userId: must not be empty" is said as "--user: must not be empty".
 */
const FLAG_OF_PARAMETER: Readonly<Record<string, string>> = {
  'options.schema': 'schema',
  'options.table': 'table',
  'options.prefix': 'prefix',
  'options.userId': 'user',
  'options.accountId': 'account',
};

/** What the CLI uses of an ioredis client. */
interface RedisLike {
  disconnect(): void;
  on(event: 'error', listener: () => void): unknown;
  ping(): Promise<unknown>;
}

function fail(message: string): never {
  throw new UsageError(message);
}

async function importOptional<T>(name: string, why: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch {
    return fail(`${why} needs the ${name} package: npm install ${name}`);
  }
}

/**
 * A time option as ms since the epoch. Never in the machine's zone (the ledger's own reads parse
 * text the same way: src/kernel/instant.ts): a date is a UTC day (month, year), and a date-time
 * must carry its offset. Date.parse read `2026-12-01T10:00` in local time, so the same command
 * answered differently on servers in different zones (and took non-ISO text, `Dec 1 2026`, in
 * local time too).
 */
function date(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  // Digits are ms since the epoch, except four of them: a year (ISO 8601), as in --from 2026.
  if (/^\d+$/.test(value) && value.length !== 4) return Number(value);
  const read = parseInstant(value);
  if ('ms' in read) return read.ms;
  switch (read.problem) {
    case 'no offset':
      return fail(`--${name} ${value} has no UTC offset: add Z for UTC (${value}Z) or the offset of its zone (e.g. ${value}-03:00); without one it would be read in this machine's time zone`);
    case 'impossible':
      return fail(`--${name} is not a real date or time: ${value}`);
    case 'offset':
      return fail(`--${name} has an impossible UTC offset: ${value}`);
    default:
      return fail(`--${name} must be ${INSTANT_FORMS.replace(' or an ISO', ', an ISO')} or ms since the epoch, got ${value}`);
  }
}

/**
 * --from and --to, checked against each other here: the ledger's own message named its options
 * (`Invalid options.to: must be after options.from (got 1767225600000)`), not the command line's.
 */
function range(fromText: string | undefined, toText: string | undefined, command: string): { from: number; to: number } {
  const from = date(fromText, 'from') ?? fail(`ledger ${command} needs --from`);
  const to = date(toText, 'to') ?? Date.now();
  if (to <= from) {
    const shown = (ms: number): string => (Number.isFinite(new Date(ms).getTime()) ? new Date(ms).toISOString() : String(ms));
    fail(`--to must be after --from: ${toText === undefined ? `now (${shown(to)})` : shown(to)} is not after ${shown(from)}`);
  }
  return { from, to };
}

/** The store's Redis URL (--redis-url or REDIS_URL), checked. */
function storeUrl(option: string | undefined, command: string): string {
  const url = option ?? process.env.REDIS_URL;
  if (url === undefined || url === '') return fail(`ledger ${command} reads the store: pass --redis-url or set REDIS_URL`);
  const problem = connectionUrlProblem(url, option === undefined ? 'redis-url (REDIS_URL)' : 'redis-url', ['redis', 'rediss']);
  return problem === undefined ? url : fail(problem);
}

export async function main(argv: readonly string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      tokens: true,
      options: {
        'database-url': { type: 'string' },
        schema: { type: 'string' },
        table: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        format: { type: 'string' },
        user: { type: 'string' },
        account: { type: 'string' },
        out: { type: 'string' },
        'redis-url': { type: 'string' },
        prefix: { type: 'string' },
        'connect-timeout': { type: 'string' },
        help: { type: 'boolean' },
      },
    });
  } catch (error) {
    err.write(`token-limits: ${(error as Error).message}\n\n${USAGE}\n`);
    return 1;
  }
  const { values: o, positionals, tokens } = parsed;
  // parseArgs keeps the last of a repeated option: `--from 2026 ... --from 2025` (a script adding
  // its own) exported another range than either reader of the command line would guess.
  const seen = new Set<string>();
  for (const token of tokens) {
    if (token.kind !== 'option' || token.name === 'help') continue;
    if (seen.has(token.name)) {
      err.write(`token-limits: --${token.name} is given more than once\n\n${USAGE}\n`);
      return 1;
    }
    seen.add(token.name);
  }
  if (o.help === true || positionals.length === 0) {
    (o.help === true ? out : err).write(`${USAGE}\n`);
    return o.help === true ? 0 : 1;
  }
  const [group, command, ...rest] = positionals;
  let pool: (PgPoolLike & { end(): Promise<void> }) | undefined;
  let limiter: TokenLimiter | undefined;
  let redis: { disconnect(): void } | undefined;
  try {
    if (group !== 'ledger' || command === undefined || rest.length > 0) fail(`unknown command: ${positionals.join(' ')}`);
    const accepted = COMMAND_OPTIONS[command];
    if (accepted === undefined || !Object.hasOwn(COMMAND_OPTIONS, command)) fail(`unknown command: ledger ${command}`);
    const foreign = Object.keys(o).filter((name) => !accepted.includes(name));
    if (foreign.length > 0) fail(`ledger ${command} does not take ${foreign.map((name) => `--${name}`).join(', ')}`);
    const connectTimeoutMs = o['connect-timeout'] === undefined ? DEFAULT_CONNECT_TIMEOUT_MS : Number(o['connect-timeout']);
    if (!/^\d+$/.test(o['connect-timeout'] ?? '0') || !(connectTimeoutMs >= 1 && connectTimeoutMs <= 2_147_483_647)) {
      fail(`--connect-timeout must be a whole number of ms from 1 to 2147483647, got ${o['connect-timeout']}`);
    }
    const databaseUrl = o['database-url'] ?? process.env.DATABASE_URL;
    if (databaseUrl === undefined || databaseUrl === '') fail('no database: pass --database-url or set DATABASE_URL');
    const databaseUrlProblem = connectionUrlProblem(databaseUrl, o['database-url'] === undefined ? 'database-url (DATABASE_URL)' : 'database-url', ['postgres', 'postgresql', 'socket']);
    if (databaseUrlProblem !== undefined) fail(databaseUrlProblem);
    // The rest of the command line is checked before connecting too: a typo in --format or --to
    // failed only once PostgreSQL answered, or after --connect-timeout with a message about the server.
    const span = command === 'export' || command === 'reconcile' ? range(o.from, o.to, command) : { from: 0, to: 0 };
    const format = o.format ?? 'csv';
    if (format !== 'csv' && format !== 'jsonl') fail(`--format must be csv or jsonl, got ${format}`);
    const redisUrl = command === 'reconcile' || command === 'drain' ? storeUrl(o['redis-url'], command) : '';
    const pg = await importOptional<{ default: { Pool: new (options: object) => PgPoolLike & { end(): Promise<void>; on(event: 'error', listener: () => void): void } } }>('pg', 'the ledger');
    // connectionTimeoutMillis: without it pg waits forever for a server that never answers.
    const p = new pg.default.Pool({ connectionString: databaseUrl, max: 4, connectionTimeoutMillis: connectTimeoutMs });
    p.on('error', () => {});
    pool = p;
    await reach('PostgreSQL', connectTimeoutMs, () => p.query('SELECT 1'));
    const store = async (): Promise<RedisStore> => {
      const { Redis } = await importOptional<{ Redis: new (url: string, options: object) => RedisLike }>('ioredis', `ledger ${command}`);
      const client = new Redis(redisUrl, { maxRetriesPerRequest: 3, connectTimeout: connectTimeoutMs });
      // Connection errors also fail the commands that meet them (reported there); unlistened,
      // ioredis printed each reconnection attempt's stack trace on stderr.
      client.on('error', () => {});
      redis = client;
      await reach('Redis', connectTimeoutMs, () => client.ping());
      return new RedisStore({ client: client as never, prefix: o.prefix ?? 'tl' });
    };
    const ledgerOf = (drain: boolean): PostgresLedger =>
      createPostgresLedger({ pool: p, drain, ...(o.schema === undefined ? {} : { schema: o.schema }), ...(o.table === undefined ? {} : { table: o.table }) });

    switch (command) {
      case 'migrate': {
        const ledger = ledgerOf(false);
        await ledger.migrate();
        err.write(`token-limits: ${ledger.tableName} is ready\n`);
        return 0;
      }
      case 'export': {
        const { from, to } = span;
        const stream = ledgerOf(false).export({
          from,
          to,
          format,
          ...(o.user === undefined ? {} : { userId: o.user }),
          ...(o.account === undefined ? {} : { accountId: o.account }),
        });
        if (o.out === undefined) {
          try {
            await pipeHeld(stream, out);
          } catch (error) {
            // The reader stopped early (`| head`): what it read is what it wanted.
            if ((error as NodeJS.ErrnoException).code === 'EPIPE') return 0;
            throw error;
          }
        } else await writeFileWhole(stream, o.out);
        return 0;
      }
      case 'reconcile': {
        const { from, to } = span;
        const ledger = ledgerOf(false);
        limiter = createTokenLimiter({ store: await store(), ledger });
        const differences = await ledger.reconcile({ from, to });
        await writeLines(out, (function* () {
          for (const d of differences) yield `${JSON.stringify(d)}\n`;
        })());
        const n = differences.length;
        err.write(`token-limits: ${n} ${n === 1 ? 'user differs' : 'users differ'} between the ledger and the store\n`);
        return differences.length === 0 ? 0 : 2;
      }
      default: {
        const drainer = createTokenLimiter({ store: await store(), ledger: ledgerOf(true) });
        limiter = drainer;
        // Failed writes (retrying), and entries moved to a dead-letter stream (dead-lettered).
        let unwritten = 0;
        drainer.on('ledger-error', (e) => {
          if (e.policy !== 'retrying') unwritten += e.records;
          err.write(`token-limits: ${e.policy}: ${e.error.message}\n`);
        });
        err.write('token-limits: draining the ledger feed into the ledger (Ctrl-C stops)\n');
        const signal = await new Promise<NodeJS.Signals>((resolve) => {
          const stop = (name: NodeJS.Signals): void => {
            // Both handlers go at the first signal: a second one, of either kind, ends the process
            // at once (its default action) while the stop waits on a ledger that does not answer.
            process.off('SIGINT', onInt);
            process.off('SIGTERM', onTerm);
            resolve(name);
          };
          const onInt = (): void => stop('SIGINT');
          const onTerm = (): void => stop('SIGTERM');
          process.on('SIGINT', onInt);
          process.on('SIGTERM', onTerm);
        });
        // Stop (the batch under way ends first, within the limiter's storeTimeoutMs), then say
        // where it stopped: a script told 0 could not tell a drain stopped with the ledger
        // failing, or records moved aside, from a clean one.
        await drainer.close();
        const lag = await drainer.ledgerLag().catch(() => null);
        // A write still blocked in PostgreSQL (a lock, a server that stopped answering) held
        // pool.end(), and with it the process, for as long as it lasted.
        const ended = await endWithin(p, STOP_GRACE_MS);
        pool = undefined;
        const waiting = lag === null ? 'an unknown number of' : String(lag.pending);
        err.write(`token-limits: stopped by ${signal}: ${lag?.written ?? 0} records written, ${waiting} waiting\n`);
        if (!ended) {
          err.write(`token-limits: a write to the ledger was still under way after ${STOP_GRACE_MS} ms; its records wait for the next drain\n`);
          return 1;
        }
        if (unwritten > 0) {
          err.write(`token-limits: ${unwritten} entries were moved aside unwritten (see above)\n`);
          return 1;
        }
        if (lag === null || lag.failures > 0) {
          err.write(`token-limits: the ledger was failing when the drain stopped${lag === null ? '' : ` (${lag.failures} failed writes in a row)`}\n`);
          return 1;
        }
        return signal === 'SIGINT' ? EXIT_SIGINT : EXIT_SIGTERM;
      }
    }
  } catch (error) {
    if (error instanceof UsageError) err.write(`token-limits: ${error.message}\n\n${USAGE}\n`);
    else if (error instanceof InvalidArgumentError && FLAG_OF_PARAMETER[error.parameter] !== undefined) {
      err.write(`token-limits: ${error.message.replace(`Invalid ${error.parameter}`, `--${FLAG_OF_PARAMETER[error.parameter]}`)}\n\n${USAGE}\n`);
    } else err.write(`token-limits: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await limiter?.close().catch(() => {});
    redis?.disconnect();
    // Bounded: a query still blocked in PostgreSQL (an export stopped by Ctrl-C while it waited on
    // a lock) held pool.end(), and the command, until the lock went.
    if (pool !== undefined) await endWithin(pool, STOP_GRACE_MS);
  }
}

const invokedDirectly = process.argv[1] !== undefined && /token-limits$|cli[\\/]index\.[cm]?[jt]s$/.test(process.argv[1]);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // The command is done and its connections closed; but ioredis, closed while still
      // connecting to a server that never answers, keeps timers that held the process for
      // seconds more. Exit anyway once the output has had time to flush (unref: this timer
      // alone never keeps the process up).
      setTimeout(() => process.exit(code), 500).unref();
    },
    (error: unknown) => {
      process.stderr.write(`token-limits: ${(error as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
