import { InvalidArgumentError } from '../../kernel/errors.js';
import { isPlainObject, parsePositiveInt, rejectUnknownKeys } from '../../kernel/validate.js';
import type {
  CommitCommand,
  CommitReply,
  HotPath,
  QuotaStore,
  ReleaseCommand,
  ReleaseReply,
  RenewCommand,
  RenewReply,
  ReserveCommand,
  ReserveReply,
  StoreAdmin,
  StoreMaintenance,
  StoredConfig,
  StoredLogEntry,
  WindowState,
} from '../protocol/types.js';
import type { PickedWindow } from '../protocol/window.js';
import { MemoryData, UserState, type AccountState } from './data.js';
import { MemoryLedgerQueue } from './ledger-queue.js';
import { memoryAdmin } from './memory-admin.js';
import { RingLog } from './ring-log.js';
import { ScopeState, windowView } from './scope-state.js';

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
  /** Records for a ledger, in this process until written (lost if it crashes first). */
  readonly ledgerFeed = new MemoryLedgerQueue();
  readonly #data = new MemoryData();
  readonly #maxUsers: number;
  readonly #clock: () => number;
  #sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(options: MemoryStoreOptions = {}) {
    // A misspelt option (maxUser) must not leave the default in force unnoticed, as RedisStore's.
    const given: unknown = options;
    if (!isPlainObject(given)) throw new InvalidArgumentError('options', given, 'expected { maxUsers?, clock? }');
    rejectUnknownKeys(given, ['maxUsers', 'clock'], 'options');
    if (given.clock !== undefined && typeof given.clock !== 'function') throw new InvalidArgumentError('options.clock', given.clock, 'expected a function returning ms since epoch');
    this.#maxUsers = options.maxUsers === undefined ? 100_000 : parsePositiveInt(options.maxUsers, 'options.maxUsers');
    this.#clock = options.clock ?? Date.now;
    this.hotPath = {
      reserve: async (c) => this.#reserve(c),
      commit: async (c) => this.#commit(c),
      release: async (c) => this.#release(c),
      renew: async (c) => this.#renew(c),
    };
    // An admin write lists the user (as a commit does, see #record); a reserve or a release alone
    // does not, as on Redis, whose index of users only commits and admin writes add to.
    this.admin = memoryAdmin(this.#data, this.#clock, (userId, now) => {
      const user = this.#touch(userId, now, true)!;
      this.#data.list(userId, user);
      return user;
    });
    this.maintenance = {
      configure: (settings) => {
        this.#data.settings = settings;
        this.#data.globalLog = new RingLog(settings.logMaxLength);
        this.#sweeper ??= setInterval(() => this.#sweep(this.#clock()), SWEEP_MS);
        this.#sweeper.unref?.();
      },
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
    return this.#data.users.size;
  }

  /**
   * The scopes of a command, or the reply that sends it elsewhere or asks for new rules. A reserve
   * must be sent to the user's current home; a commit names the account its call was reserved in
   * (here everything is one object, so a commit after a move charges that account directly).
   */
  #scopes(c: ReserveCommand | CommitCommand, now: number, routed: boolean): { user: UserState | undefined; account: AccountState | undefined } | ReserveReply {
    const user = this.#data.users.get(c.userId);
    const home = user?.account ?? null;
    if (routed && home !== c.home) return { type: 'moved', now, home };
    // The version alone on every call; the config object only for a 'stale' reply.
    const version = user !== undefined ? user.version : this.#data.emptyConfig(c.userId).version;
    if (version !== c.user.configVersion) return { type: 'stale', now, scope: 'user', config: user?.config() ?? this.#data.emptyConfig(c.userId) };
    const account = c.home === null ? undefined : this.#data.account(c.home, false);
    if (c.home !== null && (account?.version ?? 0) !== (c.account?.configVersion ?? 0)) {
      return { type: 'stale', now, scope: 'account', config: account?.config() ?? emptyConfig() };
    }
    return { user, account };
  }

  #reserve(c: ReserveCommand): ReserveReply {
    const now = c.now ?? this.#clock();
    const found = this.#scopes(c, now, true);
    if ('type' in found) return found;
    let { user } = found;
    if (user && !user.active) return { type: 'disabled', now };
    if (c.initAnchor && (user?.anchor ?? null) === null) {
      user = this.#touch(c.userId, now);
      if (!user) return { type: 'full', now, capacity: this.#maxUsers };
      user.anchor = now;
      user.version += 1;
      return { type: 'stale', now, scope: 'user', config: user.config() };
    }
    const replayed = user?.holds.has(c.reservationId) ?? false;
    if (!replayed && user?.done.has(c.reservationId)) return { type: 'closed', now };
    const accountRules = c.account?.rules ?? [];
    const pickedUser = (user ?? NO_WINDOWS).pick(c.user.rules, now);
    const pickedAccount = (found.account ?? NO_WINDOWS).pick(accountRules, now);
    if (!Array.isArray(pickedUser)) return { type: 'clock', now, at: pickedUser.at };
    if (!Array.isArray(pickedAccount)) return { type: 'clock', now, at: pickedAccount.at };
    const isNewUser = user === undefined;
    user = this.#touch(c.userId, now);
    if (!user) return { type: 'full', now, capacity: this.#maxUsers };
    const account = c.home === null ? undefined : this.#data.account(c.home, true)!;
    user.purge(now);
    account?.purge(now);
    const userWindows = user.roll(c.user.rules, pickedUser);
    const accountWindows = account ? account.roll(accountRules, pickedAccount as PickedWindow[]) : [];
    const windows = () => (accountWindows.length === 0 ? userWindows : [...userWindows, ...accountWindows]).map(windowView);
    if (replayed) return { type: 'ok', now, windows: windows(), replayed: true, isNewUser: false };
    const refusedUser = user.refusing(c.user.rules, userWindows, c.amounts);
    if (refusedUser >= 0) return { type: 'rejected', now, scope: 'user', ruleIndex: refusedUser, windows: windows() };
    const refusedAccount = account ? account.refusing(accountRules, accountWindows, c.amounts) : -1;
    if (refusedAccount >= 0) return { type: 'rejected', now, scope: 'account', ruleIndex: refusedAccount, windows: windows() };
    user.hold(c.reservationId, c.user.rules, userWindows, c.amounts, now + c.leaseMs);
    account?.hold(c.reservationId, accountRules, accountWindows, c.amounts, now + c.leaseMs);
    return { type: 'ok', now, windows: windows(), replayed: false, isNewUser };
  }

  #commit(c: CommitCommand): CommitReply {
    const now = c.now ?? this.#clock();
    const found = this.#scopes(c, now, false);
    if ('type' in found) return found as CommitReply;
    const done = found.user?.done.get(c.reservationId);
    if (done) {
      if (done.status !== 'committed') return { type: 'released', now };
      const ownAttempt = done.attemptId === c.attemptId;
      return { type: 'duplicate', now, timestamp: done.timestamp, ownAttempt, alerts: ownAttempt ? [...(done.alerts ?? [])] : [] };
    }
    const accountRules = c.forwarded ? [] : (c.account?.rules ?? []);
    const pickedUser = (found.user ?? NO_WINDOWS).pick(c.user.rules, now);
    const pickedAccount = (found.account ?? NO_WINDOWS).pick(accountRules, now);
    if (!Array.isArray(pickedUser)) return { type: 'clock', now, at: pickedUser.at };
    if (!Array.isArray(pickedAccount)) return { type: 'clock', now, at: pickedAccount.at };
    // A commit is never refused for capacity: the call already happened and its usage must count.
    const user = this.#touch(c.userId, now, true)!;
    const account = c.home === null ? undefined : this.#data.account(c.home, true)!;
    user.purge(now);
    user.purgeDone(now);
    const userMatches = c.matches.slice(0, c.user.rules.length);
    const accountMatches = c.matches.slice(c.user.rules.length);
    const alerts = [
      ...user.charge(c.reservationId, c.user.rules, pickedUser, userMatches, c.actual, c.costUnknown, c.thresholds, 'user', now),
      ...(account ? account.charge(c.reservationId, accountRules, pickedAccount as PickedWindow[], accountMatches, c.actual, c.costUnknown, c.thresholds, 'account', now) : []),
    ];
    user.done.set(c.reservationId, { status: 'committed', timestamp: now, expiresAt: now + this.#data.settings.idempotencyTtlMs, attemptId: c.attemptId, alerts: [...alerts] });
    this.#record(c, user, now);
    if (c.ledger !== undefined) this.ledgerFeed.push(now, c.record, JSON.stringify(c.ledger));
    return { type: 'applied', now, timestamp: now, alerts };
  }

  /** The UTC month of the last commit ('2026-05'), and its [start, end) in ms (see #record). */
  #month = '';
  #monthStart = 0;
  #monthEnd = 0;

  #record(c: CommitCommand, user: UserState, now: number): void {
    const d = this.#data;
    const entry: StoredLogEntry = { timestamp: now, record: c.record };
    user.log.push(entry);
    d.globalLog.push(entry);
    const delta = { requests: c.actual.requests, inputTokens: c.history.inputTokens, outputTokens: c.history.outputTokens, cost: c.actual.cost };
    user.history.add(now, c.history.model, delta);
    d.globalHistory.add(now, c.history.model, delta);
    d.totals.tokens += c.actual.tokens;
    d.totals.cost += c.actual.cost;
    if (!(now >= this.#monthStart && now < this.#monthEnd)) {
      // The UTC month 'now' is in, kept so that the next commits find it without formatting a date.
      this.#month = new Date(now).toISOString().slice(0, 7);
      this.#monthStart = Date.parse(`${this.#month}-01T00:00:00Z`);
      const next = new Date(this.#monthStart);
      this.#monthEnd = next.setUTCMonth(next.getUTCMonth() + 1);
    }
    if (d.activeMonth.month !== this.#month) d.activeMonth = { month: this.#month, users: new Set() };
    d.activeMonth.users.add(c.userId);
    d.list(c.userId, user);
  }

  #release(c: ReleaseCommand): ReleaseReply {
    const now = c.now ?? this.#clock();
    const existing = this.#data.users.get(c.userId);
    const done = existing?.done.get(c.reservationId);
    if (done) return { type: done.status === 'committed' ? 'committed' : 'duplicate', now };
    // Marked even when no hold exists, so that a late replay of the reserve cannot hold it again.
    // A release is never refused for capacity (it only ever frees quota).
    const user = this.#touch(c.userId, now, true)!;
    user.purgeDone(now);
    user.dropHold(c.reservationId);
    if (c.home !== null) this.#data.accounts.get(c.home)?.dropHold(c.reservationId);
    user.done.set(c.reservationId, { status: 'released', timestamp: now, expiresAt: now + this.#data.settings.idempotencyTtlMs });
    return { type: 'released', now };
  }

  #renew(c: RenewCommand): RenewReply {
    const now = c.now ?? this.#clock();
    const expiresAt = now + c.leaseMs;
    const user = this.#data.users.get(c.userId)?.renewHold(c.reservationId, now, expiresAt) === true;
    const account = c.home !== null && this.#data.accounts.get(c.home)?.renewHold(c.reservationId, now, expiresAt) === true;
    return { type: user || account ? 'renewed' : 'gone', now };
  }

  /**
   * The user's state, created if new and marked most recently active; undefined when the store is
   * full and no idle user can make room (`force`: make room anyway, for writes that must land).
   */
  #touch(userId: string, now: number, force = false): UserState | undefined {
    const d = this.#data;
    let user = d.users.get(userId);
    if (user) {
      d.users.delete(userId);
      d.users.set(userId, user);
      return user;
    }
    if (d.users.size >= this.#maxUsers && !this.#evictIdle(now) && !force) return undefined;
    user = new UserState(d.settings.userLogMaxLength);
    user.version = user.baseVersion = d.retiredVersions.get(userId) ?? 0;
    d.users.set(userId, user);
    return user;
  }

  /** Forgets one idle user among the least recently active; false when none is idle. */
  #evictIdle(now: number): boolean {
    let examined = 0;
    for (const [id, user] of this.#data.users) {
      if (examined++ >= EVICTION_SCAN) break;
      user.purge(now);
      if (user.isIdle(now)) {
        this.#data.deleteUser(id);
        return true;
      }
    }
    return false;
  }

  /** What Redis does with key expiries: idle users' expired holds, outcomes, logs and history go. */
  #sweep(now: number): void {
    const d = this.#data;
    const oldestLog = now - d.settings.logRetentionMs;
    const oldestHistory = now - d.settings.userHistoryRetentionMs;
    for (const [id, user] of d.users) {
      user.purge(now);
      user.purgeDone(now);
      user.log.prune(oldestLog);
      user.history.prune(oldestHistory);
      if (user.isIdle(now) && user.log.size === 0 && user.history.empty) d.deleteUser(id);
    }
    for (const account of d.accounts.values()) account.purge(now);
    d.globalLog.prune(oldestLog);
    d.globalHistory.prune(now - d.settings.globalHistoryRetentionMs);
  }
}

/** A scope with no windows, to pick the windows of a scope that does not exist yet (read only). */
const NO_WINDOWS = new ScopeState();

export function emptyConfig(): StoredConfig {
  return { version: 0, rules: null, anchor: null, plan: null };
}

export type { ScopeState, WindowState };
