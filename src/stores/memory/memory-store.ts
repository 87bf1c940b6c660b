import { parsePositiveInt } from '../../kernel/validate.js';
import type {
  CommitCommand,
  CommitReply,
  GlobalStats,
  HistoryBucket,
  HotPath,
  QuotaStore,
  ReadReply,
  ReleaseCommand,
  ReleaseReply,
  ReserveCommand,
  ReserveReply,
  RulesCommand,
  StoreAdmin,
  StoreMaintenance,
  StoreSettings,
  StoredConfig,
  StoredLogEntry,
  UserChange,
} from '../protocol/types.js';
import { DEFAULT_STORE_SETTINGS } from '../protocol/window.js';
import { HourlyHistory } from './history.js';
import { RingLog } from './ring-log.js';
import { SortedIds } from './sorted-ids.js';
import { amountOf, UserState, windowView } from './user-state.js';

/** Options of the embedded store. */
export interface MemoryStoreOptions {
  /**
   * Most users kept. When full, a new user takes the place of an idle one (a user with default
   * settings, no hold and nothing used in their current windows: forgetting them loses nothing);
   * with none idle, the new user's calls fail with `StoreFullError` (code `store_full`) and no other
   * user is affected.
   * @default 100_000 (a user with a logged call uses about 2.7 KB; see the README)
   */
  maxUsers?: number;
  /** The store's clock (ms since epoch). @default Date.now */
  clock?: () => number;
}

/** Candidates examined for eviction when the store is full (oldest activity first). */
const EVICTION_SCAN = 64;
/** How often idle state is swept (expired holds and outcomes, old logs and history). */
const SWEEP_MS = 60_000;

/**
 * The embedded default store: every operation runs synchronously inside one call, so it is atomic
 * within the process. State lives in this process only: use `RedisStore` when several processes
 * share quotas or when usage must survive a restart.
 */
export class MemoryStore implements QuotaStore {
  readonly kind = 'memory';
  readonly hotPath: HotPath;
  readonly admin: StoreAdmin;
  readonly maintenance: StoreMaintenance;
  /** By user id, least recently active first (re-inserted on every write). */
  readonly #users = new Map<string, UserState>();
  readonly #ids = new SortedIds();
  readonly #maxUsers: number;
  readonly #clock: () => number;
  #settings: StoreSettings = DEFAULT_STORE_SETTINGS;
  #globalLog = new RingLog(DEFAULT_STORE_SETTINGS.logMaxLength);
  readonly #globalHistory = new HourlyHistory();
  readonly #totals = { tokens: 0, cost: 0 };
  #activeMonth = { month: '', users: new Set<string>() };
  #sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(options: MemoryStoreOptions = {}) {
    this.#maxUsers = options.maxUsers === undefined ? 100_000 : parsePositiveInt(options.maxUsers, 'options.maxUsers');
    this.#clock = options.clock ?? Date.now;
    this.hotPath = {
      reserve: async (c) => this.#reserve(c),
      commit: async (c) => this.#commit(c),
      release: async (c) => this.#release(c),
    };
    this.admin = {
      read: async (c) => this.#read(c),
      getConfig: async (userId) => this.#getConfig(userId),
      updateUser: async (userId, change) => this.#updateUser(userId, change),
      resetUsage: async (userId, ruleIds) => this.#resetUsage(userId, ruleIds),
      deleteUser: async (userId) => this.#deleteUser(userId),
      listUsers: async (q) => this.#ids.page(q),
      readLog: async (q) => this.#readLog(q),
      readHistory: async (q) => this.#readHistory(q),
      stats: async (now) => this.#stats(now),
    };
    this.maintenance = {
      configure: (settings) => this.#configure(settings),
      warmup: async () => {},
      checkEpoch: async () => null,
      acknowledgeReset: async () => {},
      flush: async () => {},
      close: async () => {
        if (this.#sweeper) clearInterval(this.#sweeper);
        this.#sweeper = undefined;
      },
    };
  }

  /** Users held (for the bench's bytes-per-user figure). */
  get size(): number {
    return this.#users.size;
  }

  #configure(settings: StoreSettings): void {
    this.#settings = settings;
    this.#globalLog = new RingLog(settings.logMaxLength);
    this.#sweeper ??= setInterval(() => this.#sweep(this.#clock()), SWEEP_MS);
    this.#sweeper.unref?.();
  }

  #reserve(c: ReserveCommand): ReserveReply {
    const now = c.now ?? this.#clock();
    let user = this.#users.get(c.userId);
    if (user && !user.active) return { type: 'disabled', now };
    if ((user?.version ?? 0) !== c.configVersion) return { type: 'stale', now, config: user?.config() ?? emptyConfig() };
    if (c.initAnchor && (user?.anchor ?? null) === null) {
      user = this.#touch(c.userId, now);
      if (!user) return { type: 'full', now, capacity: this.#maxUsers };
      user.anchor = now;
      user.version += 1;
      return { type: 'stale', now, config: user.config() };
    }
    const replayed = user?.holds.has(c.reservationId) ?? false;
    if (!replayed && user?.done.has(c.reservationId)) return { type: 'closed', now };
    const picked = (user ?? new UserState(1)).pick(c.rules, now);
    if (!Array.isArray(picked)) return { type: 'clock', now, at: picked.at };
    const isNewUser = user === undefined;
    user = this.#touch(c.userId, now);
    if (!user) return { type: 'full', now, capacity: this.#maxUsers };
    user.purge(now);
    const windows = user.roll(c.rules, picked);
    if (replayed) return { type: 'ok', now, windows: windows.map(windowView), replayed: true, isNewUser: false };
    for (const [i, spec] of c.rules.entries()) {
      const w = windows[i]!;
      if (w.used + w.held + amountOf(c.amounts, spec.metric) > spec.limit) {
        return { type: 'rejected', now, ruleIndex: i, windows: windows.map(windowView) };
      }
    }
    user.hold(c.reservationId, c.rules, windows, c.amounts, now + c.leaseMs);
    return { type: 'ok', now, windows: windows.map(windowView), replayed: false, isNewUser };
  }

  #commit(c: CommitCommand): CommitReply {
    const now = c.now ?? this.#clock();
    let user = this.#users.get(c.userId);
    if ((user?.version ?? 0) !== c.configVersion) return { type: 'stale', now, config: user?.config() ?? emptyConfig() };
    const done = user?.done.get(c.reservationId);
    if (done) {
      if (done.status !== 'committed') return { type: 'released', now };
      const ownAttempt = done.attemptId === c.attemptId;
      return { type: 'duplicate', now, timestamp: done.timestamp, ownAttempt, alerts: ownAttempt ? [...(done.alerts ?? [])] : [] };
    }
    const picked = (user ?? new UserState(1)).pick(c.rules, now);
    if (!Array.isArray(picked)) return { type: 'clock', now, at: picked.at };
    // A commit is never refused for capacity: the call already happened and its usage must count.
    user = this.#touch(c.userId, now, true)!;
    user.purge(now);
    const alerts = user.charge(c.reservationId, c.rules, picked, c.actual, c.costUnknown, c.thresholds);
    user.done.set(c.reservationId, {
      status: 'committed',
      timestamp: now,
      expiresAt: now + this.#settings.idempotencyTtlMs,
      attemptId: c.attemptId,
      alerts: [...alerts],
    });
    const entry: StoredLogEntry = { timestamp: now, record: c.record };
    user.log.push(entry);
    this.#globalLog.push(entry);
    const delta = { requests: c.actual.requests, inputTokens: c.history.inputTokens, outputTokens: c.history.outputTokens, cost: c.actual.cost };
    user.history.add(now, c.history.model, delta);
    this.#globalHistory.add(now, c.history.model, delta);
    this.#totals.tokens += c.actual.tokens;
    this.#totals.cost += c.actual.cost;
    const month = monthOf(now);
    if (this.#activeMonth.month !== month) this.#activeMonth = { month, users: new Set() };
    this.#activeMonth.users.add(c.userId);
    return { type: 'applied', now, timestamp: now, alerts };
  }

  #release(c: ReleaseCommand): ReleaseReply {
    const now = c.now ?? this.#clock();
    const existing = this.#users.get(c.userId);
    const done = existing?.done.get(c.reservationId);
    if (done) return { type: done.status === 'committed' ? 'committed' : 'duplicate', now };
    // Marked even when no hold exists, so that a late replay of the reserve cannot hold it again.
    // A release is never refused for capacity (it only ever frees quota).
    const user = this.#touch(c.userId, now, true)!;
    user.purge(now);
    user.dropHold(c.reservationId);
    user.done.set(c.reservationId, { status: 'released', timestamp: now, expiresAt: now + this.#settings.idempotencyTtlMs });
    return { type: 'released', now };
  }

  #read(c: RulesCommand): ReadReply {
    const now = c.now ?? this.#clock();
    const user = this.#users.get(c.userId);
    if ((user?.version ?? 0) !== c.configVersion) return { type: 'stale', now, config: user?.config() ?? emptyConfig() };
    const state = user ?? new UserState(1);
    const picked = state.pick(c.rules, now);
    if (!Array.isArray(picked)) return { type: 'clock', now, at: picked.at };
    return { type: 'ok', now, active: state.active, windows: state.view(c.rules, picked, now) };
  }

  #getConfig(userId: string): StoredConfig & { active: boolean; exists: boolean } {
    const user = this.#users.get(userId);
    return { ...(user?.config() ?? emptyConfig()), active: user?.active ?? true, exists: user !== undefined };
  }

  #updateUser(userId: string, change: UserChange): number {
    const user = this.#touch(userId, this.#clock(), true)!;
    let bump = false;
    if (change.rules !== undefined) {
      user.rules = change.rules;
      bump = true;
    }
    for (const id of change.removedRuleIds ?? []) user.windows.delete(id);
    if (change.anchor !== undefined && user.anchor === null) {
      user.anchor = change.anchor;
      bump = true;
    }
    if (change.active !== undefined) user.active = change.active;
    if (bump) user.version += 1;
    return user.version;
  }

  #resetUsage(userId: string, ruleIds: readonly string[]): void {
    const user = this.#users.get(userId);
    if (!user) return;
    for (const id of ruleIds) {
      const w = user.windows.get(id);
      if (w) {
        w.used = 0;
        w.alerts = 0;
      }
    }
  }

  #deleteUser(userId: string): void {
    this.#users.delete(userId);
    this.#ids.delete(userId);
    this.#activeMonth.users.delete(userId);
  }

  #readLog(q: { userId?: string; since?: number; until?: number; limit: number; now?: number }): StoredLogEntry[] {
    const oldest = (q.now ?? this.#clock()) - this.#settings.logRetentionMs;
    if (q.userId === undefined) return this.#globalLog.read(q, oldest);
    return this.#users.get(q.userId)?.log.read(q, oldest) ?? [];
  }

  #readHistory(q: { userId?: string; from: number; to: number; granularity: 'hour' | 'day' }): HistoryBucket[] {
    const source = q.userId === undefined ? this.#globalHistory : this.#users.get(q.userId)?.history;
    return source ? source.read(q.from, q.to, q.granularity) : [];
  }

  #stats(now?: number): GlobalStats {
    const active = this.#activeMonth.month === monthOf(now ?? this.#clock()) ? this.#activeMonth.users.size : 0;
    return { totalTokens: this.#totals.tokens, totalCost: this.#totals.cost, activeUsers: active, users: this.#users.size };
  }

  /**
   * The user's state, created if new and marked most recently active; undefined when the store is
   * full and no idle user can make room (`force`: make room anyway, for writes that must land).
   */
  #touch(userId: string, now: number, force = false): UserState | undefined {
    let user = this.#users.get(userId);
    if (user) {
      this.#users.delete(userId);
      this.#users.set(userId, user);
      return user;
    }
    if (this.#users.size >= this.#maxUsers && !this.#evictIdle(now) && !force) return undefined;
    user = new UserState(this.#settings.userLogMaxLength);
    this.#users.set(userId, user);
    this.#ids.add(userId);
    return user;
  }

  /** Forgets one idle user among the least recently active; false when none is idle. */
  #evictIdle(now: number): boolean {
    let examined = 0;
    for (const [id, user] of this.#users) {
      if (examined++ >= EVICTION_SCAN) break;
      user.purge(now);
      if (user.isIdle(now)) {
        this.#deleteUser(id);
        return true;
      }
    }
    return false;
  }

  /** What Redis does with key expiries: idle users' expired holds, outcomes, logs and history go. */
  #sweep(now: number): void {
    const oldestLog = now - this.#settings.logRetentionMs;
    const oldestHistory = now - this.#settings.userHistoryRetentionMs;
    for (const [id, user] of this.#users) {
      user.purge(now);
      user.log.prune(oldestLog);
      user.history.prune(oldestHistory);
      if (user.isIdle(now) && user.log.size === 0 && user.history.empty) this.#deleteUser(id);
    }
    this.#globalLog.prune(oldestLog);
    this.#globalHistory.prune(now - this.#settings.globalHistoryRetentionMs);
  }
}

function emptyConfig(): StoredConfig {
  return { version: 0, rules: null, anchor: null };
}

function monthOf(now: number): string {
  return new Date(now).toISOString().slice(0, 7);
}
