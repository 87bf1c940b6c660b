/**
 * The store protocol: what the engine asks of a quota store, in three parts. (One file, over 300
 * lines: it is the contract both stores implement, read as a whole.)
 *
 * - `hotPath`: reserve, commit, release. One atomic operation each, on one user's state; each is
 *   idempotent by reservation id, so a replayed command (a lost reply re-sent by a Redis client, a
 *   retried commit) changes nothing twice.
 * - `admin`: reads for `check`/`getUsage` and the admin functions (rules, active flag, usage
 *   reset, deletion, listings, log, history, totals). Never on a wrapped call's path.
 * - `maintenance`: settings, warm-up, the epoch marker that detects lost data, draining batched
 *   writes (aggregates over all users), closing.
 *
 * The engine computes period boundaries, validates input and maps replies to errors and events; a
 * store applies commands atomically and picks windows with its own clock. `MemoryStore` and
 * `RedisStore` pass the same contract suite (test/contract).
 *
 * Units: tokens, requests, and integer micro-dollars for cost. Times: ms since the epoch.
 */
import type { QuotaStoreError } from '../../kernel/errors.js';

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
  /** Identifies the window definition (period, zone, anchor, metric); a new one starts a fresh window. */
  fingerprint: string;
  /**
   * Start of the previous window, start and end of the current one, end of the next one, as the
   * engine computed them around its estimate of the store's time. The store keeps its stored window
   * while the store's time is before that window's end (so a clock that moved back keeps serving it:
   * periods never roll backwards), else picks the candidate that holds its time.
   */
  boundaries: readonly [number, number, number, number];
}

/** What a store keeps of a user's (or an account's) configuration. `version` 0 means nothing is stored. */
export interface StoredConfig {
  version: number;
  /** JSON of the own rules, or null (then the plan's, else the defaults). */
  rules: string | null;
  /** The user's period start date (ms), or null (accounts: always null). */
  anchor: number | null;
  /** The assigned plan, or null. */
  plan: string | null;
}

/** One rule's current window as a store reports it. */
export interface WindowState {
  start: number;
  end: number;
  used: number;
  /** Held by live reservations. */
  held: number;
}

interface UserCommand {
  userId: string;
  /** The engine's clock, when the `clock` option is set; otherwise the store uses its own. */
  now?: number;
}

/** One scope's rules as the engine knows them: the user's, or their account's. */
export interface ScopeRules {
  /** The config version the rules come from; a different stored version answers `stale`. */
  configVersion: number;
  rules: readonly RuleSpec[];
}

/**
 * A command computed from the rules as the engine knows them. A user lives either on their own
 * (`home` null) or in an account (`home` = its id): then the command carries the account's rules
 * too, and the store checks both scopes in one atomic operation.
 */
export interface RulesCommand extends UserCommand {
  /** The account the engine believes the user belongs to, or null. */
  home: string | null;
  user: ScopeRules;
  /** The account's rules, when `home` is an account. */
  account?: ScopeRules;
}

// ------------------------------------------------------------------------------------------ hot path

export interface ReserveCommand extends RulesCommand {
  /** 1-64 characters of `[A-Za-z0-9_.-]`. */
  reservationId: string;
  amounts: Amounts;
  /** The hold stops counting this long after the store's time, if neither committed nor released. */
  leaseMs: number;
  /** Set the user's anchor to the store's time if the user has none (answers `stale` after). */
  initAnchor: boolean;
}

/** Answers shared by every command computed from rules. */
export type ConfigReply =
  /** A scope's stored config has another version: learn it and compute the rules again. */
  | { type: 'stale'; now: number; scope: 'user' | 'account'; config: StoredConfig }
  /** No candidate window holds the store's time: recompute the boundaries around `at`. */
  | { type: 'clock'; now: number; at: number }
  /** The user lives elsewhere (in account `home`, or on their own when null): send it there. */
  | { type: 'moved'; now: number; home: string | null }
  /** The user is being moved between accounts: ask again in a moment. */
  | { type: 'moving'; now: number };

export type ReserveReply =
  /** `windows`: the user's rules, then the account's. */
  | { type: 'ok'; now: number; windows: WindowState[]; replayed: boolean; isNewUser: boolean }
  /** `ruleIndex` is into the refusing scope's rules; `windows` as for `ok`. */
  | { type: 'rejected'; now: number; scope: 'user' | 'account'; ruleIndex: number; windows: WindowState[] }
  | { type: 'disabled'; now: number }
  /** The reservation id was already committed or released: nothing is held. */
  | { type: 'closed'; now: number }
  /** The store is at capacity and this user is new to it: nothing is held. */
  | { type: 'full'; now: number; capacity: number }
  | ConfigReply;

export interface CommitCommand extends RulesCommand {
  reservationId: string;
  /**
   * Per rule of `user.rules` then `account.rules`: whether the call matches the rule's model and
   * provider filters. A rule the hold covers is charged whatever this says; a rule without a share
   * in the hold (the hold expired, or the rule is new) is charged only when the call matches it.
   */
  matches: readonly boolean[];
  /**
   * Identifies one `commit()` of the engine, the same for its retries: a replay of this very attempt
   * is answered as a duplicate with `ownAttempt: true` and the alerts it fired, so the engine still
   * reports a commit whose reply it never got, exactly once. 1-64 characters of `[A-Za-z0-9_.-]`.
   */
  attemptId: string;
  /** What the call used. */
  actual: Amounts;
  /**
   * The call's cost is unknown (no price for its model): cost rules are charged what the hold held
   * for them (nothing, without a hold), never a figure the caller claims.
   */
  costUnknown: boolean;
  /** Alert thresholds in per-mille of the limit, ascending (e.g. [800, 1000]). */
  thresholds: readonly number[];
  /** The usage record without its timestamp, as JSON; the store stamps it with its time. */
  record: string;
  /** Buckets of the hourly history. */
  history: { model: string; inputTokens: number; outputTokens: number };
  /**
   * The user's share of a call reserved at the user's previous home (answered 'forward' there):
   * only the user's rules are charged, the account's share was charged where the call was reserved.
   */
  forwarded?: boolean;
  /** Set when a ledger is configured: the store appends the record to its ledger feed, atomically with the charge. */
  ledger?: LedgerNote;
}

/** What a ledger entry adds to the record (see `LedgerEntry`). */
export interface LedgerNote {
  accountId: string | null;
  costMicros: number | null;
  cacheWriteTokens: number;
}

/** One record waiting in a store's ledger feed. */
export interface LedgerFeedEntry {
  /** Where it waits (the store's own reference, for `ack`). */
  ref: string;
  /** When the store charged it (ms since the epoch). */
  timestamp: number;
  /** The record JSON given to commit. */
  record: string;
  /** The `LedgerNote` as JSON. */
  note: string;
  /**
   * Set when the entry is no record the ledger could take (tampering or a bug: a field missing, a
   * time that is no ms since the epoch, a record that is no JSON object with an id): why. The
   * drainer writes no such entry, it moves it out with `deadLetter` (its `record`, `note` and
   * `timestamp` then mean nothing).
   */
  unreadable?: string;
}

/** Entries of one place in a feed that `LedgerFeed.deadLetter` moved out, unwritten. */
export interface LedgerDeadLetters {
  /** Where they were, for the operator (RedisStore: the stream). */
  from: string;
  /** Where they are now and how to read them (RedisStore: the dead-letter stream, and its XRANGE). */
  to: string;
  /** The entries' own ids in `from`, with why each was moved. */
  entries: ReadonlyArray<{ id: string; reason: string }>;
  /** How many were moved (one that another drainer had moved already is not counted again). */
  moved: number;
  /** Set when the move failed: the entries stay in the feed (move them again). */
  error?: Error;
}

/**
 * The queue between a store's commits and the ledger: every record the store charged with a
 * `ledger` note, until a drainer acknowledges it (after the ledger has it).
 */
export interface LedgerFeed {
  /**
   * Up to `count` waiting records: ones another reader took but did not acknowledge within
   * `claimIdleMs` (it crashed), then new ones. A record read and not acknowledged is read again only
   * after `claimIdleMs`.
   */
  read(consumer: string, count: number, claimIdleMs: number): Promise<LedgerFeedEntry[]>;
  /** The ledger has these records: forget them. */
  ack(entries: readonly LedgerFeedEntry[]): Promise<void>;
  /** Records waiting, and the store time of the oldest. */
  lag(): Promise<{ pending: number; oldest: number | null }>;
  /** True when the queue lives in this process (MemoryStore): closing the limiter writes it out first. */
  readonly inProcess?: boolean;
  /** Forgets readers that hold nothing and were idle longer than `idleMs` (they ended); resolves with how many. */
  prune?(idleMs: number): Promise<number>;
  /** MemoryStore: bound of the in-process queue; returns how many records overflowed since the last call. */
  bound?(maxQueue: number): number;
  /**
   * Moves entries the ledger cannot take (`unreadable` ones, and records the ledger refused for
   * their data) out of the feed, unwritten, to where an operator finds them, and forgets them;
   * resolves with what went where, one item per place, for the drainer to report (`ledger-error`,
   * policy `dead-lettered`). Moving an entry already moved changes nothing. A feed without it
   * (MemoryStore) has nowhere to keep them: the drainer drops them and reports that.
   */
  deadLetter?(entries: ReadonlyArray<{ entry: LedgerFeedEntry; reason: string }>): Promise<LedgerDeadLetters[]>;
}

/**
 * How a commit charges (the same in every store):
 * - the hold is looked up in the store by reservation id (a reservation object names only its id
 *   and user: windows claimed by a caller are never trusted);
 * - per rule of `rules` (the rules current at commit): if the hold's window for that rule is the
 *   current window, the actual amount is charged there and the held amount released; if the period
 *   rolled over during the call, the part beyond the hold is charged to the current window (the
 *   hold's part stays in the window it was reserved in); a rule without a hold (the hold expired,
 *   the rule is new or its period changed) is charged the whole actual amount;
 * - alerts fire once per rule, threshold and window, from the limits in `rules`.
 */
export type CommitReply =
  | { type: 'applied'; now: number; timestamp: number; alerts: CommitAlert[] }
  /**
   * The user moved away after this call was reserved here: the account's share was charged here
   * (the call was the account's), the user's share must be charged at the user's new home (commit
   * again there with `forwarded`). Answered again on a replay, so that the forward is retried.
   */
  | { type: 'forward'; now: number; timestamp: number; home: string | null; alerts: CommitAlert[] }
  /**
   * Already committed: nothing changed; `timestamp` is the first commit's. `ownAttempt`: the first
   * commit was this attempt (its reply was lost); `alerts` are the alerts it fired then.
   */
  | { type: 'duplicate'; now: number; timestamp: number; ownAttempt: boolean; alerts: CommitAlert[] }
  /** Already released: nothing changed. */
  | { type: 'released'; now: number }
  | ConfigReply;

export interface CommitAlert {
  scope: 'user' | 'account';
  ruleId: string;
  /** Index into `thresholds`. */
  threshold: number;
  used: number;
  limit: number;
  start: number;
  end: number;
}

export interface ReleaseCommand extends UserCommand {
  reservationId: string;
  /** Where the reservation was made (its hold is there). */
  home: string | null;
}

/**
 * `duplicate`: released before; `committed`: committed before (nothing changed either way).
 * `movedTo`: the user no longer lives at the command's `home` but there (null: on their own); a
 * store that moves holds with their users says so, and the release is sent there too. `moving`:
 * the user is on their way to `home` and not there yet: nothing changed (sent again, it finds the hold).
 */
export type ReleaseReply = { type: 'released' | 'duplicate' | 'committed'; now: number; movedTo?: string | null } | { type: 'moving'; now: number };

export interface RenewCommand extends UserCommand {
  reservationId: string;
  /** Where the reservation was made (its hold is there). */
  home: string | null;
  /** The hold counts until at least the store's time plus this. */
  leaseMs: number;
}

/**
 * `renewed`: the hold (the user's share and, in an account, the account's) now expires no sooner
 * than `now + leaseMs`; `gone`: there is no hold (committed, released, or dropped when its lease
 * ended): nothing changed. `movedTo`: as for {@link ReleaseReply}.
 */
export type RenewReply = { type: 'renewed' | 'gone'; now: number; movedTo?: string | null };

export interface HotPath {
  reserve(command: ReserveCommand): Promise<ReserveReply>;
  commit(command: CommitCommand): Promise<CommitReply>;
  /** Drops the hold; also marks an unknown id, so that a late replay of its reserve holds nothing. */
  release(command: ReleaseCommand): Promise<ReleaseReply>;
  /** Moves a live hold's expiry later (a call still running as its lease nears its end); never earlier. */
  renew(command: RenewCommand): Promise<RenewReply>;
}

// ------------------------------------------------------------------------------------------- admin

/** `windows`: the user's rules, then the account's. */
export type ReadReply = { type: 'ok'; now: number; active: boolean; windows: WindowState[] } | ConfigReply;

/** An account's windows, read without writing. */
export interface AccountReadCommand extends ScopeRules {
  accountId: string;
  now?: number;
}

export type AccountReadReply = { type: 'ok'; now: number; windows: WindowState[] } | Extract<ConfigReply, { type: 'stale' | 'clock' }>;

/** A user's configuration wherever they live, with where that is. */
export interface UserConfigView extends StoredConfig {
  active: boolean;
  exists: boolean;
  /** The account the user belongs to, or null. */
  account: string | null;
}

/** A change to a user's configuration; absent fields stay as they are. */
export interface UserChange {
  /** The user's own rules as JSON, or null to go back to the defaults. */
  rules?: string | null;
  /** Rules that no longer exist: their window state is dropped. */
  removedRuleIds?: readonly string[];
  /** The user's period start date (ms), set only if the user has none. */
  anchor?: number;
  active?: boolean;
  /**
   * The assigned plan (null: none). A plan the store does not hold is refused with
   * `InvalidArgumentError` ('planId'), nothing written: checked atomically with the plan's use
   * count, so a plan deleted meanwhile is never assigned (and a counted plan is never deleted).
   */
  plan?: string | null;
}

/** A change to an account's configuration; absent fields stay as they are. */
export interface AccountChange {
  /** The account's own rules as JSON, or null (then its plan's, else none). */
  rules?: string | null;
  removedRuleIds?: readonly string[];
  /** The assigned plan (null: none); a plan the store does not hold is refused, as in `UserChange`. */
  plan?: string | null;
}

/** A stored plan. */
export interface StoredPlan {
  planId: string;
  version: number;
  /** JSON of the plan's rules. */
  rules: string;
  /** Users and accounts assigned to it. */
  users: number;
  accounts: number;
}

export interface StoredLogEntry {
  timestamp: number;
  /** The record JSON given to commit. */
  record: string;
}

export interface HistoryBucket {
  /** Start of the UTC hour (or day, for daily reads). */
  time: number;
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

export interface StoreAdmin {
  /** A user's windows (and their account's) without writing anything (expired holds do not count). */
  read(command: RulesCommand): Promise<ReadReply>;
  getConfig(userId: string): Promise<UserConfigView>;
  /** Applies the change and bumps the version when rules, anchor or plan change. Returns the version. */
  updateUser(userId: string, change: UserChange): Promise<number>;
  /**
   * Moves the user into account `to` (null: on their own), keeping the usage of the user's own
   * rules; calls in flight are charged exactly once (see `CommitReply` 'forward'). Idempotent.
   */
  setAccount(userId: string, to: string | null): Promise<void>;
  readAccount(command: AccountReadCommand): Promise<AccountReadReply>;
  getAccountConfig(accountId: string): Promise<StoredConfig & { exists: boolean; members: number }>;
  updateAccount(accountId: string, change: AccountChange): Promise<number>;
  listAccountMembers(query: { accountId: string; cursor?: string; limit: number }): Promise<{ userIds: string[]; next?: string }>;
  listAccounts(query: { cursor?: string; limit: number }): Promise<{ accountIds: string[]; next?: string }>;
  /**
   * Creates or replaces a plan; returns its new version, above every version the id had before,
   * also when the plan was deleted in between (processes that read a version keep its rules).
   */
  setPlan(planId: string, rules: string): Promise<number>;
  /** Every plan (the engine caches them). */
  getPlans(): Promise<StoredPlan[]>;
  /** Deletes the plan unless users or accounts are assigned to it; returns false if so. */
  deletePlan(planId: string): Promise<boolean>;
  /** Zeroes the used figure (and fired alerts) of the given rules' current windows; holds stay. */
  resetUsage(userId: string, ruleIds: readonly string[]): Promise<void>;
  /** Deletes everything of the user. `now`: the engine's clock, when it has one. */
  deleteUser(userId: string, now?: number): Promise<void>;
  /** Users in id order after `cursor` (exclusive), optionally only ids starting with `prefix`. */
  listUsers(query: { cursor?: string; limit: number; prefix?: string }): Promise<{ userIds: string[]; next?: string }>;
  /**
   * Keeps a refused call (JSON text) in the user's refusals: the newest `maxKept`, for `ttlMs`.
   * Never on a call's path (the engine does not wait for it).
   */
  recordRefusal(userId: string, entry: string, maxKept: number, ttlMs: number): Promise<void>;
  /** The user's kept refusals (JSON text), newest first. */
  readRefusals(userId: string, limit: number): Promise<string[]>;
  /** Newest first; none older than the log retention before `now` (the engine's clock, when it has one). */
  readLog(query: { userId?: string; since?: number; until?: number; limit: number; now?: number }): Promise<StoredLogEntry[]>;
  /**
   * Buckets in [from, to), per hour or per UTC day. The engine bounds the range (at most 31 days of
   * hours, 366 days of days), so a read touches a bounded number of keys.
   */
  readHistory(query: { userId?: string; from: number; to: number; granularity: 'hour' | 'day' }): Promise<HistoryBucket[]>;
  /** `now`: the engine's clock, when it has one (picks the current month). */
  stats(now?: number): Promise<GlobalStats>;
}

// ------------------------------------------------------------------------------------- maintenance

/** How long a store keeps what; set by the engine from its options. */
export interface StoreSettings {
  logMaxLength: number;
  userLogMaxLength: number;
  logRetentionMs: number;
  userHistoryRetentionMs: number;
  globalHistoryRetentionMs: number;
  /** How long commit/release outcomes are kept to answer replays. */
  idempotencyTtlMs: number;
  /**
   * How long the engine waits for one store operation. A store may retry an operation that
   * certainly did not run (a Redis Cluster redirection during resharding) until then.
   */
  operationTimeoutMs: number;
  /**
   * Reports a failure of work the store does in the background (RedisStore's batched aggregates);
   * `dropped`: records whose aggregates were given up. The engine emits it as a `store-error` event.
   */
  report?: (event: { operation: string; error: QuotaStoreError; dropped: number }) => void;
}

/**
 * The store's epoch marker: identifies the data a store holds, so that a process notices when that
 * data is gone (a Redis restarted without persistence comes back empty).
 */
export interface StoreEpoch {
  /** Random id of the store's current data. */
  id: string;
  /** When the marker was created (store time, ms). */
  createdAt: number;
  /** The epoch this one replaced when it was created after a loss was detected; null for a first epoch. */
  previous: string | null;
  /** False after a detected loss until acknowledged. */
  acknowledged: boolean;
  /** This check found that the data this store object saw before is gone. */
  reset: boolean;
  /** The epoch id this store object had seen, when `reset`. */
  lost: string | null;
}

export interface StoreMaintenance {
  /** Called once by the engine with its settings. */
  configure(settings: StoreSettings): void;
  /** Loads what the first call would otherwise load (e.g. Lua scripts). */
  warmup(): Promise<void>;
  /**
   * Reads (and creates on first use) the epoch marker, and says whether the data this store object
   * saw before is gone. Stores whose data cannot outlive the process (MemoryStore) return null.
   */
  checkEpoch(): Promise<StoreEpoch | null>;
  /** Marks a detected loss as handled. */
  acknowledgeReset(): Promise<void>;
  /** Resolves when every write the store batches (aggregates over all users) is applied. */
  flush(): Promise<void>;
  /** Releases connections and timers the store owns (never a client it was given). */
  close(): Promise<void>;
}

/** A quota store: `MemoryStore`, `RedisStore`, or your own that passes the contract suite. */
export interface QuotaStore {
  /** A short name for logs and the bench (`memory`, `redis`). */
  readonly kind: string;
  readonly hotPath: HotPath;
  readonly admin: StoreAdmin;
  readonly maintenance: StoreMaintenance;
  /** The store's queue of records for a ledger (MemoryStore, RedisStore). */
  readonly ledgerFeed?: LedgerFeed;
}
