/**
 * Every default of `createTokenLimiter`'s options, in one place (the TSDoc of each option repeats
 * its value; `test/core/options.test.ts` holds the two together).
 */
export const DEFAULTS = {
  defaultLimits: [{ id: 'monthly', tokens: 100_000, period: 'month' }],
  leaseMs: 600_000,
  onStoreError: 'deny',
  alertThresholds: [0.8, 1],
  storeTimeoutMs: 2000,
  /** An outage ends after this long without a store failure; the next failure starts a new one. */
  outageQuietMs: 60_000,
  usageLog: { maxLength: 10_000, userMaxLength: 100, retentionDays: 30 },
  history: { userRetentionDays: 62, globalRetentionDays: 400 },
  maxPendingOperations: 10_000,
  userCacheSize: 10_000,
  /** Beyond the lease, how long outcomes answer replays (idempotencyTtlMs = leaseMs + this). */
  idempotencyMarginMs: 600_000,
  onStoreReset: 'continue',
  storeResetCheckMs: 1000,
  planRefreshMs: 1000,
  onInsufficientQuota: 'refuse',
  minShrunkOutput: 16,
  /** Refused calls kept per user (`admin.getRefusals`, the dashboard's latest calls), and for how long. */
  refusalsKept: 20,
  refusalTtlMs: 7 * 86_400_000,
} as const;
