import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, QuotaStoreError, StoreFullError, TokenLimitExceededError, UserDisabledError } from '../kernel/errors.js';
import type { Estimate, LimiterEvents, QuotaDecision, Reservation, Usage, UsageRecord, UserRef, WindowUsage } from '../kernel/types.js';
import { parseUserId } from '../kernel/validate.js';
import type { Amounts, ReserveReply, WindowState } from '../stores/protocol/types.js';
import { createAdmin, type AdminApi } from './admin.js';
import type { EngineInternals } from './internals.js';
import { Committer, type BackgroundWrite } from './committer.js';
import { buildCommit, type PreparedCommit } from './commit.js';
import type { EngineConfig } from './config.js';
import { EpochWatch } from './epoch.js';
import { Emitter } from './events.js';
import { amountsFor, exceededError, parseEstimate, parseReserveOptions, shrinkToFit, toPublic, type ReserveOptions } from './estimate.js';
import { OutageBudget } from './outage.js';
import { WindowPlanner, type UserConfig } from './planner.js';
import { storeCall } from './store-call.js';

/** The quota engine: reserve before a call, commit or release after. */
export interface Engine {
  /** Would a call of this size be admitted now? Never throws for quota or store reasons. */
  check(user: UserRef, estimate?: Estimate): Promise<QuotaDecision>;
  /**
   * Holds `estimate` on every rule of the user in one atomic store operation, or throws
   * `TokenLimitExceededError` (naming the refusing rule) / `UserDisabledError` and holds nothing.
   */
  reserve(user: UserRef, estimate: Estimate, options?: ReserveOptions): Promise<Reservation>;
  /**
   * Charges the actual usage and drops the hold, once per reservation id. Resolves with the record
   * once the store has it; a store failure rejects it and leaves the commit queued for retry.
   */
  commit(reservation: Reservation, usage: Usage): Promise<UsageRecord>;
  /** Drops the hold: nothing is charged. Idempotent by reservation id. */
  release(reservation: Reservation): Promise<void>;
  /**
   * Resolves when every commit and release started so far is visible in the store (and the
   * store's batched aggregates are written); rejects with `QuotaStoreError` if the store still
   * fails after `storeTimeoutMs`. For tests, shutdown, and readers in other processes.
   */
  flush(): Promise<void>;
  /** Commits and releases of this process not yet in the store (in flight or queued for retry). */
  readonly pendingWrites: number;
  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof LimiterEvents>(event: K, listener: (payload: LimiterEvents[K]) => void): () => void;
  readonly admin: AdminApi;
  /** Loads the store's scripts and reads its epoch marker, ahead of the first call. */
  warmup(): Promise<void>;
  /** Writes what is queued (for up to `storeTimeoutMs`), then releases the store. */
  close(): Promise<void>;
}

/** Replies that ask for new rules or boundaries before the store can answer. */
const MAX_ATTEMPTS = 5;

/** This process's random id prefix: with a counter, ids are unique without per-id randomness. */
const PROCESS_TOKEN = randomBytes(9).toString('base64url');
let idCounter = 0;

/**
 * A reservation (or commit attempt) id: `<time in base 36>-<process token><counter>`. The time lets
 * a store group outcomes by when the reservation was made (RedisStore keeps them per 10 minutes).
 */
function newId(now: number): string {
  idCounter = (idCounter + 1) % Number.MAX_SAFE_INTEGER;
  return `${Math.max(0, Math.floor(now)).toString(36)}-${PROCESS_TOKEN}${idCounter.toString(36)}`;
}

export function createEngine(config: EngineConfig): Engine {
  return new QuotaEngine(config);
}

class QuotaEngine implements Engine, EngineInternals {
  readonly config: EngineConfig;
  readonly planner: WindowPlanner;
  readonly admin: AdminApi;
  readonly #events: Emitter<LimiterEvents>;
  readonly #committer: Committer;
  readonly #epoch: EpochWatch;
  readonly #outage: OutageBudget;
  readonly #started = new WeakMap<Reservation, number>();
  #closed = false;

  constructor(config: EngineConfig) {
    this.config = config;
    this.planner = new WindowPlanner(config.defaultRules, config.clock, config.userCacheSize);
    this.#events = new Emitter(config.logger);
    const { store } = config;
    store.maintenance.configure({
      ...config.settings,
      report: ({ operation, error, dropped }) => this.#storeError(operation, error, dropped > 0 ? 'dropped' : 'queued'),
    });
    this.#committer = new Committer(config.maxPendingOperations, {
      queued: (w, error) => this.#storeError(w.kind, error, 'queued', w.userId),
      dropped: (w, error) => this.#storeError(w.kind, error, 'dropped', w.userId),
    });
    this.#epoch = new EpochWatch(config, store.maintenance, (op, fn) => this.call(op, fn), (e) => this.#events.emit('store-reset', e));
    this.#outage = new OutageBudget(config.allowBudget, config.outageQuietMs);
    this.admin = createAdmin(this);
  }

  on<K extends keyof LimiterEvents>(event: K, listener: (payload: LimiterEvents[K]) => void): () => void {
    return this.#events.on(event, listener);
  }

  get pendingWrites(): number {
    return this.#committer.pending;
  }

  async flush(): Promise<void> {
    const deadline = Date.now() + this.config.storeTimeoutMs;
    await this.#committer.flush(deadline);
    await this.call('flush', () => this.config.store.maintenance.flush());
  }

  async warmup(): Promise<void> {
    await this.call('warmup', () => this.config.store.maintenance.warmup());
    await this.#epoch.check();
  }

  async settle(): Promise<void> {
    await this.#committer.flush(Date.now() + this.config.storeTimeoutMs).catch(() => {});
    await this.call('flush', () => this.config.store.maintenance.flush()).catch(() => {});
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#committer.close(Date.now() + this.config.storeTimeoutMs);
    await this.config.store.maintenance.close();
  }

  // ------------------------------------------------------------------------------------ reserve

  async reserve(user: UserRef, estimate: Estimate, options?: ReserveOptions): Promise<Reservation> {
    const userId = parseUserId(user, 'user');
    const est = parseEstimate(estimate);
    const shrink = parseReserveOptions(options);
    const waiting = this.#epoch.beforeReserve();
    if (waiting) await waiting;
    const id = newId(this.planner.estimatedNow());
    let reply: ReserveReply & { type: 'ok' | 'rejected' | 'disabled' | 'closed' | 'full' };
    let config: UserConfig;
    try {
      ({ reply, config } = await this.#reserveOnce(userId, id, est));
      if (reply.type === 'rejected' && shrink) {
        const smaller = shrinkToFit(est, shrink, config.rules, reply.windows);
        if (smaller) ({ reply, config } = await this.#reserveOnce(userId, id, smaller.estimate));
        if (reply.type === 'ok' && smaller) return this.#reservation(id, userId, smaller.estimate, reply, config);
      }
    } catch (error) {
      return this.#reserveFailed(error, userId, est, id);
    }
    switch (reply.type) {
      case 'ok':
        return this.#reservation(id, userId, est, reply, config);
      case 'rejected':
        return this.#refuse(exceededError(userId, config.rules, reply.ruleIndex, reply.windows[reply.ruleIndex]!, est, reply.now));
      case 'disabled':
        return this.#refuse(new UserDisabledError(userId));
      case 'full':
        throw new StoreFullError(userId, reply.capacity);
      case 'closed':
        throw new QuotaStoreError('reserve', `Reservation ${id} was already committed or released`);
    }
  }

  /** One reserve, with the retries that `stale` (rules changed) and `clock` replies ask for. */
  async #reserveOnce(userId: string, id: string, est: Estimate) {
    let at: number | undefined;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const config = this.planner.userConfig(userId);
      const initAnchor = this.planner.needsUserAnchor(config);
      const rules = initAnchor ? [] : this.planner.specs(config, at);
      const amounts = amountsFor(est, config.rules);
      const sentAt = Date.now();
      const reply = await this.call('reserve', () =>
        this.config.store.hotPath.reserve({ userId, reservationId: id, configVersion: config.version, rules, amounts, leaseMs: this.config.leaseMs, initAnchor, ...this.#now() }),
      );
      this.planner.observe(reply.now, sentAt, Date.now());
      this.#committer.storeAnswered();
      if (reply.type === 'stale') {
        this.planner.learn(userId, reply.config);
        at = undefined;
      } else if (reply.type === 'clock') at = reply.at;
      else return { reply, config };
    }
    throw new QuotaStoreError('reserve', 'The store kept reporting a changed configuration or clock');
  }

  async #reservation(id: string, userId: string, est: Estimate, reply: ReserveReply & { type: 'ok' }, config: UserConfig): Promise<Reservation> {
    const reservation = makeReservation(id, userId, est, reply.now, this.config.leaseMs, config, reply.windows, amountsFor(est, config.rules));
    this.#started.set(reservation, Date.now());
    await this.#epoch.afterReserve(userId, reply.isNewUser, () => this.release(reservation));
    return reservation;
  }

  #refuse(error: TokenLimitExceededError | UserDisabledError): never {
    this.#events.emit('rejected', { userId: error.userId, error });
    throw error;
  }

  #reserveFailed(error: unknown, userId: string, est: Estimate, id: string): Reservation {
    if (!(error instanceof QuotaStoreError)) throw error;
    const allowed = this.config.onStoreError === 'allow' && this.#outage.spend(est.tokens);
    if (this.config.onStoreError !== 'allow') this.#outage.failed();
    const reported =
      this.config.onStoreError === 'allow' && !allowed
        ? new QuotaStoreError('reserve', `${error.message}; the fail-open budget of this outage is spent (options.allowBudget)`, { cause: error })
        : error;
    this.#storeError('reserve', reported, allowed ? 'allow' : 'deny', userId);
    // A reserve that failed (timed out, connection lost) may still have been applied: release it
    // in the background so that the hold does not linger until its lease ends. Release is
    // idempotent, and it marks the id, so that a late replay of the reserve holds nothing. An
    // unmetered call is committed later instead (the commit drops a hold that did land).
    if (!allowed) {
      this.#background({ kind: 'release', userId, reservationId: id, attempt: () => this.#releaseOnce(userId, id) }).catch(() => {});
      throw reported;
    }
    const now = this.planner.estimatedNow();
    const reservation: Reservation = Object.freeze({
      id,
      userId,
      estimate: Object.freeze({ ...est }),
      createdAt: new Date(now),
      expiresAt: new Date(now + this.config.leaseMs),
      windows: Object.freeze([]),
      unmetered: true,
    });
    this.#started.set(reservation, Date.now());
    return reservation;
  }

  // ------------------------------------------------------------------------------ commit, release

  commit(reservation: Reservation, usage: Usage): Promise<UsageRecord> {
    let prepared: PreparedCommit;
    try {
      prepared = buildCommit(reservation, usage, this.config.cost, this.#started.get(reservation));
    } catch (error) {
      return Promise.reject(error);
    }
    const attemptId = newId(Date.now());
    return this.#background({
      kind: 'commit',
      userId: prepared.userId,
      reservationId: prepared.id,
      attempt: () => this.#commitOnce(prepared, attemptId),
    });
  }

  async #commitOnce(prepared: PreparedCommit, attemptId: string): Promise<UsageRecord> {
    let at: number | undefined;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const config = this.planner.userConfig(prepared.userId);
      if (this.planner.needsUserAnchor(config)) {
        // A commit for a user whose rolling period has not started (a reservation from another
        // process, or none): start it as a reserve would; the next reply is 'stale' with it.
        const anchor = this.planner.estimatedNow();
        await this.call('commit', () => this.config.store.admin.updateUser(prepared.userId, { anchor }));
      }
      const rules = this.planner.needsUserAnchor(config) ? [] : this.planner.specs(config, at);
      const reply = await this.call('commit', () =>
        this.config.store.hotPath.commit({
          userId: prepared.userId,
          reservationId: prepared.id,
          attemptId,
          configVersion: config.version,
          rules,
          actual: prepared.actual,
          costUnknown: prepared.costUnknown,
          thresholds: this.config.thresholdsPerMille,
          record: prepared.json,
          history: prepared.history,
          ...this.#now(),
        }),
      );
      this.#committer.storeAnswered();
      switch (reply.type) {
        case 'stale':
          this.planner.learn(prepared.userId, reply.config);
          at = undefined;
          continue;
        case 'clock':
          at = reply.at;
          continue;
        case 'released':
          throw new InvalidArgumentError('reservation', prepared.id, 'this reservation was already released');
        default: {
          const record: UsageRecord = { ...prepared.record, timestamp: new Date(reply.timestamp) };
          // A duplicate of this very attempt (its first reply was lost) was applied by this call.
          if (reply.type === 'applied' || reply.ownAttempt) {
            this.#events.emit('usage', record);
            for (const alert of reply.alerts) {
              const rule = config.rules.find((r) => r.id === alert.ruleId);
              const metric = rule?.metric ?? 'tokens';
              this.#events.emit('alert', {
                userId: prepared.userId,
                ruleId: alert.ruleId,
                metric,
                threshold: this.config.thresholds[alert.threshold] ?? 1,
                limit: toPublic(metric, alert.limit),
                used: toPublic(metric, alert.used),
                periodStart: new Date(alert.start),
                resetAt: new Date(alert.end),
              });
            }
          }
          return record;
        }
      }
    }
    throw new QuotaStoreError('commit', 'The store kept reporting a changed configuration or clock');
  }

  async release(reservation: Reservation): Promise<void> {
    const r = parseReservationRef(reservation);
    await this.#background({ kind: 'release', userId: r.userId, reservationId: r.id, attempt: () => this.#releaseOnce(r.userId, r.id) });
  }

  async #releaseOnce(userId: string, reservationId: string): Promise<void> {
    await this.call('release', () => this.config.store.hotPath.release({ userId, reservationId, ...this.#now() }));
    this.#committer.storeAnswered();
  }

  #background<T>(write: BackgroundWrite<T>): Promise<T> {
    if (this.#closed) return write.attempt();
    return this.#committer.run(write);
  }

  // ------------------------------------------------------------------------------------- reads

  async check(user: UserRef, estimate?: Estimate): Promise<QuotaDecision> {
    const userId = parseUserId(user, 'user');
    const est = estimate === undefined ? { tokens: 0 } : parseEstimate(estimate);
    let read;
    try {
      read = await this.readWindows(userId);
    } catch (error) {
      if (!(error instanceof QuotaStoreError)) throw error;
      this.#storeError('check', error, this.config.onStoreError, userId);
      return { allowed: this.config.onStoreError === 'allow', reason: 'store_unavailable', windows: [] };
    }
    if (!read.active) return { allowed: false, reason: 'user_disabled', windows: read.windows };
    const amounts = amountsFor(est, [], false);
    for (const [i, w] of read.windows.entries()) {
      const rule = read.config.rules[i]!;
      const requested = toPublic(rule.metric, storeAmount(amounts, rule.storeMetric));
      if (w.used + w.reserved + requested > w.limit) {
        return { allowed: false, reason: 'limit_exceeded', ruleId: rule.id, requested, windows: read.windows };
      }
    }
    return { allowed: true, windows: read.windows };
  }

  async readWindows(userId: string): Promise<{ active: boolean; config: UserConfig; windows: WindowUsage[] }> {
    let at: number | undefined;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const config = this.planner.userConfig(userId);
      // A user without an anchor has not started a rolling period: show one starting now.
      const view = this.planner.needsUserAnchor(config) ? withAnchor(config, this.planner.estimatedNow()) : config;
      const rules = this.planner.specs(view, at);
      const sentAt = Date.now();
      const reply = await this.call('read', () => this.config.store.admin.read({ userId, configVersion: config.version, rules, ...this.#now() }));
      this.planner.observe(reply.now, sentAt, Date.now());
      if (reply.type === 'stale') {
        this.planner.learn(userId, reply.config);
        at = undefined;
      } else if (reply.type === 'clock') at = reply.at;
      else return { active: reply.active, config, windows: reply.windows.map((w, i) => windowUsage(config, i, w)) };
    }
    throw new QuotaStoreError('read', 'The store kept reporting a changed configuration or clock');
  }

  // ---------------------------------------------------------------------------------- plumbing

  forgetUser(userId: string): void {
    this.#epoch.forgetUser(userId);
  }

  acknowledgeStoreReset(): Promise<void> {
    return this.#epoch.acknowledge();
  }

  call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return storeCall(operation, this.config.storeTimeoutMs, fn);
  }

  #now(): { now?: number } {
    const now = this.planner.explicitNow();
    return now === undefined ? {} : { now };
  }

  #storeError(operation: string, error: QuotaStoreError, policy: 'deny' | 'allow' | 'queued' | 'dropped', userId?: string): void {
    this.#events.emit('store-error', { operation, error, policy, ...(userId === undefined ? {} : { userId }) });
    this.config.logger?.warn?.(`token-limits: ${operation} failed`, { policy, error: error.message, ...(userId === undefined ? {} : { userId }) });
  }
}

function parseReservationRef(value: unknown): { id: string; userId: string } {
  const r = value as { id?: unknown; userId?: unknown } | null;
  if (typeof r !== 'object' || r === null || typeof r.id !== 'string' || !/^[A-Za-z0-9_.-]{8,64}$/.test(r.id)) {
    throw new InvalidArgumentError('reservation', value, 'expected a reservation returned by reserve()');
  }
  return { id: r.id, userId: parseUserId(r.userId, 'reservation.userId') };
}

/** A user's config as if its period had started at `anchor` (for reads of a user who has none yet). */
function withAnchor(config: UserConfig, anchor: number): UserConfig {
  return { version: config.version, rules: config.rules, anchor, isDefault: config.isDefault };
}

function storeAmount(amounts: Amounts, metric: 'tokens' | 'requests' | 'cost'): number {
  return metric === 'tokens' ? amounts.tokens : metric === 'requests' ? amounts.requests : amounts.cost;
}

function windowUsage(config: UserConfig, i: number, w: WindowState): WindowUsage {
  const rule = config.rules[i]!;
  return {
    rule: rule.rule,
    limit: toPublic(rule.metric, rule.limit),
    used: toPublic(rule.metric, w.used),
    reserved: toPublic(rule.metric, w.held),
    remaining: Math.max(0, toPublic(rule.metric, rule.limit - w.used - w.held)),
    periodStart: new Date(w.start),
    resetAt: new Date(w.end),
  };
}

function makeReservation(
  id: string,
  userId: string,
  est: Estimate,
  now: number,
  leaseMs: number,
  config: UserConfig,
  windows: WindowState[],
  amounts: Amounts,
): Reservation {
  return Object.freeze({
    id,
    userId,
    estimate: Object.freeze({ ...est }),
    createdAt: new Date(now),
    expiresAt: new Date(now + leaseMs),
    windows: Object.freeze(
      config.rules.map((rule, i) =>
        Object.freeze({
          ruleId: rule.id,
          metric: rule.metric,
          amount: toPublic(rule.metric, storeAmount(amounts, rule.storeMetric)),
          periodStart: new Date(windows[i]!.start),
          resetAt: new Date(windows[i]!.end),
        }),
      ),
    ),
    unmetered: false,
  });
}
