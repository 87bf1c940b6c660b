/**
 * The QuotaStore contract: a small set of atomic operations. The engine (core/limiter.ts) computes
 * period boundaries, validates input and maps replies to errors and events; a store only applies
 * operations atomically and idempotently. `MemoryStore` and `RedisStore` pass the same contract suite.
 *
 * Units: tokens, requests, and integer micro-dollars for cost. Times: ms since the epoch.
 */

export type StoreMetric = 'tokens' | 'requests' | 'cost';

export interface Amounts {
  tokens: number;
  requests: number;
  /** Micro-dollars. */
  cost: number;
}

/** One rule as a store sees it. */
export interface RuleSpec {
  ruleId: string;
  metric: StoreMetric;
  /** Limit in store units. */
  limit: number;
  /** Identifies the window definition; a different fingerprint starts a fresh window. */
  fingerprint: string;
  /**
   * Start of the previous window, start and end of the current one, end of the next one, as the
   * engine computed them around its estimate of the store's time. The store picks the window that
   * holds its own clock's time, and never goes back to a window older than the one it has stored.
   */
  boundaries: readonly [number, number, number, number];
}

/** What a store keeps of a user's configuration. `version` 0 means nothing is stored. */
export interface StoredConfig {
  version: number;
  /** JSON of the user's own rules, or null for the default rules. */
  rules: string | null;
  /** The user's period start date (ms), or null. */
  anchor: number | null;
}

/** One rule's window as a store reports it. */
export interface WindowState {
  start: number;
  end: number;
  used: number;
  /** Held by live reservations. */
  held: number;
}

interface Common {
  userId: string;
  /** The engine's clock, when the `clock` option is set; otherwise the store uses its own. */
  now?: number;
}

export interface RulesCommand extends Common {
  /** The config version the rules were computed from; a mismatch answers `stale`. */
  configVersion: number;
  rules: readonly RuleSpec[];
}

export interface ReserveCommand extends RulesCommand {
  reservationId: string;
  amounts: Amounts;
  leaseMs: number;
  /** Set the user's anchor to the store's time if the user has none (answers `stale` after). */
  initAnchor: boolean;
  /**
   * Hold without the limit check. Used only to settle a call that already happened unmetered
   * (`onStoreError: 'allow'`), so that its usage lands in the current windows.
   */
  force?: boolean;
}

/** Answers shared by reserve and read. */
export type ConfigReply =
  | { type: 'stale'; now: number; config: StoredConfig }
  /** No candidate window holds the store's time (or the stored window): recompute around `at`. */
  | { type: 'clock'; now: number; at: number };

export type ReserveReply =
  | { type: 'ok'; now: number; windows: WindowState[]; replayed: boolean; isNewUser: boolean }
  | { type: 'rejected'; now: number; ruleIndex: number; windows: WindowState[] }
  | { type: 'disabled'; now: number }
  /** The reservation id was already committed or released. */
  | { type: 'closed'; now: number }
  | ConfigReply;

export type ReadReply =
  | { type: 'ok'; now: number; active: boolean; windows: WindowState[] }
  | ConfigReply;

/** A rule's hold as the reservation recorded it. */
export interface HeldWindow {
  ruleId: string;
  fingerprint: string;
  start: number;
  metric: StoreMetric;
  /** Amount held, in store units. */
  amount: number;
  /**
   * End of the window (ms), when known: lets a commit recreate a window whose state the store lost
   * (a Redis restart without persistence, a failover), so the call's usage is not dropped.
   */
  end?: number;
}

export interface CommitCommand extends Common {
  reservationId: string;
  /**
   * Identifies one `commit()` call of the engine (the same for its retries). A replay of this very
   * attempt (a lost reply re-sent by the client, a timed-out commit retried from the queue) is
   * answered as a duplicate with `ownAttempt: true` and the alerts it fired, so the engine can still
   * report a commit it never heard back from, exactly once. 1-64 characters of `[A-Za-z0-9_.-]`.
   */
  attemptId?: string;
  windows: readonly HeldWindow[];
  actual: Amounts;
  /** Alert thresholds in per-mille of the limit, ascending (e.g. [800, 1000]). */
  thresholds: readonly number[];
  /** The usage record without its timestamp, as JSON; the store stamps it with its time. */
  record: string;
  /** Model name for history buckets. */
  model: string;
  /** Token split for history buckets (`actual.tokens` is their sum). */
  inputTokens: number;
  outputTokens: number;
}

export interface CommitAlert {
  ruleId: string;
  /** Index into `thresholds`. */
  threshold: number;
  used: number;
  limit: number;
  start: number;
  end: number;
}

export type CommitReply =
  | {
      type: 'applied';
      now: number;
      timestamp: number;
      alerts: CommitAlert[];
      /** The user's quota is charged but the aggregates over all users were not updated: commit again to finish. */
      aggregatesPending?: boolean;
    }
  /**
   * Already committed: nothing changed; `timestamp` is the first commit's. `ownAttempt`: the first
   * commit was made by the same attempt (its reply was lost); `alerts` are the alerts it fired then
   * (empty otherwise).
   */
  | { type: 'duplicate'; now: number; timestamp: number; ownAttempt: boolean; alerts: CommitAlert[] }
  /** Already released: nothing changed. */
  | { type: 'released'; now: number };

export interface ReleaseCommand extends Common {
  reservationId: string;
  windows: readonly HeldWindow[];
}

export type ReleaseReply = { type: 'released' | 'duplicate' | 'committed'; now: number };

export interface StoredLogEntry {
  timestamp: number;
  /** The record JSON given to commit. */
  record: string;
}

export interface HistoryBucket {
  /** Start of the UTC hour. */
  hour: number;
  model: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  /** Micro-dollars. */
  cost: number;
}

export interface GlobalStats {
  totalTokens: number;
  /** Micro-dollars. */
  totalCost: number;
  activeUsers: number;
  users: number;
}

/** Bounds a store applies to logs and history; set by the engine from its options. */
export interface RetentionSettings {
  logMaxLength: number;
  userLogMaxLength: number;
  logRetentionMs: number;
  userHistoryRetentionMs: number;
  globalHistoryRetentionMs: number;
  /** How long commit/release outcomes are kept to answer replays. */
  idempotencyTtlMs: number;
  /**
   * How long the engine waits for one store operation (`storeTimeoutMs`). A store may retry an
   * operation that certainly did not run (a Redis Cluster redirection during a resharding or a
   * failover) until then.
   */
  operationTimeoutMs?: number;
}

/**
 * The store's epoch marker: identifies the data a store holds, so that a process notices when that
 * data is gone (a Redis restarted without persistence comes back empty). See `QuotaStore.checkEpoch`.
 */
export interface StoreEpoch {
  /** Random id of the store's current data. */
  id: string;
  /** When the marker was created (store time, ms). */
  createdAt: number;
  /** The epoch this one replaced when it was created after a loss was detected; null for a first epoch. */
  previous: string | null;
  /** False after a detected loss until `acknowledgeReset()`. */
  acknowledged: boolean;
  /** This check found that the data this store object saw before is gone. */
  reset: boolean;
  /** The epoch id this store object had seen, when `reset`. */
  lost: string | null;
}

export interface QuotaStore {
  /** A short name for logs and the bench (`memory`, `redis`). */
  readonly kind: string;
  /** Called once by the engine with its retention settings. */
  configure(settings: RetentionSettings): void;
  reserve(command: ReserveCommand): Promise<ReserveReply>;
  commit(command: CommitCommand): Promise<CommitReply>;
  release(command: ReleaseCommand): Promise<ReleaseReply>;
  /** Read a user's windows without writing anything (expired holds do not count). */
  read(command: RulesCommand): Promise<ReadReply>;

  getConfig(userId: string): Promise<StoredConfig & { active: boolean; exists: boolean }>;
  /**
   * Replace the user's rules (null: back to the defaults) and, if given, the anchor; bumps the
   * version. Window state of rules that no longer exist is dropped. Returns the new version.
   */
  setConfig(userId: string, rules: string | null, removedRuleIds: readonly string[], anchor?: number | null): Promise<number>;
  setActive(userId: string, active: boolean): Promise<void>;
  /** Zero the used figure (and fired alerts) of the given rules' current windows; holds stay. */
  resetUsage(userId: string, ruleIds: readonly string[]): Promise<void>;
  /** `now`: the engine's clock, when it has one (picks which history days exist). */
  deleteUser(userId: string, now?: number): Promise<void>;
  /** Users in id order after `cursor` (exclusive). */
  listUsers(cursor: string | undefined, limit: number): Promise<{ userIds: string[]; next?: string }>;
  /** Newest first. */
  readLog(query: { userId?: string; since?: number; until?: number; limit: number }): Promise<StoredLogEntry[]>;
  readHistory(query: { userId?: string; from: number; to: number }): Promise<HistoryBucket[]>;
  /** `now`: the engine's clock, when it has one (picks the current month). */
  stats(now?: number): Promise<GlobalStats>;
  /** Load what the first call would otherwise load (e.g. Lua scripts). */
  warmup?(): Promise<void>;
  /**
   * Reads (and creates on first use) the epoch marker, and says whether the data this store object
   * saw before is gone. Stores whose data cannot outlive the process (MemoryStore) omit it.
   */
  checkEpoch?(): Promise<StoreEpoch>;
  /** Marks a detected loss as handled (the marker's `acknowledged` becomes true). */
  acknowledgeReset?(): Promise<void>;
  /** Release connections and timers the store owns (never a client it was given). */
  close(): Promise<void>;
}
