import { InvalidArgumentError } from './errors.js';
import { normalizeRules, type NormalizedRule } from './rules.js';
import type { LimitRule, Logger } from './types.js';
import { isPlainObject, parseCount, parsePositiveInt, rejectUnknownKeys } from './validate.js';
import { MemoryStore } from '../stores/memory/memory-store.js';
import type { QuotaStore, RetentionSettings } from '../stores/types.js';
import { parsePricing, type PricingOptions } from './pricing.js';
import type { PriceTable } from '../providers/pricing/resolve.js';
import { defaultTokenizer } from '../tokenizer/gpt-tokenizer.js';
import type { Tokenizer } from '../tokenizer/types.js';

/** Options of `createTokenLimiter`. Every option has a safe default. */
export interface TokenLimiterOptions {
  /**
   * Where quotas live. `MemoryStore` keeps them in this process; `RedisStore` shares them between
   * processes and keeps them across restarts.
   * @default new MemoryStore()
   */
  store?: QuotaStore;
  /**
   * Rules of users that have none of their own (see `admin.setLimits`).
   * @default [{ id: 'monthly', tokens: 100_000, period: 'month' }]
   */
  defaultLimits?: LimitRule[];
  /**
   * Output tokens held for a request that sets no maximum (`max_tokens`, `max_output_tokens`, ...).
   * The actual usage replaces the hold at commit.
   * @default 4096
   */
  outputReservation?: number;
  /**
   * How long a reservation holds quota if it is neither committed nor released (a crashed
   * process); after that it stops counting, with no background job. Longer than your longest call.
   * @default 600_000 (10 minutes)
   */
  leaseMs?: number;
  /**
   * What a call does when the store fails or does not answer within `storeTimeoutMs`:
   * `deny` fails it with `QuotaStoreError`; `allow` lets it go on unmetered, emits `store-error`,
   * and commits its usage when the store is back.
   * @default 'deny'
   */
  onStoreError?: 'deny' | 'allow';
  /**
   * With `onStoreError: 'allow'`: the most each process lets through unmetered while the store is
   * failing (estimated tokens and calls, counted from the first failure until the store answers
   * again); beyond it calls fail as under `'deny'`. Unset fields are unbounded.
   * @default unbounded
   */
  allowBudget?: { tokens?: number; requests?: number };
  /**
   * Fractions of a limit at which an `alert` event fires, once per user, rule and period.
   * @default [0.8, 1]
   */
  alertThresholds?: number[];
  /** Prices for cost rules: per-model overrides of the built-in table and a fallback price. */
  pricing?: PricingOptions;
  /**
   * Clock in ms since epoch. By default the store's clock decides (Redis `TIME` for RedisStore),
   * so app servers with different clocks agree on periods. Set it in tests (see `createFakeClock`).
   */
  clock?: () => number;
  /** Receives the library's diagnostics; nothing is written to the console. */
  logger?: Logger;
  /**
   * Longest wait for one store operation before it counts as failed (then `onStoreError` applies).
   * @default 2000
   */
  storeTimeoutMs?: number;
  /** Bounds of the usage log. */
  usageLog?: {
    /** Newest records kept in the log of all users. @default 10_000 */
    maxLength?: number;
    /** Newest records kept in each user's log (about 350 bytes each). @default 100 */
    userMaxLength?: number;
    /** Records older than this are dropped. @default 30 */
    retentionDays?: number;
  };
  /** How long hourly usage history is kept. */
  history?: {
    /** Per user. @default 62 */
    userRetentionDays?: number;
    /** For all users together. @default 400 */
    globalRetentionDays?: number;
  };
  /**
   * Commits and releases waiting for a failed store are kept in a queue of this size and retried
   * with backoff; beyond it the oldest is dropped (with a `store-error` event).
   * @default 10_000
   */
  maxPendingOperations?: number;
  /**
   * Tokenizer for OpenAI input estimates. `gptTokenizer()` (default) is the fastest measured here;
   * `jsTiktokenTokenizer()` uses js-tiktoken (an optional peer dependency) for apps that already load it.
   * @default gptTokenizer()
   */
  tokenizer?: Tokenizer;
  /** Users whose rules are cached in this process (a cache miss costs one extra store call). @default 10_000 */
  userCacheSize?: number;
  /** How long commit and release outcomes are kept to answer replays. @default 86_400_000 (24 h) */
  idempotencyTtlMs?: number;
  /**
   * What to do when the store's data turns out to be lost (RedisStore's epoch marker changed: Redis
   * restarted without persistence, a flushed database). Either way a `store-reset` event fires and
   * the logger gets an error. `continue`: calls go on against the now empty counters (every user
   * starts from zero). `deny`: reserves fail with `QuotaStoreError` in every process with this policy
   * until `admin.acknowledgeStoreReset()` is called (after reseeding usage, e.g. from a durable copy
   * of the `usage` events).
   * @default 'continue'
   */
  onStoreReset?: 'continue' | 'deny';
  /**
   * Longest time between two checks of the store's epoch marker while calls are made. A check is one
   * small store call beside a reserve, never in its path; a reserve that finds a user's state gone
   * that this process had seen checks at once.
   * @default 1000
   */
  storeResetCheckMs?: number;
}

export interface LimiterConfig {
  store: QuotaStore;
  defaultRules: NormalizedRule[];
  outputReservation: number;
  leaseMs: number;
  onStoreError: 'deny' | 'allow';
  allowBudget: { tokens: number; requests: number };
  thresholds: number[];
  thresholdsPerMille: number[];
  pricing: PriceTable;
  clock: (() => number) | undefined;
  logger: Logger | undefined;
  storeTimeoutMs: number;
  retention: RetentionSettings;
  maxPendingOperations: number;
  userCacheSize: number;
  tokenizer: Tokenizer;
  onStoreReset: 'continue' | 'deny';
  storeResetCheckMs: number;
}

const OPTION_KEYS = [
  'store',
  'defaultLimits',
  'outputReservation',
  'leaseMs',
  'onStoreError',
  'allowBudget',
  'alertThresholds',
  'pricing',
  'clock',
  'logger',
  'storeTimeoutMs',
  'usageLog',
  'history',
  'maxPendingOperations',
  'userCacheSize',
  'idempotencyTtlMs',
  'tokenizer',
  'onStoreReset',
  'storeResetCheckMs',
] as const;

export const DEFAULT_LIMITS: LimitRule[] = [{ id: 'monthly', tokens: 100_000, period: 'month' }];
const DAY = 86_400_000;

/** Turns user options into a fully defaulted, validated config; throws naming the bad option. */
export function parseOptions(options: unknown): LimiterConfig {
  if (options === undefined) options = {};
  if (!isPlainObject(options)) throw new InvalidArgumentError('options', options, 'expected an object');
  rejectUnknownKeys(options, OPTION_KEYS, 'options');
  const o = options as TokenLimiterOptions;

  const store = o.store ?? new MemoryStore();
  if (!isStore(store)) throw new InvalidArgumentError('options.store', store, 'expected a QuotaStore (MemoryStore, RedisStore)');

  const defaultRules = normalizeRules(o.defaultLimits ?? DEFAULT_LIMITS, 'options.defaultLimits');
  const outputReservation = o.outputReservation === undefined ? 4096 : parseCount(o.outputReservation, 'options.outputReservation');
  const leaseMs = o.leaseMs === undefined ? 600_000 : parsePositiveInt(o.leaseMs, 'options.leaseMs', 7 * DAY);
  const onStoreError = o.onStoreError ?? 'deny';
  if (onStoreError !== 'deny' && onStoreError !== 'allow') {
    throw new InvalidArgumentError('options.onStoreError', onStoreError, "expected 'deny' or 'allow'");
  }
  const allowBudget = parseAllowBudget(o.allowBudget);
  const thresholds = parseThresholds(o.alertThresholds ?? [0.8, 1]);
  if (o.clock !== undefined && typeof o.clock !== 'function') {
    throw new InvalidArgumentError('options.clock', o.clock, 'expected a function returning ms since epoch');
  }
  if (o.logger !== undefined && (typeof o.logger !== 'object' || o.logger === null)) {
    throw new InvalidArgumentError('options.logger', o.logger, 'expected an object with debug/info/warn/error methods');
  }
  const storeTimeoutMs = o.storeTimeoutMs === undefined ? 2000 : parsePositiveInt(o.storeTimeoutMs, 'options.storeTimeoutMs', 600_000);

  const log = o.usageLog ?? {};
  if (!isPlainObject(log)) throw new InvalidArgumentError('options.usageLog', log, 'expected an object');
  rejectUnknownKeys(log, ['maxLength', 'userMaxLength', 'retentionDays'], 'options.usageLog');
  const history = o.history ?? {};
  if (!isPlainObject(history)) throw new InvalidArgumentError('options.history', history, 'expected an object');
  rejectUnknownKeys(history, ['userRetentionDays', 'globalRetentionDays'], 'options.history');

  const retention: RetentionSettings = {
    logMaxLength: log.maxLength === undefined ? 10_000 : parsePositiveInt(log.maxLength, 'options.usageLog.maxLength', 10_000_000),
    userLogMaxLength:
      log.userMaxLength === undefined ? 100 : parsePositiveInt(log.userMaxLength, 'options.usageLog.userMaxLength', 1_000_000),
    logRetentionMs: DAY * (log.retentionDays === undefined ? 30 : parsePositiveInt(log.retentionDays, 'options.usageLog.retentionDays', 3660)),
    userHistoryRetentionMs:
      DAY * (history.userRetentionDays === undefined ? 62 : parsePositiveInt(history.userRetentionDays, 'options.history.userRetentionDays', 3660)),
    globalHistoryRetentionMs:
      DAY *
      (history.globalRetentionDays === undefined ? 400 : parsePositiveInt(history.globalRetentionDays, 'options.history.globalRetentionDays', 3660)),
    idempotencyTtlMs:
      o.idempotencyTtlMs === undefined ? DAY : parsePositiveInt(o.idempotencyTtlMs, 'options.idempotencyTtlMs', 30 * DAY),
  };
  retention.operationTimeoutMs = storeTimeoutMs;
  if (retention.idempotencyTtlMs < leaseMs) {
    throw new InvalidArgumentError('options.idempotencyTtlMs', retention.idempotencyTtlMs, 'must be at least leaseMs');
  }

  const onStoreReset = o.onStoreReset ?? 'continue';
  if (onStoreReset !== 'continue' && onStoreReset !== 'deny') {
    throw new InvalidArgumentError('options.onStoreReset', onStoreReset, "expected 'continue' or 'deny'");
  }
  const storeResetCheckMs = o.storeResetCheckMs === undefined ? 1000 : parsePositiveInt(o.storeResetCheckMs, 'options.storeResetCheckMs', 3_600_000);

  return {
    store,
    defaultRules,
    onStoreReset,
    storeResetCheckMs,
    outputReservation,
    leaseMs,
    onStoreError,
    allowBudget,
    thresholds,
    thresholdsPerMille: thresholds.map((t) => Math.round(t * 1000)),
    pricing: parsePricing(o.pricing),
    clock: o.clock,
    logger: o.logger,
    storeTimeoutMs,
    retention,
    maxPendingOperations:
      o.maxPendingOperations === undefined ? 10_000 : parsePositiveInt(o.maxPendingOperations, 'options.maxPendingOperations', 10_000_000),
    userCacheSize: o.userCacheSize === undefined ? 10_000 : parsePositiveInt(o.userCacheSize, 'options.userCacheSize', 10_000_000),
    tokenizer: parseTokenizer(o.tokenizer),
  };
}

function parseAllowBudget(value: unknown): { tokens: number; requests: number } {
  if (value === undefined) return { tokens: Number.POSITIVE_INFINITY, requests: Number.POSITIVE_INFINITY };
  if (!isPlainObject(value)) throw new InvalidArgumentError('options.allowBudget', value, 'expected { tokens?, requests? }');
  rejectUnknownKeys(value, ['tokens', 'requests'], 'options.allowBudget');
  return {
    tokens: value.tokens === undefined ? Number.POSITIVE_INFINITY : parseCount(value.tokens, 'options.allowBudget.tokens'),
    requests: value.requests === undefined ? Number.POSITIVE_INFINITY : parseCount(value.requests, 'options.allowBudget.requests'),
  };
}

function parseThresholds(value: unknown): number[] {
  if (!Array.isArray(value) || value.length > 10) {
    throw new InvalidArgumentError('options.alertThresholds', value, 'expected an array of at most 10 fractions');
  }
  const out = value.map((t, i) => {
    if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0 || t > 10) {
      throw new InvalidArgumentError(`options.alertThresholds[${i}]`, t, 'expected a fraction of the limit, above 0 and at most 10');
    }
    return Math.round(t * 1000) / 1000;
  });
  return [...new Set(out)].sort((a, b) => a - b);
}

function parseTokenizer(value: unknown): Tokenizer {
  if (value === undefined) return defaultTokenizer();
  const t = value as Partial<Tokenizer> | null;
  if (typeof t !== 'object' || t === null || typeof t.count !== 'function' || typeof t.warmup !== 'function') {
    throw new InvalidArgumentError('options.tokenizer', value, 'expected a Tokenizer (gptTokenizer() or jsTiktokenTokenizer())');
  }
  return t as Tokenizer;
}

function isStore(value: unknown): value is QuotaStore {
  const s = value as Partial<QuotaStore> | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    ['configure', 'reserve', 'commit', 'release', 'read', 'getConfig', 'setConfig'].every(
      (m) => typeof (s as Record<string, unknown>)[m] === 'function',
    )
  );
}
