import { DEFAULTS } from '../kernel/defaults.js';
import { InvalidArgumentError } from '../kernel/errors.js';
import type { Logger, UsageLedger } from '../kernel/types.js';
import { isPlainObject, parseCount, parsePositiveInt, parseUserId, rejectUnknownKeys } from '../kernel/validate.js';
import type { QuotaStore, StoreSettings } from '../stores/protocol/types.js';
import { normalizeRules, type NormalizedRule } from './rules.js';

/** What a commit costs, in micro-dollars, or undefined when the model has no known price. */
export interface CostModel {
  costOf(usage: {
    model: string;
    inputTokens: number;
    outputTokens: number;
    cachedInputTokens: number;
    cacheWriteTokens: number;
    reasoningTokens: number;
  }): number | undefined;
}

/** The engine's fully defaulted, validated configuration (built by the public face's option parser). */
export interface EngineConfig {
  store: QuotaStore;
  defaultRules: NormalizedRule[];
  leaseMs: number;
  onStoreError: 'deny' | 'allow';
  allowBudget: { tokens: number; requests: number };
  outageQuietMs: number;
  thresholds: number[];
  thresholdsPerMille: number[];
  clock: (() => number) | undefined;
  logger: Logger | undefined;
  storeTimeoutMs: number;
  settings: StoreSettings;
  maxPendingOperations: number;
  userCacheSize: number;
  onStoreReset: 'continue' | 'deny';
  storeResetCheckMs: number;
  /** The plan of users with no plan and no own rules (then the default rules), if any. */
  defaultPlan: string | undefined;
  /** Longest time before this process sees a plan changed by another. */
  planRefreshMs: number;
  cost: CostModel;
  /** The durable ledger every committed record goes to, if any. */
  ledger: UsageLedger | undefined;
}

/** The engine's options, as `createTokenLimiter` takes them (documented in `TokenLimiterOptions`). */
export interface EngineOptions {
  defaultLimits?: unknown;
  leaseMs?: unknown;
  onStoreError?: unknown;
  allowBudget?: unknown;
  alertThresholds?: unknown;
  clock?: unknown;
  logger?: unknown;
  storeTimeoutMs?: unknown;
  usageLog?: unknown;
  history?: unknown;
  maxPendingOperations?: unknown;
  userCacheSize?: unknown;
  idempotencyTtlMs?: unknown;
  onStoreReset?: unknown;
  storeResetCheckMs?: unknown;
  defaultPlan?: unknown;
  planRefreshMs?: unknown;
  ledger?: unknown;
}

const DAY = 86_400_000;

/** Validates the engine's options into a config; throws naming the bad option. */
export function parseEngineOptions(o: EngineOptions, store: QuotaStore, cost: CostModel): EngineConfig {
  const defaultRules = normalizeRules(o.defaultLimits ?? DEFAULTS.defaultLimits, 'options.defaultLimits');
  const leaseMs = o.leaseMs === undefined ? DEFAULTS.leaseMs : parsePositiveInt(o.leaseMs, 'options.leaseMs', 7 * DAY);
  const onStoreError = oneOf(o.onStoreError, DEFAULTS.onStoreError, ['deny', 'allow'], 'options.onStoreError');
  const thresholds = parseThresholds(o.alertThresholds ?? DEFAULTS.alertThresholds);
  if (o.clock !== undefined && typeof o.clock !== 'function') {
    throw new InvalidArgumentError('options.clock', o.clock, 'expected a function returning ms since epoch');
  }
  if (o.logger !== undefined && (typeof o.logger !== 'object' || o.logger === null)) {
    throw new InvalidArgumentError('options.logger', o.logger, 'expected an object with debug/info/warn/error methods');
  }
  const storeTimeoutMs = o.storeTimeoutMs === undefined ? DEFAULTS.storeTimeoutMs : parsePositiveInt(o.storeTimeoutMs, 'options.storeTimeoutMs', 600_000);
  const log = section(o.usageLog, 'options.usageLog', ['maxLength', 'userMaxLength', 'retentionDays']);
  const history = section(o.history, 'options.history', ['userRetentionDays', 'globalRetentionDays']);
  const days = (value: unknown, fallback: number, parameter: string) => DAY * (value === undefined ? fallback : parsePositiveInt(value, parameter, 3660));
  const idempotencyTtlMs =
    o.idempotencyTtlMs === undefined ? leaseMs + DEFAULTS.idempotencyMarginMs : parsePositiveInt(o.idempotencyTtlMs, 'options.idempotencyTtlMs', 30 * DAY);
  if (idempotencyTtlMs < leaseMs) throw new InvalidArgumentError('options.idempotencyTtlMs', idempotencyTtlMs, 'must be at least leaseMs');
  const settings: StoreSettings = {
    logMaxLength: log.maxLength === undefined ? DEFAULTS.usageLog.maxLength : parsePositiveInt(log.maxLength, 'options.usageLog.maxLength', 10_000_000),
    userLogMaxLength:
      log.userMaxLength === undefined ? DEFAULTS.usageLog.userMaxLength : parsePositiveInt(log.userMaxLength, 'options.usageLog.userMaxLength', 1_000_000),
    logRetentionMs: days(log.retentionDays, DEFAULTS.usageLog.retentionDays, 'options.usageLog.retentionDays'),
    userHistoryRetentionMs: days(history.userRetentionDays, DEFAULTS.history.userRetentionDays, 'options.history.userRetentionDays'),
    globalHistoryRetentionMs: days(history.globalRetentionDays, DEFAULTS.history.globalRetentionDays, 'options.history.globalRetentionDays'),
    idempotencyTtlMs,
    operationTimeoutMs: storeTimeoutMs,
  };
  return {
    store,
    defaultRules,
    leaseMs,
    onStoreError,
    allowBudget: parseAllowBudget(o.allowBudget),
    outageQuietMs: parseQuietMs(o.allowBudget),
    thresholds,
    thresholdsPerMille: thresholds.map((t) => Math.round(t * 1000)),
    clock: o.clock as (() => number) | undefined,
    logger: o.logger as Logger | undefined,
    storeTimeoutMs,
    settings,
    maxPendingOperations:
      o.maxPendingOperations === undefined
        ? DEFAULTS.maxPendingOperations
        : parsePositiveInt(o.maxPendingOperations, 'options.maxPendingOperations', 10_000_000),
    userCacheSize: o.userCacheSize === undefined ? DEFAULTS.userCacheSize : parsePositiveInt(o.userCacheSize, 'options.userCacheSize', 10_000_000),
    onStoreReset: oneOf(o.onStoreReset, DEFAULTS.onStoreReset, ['continue', 'deny'], 'options.onStoreReset'),
    storeResetCheckMs:
      o.storeResetCheckMs === undefined ? DEFAULTS.storeResetCheckMs : parsePositiveInt(o.storeResetCheckMs, 'options.storeResetCheckMs', 3_600_000),
    defaultPlan: o.defaultPlan === undefined ? undefined : parseUserId(o.defaultPlan, 'options.defaultPlan'),
    planRefreshMs: o.planRefreshMs === undefined ? DEFAULTS.planRefreshMs : parsePositiveInt(o.planRefreshMs, 'options.planRefreshMs', 3_600_000),
    cost,
    ledger: parseLedger(o.ledger, store),
  };
}

/** A `UsageLedger` (createPostgresLedger), over a store that can feed it. */
function parseLedger(value: unknown, store: QuotaStore): UsageLedger | undefined {
  if (value === undefined) return undefined;
  const l = value as Partial<UsageLedger> | null;
  if (
    typeof l !== 'object' ||
    l === null ||
    typeof l.write !== 'function' ||
    typeof l.readLog !== 'function' ||
    typeof l.readHistory !== 'function' ||
    typeof l.export !== 'function' ||
    typeof l.attach !== 'function' ||
    l.drain === undefined
  ) {
    throw new InvalidArgumentError('options.ledger', value, 'expected a UsageLedger (createPostgresLedger from token-limits/postgres)');
  }
  if (store.ledgerFeed === undefined) {
    throw new InvalidArgumentError('options.ledger', value, `the store (${store.kind}) cannot feed a ledger: use MemoryStore or RedisStore`);
  }
  if (l.drain === false && store.kind === 'memory') {
    throw new InvalidArgumentError('options.ledger', value, "MemoryStore's ledger queue lives in this process: its ledger must drain (drain: false is for shared stores)");
  }
  return l as UsageLedger;
}

export function oneOf<T extends string>(value: unknown, fallback: T, allowed: readonly T[], parameter: string): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(parameter, value, `expected ${allowed.map((a) => `'${a}'`).join(' or ')}`);
  }
  return value as T;
}

function section(value: unknown, parameter: string, keys: readonly string[]): Record<string, unknown> {
  if (value === undefined) return {};
  if (!isPlainObject(value)) throw new InvalidArgumentError(parameter, value, 'expected an object');
  rejectUnknownKeys(value, keys, parameter);
  return value;
}

function parseAllowBudget(value: unknown): { tokens: number; requests: number } {
  if (value === undefined) return { tokens: Number.POSITIVE_INFINITY, requests: Number.POSITIVE_INFINITY };
  const o = section(value, 'options.allowBudget', ['tokens', 'requests', 'quietMs']);
  return {
    tokens: o.tokens === undefined ? Number.POSITIVE_INFINITY : parseCount(o.tokens, 'options.allowBudget.tokens'),
    requests: o.requests === undefined ? Number.POSITIVE_INFINITY : parseCount(o.requests, 'options.allowBudget.requests'),
  };
}

function parseQuietMs(value: unknown): number {
  const quiet = isPlainObject(value) ? value.quietMs : undefined;
  return quiet === undefined ? DEFAULTS.outageQuietMs : parsePositiveInt(quiet, 'options.allowBudget.quietMs', 86_400_000);
}

function parseThresholds(value: unknown): number[] {
  if (!Array.isArray(value) || value.length > 10) {
    throw new InvalidArgumentError('options.alertThresholds', value, 'expected an array of at most 10 fractions');
  }
  const out = value.map((t, i) => {
    // Kept to the thousandth (the stores count thresholds per mille): one that rounds to 0 would
    // fire at the first token used.
    if (typeof t !== 'number' || !Number.isFinite(t) || Math.round(t * 1000) < 1 || t > 10) {
      throw new InvalidArgumentError(`options.alertThresholds[${i}]`, t, 'expected a fraction of the limit from 0.001 to 10 (kept to the thousandth)');
    }
    return Math.round(t * 1000) / 1000;
  });
  return [...new Set(out)].sort((a, b) => a - b);
}
