import { DEFAULTS } from '../kernel/defaults.js';
import { InvalidArgumentError } from '../kernel/errors.js';
import type { LimitRule, Logger, UsageLedger } from '../kernel/types.js';
import { isPlainObject, parseCount, parsePositiveInt, rejectUnknownKeys } from '../kernel/validate.js';
import { oneOf, parseEngineOptions, type EngineConfig } from '../engine/config.js';
import type { QuotaStore } from '../stores/protocol/types.js';
import { MemoryStore } from '../stores/memory/memory-store.js';
import type { CallSettings } from '../providers/shared/port.js';
import { parseMaxOutputOverrides } from '../providers/pricing/limits.js';
import { costOfUsage } from '../providers/pricing/resolve.js';
import { toMicroUsd } from '../kernel/units.js';
import { defaultTokenizer } from '../tokenizer/gpt-tokenizer.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { parsePricing, type PricingOptions } from './pricing-options.js';

/** Options of `createTokenLimiter`. Every option has a safe default (listed in `DEFAULTS` too). */
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
   * Unset, the hold is the model's documented maximum output (the built-in table, overridable with
   * `maxOutputTokens`), so that no single call can overspend by more than its input estimate's
   * error. The actual usage replaces the hold at commit.
   * @default the model's maximum output
   */
  outputReservation?: number;
  /**
   * Per-model overrides of the built-in table of maximum output tokens (a name also covers its
   * dated snapshots, as for prices). Used for the output hold of requests that set no maximum.
   * @default {}
   */
  maxOutputTokens?: Record<string, number>;
  /**
   * What a call does when its hold does not fit what is left: `refuse` throws
   * `TokenLimitExceededError`; `shrink` lowers the request's output maximum to what is left (never
   * below `minShrunkOutput`), for every provider method that has an output maximum.
   * @default 'refuse'
   */
  onInsufficientQuota?: 'refuse' | 'shrink';
  /**
   * With `onInsufficientQuota: 'shrink'`: the smallest output maximum a request is shrunk to; below
   * it the call is refused.
   * @default 16
   */
  minShrunkOutput?: number;
  /**
   * What an aborted or broken stream is charged when the provider never reported usage: `hold` the
   * whole reservation (the upper bound: a reasoning model bills thinking nobody saw), `received` the
   * input estimate plus the tokens of the text received.
   * An OpenAI background response (`background: true`) runs on after an abort: it is always
   * charged its hold.
   * @default 'hold' for reasoning models (the output table's flag: OpenAI o-series and GPT-5, Gemini 2.5 and 3 Pro, Claude Fable and Mythos) and Claude calls with `thinking` enabled or adaptive, 'received' for others
   */
  abortedStreamCharge?: 'hold' | 'received';
  /**
   * How long a reservation holds quota if it is neither committed nor released (a crashed
   * process); after that it stops counting, with no background job. A wrapped call renews its
   * hold every half of this while it runs (a 64k-token stream can outlast 10 minutes), for up to
   * 6 leases; a call made with `reserve`/`commit` that may run longer should call
   * `limiter.renew(reservation)`.
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
   * With `onStoreError: 'allow'`: the most each process lets through unmetered during one outage
   * (estimated tokens and calls); beyond it calls fail as under `'deny'`. An outage lasts until the
   * store has gone `quietMs` without failing: successes meanwhile (other users' calls, another
   * Redis Cluster node) never refill the budget, and a queued commit or release whose retry fails
   * counts as a failure (a process whose calls come further apart than `quietMs` still sees one
   * outage). Unset `tokens`/`requests` are unbounded.
   * @default { tokens: unbounded, requests: unbounded, quietMs: 60_000 }
   */
  allowBudget?: { tokens?: number; requests?: number; quietMs?: number };
  /**
   * Fractions of a limit at which an `alert` event fires, once per user, rule and period: each
   * from 0.001 to 10, kept to the thousandth (the stores count them per mille); at most 10.
   * @default [0.8, 1]
   */
  alertThresholds?: number[];
  /** Prices for cost rules: per-model overrides of the built-in table and a fallback price. */
  pricing?: PricingOptions;
  /**
   * Clock in ms since epoch. By default the store's clock decides (Redis `TIME` for RedisStore),
   * so app servers with different clocks agree on periods. Set it in tests (see `createFakeClock`).
   * A fraction of a millisecond is dropped; a time that is not a number from 1970 to year 9999
   * fails the call that read it with `InvalidArgumentError` (`options.clock`).
   */
  clock?: () => number;
  /** Receives the library's diagnostics; nothing is written to the console. */
  logger?: Logger;
  /**
   * Longest wait for one store operation before it counts as failed (then `onStoreError` applies).
   * When the store does not answer, a call fails within it as a whole: its steps (an admin call's
   * wait for this process's own writes, the operation itself) share it; a read of the plans, when
   * this process's copy is due, adds a quarter of it at most.
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
   * with backoff; beyond it the oldest one not being retried at that moment is dropped (with a
   * `store-error` event).
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
  /**
   * How long commit and release outcomes are kept to answer replays (a reply lost on a reconnect,
   * a retried commit). At least `leaseMs`.
   * @default leaseMs + 600_000 (20 minutes)
   */
  idempotencyTtlMs?: number;
  /**
   * What to do when the store's data turns out to be lost (RedisStore's epoch marker changed: Redis
   * restarted without persistence, a flushed database). Either way a `store-reset` event fires and
   * the logger gets an error. `continue`: calls go on against the now empty counters. `deny`:
   * reserves fail with `QuotaStoreError` in every process with this policy until
   * `admin.acknowledgeStoreReset()` is called.
   * @default 'continue'
   */
  onStoreReset?: 'continue' | 'deny';
  /**
   * Longest time between two checks of the store's epoch marker while calls are made (one small
   * store call beside a reserve, never in its path).
   * @default 1000
   */
  storeResetCheckMs?: number;
  /**
   * The plan (see `admin.setPlan`) of users with no plan and no rules of their own. While no plan
   * has this id, such users get `defaultLimits`.
   * @default none: such users get `defaultLimits`
   */
  defaultPlan?: string;
  /**
   * Longest time before this process applies a plan changed by another process (plans are read
   * again beside calls, never in their path; the process that changes a plan applies it at once).
   * A process idle for longer reads them before its next call, waiting at most a quarter of
   * `storeTimeoutMs` for the answer (so a store outage never delays a decision past the timeout);
   * a store slower than that delays the change to a later call.
   * @default 1000
   */
  planRefreshMs?: number;
  /**
   * A durable ledger (`createPostgresLedger` from `token-limits/postgres`) that receives every
   * committed usage record exactly once, never on the caller's path: the store's commit appends the
   * record to a queue in the same atomic step as the charge (RedisStore: a Redis Stream in the user's
   * Cluster slot; MemoryStore: an in-process queue, lost if the process crashes), and processes whose
   * ledger drains (`drain` option of the ledger) move it into the database in batches. With a ledger,
   * `admin.getUsageLog` and `admin.getUsageHistory` read past the store's retention from it.
   * Requires MemoryStore or RedisStore. Watch `ledger-lag` and `ledger-error` events.
   * @default undefined (no ledger)
   */
  ledger?: UsageLedger;
}

const OPTION_KEYS = [
  'store',
  'defaultLimits',
  'outputReservation',
  'maxOutputTokens',
  'onInsufficientQuota',
  'minShrunkOutput',
  'abortedStreamCharge',
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
  'defaultPlan',
  'planRefreshMs',
  'ledger',
] as const;

/** Turns user options into the engine's config and the call settings; throws naming the bad option. */
export function parseLimiterOptions(options: unknown): { engine: EngineConfig; call: CallSettings } {
  if (options === undefined) options = {};
  if (!isPlainObject(options)) throw new InvalidArgumentError('options', options, 'expected an object');
  rejectUnknownKeys(options, OPTION_KEYS, 'options');
  const o = options as TokenLimiterOptions;
  const store = o.store ?? new MemoryStore();
  if (!isStore(store)) throw new InvalidArgumentError('options.store', store, 'expected a QuotaStore (MemoryStore, RedisStore)');
  const prices = parsePricing(o.pricing);
  const engine = parseEngineOptions(o, store, {
    costOf(usage) {
      const price = prices.resolve(usage.model);
      return price === undefined ? undefined : toMicroUsd(costOfUsage(usage, price));
    },
  });
  const call: CallSettings = {
    tokenizer: parseTokenizer(o.tokenizer),
    prices,
    outputReservation: o.outputReservation === undefined ? undefined : parseCount(o.outputReservation, 'options.outputReservation'),
    maxOutputTokens: Object.freeze(o.maxOutputTokens === undefined ? {} : parseMaxOutputOverrides(o.maxOutputTokens, 'options.maxOutputTokens')),
    onInsufficientQuota: oneOf(o.onInsufficientQuota, DEFAULTS.onInsufficientQuota, ['refuse', 'shrink'], 'options.onInsufficientQuota'),
    minShrunkOutput: o.minShrunkOutput === undefined ? DEFAULTS.minShrunkOutput : parsePositiveInt(o.minShrunkOutput, 'options.minShrunkOutput', 1_000_000),
    abortedStreamCharge:
      o.abortedStreamCharge === undefined ? undefined : oneOf<'hold' | 'received'>(o.abortedStreamCharge, 'hold', ['hold', 'received'], 'options.abortedStreamCharge'),
    logger: engine.logger,
    leaseMs: engine.leaseMs,
  };
  return { engine, call };
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
  const has = (part: unknown, methods: string[]) =>
    typeof part === 'object' && part !== null && methods.every((m) => typeof (part as Record<string, unknown>)[m] === 'function');
  return (
    typeof s === 'object' &&
    s !== null &&
    has(s.hotPath, ['reserve', 'commit', 'release']) &&
    has(s.admin, ['read', 'getConfig', 'updateUser', 'resetUsage', 'deleteUser', 'listUsers', 'readLog', 'readHistory', 'stats']) &&
    has(s.maintenance, ['configure', 'warmup', 'checkEpoch', 'acknowledgeReset', 'flush', 'close'])
  );
}
