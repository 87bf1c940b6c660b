/**
 * Public types shared by the engine, the stores and the integrations. (One file, over 300 lines:
 * every layer and the package's users import these types, and `index.ts` re-exports them whole.)
 */

/** A calendar period (UTC unless the rule names a `timeZone`); weeks start on Monday (ISO 8601). */
export type CalendarPeriod = 'minute' | 'hour' | 'day' | 'week' | 'month' | 'year';

/**
 * How long a rule's window lasts before it starts again.
 * - a calendar period: boundaries at the start of each minute, hour, day, ISO week, month or year;
 * - `{ days: N }`: rolling N-day periods counted from the anchor (the user's period start date when
 *   the rule gives none);
 * - `{ months: N }`: N-month periods from the anchor, on its day of the month (clamped to shorter
 *   months' ends: an anchor on the 31st renews on Feb 28/29, Mar 31, Apr 30, ...).
 */
export type Period = CalendarPeriod | { days: number; anchor?: Date | string } | { months: number; anchor?: Date | string };

interface LimitRuleBase {
  /** Unique among the user's rules; names the rule in errors, events and usage. */
  id: string;
  period: Period;
  /** IANA time zone for period boundaries (e.g. `America/Sao_Paulo`). Default: UTC. */
  timeZone?: string;
  /**
   * Only calls to these models count against this rule: exact ids or `*` globs (`gpt-4o*`,
   * `claude-*-opus*`), compared case-insensitively with the model the call asks for. A call that
   * names no model matches no filtered rule. Default: every model.
   */
  models?: string[];
  /** Only calls to these providers count against this rule. Default: every provider. */
  providers?: ProviderName[];
}

/** One limit over one period. A rule limits exactly one of `tokens`, `requests` or `costUsd`. */
export type LimitRule =
  | (LimitRuleBase & { tokens: number; requests?: never; costUsd?: never })
  | (LimitRuleBase & { requests: number; tokens?: never; costUsd?: never })
  | (LimitRuleBase & { costUsd: number; tokens?: never; requests?: never });

/** What a rule counts. */
export type Metric = 'tokens' | 'requests' | 'costUsd';

/** A user as given to the library: an id, or an object carrying one. */
export type UserContext = { id: string };
export type UserRef = string | UserContext;

/** What a call may use, decided before it is made. One request is implied by each reservation. */
export interface Estimate {
  /** Tokens to hold (input estimate + output reservation). */
  tokens: number;
  /** Cost to hold in US dollars; required when one of the user's rules limits `costUsd`. */
  costUsd?: number;
  /** The model the call asks for: rules with a `models` filter count the call only when it matches. */
  model?: string;
  /** The provider of the call: rules with a `providers` filter count the call only when it matches. */
  provider?: ProviderName;
}

/** Provider names used in usage records. */
export type ProviderName = 'openai' | 'anthropic' | 'google' | 'unknown';

/** What a call really used, as reported by the provider (or estimated, if it was not). */
export interface Usage {
  /** All input tokens, cached ones included. */
  inputTokens: number;
  /** All output tokens, reasoning ones included. */
  outputTokens: number;
  /** Input tokens served from a cache (a part of `inputTokens`). */
  cachedInputTokens?: number;
  /** Reasoning or thinking tokens (a part of `outputTokens`). */
  reasoningTokens?: number;
  /** Input tokens written to a prompt cache (a part of `inputTokens`; Anthropic prices them apart). */
  cacheWriteTokens?: number;
  /** Exact cost in US dollars; computed from the price table when not given. */
  costUsd?: number;
  provider?: ProviderName;
  model?: string;
  endpoint?: string;
  requestId?: string;
  /** True when the figures are an estimate (e.g. an aborted stream). */
  estimated?: boolean;
  /** Call latency; default: the time since the reservation. */
  latencyMs?: number;
  /** How the call ended. Default `ok`. */
  status?: 'ok' | 'aborted' | 'error';
}

/** One rule's hold inside a reservation. */
export interface ReservationWindow {
  /** Whose rule: the user's own, or their account's. */
  scope: 'user' | 'account';
  ruleId: string;
  metric: Metric;
  /** The amount held, in the rule's units (tokens, requests, or US dollars for cost). */
  amount: number;
  periodStart: Date;
  resetAt: Date;
}

/**
 * A hold on a user's quota, returned by `reserve` and given back to `commit` or `release`. Only its
 * `id` and `userId` matter to them (the store keeps what was held), so a reservation can be
 * serialised and committed by another process.
 */
export interface Reservation {
  /** Client-generated id; commit and release are idempotent by it. */
  readonly id: string;
  readonly userId: string;
  /** The account the call was reserved in (its hold is there), or null. */
  readonly account: string | null;
  readonly estimate: Readonly<Estimate>;
  readonly createdAt: Date;
  /** When the hold stops counting if neither committed nor released. */
  readonly expiresAt: Date;
  readonly windows: readonly ReservationWindow[];
  /**
   * True when the store failed and `onStoreError: 'allow'` let the call go on without a hold;
   * its commit is queued until the store is back.
   */
  readonly unmetered: boolean;
}

/** The usage of one rule in its current period. */
export interface WindowUsage {
  rule: LimitRule;
  limit: number;
  used: number;
  reserved: number;
  remaining: number;
  periodStart: Date;
  resetAt: Date;
}

/** A user's usage: the first rule's figures at top level, every rule under `windows`. */
export interface UserUsage {
  userId: string;
  isActive: boolean;
  limit: number;
  used: number;
  reserved: number;
  remaining: number;
  periodStart: Date;
  resetAt: Date;
  windows: WindowUsage[];
  /** The plan the user's rules come from (null: their own rules, or the defaults). */
  plan: string | null;
  /** The account the user belongs to, with its windows (they bind too), or null. */
  account: AccountUsage | null;
}

/** An account's usage: every rule of the account, the members' calls together. */
export interface AccountUsage {
  accountId: string;
  /** The plan the account's rules come from (null: its own rules, or none). */
  plan: string | null;
  /** Empty when the account has no rules (then only the members' own rules apply). */
  windows: WindowUsage[];
}

/** A plan: named rules that users and accounts can be assigned to. */
export interface Plan {
  planId: string;
  rules: LimitRule[];
  /** Goes up with every change of the rules. */
  version: number;
}

/** The non-throwing answer of `check`. */
export interface QuotaDecision {
  allowed: boolean;
  /** Why it is not allowed. */
  reason?: 'limit_exceeded' | 'user_disabled' | 'store_unavailable';
  /** The rule that refused, when `reason` is `limit_exceeded`. */
  ruleId?: string;
  /** Whose rule refused: the user's or their account's. */
  scope?: 'user' | 'account';
  /** The account whose rule refused, when `scope` is `account`. */
  accountId?: string;
  /** What the call asked of the refusing rule, in its unit. */
  requested?: number;
  /** The user's own windows. */
  windows: WindowUsage[];
  /** The user's account and its windows (they bind too), when the user is in one. */
  account?: AccountUsage;
}

/** One committed call, as stored in the usage log. */
export interface UsageRecord {
  id: string;
  userId: string;
  provider: ProviderName;
  model: string;
  endpoint: string;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  totalTokens: number;
  /** US dollars, or null when no price was known. */
  costUsd: number | null;
  estimated: boolean;
  requestId: string | null;
  timestamp: Date;
  latencyMs: number;
  status: 'ok' | 'aborted' | 'error';
}

/** One bucket of usage history. */
export interface HistoryPoint {
  /** Start of the hour or day (UTC). */
  time: Date;
  model: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  costUsd: number;
}

/** Aggregates over every user. */
export interface UsageStats {
  /** Tokens committed since the store was created. */
  totalTokens: number;
  /** US dollars committed since the store was created. */
  totalCostUsd: number;
  /** Distinct users with at least one committed call in the current UTC calendar month. */
  activeUsers: number;
  /** Users known to the store. */
  users: number;
}

/** Emitted when a user's committed usage crosses a threshold of a rule (once per rule and period). */
export interface AlertEvent {
  /** The user whose call crossed the threshold. */
  userId: string;
  /** Whose rule: the user's own, or their account's (then `accountId` names it). */
  scope: 'user' | 'account';
  accountId?: string;
  ruleId: string;
  metric: Metric;
  /** The threshold crossed, as a fraction of the limit (e.g. 0.8). */
  threshold: number;
  limit: number;
  used: number;
  periodStart: Date;
  resetAt: Date;
}

/**
 * A call refused before it reached the provider, as `admin.getRefusals` returns it: kept per user
 * (the newest few, for a few days) so that the user's "latest calls" can show it.
 */
export interface RefusalRecord {
  userId: string;
  timestamp: Date;
  /** `limit`: a rule refused (`ruleId`, its `scope`); `disabled`: the user is disabled. */
  reason: 'limit' | 'disabled';
  ruleId: string | null;
  scope: 'user' | 'account' | null;
  accountId: string | null;
  metric: Metric | null;
  /** What the call needed, in the rule's metric (0 when disabled). */
  requested: number;
  model: string | null;
  provider: string | null;
}

export interface RejectedEvent {
  userId: string;
  error: import('./errors.js').TokenLimitExceededError | import('./errors.js').UserDisabledError;
}

/** Emitted when the store fails; `policy` says what the library did about it. */
export interface StoreErrorEvent {
  operation: string;
  error: import('./errors.js').QuotaStoreError;
  /**
   * `deny`: the call failed (for an admin listing: the user, account or plan named was left out of
   * the page); `allow`: the call went on unmetered; `queued`: a commit waits for the store; `dropped`:
   * a queued write was given up.
   */
  policy: 'deny' | 'allow' | 'queued' | 'dropped';
  /** The user the failed operation was for, when it was for one. */
  userId?: string;
  /**
   * The account the failed operation was for, when it was for one and not for a user: an account
   * that `admin.listAccounts` left out of its page because its stored data cannot be read.
   */
  accountId?: string;
  /** The plan `admin.listPlans` left out because this version cannot read its stored rules. */
  planId?: string;
}

/**
 * Emitted (once per process and loss) when the store's data turned out to be lost: its epoch marker
 * changed since this process last saw it (RedisStore: Redis restarted without persistence, a
 * flushed database). Counters, holds, rules set with `admin.setLimits` and logs of the lost epoch are
 * gone; `policy` says what the limiter does now (option `onStoreReset`).
 */
export interface StoreResetEvent {
  /** Id of the store's new epoch. */
  epoch: string;
  /** Id of the epoch whose data was lost (the one this process had seen). */
  previousEpoch: string | null;
  /** When this process noticed. */
  detectedAt: Date;
  /** `continue`: calls go on from zero; `deny`: reserves fail until `admin.acknowledgeStoreReset()`. */
  policy: 'continue' | 'deny';
}

export interface LimiterEvents {
  usage: UsageRecord;
  alert: AlertEvent;
  rejected: RejectedEvent;
  'store-error': StoreErrorEvent;
  'store-reset': StoreResetEvent;
  'ledger-error': LedgerErrorEvent;
  'ledger-lag': LedgerLag;
}

/**
 * A usage record as the durable ledger keeps it: the record, the account it was charged to, cache
 * writes, and the cost as an integer of micro-dollars (`null`: no price was known).
 */
export interface LedgerEntry extends UsageRecord {
  accountId: string | null;
  cacheWriteTokens: number;
  costMicros: number | null;
}

/**
 * How far the ledger is behind the store: records charged but not yet written to it. Emitted as
 * `ledger-lag` by processes that drain, every `lagReportMs`, and returned by `ledgerLag()`.
 */
export interface LedgerLag {
  /** Records waiting (RedisStore: entries in the ledger streams; MemoryStore: the in-process queue). */
  pending: number;
  /** Age in ms of the oldest waiting record, or null when none waits. */
  oldestMs: number | null;
  /** Records this process wrote to the ledger since it started. */
  written: number;
  /** Failed writes to the ledger in a row (0 when the last one succeeded). */
  failures: number;
}

/**
 * Emitted when writing to the ledger failed (the records stay queued and are retried: nothing is
 * lost), when entries the ledger cannot take were moved out of the queue to a dead-letter place,
 * or, with `MemoryStore` only, when records were dropped.
 */
export interface LedgerErrorEvent {
  error: Error;
  /**
   * - `retrying`: the batch is kept and written again (the ledger is down or failing, or moving
   *   entries to the dead letters failed), or the store's feed could not be read (`records` 0);
   * - `dead-lettered`: entries that are no records (tampering, a bug), or records the ledger
   *   refuses for their data (a token count that is no whole number, a time PostgreSQL cannot
   *   hold, a constraint of your table), were moved unwritten to a dead-letter place (RedisStore:
   *   the stream's dead-letter stream `<prefix>:{<slot tag>}:lqd`), so that they stop no other
   *   record; `error.message` says where, and the first ids with why. The records beside them are
   *   written;
   * - `dropped`: MemoryStore's queue overflowed, or it held entries the ledger cannot take (it has
   *   no dead-letter place).
   */
  policy: 'retrying' | 'dead-lettered' | 'dropped';
  /** Records concerned: the batch's size, or the number moved or dropped. */
  records: number;
}

/** A row of `ledger.query`: totals of a group (all records when not grouped). */
export interface LedgerTotals {
  /** `YYYY-MM-DD` (groupBy 'day') or `YYYY-MM` (groupBy 'month') in UTC; absent otherwise. */
  period?: string;
  /** With groupBy 'model'. */
  model?: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  costMicros: number;
  costUsd: number;
}

/** The store's side of a reconciliation: what it counted per user in an hour-aligned range. */
export interface LedgerSource {
  /** Users the store knows (for users the ledger lacks). */
  listUserIds(): Promise<string[]>;
  /** The store's usage of a user in [from, to) (hour-aligned), from its hourly history. */
  usageOf(userId: string, from: number, to: number): Promise<{ requests: number; totalTokens: number; costMicros: number }>;
}

/**
 * A durable usage ledger (`createPostgresLedger` from `token-limits/postgres`), given to
 * `createTokenLimiter({ ledger })`. The limiter feeds it every committed record once, off the
 * caller's path, and reads past the store's retention from it.
 */
export interface UsageLedger {
  /** Writes entries, each once by id (an id already there is skipped); resolves once durable. */
  write(entries: readonly LedgerEntry[]): Promise<void>;
  /** Records of one user or everyone with since <= timestamp <= until, newest first, at most `limit`. */
  readLog(query: { userId?: string; since?: number; until?: number; limit: number }): Promise<UsageRecord[]>;
  /** Usage per hour or UTC day and per model in [from, to). */
  readHistory(query: { userId?: string; from: number; to: number; granularity: 'hour' | 'day' }): Promise<HistoryPoint[]>;
  /** The records with from <= time < to (one user's or account's, or everyone's), oldest first, as CSV or JSON lines. */
  export(options: { userId?: string; accountId?: string; from: Date | string | number; to: Date | string | number; format: 'csv' | 'jsonl' }): AsyncIterable<string | Uint8Array>;
  /** Called by `createTokenLimiter`: the store this ledger reconciles against. */
  attach(source: LedgerSource): void;
  /** How this process drains (see `LedgerDrainSettings`); `false`: it only appends. */
  readonly drain: LedgerDrainSettings | false;
}

/** How a process moves records from the store's queue into the ledger. */
export interface LedgerDrainSettings {
  /** Records per write. */
  batchSize: number;
  /** Pause between two reads when nothing was waiting, in ms. */
  pollMs: number;
  /** A record read by a drainer that did not acknowledge it within this time is taken over by another. */
  claimIdleMs: number;
  /** How often `ledger-lag` is emitted, in ms. */
  lagReportMs: number;
  /** MemoryStore only: records the in-process queue holds at most; beyond it, the oldest are dropped. */
  maxQueue: number;
}

/** Optional logger; the library never writes to the console. */
export interface Logger {
  debug?(message: string, meta?: Record<string, unknown>): void;
  info?(message: string, meta?: Record<string, unknown>): void;
  warn?(message: string, meta?: Record<string, unknown>): void;
  error?(message: string, meta?: Record<string, unknown>): void;
}
