/**
 * `token-limits/postgres`: a durable usage ledger in PostgreSQL, over a `pg` Pool. Give it to
 * `createTokenLimiter({ ledger })`: every committed record reaches the table exactly once, off the
 * caller's path (see docs/ledger.md). Reads: `query`, `export`, `reconcile`. (One file, over 300
 * lines: the table's columns, the SQL that writes them and the SQL and mappings that read them back
 * must change together.)
 */
import { Readable } from 'node:stream';
import { InvalidArgumentError } from '../kernel/errors.js';
import type { HistoryPoint, LedgerDrainSettings, LedgerEntry, LedgerSource, LedgerTotals, UsageLedger, UsageRecord } from '../kernel/types.js';
import { isPlainObject, parsePositiveInt, parseUserId, rejectUnknownKeys } from '../kernel/validate.js';
import { readable, storable } from './text.js';
import { INSTANT_FORMS, parseInstant } from '../kernel/instant.js';

/** The part of a `pg` Pool the ledger uses (`pg.Pool` satisfies it). */
export interface PgPoolLike {
  query(text: string, values?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
}

/** Options of `createPostgresLedger`. */
export interface PostgresLedgerOptions {
  /** A `pg` Pool (or anything with its `query`). The ledger never ends it. */
  pool: PgPoolLike;
  /**
   * The table's name: lower-case letters, digits and `_`, starting with a letter or `_`.
   * @default 'token_limits_usage'
   */
  table?: string;
  /**
   * The table's schema (created by `migrate()` if missing), same characters as `table`.
   * @default 'public'
   */
  schema?: string;
  /**
   * Whether the limiter this ledger is given to moves records into it (`false`: it only appends
   * them to the store's queue, and other processes drain), and how. Any number of processes may
   * drain at once.
   * @default true (batchSize 500, pollMs 200, claimIdleMs 30000, lagReportMs 10000, maxQueue 100000)
   */
  drain?: boolean | Partial<LedgerDrainSettings>;
}

/** One user whose ledger totals differ from the store's. */
export interface LedgerDifference {
  userId: string;
  ledger: { requests: number; totalTokens: number; costMicros: number };
  store: { requests: number; totalTokens: number; costMicros: number };
}

/** The ledger: what the limiter writes and reads, and the operators' reads. */
export interface PostgresLedger extends UsageLedger {
  /**
   * Records of one user or everyone with since <= time <= until (both ends included, as the stores
   * read a log), newest first, at most `limit` (1 to 10,000). `since` after `until`, or a value out
   * of range, throws `InvalidArgumentError` before anything is read, as `admin.getUsageLog` does.
   */
  readLog(query: { userId?: string; since?: number; until?: number; limit: number }): Promise<UsageRecord[]>;
  /**
   * Usage per hour or UTC day and per model in [from, to); `to` not after `from` throws
   * `InvalidArgumentError` before anything is read.
   */
  readHistory(query: { userId?: string; from: number; to: number; granularity: 'hour' | 'day' }): Promise<HistoryPoint[]>;
  /** `"schema"."table"`, quoted. */
  readonly tableName: string;
  /** Creates the schema, the table and its indexes if missing (idempotent; safe from several processes at once). */
  migrate(): Promise<void>;
  /**
   * Totals of the records with from <= time < to, of one user, one account or everyone; one row
   * per UTC day, UTC month or model with `groupBy`, else a single row. `from` and `to` (here, in
   * `export` and in `reconcile`): a Date, ms since the epoch, an ISO date (a UTC day) or an ISO
   * date-time with Z or its offset; one without is refused, never read in the machine's zone.
   */
  query(options: { userId?: string; accountId?: string; from: Date | string | number; to: Date | string | number; groupBy?: 'day' | 'month' | 'model' }): Promise<LedgerTotals[]>;
  /**
   * The records with from <= time < to (one user's or account's, or everyone's), oldest first, as
   * a stream of CSV (with a header line) or JSON lines, read from the table page by page.
   */
  export(options: { userId?: string; accountId?: string; from: Date | string | number; to: Date | string | number; format: 'csv' | 'jsonl' }): Readable;
  /**
   * Compares each user's totals in the ledger with the store's (its hourly history: the range is
   * widened to whole hours, and must lie within the store's history retention) and returns the
   * users that differ: none when they agree. Records still waiting in the store's queue count as
   * differences: run it when `ledgerLag()` reports nothing pending. Needs the ledger to have been
   * given to `createTokenLimiter`.
   */
  reconcile(options: { from: Date | string | number; to: Date | string | number }): Promise<LedgerDifference[]>;
}

const DEFAULT_DRAIN: LedgerDrainSettings = { batchSize: 500, pollMs: 200, claimIdleMs: 30_000, lagReportMs: 10_000, maxQueue: 100_000 };
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const HOUR_MS = 3_600_000;
const PAGE = 1_000;
/**
 * A row's time as ms since the epoch, read beside `*`: pg parses a timestamptz only in the ISO
 * DateStyle (another, set on the database or the session, gave null), a number in every one.
 */
const TIME_MS = `(extract(epoch FROM created_at) * 1000)::float8 AS created_ms`;
/** The instants a range may name: from PostgreSQL's earliest timestamptz (4714-11-24 BC) to a Date's latest. */
const EARLIEST = Date.UTC(-4713, 10, 24);
const LATEST = 8_640_000_000_000_000;

/** The table's columns, in insert order, with their SQL types. */
const COLUMNS = [
  ['id', 'text'],
  ['user_id', 'text'],
  ['account_id', 'text'],
  ['provider', 'text'],
  ['model', 'text'],
  ['endpoint', 'text'],
  ['input_tokens', 'int8'],
  ['cached_input_tokens', 'int8'],
  ['cache_write_tokens', 'int8'],
  ['output_tokens', 'int8'],
  ['reasoning_tokens', 'int8'],
  ['total_tokens', 'int8'],
  ['cost_micros', 'int8'],
  ['estimated', 'bool'],
  ['status', 'text'],
  ['request_id', 'text'],
  ['latency_ms', 'int8'],
  ['created_at', 'timestamptz'],
] as const;

/** Creates a ledger over `pool`. Call `migrate()` once (at deploy, or `npx token-limits ledger migrate`). */
export function createPostgresLedger(options: PostgresLedgerOptions): PostgresLedger {
  if (!isPlainObject(options)) throw new InvalidArgumentError('options', options, 'expected { pool, table?, schema?, drain? }');
  rejectUnknownKeys(options, ['pool', 'table', 'schema', 'drain'], 'options');
  const pool = options.pool as Partial<PgPoolLike> | undefined;
  if (typeof pool !== 'object' || pool === null || typeof pool.query !== 'function') {
    throw new InvalidArgumentError('options.pool', options.pool, 'expected a pg Pool');
  }
  const table = identifier(options.table ?? 'token_limits_usage', 'options.table');
  const schema = identifier(options.schema ?? 'public', 'options.schema');
  const drain = parseDrain(options.drain);
  const tableName = `"${schema}"."${table}"`;
  const q = (text: string, values?: unknown[]) => (pool as PgPoolLike).query(text, values);
  let source: LedgerSource | undefined;

  async function readLog(options: { userId?: string; since?: number; until?: number; limit: number }): Promise<UsageRecord[]> {
    const query = parseLogQuery(options);
    const where: string[] = [];
    const values: unknown[] = [];
    if (query.userId !== undefined) where.push(userIs(values, query.userId));
    if (query.since !== undefined) where.push(`created_at >= $${values.push(instant(query.since))}`);
    // Both ends included, as the stores read a log range.
    if (query.until !== undefined) where.push(`created_at <= $${values.push(instant(query.until))}`);
    const { rows } = await q(
      `SELECT *, ${TIME_MS} FROM ${tableName} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT $${values.push(query.limit)}`,
      values,
    );
    return rows.map(recordOf);
  }

  return {
    tableName,
    drain,

    attach(s) {
      source = s;
    },

    async migrate() {
      const name = `${schema}.${table}`;
      // A database in another encoding (LATIN1, WIN1252...) refuses the text of most scripts: the
      // first user id in Chinese made every write of its batch fail, for ever.
      const [{ encoding } = {}] = (await q(`SELECT current_setting('server_encoding') AS encoding`)).rows;
      if (encoding !== 'UTF8' && encoding !== 'SQL_ASCII') {
        throw new InvalidArgumentError('options.pool', encoding, 'a database in UTF8 encoding (CREATE DATABASE ... ENCODING \'UTF8\'): ids and labels may be any Unicode text');
      }
      // CREATE TABLE IF NOT EXISTS keeps a table of that name in any form: one the inserts cannot
      // use made every write fail, from the first, and the records wait for ever. Checked first,
      // so that such a table is left as it was (no index added). By scanning the catalogs, not
      // to_regclass: that cached "no such schema" in the connection, and a migration that then
      // waited on the lock below took the cache's word and created the schema a second time.
      const { rows } = await q(
        `SELECT (SELECT array_agg(attname::text) FROM pg_attribute WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped) AS columns,
                EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique AND i.indpred IS NULL AND i.indkey::text =
                  (SELECT attnum::text FROM pg_attribute WHERE attrelid = c.oid AND attname = 'id')) AS unique_id
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
        [schema, table],
      );
      if (rows.length > 0) {
        const have = new Set((rows[0]!.columns as string[] | null) ?? []);
        const missing = [...COLUMNS.map(([n]) => n), 'recorded_at'].filter((n) => !have.has(n));
        if (missing.length > 0 || rows[0]!.unique_id !== true) {
          const lacks = [...(missing.length > 0 ? [`the columns ${missing.join(', ')}`] : []), ...(rows[0]!.unique_id === true ? [] : ['a unique index on id'])];
          throw new InvalidArgumentError('options.table', name, `a ledger table: ${tableName} exists and lacks ${lacks.join(' and ')} (migrate() leaves a table as it is: rename it, or use another table or schema)`);
        }
      }
      // One simple-protocol query is one transaction; the advisory lock orders concurrent migrations.
      await q(
        [
          `SELECT pg_advisory_xact_lock(hashtext('token-limits ledger ' || ${literal(name)}))`,
          `CREATE SCHEMA IF NOT EXISTS "${schema}"`,
          `CREATE TABLE IF NOT EXISTS ${tableName} (
            id text PRIMARY KEY,
            user_id text NOT NULL,
            account_id text,
            provider text NOT NULL,
            model text NOT NULL,
            endpoint text NOT NULL,
            input_tokens bigint NOT NULL,
            cached_input_tokens bigint NOT NULL,
            cache_write_tokens bigint NOT NULL,
            output_tokens bigint NOT NULL,
            reasoning_tokens bigint NOT NULL,
            total_tokens bigint NOT NULL,
            cost_micros bigint,
            estimated boolean NOT NULL,
            status text NOT NULL,
            request_id text,
            latency_ms bigint NOT NULL,
            created_at timestamptz NOT NULL,
            recorded_at timestamptz NOT NULL DEFAULT now()
          )`,
          // By a hash of the id, not the id: an id may be 65,536 characters, and a btree entry
          // over 2,704 bytes made its record's insert fail (and the ledger stop) for good.
          `CREATE INDEX IF NOT EXISTS "${table}_user_hash_time" ON ${tableName} (md5(user_id), created_at)`,
          `CREATE INDEX IF NOT EXISTS "${table}_account_hash_time" ON ${tableName} (md5(account_id), created_at) WHERE account_id IS NOT NULL`,
          `DROP INDEX IF EXISTS "${schema}"."${table}_user_time"`,
          `DROP INDEX IF EXISTS "${schema}"."${table}_account_time"`,
          `CREATE INDEX IF NOT EXISTS "${table}_time" ON ${tableName} (created_at, id)`,
        ].join(';\n'),
      );
    },

    async write(entries: readonly LedgerEntry[]) {
      if (entries.length === 0) return;
      const columns: unknown[][] = COLUMNS.map(() => []);
      for (const e of entries) {
        const row = [
          storable(e.id),
          storable(e.userId),
          e.accountId === null ? null : storable(e.accountId),
          storable(e.provider),
          storable(e.model),
          storable(e.endpoint),
          e.inputTokens,
          e.cachedInputTokens,
          e.cacheWriteTokens,
          e.outputTokens,
          e.reasoningTokens,
          e.totalTokens,
          e.costMicros,
          e.estimated,
          storable(e.status),
          e.requestId === null ? null : storable(e.requestId),
          e.latencyMs,
          e.timestamp.toISOString(),
        ];
        row.forEach((v, i) => columns[i]!.push(v));
      }
      const names = COLUMNS.map(([n]) => n).join(', ');
      const arrays = COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ');
      // One statement: all of the batch or none of it; ids already there are skipped.
      await q(`INSERT INTO ${tableName} (${names}) SELECT * FROM unnest(${arrays}) ON CONFLICT (id) DO NOTHING`, columns);
    },

    readLog,

    async readHistory(options) {
      const query = parseHistoryQuery(options);
      const unit = query.granularity === 'hour' ? 'hour' : 'day';
      const values: unknown[] = [instant(query.from), instant(query.to)];
      const user = query.userId === undefined ? '' : `AND ${userIs(values, query.userId)}`;
      const { rows } = await q(
        `SELECT (extract(epoch FROM date_trunc('${unit}', created_at AT TIME ZONE 'UTC')) * 1000)::int8 AS t, model,
                count(*) AS requests, sum(input_tokens) AS input, sum(output_tokens) AS output, coalesce(sum(cost_micros), 0) AS cost
           FROM ${tableName} WHERE created_at >= $1 AND created_at < $2 ${user}
          GROUP BY 1, 2 ORDER BY 1, 2`,
        values,
      );
      return rows.map(
        (r): HistoryPoint => ({
          time: new Date(Number(r.t)),
          model: readable(r.model),
          requests: Number(r.requests),
          inputTokens: Number(r.input),
          outputTokens: Number(r.output),
          totalTokens: Number(r.input) + Number(r.output),
          costUsd: Number(r.cost) / 1_000_000,
        }),
      );
    },

    async query(options) {
      const o = parseRange(options, ['userId', 'accountId', 'from', 'to', 'groupBy'], 'ledger.query');
      const groupBy = (options as { groupBy?: unknown }).groupBy;
      const group =
        groupBy === undefined
          ? undefined
          : groupBy === 'day'
            ? `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`
            : groupBy === 'month'
              ? `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM')`
              : groupBy === 'model'
                ? 'model'
                : invalid('options.groupBy', groupBy, "expected 'day', 'month' or 'model'");
      const { where, values } = filter(o);
      const { rows } = await q(
        `SELECT ${group ?? 'NULL'} AS g, count(*) AS requests, coalesce(sum(input_tokens), 0) AS input, coalesce(sum(output_tokens), 0) AS output,
                coalesce(sum(total_tokens), 0) AS total, coalesce(sum(cost_micros), 0) AS cost
           FROM ${tableName} WHERE ${where} ${group === undefined ? '' : 'GROUP BY 1 ORDER BY 1'}`,
        values,
      );
      return rows.map((r) => {
        const cost = Number(r.cost);
        const totals: LedgerTotals = {
          requests: Number(r.requests),
          inputTokens: Number(r.input),
          outputTokens: Number(r.output),
          totalTokens: Number(r.total),
          costMicros: cost,
          costUsd: cost / 1_000_000,
        };
        if (groupBy === 'model') totals.model = readable(r.g);
        else if (groupBy !== undefined) totals.period = String(r.g);
        return totals;
      });
    },

    export(options) {
      const o = parseRange(options, ['userId', 'accountId', 'from', 'to', 'format'], 'ledger.export');
      const format = (options as { format?: unknown }).format;
      if (format !== 'csv' && format !== 'jsonl') invalid('options.format', format, "expected 'csv' or 'jsonl'");
      const { where, values } = filter(o);
      async function* lines(): AsyncGenerator<string> {
        if (format === 'csv') yield `${CSV_HEADER.join(',')}\n`;
        let after: { at: Date; id: string } | undefined;
        for (;;) {
          const page = [...values];
          let keyset = '';
          if (after !== undefined) {
            const id = `$${page.push(after.id)}`;
            const at = `$${page.push(instant(after.at.getTime()))}`;
            // The last row's time as stored, found by its id: a Date keeps milliseconds, and the
            // rows of a time with microseconds (not the drainer's, an import's) came twice.
            keyset = `AND (created_at, id) > (coalesce((SELECT created_at FROM ${tableName} WHERE id = ${id}), ${at}), ${id})`;
          }
          const { rows } = await q(`SELECT *, ${TIME_MS} FROM ${tableName} WHERE ${where} ${keyset} ORDER BY created_at, id LIMIT ${PAGE}`, page);
          let text = '';
          for (const row of rows) text += format === 'csv' ? csvLine(row) : `${JSON.stringify(jsonRow(row))}\n`;
          if (text !== '') yield text;
          if (rows.length < PAGE) return;
          const last = rows[rows.length - 1]!;
          after = { at: timeOf(last), id: String(last.id) };
        }
      }
      return Readable.from(lines(), { objectMode: false });
    },

    async reconcile(options) {
      if (source === undefined) throw new InvalidArgumentError('ledger', 'reconcile', 'give the ledger to createTokenLimiter({ ledger }) first: reconcile compares it with that store');
      const o = parseRange(options, ['from', 'to'], 'ledger.reconcile');
      const from = Math.floor(o.from / HOUR_MS) * HOUR_MS;
      const to = Math.ceil(o.to / HOUR_MS) * HOUR_MS;
      const { rows } = await q(
        `SELECT user_id, count(*) AS requests, coalesce(sum(total_tokens), 0) AS total, coalesce(sum(cost_micros), 0) AS cost
           FROM ${tableName} WHERE created_at >= $1 AND created_at < $2 GROUP BY user_id`,
        [instant(from), instant(to)],
      );
      const ledger = new Map(rows.map((r) => [readable(r.user_id), { requests: Number(r.requests), totalTokens: Number(r.total), costMicros: Number(r.cost) }]));
      const users = new Set([...ledger.keys(), ...(await source.listUserIds())]);
      const differences: LedgerDifference[] = [];
      for (const userId of [...users].sort()) {
        const store = await source.usageOf(userId, from, to);
        const mine = ledger.get(userId) ?? { requests: 0, totalTokens: 0, costMicros: 0 };
        if (mine.requests !== store.requests || mine.totalTokens !== store.totalTokens || mine.costMicros !== store.costMicros) {
          differences.push({ userId, ledger: mine, store });
        }
      }
      return differences;
    },
  };

  function filter(o: { userId?: string; accountId?: string; from: number; to: number }): { where: string; values: unknown[] } {
    const values: unknown[] = [instant(o.from), instant(o.to)];
    const where = ['created_at >= $1', 'created_at < $2'];
    if (o.userId !== undefined) where.push(userIs(values, o.userId));
    if (o.accountId !== undefined) where.push(accountIs(values, o.accountId));
    return { where: where.join(' AND '), values };
  }
}

function identifier(value: unknown, parameter: string): string {
  if (typeof value !== 'string' || !IDENTIFIER.test(value)) {
    throw new InvalidArgumentError(parameter, value, 'expected 1-63 lower-case letters, digits and _, not starting with a digit');
  }
  return value;
}

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

function invalid(parameter: string, value: unknown, expected: string): never {
  throw new InvalidArgumentError(parameter, value, expected);
}

function parseDrain(value: unknown): LedgerDrainSettings | false {
  if (value === undefined || value === true) return { ...DEFAULT_DRAIN };
  if (value === false) return false;
  if (!isPlainObject(value)) invalid('options.drain', value, 'expected a boolean or { batchSize?, pollMs?, claimIdleMs?, lagReportMs?, maxQueue? }');
  rejectUnknownKeys(value, Object.keys(DEFAULT_DRAIN), 'options.drain');
  const max = { batchSize: 5_000, pollMs: 60_000, claimIdleMs: 86_400_000, lagReportMs: 86_400_000, maxQueue: 100_000_000 };
  const out = { ...DEFAULT_DRAIN };
  for (const key of Object.keys(DEFAULT_DRAIN) as Array<keyof LedgerDrainSettings>) {
    const v = value[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > max[key]) invalid(`options.drain.${key}`, v, `expected an integer from 1 to ${max[key]}`);
    out[key] = v;
  }
  return out;
}

/**
 * A range's end as ms since the epoch: a Date, ms since the epoch, or text read by `parseInstant`,
 * never in the machine's zone. `Date.parse` read `2026-12-01T10:00` (and text in no ISO form, `Dec
 * 1 2026`) in local time: the same query, export or reconcile covered other hours on a server in
 * another zone.
 */
function parseDate(value: unknown, parameter: string): number {
  const range = 'from 4714-11-24 BC to 275760-09-13';
  let ms = Number.NaN;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'number') ms = value;
  else if (typeof value === 'string') {
    const read = parseInstant(value);
    if ('problem' in read) {
      if (read.problem === 'no offset') invalid(parameter, value, `a date-time needs its UTC offset: add Z for UTC (${value}Z) or its zone's offset (e.g. ${value}-03:00); without one it would be read in this machine's time zone`);
      invalid(parameter, value, `expected a Date, ms since the epoch, ${INSTANT_FORMS}, ${range}${read.problem === 'form' ? '' : `: no such ${read.problem === 'offset' ? 'UTC offset' : 'date or time'}`}`);
    }
    ms = read.ms;
  }
  if (!(ms >= EARLIEST && ms <= LATEST)) invalid(parameter, value, `expected a Date, ms since the epoch, ${INSTANT_FORMS}, ${range}`);
  return ms;
}

/** A condition on the user id (its index is by hash: see migrate), its value pushed to `values`. */
function userIs(values: unknown[], userId: string): string {
  const at = values.push(storable(userId));
  return `(md5(user_id) = md5($${at}) AND user_id = $${at})`;
}

function accountIs(values: unknown[], accountId: string): string {
  const at = values.push(storable(accountId));
  return `(md5(account_id) = md5($${at}) AND account_id = $${at})`;
}

function parseRange(options: unknown, keys: readonly string[], name: string): { userId?: string; accountId?: string; from: number; to: number } {
  if (!isPlainObject(options)) invalid('options', options, `expected { ${keys.join(', ')} } for ${name}`);
  rejectUnknownKeys(options, keys, 'options');
  const from = parseDate(options.from, 'options.from');
  const to = parseDate(options.to, 'options.to');
  if (to <= from) invalid('options.to', options.to, 'must be after options.from');
  const out: { userId?: string; accountId?: string; from: number; to: number } = { from, to };
  if (options.userId !== undefined) out.userId = parseUserId(options.userId, 'options.userId');
  if (options.accountId !== undefined) out.accountId = parseUserId(options.accountId, 'options.accountId');
  return out;
}

/** The most records one `readLog` returns (as `admin.getUsageLog`). */
const MAX_LOG_LIMIT = 10_000;

/**
 * A log read's query, checked as `admin.getUsageLog` checks it: called directly, a read with
 * `since` after `until` answered `[]` (an empty range reads as "no usage", where it is a mistake:
 * the dates swapped), and a NaN limit or date failed as a database error.
 */
function parseLogQuery(options: unknown): { userId?: string; since?: number; until?: number; limit: number } {
  if (!isPlainObject(options)) invalid('options', options, 'expected { userId?, since?, until?, limit } for ledger.readLog');
  rejectUnknownKeys(options, ['userId', 'since', 'until', 'limit'], 'options');
  const limit = parsePositiveInt(options.limit, 'options.limit', MAX_LOG_LIMIT);
  const out: { userId?: string; since?: number; until?: number; limit: number } = { limit };
  if (options.userId !== undefined) out.userId = parseUserId(options.userId, 'options.userId');
  if (options.since !== undefined) out.since = parseDate(options.since, 'options.since');
  if (options.until !== undefined) out.until = parseDate(options.until, 'options.until');
  if (out.since !== undefined && out.until !== undefined && out.since > out.until) {
    invalid('options.since', options.since, 'must not be after options.until (both are included)');
  }
  return out;
}

/** A history read's query: `to` after `from`, as `query`, `export` and `admin.getUsageHistory` want it. */
function parseHistoryQuery(options: unknown): { userId?: string; from: number; to: number; granularity: 'hour' | 'day' } {
  const o = parseRange(options, ['userId', 'from', 'to', 'granularity'], 'ledger.readHistory');
  const granularity = (options as { granularity?: unknown }).granularity;
  if (granularity !== 'hour' && granularity !== 'day') invalid('options.granularity', granularity, "expected 'hour' or 'day'");
  return { ...(o.userId === undefined ? {} : { userId: o.userId }), from: o.from, to: o.to, granularity };
}

/**
 * An instant as text PostgreSQL reads as a timestamptz, in UTC (`+00`, ` BC` for years before 1).
 * Not a Date: pg writes a Date in the machine's zone with its offset cut to minutes, so in a zone
 * whose offset then had seconds (local mean time: São Paulo's -03:06:28 until 1914) the bound
 * moved by those seconds, and west of UTC the earliest instant, 4714-11-24 BC, became a local day
 * PostgreSQL refuses ("timestamp out of range").
 */
function instant(ms: number): string {
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  const two = (n: number): string => String(n).padStart(2, '0');
  const time = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}.${String(d.getUTCMilliseconds()).padStart(3, '0')}`;
  return `${String(year > 0 ? year : 1 - year).padStart(4, '0')}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())} ${time}+00${year > 0 ? '' : ' BC'}`;
}

/** A row's `created_at` (read as `created_ms`: see TIME_MS). */
function timeOf(r: Record<string, unknown>): Date {
  return new Date(Number(r.created_ms));
}

function recordOf(r: Record<string, unknown>): UsageRecord {
  const cost = r.cost_micros === null ? null : Number(r.cost_micros) / 1_000_000;
  return {
    id: readable(r.id),
    userId: readable(r.user_id),
    provider: readable(r.provider) as UsageRecord['provider'],
    model: readable(r.model),
    endpoint: readable(r.endpoint),
    inputTokens: Number(r.input_tokens),
    cachedInputTokens: Number(r.cached_input_tokens),
    outputTokens: Number(r.output_tokens),
    reasoningTokens: Number(r.reasoning_tokens),
    totalTokens: Number(r.total_tokens),
    costUsd: cost,
    estimated: r.estimated === true,
    requestId: readable(r.request_id, true),
    timestamp: timeOf(r),
    latencyMs: Number(r.latency_ms),
    status: readable(r.status) as UsageRecord['status'],
  };
}

/** The columns of an export, in order (CSV header, JSON keys). */
const CSV_HEADER = [
  'id',
  'user_id',
  'account_id',
  'provider',
  'model',
  'endpoint',
  'input_tokens',
  'cached_input_tokens',
  'cache_write_tokens',
  'output_tokens',
  'reasoning_tokens',
  'total_tokens',
  'cost_micros',
  'cost_usd',
  'estimated',
  'status',
  'request_id',
  'latency_ms',
  'created_at',
] as const;

function jsonRow(r: Record<string, unknown>): Record<string, unknown> {
  const cost = r.cost_micros === null ? null : Number(r.cost_micros);
  return {
    id: readable(r.id),
    user_id: readable(r.user_id),
    account_id: readable(r.account_id, true),
    provider: readable(r.provider),
    model: readable(r.model),
    endpoint: readable(r.endpoint),
    input_tokens: Number(r.input_tokens),
    cached_input_tokens: Number(r.cached_input_tokens),
    cache_write_tokens: Number(r.cache_write_tokens),
    output_tokens: Number(r.output_tokens),
    reasoning_tokens: Number(r.reasoning_tokens),
    total_tokens: Number(r.total_tokens),
    cost_micros: cost,
    cost_usd: cost === null ? null : cost / 1_000_000,
    estimated: r.estimated === true,
    status: readable(r.status),
    request_id: readable(r.request_id, true),
    latency_ms: Number(r.latency_ms),
    created_at: timeOf(r).toISOString(),
  };
}

/** RFC 4180 field: quoted when it holds a comma, quote or line break; empty for null. */
function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csvLine(r: Record<string, unknown>): string {
  const row = jsonRow(r);
  return `${CSV_HEADER.map((k) => csvField(row[k])).join(',')}\n`;
}

export type { LedgerDrainSettings, LedgerEntry, LedgerErrorEvent, LedgerLag, LedgerTotals, UsageLedger } from '../kernel/types.js';
