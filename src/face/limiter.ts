import { randomUUID } from 'node:crypto';
import { createAdmin, type AdminApi } from './admin.js';
import { withTokenLimits } from '../providers/wrap.js';
import type { WrapOptions } from '../providers/shared/binding.js';
import {
  InvalidArgumentError,
  QuotaStoreError,
  TokenLimitExceededError,
  TokenLimitsError,
  UserDisabledError,
} from './errors.js';
import { Emitter } from './events.js';
import { parseOptions, type LimiterConfig, type TokenLimiterOptions } from './options.js';
import { PendingQueue, type PendingOperation } from './pending.js';
import { WindowPlanner, type UserConfig } from './planner.js';
import { costOfUsage } from '../providers/pricing/resolve.js';
import { encodeRecord, parseReservation, parseUsage, type ParsedUsage, type StoredRecord } from './records.js';
import type { NormalizedRule } from './rules.js';
import type {
  Estimate,
  LimiterEvents,
  Metric,
  QuotaDecision,
  Reservation,
  ReservationWindow,
  UsageRecord,
  UserRef,
  WindowUsage,
} from './types.js';
import { fromMicroUsd, isPlainObject, parseCount, parseUserId, parseUsd, rejectUnknownKeys, toMicroUsd } from './validate.js';
import { amountOf } from '../stores/memory/memory-store.js';
import type { Amounts, CommitCommand, CommitReply, HeldWindow, QuotaStore, ReadReply, RuleSpec, StoreEpoch, WindowState } from '../stores/types.js';
import { LruMap } from './lru.js';

/** The quota engine. */
export interface TokenLimiter {
  /** `withTokenLimits(client, user, { ...options, limiter: this })`. */
  wrap<C extends object>(client: C, user?: UserRef, options?: Omit<WrapOptions, 'limiter'>): C;
  /** Would a call of this size be admitted now? Never throws for quota reasons. */
  check(user: UserRef, estimate?: Estimate): Promise<QuotaDecision>;
  /**
   * Holds `estimate` on every rule of the user in one atomic store operation, or throws
   * `TokenLimitExceededError` (naming the refusing rule) / `UserDisabledError` and holds nothing.
   */
  reserve(user: UserRef, estimate: Estimate): Promise<Reservation>;
  /** Replaces the hold with the actual usage. Idempotent by reservation id. */
  commit(reservation: Reservation, usage: import('./types.js').Usage): Promise<UsageRecord>;
  /** Drops the hold: nothing is charged. Idempotent by reservation id. */
  release(reservation: Reservation): Promise<void>;
  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof LimiterEvents>(event: K, listener: (payload: LimiterEvents[K]) => void): () => void;
  readonly admin: AdminApi;
  /** Loads what the first call would otherwise load: store scripts and tokenizer encoders. */
  warmup(): Promise<void>;
  /** Retries queued writes for up to `storeTimeoutMs`, then releases the store. */
  close(): Promise<void>;
}

/** Internal surface shared with admin functions and provider wrappers. */
export interface LimiterInternals {
  readonly config: LimiterConfig;
  readonly planner: WindowPlanner;
  readWindows(userId: string): Promise<{ active: boolean; config: UserConfig; windows: WindowUsage[] }>;
  call<T>(operation: string, fn: () => Promise<T>): Promise<T>;
  /** The user's state was deleted on purpose: a later "new user" reply is not a sign of lost data. */
  forgetUser(userId: string): void;
  acknowledgeStoreReset(): Promise<void>;
}

interface ReservationState {
  held: HeldWindow[];
  localStart: number;
  rules: NormalizedRule[];
}

const MAX_ATTEMPTS = 5;

/** Engine internals by limiter, for the provider wrappers (not part of the public API). */
const INTERNALS = new WeakMap<object, LimiterInternals>();

export function limiterInternals(limiter: TokenLimiter): LimiterInternals | undefined {
  return INTERNALS.get(limiter);
}

/** Creates a quota engine. See `TokenLimiterOptions` for every option and its default. */
export function createTokenLimiter(options?: TokenLimiterOptions): TokenLimiter {
  return new Limiter(parseOptions(options));
}

class Limiter implements TokenLimiter, LimiterInternals {
  readonly config: LimiterConfig;
  readonly planner: WindowPlanner;
  readonly admin: AdminApi;
  readonly #events: Emitter<LimiterEvents>;
  readonly #pending: PendingQueue;
  readonly #reservations = new WeakMap<Reservation, ReservationState>();
  readonly #store: QuotaStore;
  #closed = false;
  /** Estimated usage let through unmetered since the store last answered (bounded by `allowBudget`). */
  #unmetered = { tokens: 0, requests: 0 };
  /** Users this process has seen holding state in the store (a "new user" reply for one means lost data). */
  readonly #seenUsers: LruMap<string, true>;
  #epochCheckedAt = Number.NEGATIVE_INFINITY;
  #epochCheck: Promise<void> | undefined;
  /** Set while the store's data is known lost and not acknowledged, under `onStoreReset: 'deny'`. */
  #reset: { epoch: string; previous: string } | undefined;

  constructor(config: LimiterConfig) {
    this.config = config;
    this.#store = config.store;
    this.#store.configure(config.retention);
    this.planner = new WindowPlanner(config.defaultRules, config.clock, config.userCacheSize);
    this.#events = new Emitter(config.logger);
    this.#pending = new PendingQueue(config.maxPendingOperations, config.logger, (op) => {
      this.#events.emit('store-error', {
        operation: op.kind,
        userId: op.userId,
        policy: 'dropped',
        error: new QuotaStoreError(op.kind, `The pending-write queue is full: a ${op.kind} of reservation ${op.reservationId} was dropped`),
      });
    });
    this.#seenUsers = new LruMap(config.userCacheSize);
    this.admin = createAdmin(this);
    INTERNALS.set(this, this);
  }

  on<K extends keyof LimiterEvents>(event: K, listener: (payload: LimiterEvents[K]) => void): () => void {
    return this.#events.on(event, listener);
  }

  wrap<C extends object>(client: C, user?: UserRef, options?: Omit<WrapOptions, 'limiter'>): C {
    return withTokenLimits(client, user, { ...options, limiter: this });
  }

  async warmup(): Promise<void> {
    // Encoders load lazily on first use (about 0.1-0.3 s each); load them now instead.
    await Promise.all([
      this.call('warmup', async () => this.#store.warmup?.()).then(() => this.#checkEpoch()),
      this.config.tokenizer.warmup(['o200k_base', 'cl100k_base']),
    ]);
  }

  // ---------------------------------------------------------------- epoch (lost store data)

  /**
   * Checks the store's epoch marker, one check at a time. Never throws: a failing store is reported
   * by the operations themselves.
   */
  #checkEpoch(): Promise<void> {
    const store = this.#store;
    if (typeof store.checkEpoch !== 'function') return Promise.resolve();
    if (this.#epochCheck) return this.#epochCheck;
    this.#epochCheckedAt = Date.now();
    this.#epochCheck = this.call('epoch', () => store.checkEpoch!())
      .then(
        (epoch) => this.#onEpoch(epoch),
        () => {},
      )
      .finally(() => {
        this.#epochCheck = undefined;
      });
    return this.#epochCheck;
  }

  /** Starts a check beside the current operation if the last one is older than `storeResetCheckMs`. */
  #maybeCheckEpoch(): void {
    if (Date.now() - this.#epochCheckedAt >= this.config.storeResetCheckMs) void this.#checkEpoch();
  }

  #onEpoch(epoch: StoreEpoch): void {
    if (epoch.reset) {
      this.#seenUsers.clear();
      const event = { epoch: epoch.id, previousEpoch: epoch.lost, detectedAt: new Date(), policy: this.config.onStoreReset };
      this.config.logger?.error?.('token-limits: the quota store lost its data (epoch marker changed)', {
        epoch: epoch.id,
        previousEpoch: epoch.lost,
        policy: this.config.onStoreReset,
      });
      this.#events.emit('store-reset', event);
    }
    const unacknowledged = epoch.previous !== null && !epoch.acknowledged;
    this.#reset = this.config.onStoreReset === 'deny' && unacknowledged ? { epoch: epoch.id, previous: epoch.previous! } : undefined;
  }

  /** Under `onStoreReset: 'deny'`: throws while the store's data is known lost and not acknowledged. */
  async #refuseWhileReset(): Promise<void> {
    if (!this.#reset) return;
    // Re-read the marker (at most every 100 ms) to notice an acknowledgement made by any process.
    if (Date.now() - this.#epochCheckedAt >= Math.min(100, this.config.storeResetCheckMs)) await this.#checkEpoch();
    const reset = this.#reset;
    if (!reset) return;
    throw new QuotaStoreError(
      'reserve',
      `The quota store lost its data (epoch ${reset.previous} was replaced by ${reset.epoch}); calls are refused until admin.acknowledgeStoreReset() (onStoreReset: 'deny')`,
    );
  }

  forgetUser(userId: string): void {
    this.#seenUsers.delete(userId);
  }

  async acknowledgeStoreReset(): Promise<void> {
    const store = this.#store;
    if (typeof store.acknowledgeReset !== 'function') return;
    await this.call('admin.acknowledgeStoreReset', () => store.acknowledgeReset!());
    await this.#checkEpoch();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pending.flush(Date.now() + this.config.storeTimeoutMs);
    await this.#store.close();
  }

  // ---------------------------------------------------------------- reserve

  async reserve(user: UserRef, estimate: Estimate): Promise<Reservation> {
    const userId = parseUserId(user, 'user');
    const est = parseEstimate(estimate);
    if (this.config.onStoreReset === 'deny' && this.#epochCheckedAt === Number.NEGATIVE_INFINITY) await this.#checkEpoch();
    else this.#maybeCheckEpoch();
    await this.#refuseWhileReset();
    return this.#reserve(userId, est, randomUUID(), false);
  }

  /** `force` settles a call that already happened unmetered: no limit check, and store failures throw. */
  async #reserve(userId: string, est: Estimate, reservationId: string, force: boolean): Promise<Reservation> {
    let at: number | undefined;
    const localStart = Date.now();
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const config = this.planner.userConfig(userId);
      const initAnchor = this.planner.needsUserAnchor(config);
      const specs = initAnchor ? [] : this.planner.specs(config, at);
      const amounts = amountsFor(est, config.rules);
      const sentAt = Date.now();
      let reply;
      try {
        reply = await this.call('reserve', () =>
          this.#store.reserve({
            userId,
            reservationId,
            configVersion: config.version,
            rules: specs,
            amounts,
            leaseMs: this.config.leaseMs,
            initAnchor,
            ...(force ? { force } : {}),
            ...this.#now(),
          }),
        );
      } catch (error) {
        if (force) throw error;
        return this.#reserveFailed(error as QuotaStoreError, userId, est, reservationId);
      }
      this.planner.observe(reply.now, sentAt, Date.now());
      this.#unmetered = { tokens: 0, requests: 0 }; // the store answers: a new outage gets a new budget
      switch (reply.type) {
        case 'stale':
          this.planner.learn(userId, reply.config);
          at = undefined;
          continue;
        case 'clock':
          at = reply.at;
          continue;
        case 'disabled': {
          const error = new UserDisabledError(userId);
          this.#events.emit('rejected', { userId, error });
          throw error;
        }
        case 'closed':
          // Settling a call whose commit already landed: the commit will answer as a replay.
          if (force) return this.#makeReservation(reservationId, userId, est, reply.now, [], [], [], amounts, localStart);
          throw new QuotaStoreError('reserve', `Reservation ${reservationId} was already committed or released`);
        case 'rejected': {
          const error = exceededError(userId, config.rules, specs, reply.ruleIndex, reply.windows[reply.ruleIndex]!, amounts, reply.now);
          this.#events.emit('rejected', { userId, error });
          throw error;
        }
        case 'ok': {
          const reservation = this.#makeReservation(reservationId, userId, est, reply.now, config.rules, specs, reply.windows, amounts, localStart);
          if (reply.isNewUser && this.#seenUsers.get(userId)) {
            // This process saw the user's state in the store, and now the store has none: its data
            // may be lost. Check the epoch now; under 'deny', before admitting the call.
            if (this.config.onStoreReset === 'deny' && !force) {
              await this.#checkEpoch();
              if (this.#reset) {
                await this.release(reservation).catch(() => {});
                await this.#refuseWhileReset();
              }
            } else {
              void this.#checkEpoch();
            }
          }
          this.#seenUsers.set(userId, true);
          return reservation;
        }
      }
    }
    throw new QuotaStoreError('reserve', 'The store kept reporting a changed configuration or clock');
  }

  #reserveFailed(error: QuotaStoreError, userId: string, est: Estimate, reservationId: string): Reservation {
    if (!(error instanceof QuotaStoreError)) throw error;
    // Fail-open is bounded: past the budget of this outage, calls fail as under 'deny'.
    const budget = this.config.allowBudget;
    const withinBudget =
      this.#unmetered.tokens + est.tokens <= budget.tokens && this.#unmetered.requests + 1 <= budget.requests;
    const policy = this.config.onStoreError === 'allow' && withinBudget ? 'allow' : 'deny';
    if (this.config.onStoreError === 'allow' && !withinBudget) {
      error = new QuotaStoreError('reserve', `${error.message}; the fail-open budget of this outage is spent (options.allowBudget)`, {
        cause: error,
      });
    }
    this.#events.emit('store-error', { operation: 'reserve', userId, error, policy });
    this.config.logger?.warn?.('token-limits: reserve failed', { userId, policy, error: error.message });
    if (policy === 'deny') {
      // A reserve that failed (timed out, connection lost) may still have been applied: release it
      // in the background so the hold does not linger until its lease ends. If the store is down,
      // the release waits in the pending queue and runs once it answers. Release is idempotent, and
      // it also marks the id, so that a late replay of the reserve holds nothing.
      const held: HeldWindow[] = [];
      const release = async (): Promise<void> => {
        await this.call('release', () => this.#store.release({ userId, reservationId, windows: held, ...this.#now() }));
      };
      release().catch(() => {
        if (!this.#closed) this.#pending.push({ kind: 'release', userId, reservationId, run: release });
      });
      throw error;
    }
    this.#unmetered = { tokens: this.#unmetered.tokens + est.tokens, requests: this.#unmetered.requests + 1 };
    const now = this.planner.estimatedNow();
    const reservation: Reservation = Object.freeze({
      id: reservationId,
      userId,
      estimate: Object.freeze({ ...est }),
      createdAt: new Date(now),
      expiresAt: new Date(now + this.config.leaseMs),
      windows: Object.freeze([]) as readonly ReservationWindow[],
      unmetered: true,
    });
    this.#reservations.set(reservation, { held: [], localStart: Date.now(), rules: [] });
    return reservation;
  }

  #makeReservation(
    id: string,
    userId: string,
    est: Estimate,
    now: number,
    rules: NormalizedRule[],
    specs: RuleSpec[],
    windows: WindowState[],
    amounts: Amounts,
    localStart: number,
  ): Reservation {
    const held: HeldWindow[] = specs.map((spec, i) => ({
      ruleId: spec.ruleId,
      fingerprint: spec.fingerprint,
      start: windows[i]!.start,
      end: windows[i]!.end,
      metric: spec.metric,
      amount: amountOf(amounts, spec.metric),
    }));
    const reservation: Reservation = Object.freeze({
      id,
      userId,
      estimate: Object.freeze({ ...est }),
      createdAt: new Date(now),
      expiresAt: new Date(now + this.config.leaseMs),
      windows: Object.freeze(
        specs.map((spec, i) =>
          Object.freeze({
            ruleId: spec.ruleId,
            metric: rules[i]!.metric,
            amount: toPublic(rules[i]!.metric, held[i]!.amount),
            periodStart: new Date(windows[i]!.start),
            resetAt: new Date(windows[i]!.end),
            windowKey: `${spec.metric}:${held[i]!.amount}:${held[i]!.start}:${spec.fingerprint}`,
          }),
        ),
      ),
      unmetered: false,
    });
    this.#reservations.set(reservation, { held, localStart, rules });
    return reservation;
  }

  // ---------------------------------------------------------------- commit

  async commit(reservation: Reservation, usage: import('./types.js').Usage): Promise<UsageRecord> {
    const r = parseReservation(reservation);
    const u = parseUsage(usage);
    let state = this.#reservations.get(r) ?? reconstruct(r);
    const cost = this.#costOf(u, state, r);
    const latencyMs = u.latencyMs ?? Math.max(0, Date.now() - state.localStart);
    const stored: StoredRecord = {
      id: r.id,
      userId: r.userId,
      provider: u.provider,
      model: u.model,
      endpoint: u.endpoint,
      inputTokens: u.inputTokens,
      cachedInputTokens: u.cachedInputTokens,
      outputTokens: u.outputTokens,
      reasoningTokens: u.reasoningTokens,
      totalTokens: u.inputTokens + u.outputTokens,
      costUsd: cost === undefined ? null : fromMicroUsd(cost),
      estimated: u.estimated,
      requestId: u.requestId,
      latencyMs,
      status: u.status,
    };
    // One id for this commit call and all its retries: a replay of it (lost reply, queued retry)
    // is recognised by the store, so the usage event fires exactly once even then.
    const attemptId = randomUUID();
    const run = async (): Promise<UsageRecord> => {
      if (r.unmetered && state.held.length === 0) {
        // The call went on while the store was down: hold nothing new, just learn the current
        // windows (a replay returns the original hold if the first reserve did land), then commit.
        const settled = await this.#reserve(r.userId, r.estimate, r.id, true);
        state = { ...this.#reservations.get(settled)!, localStart: state.localStart };
        this.#reservations.set(r, state);
      }
      const command: CommitCommand = {
        userId: r.userId,
        reservationId: r.id,
        attemptId,
        windows: state.held,
        actual: { tokens: u.inputTokens + u.outputTokens, requests: 1, cost: cost ?? 0 },
        thresholds: this.config.thresholdsPerMille,
        record: encodeRecord(stored),
        model: u.model,
        inputTokens: u.inputTokens,
        outputTokens: u.outputTokens,
        ...this.#now(),
      };
      const reply = await this.call('commit', () => this.#store.commit(command));
      if (reply.type === 'applied' && reply.aggregatesPending === true) {
        // Committing again is a no-op for the user's quota and completes the aggregates.
        this.#queue('commit', r, async () => {
          await this.call('commit', () => this.#store.commit(command));
        });
      }
      return this.#committed(reply, stored, state);
    };
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof QuotaStoreError) || this.#closed) throw error;
      this.#queue('commit', r, async () => {
        await run();
      });
      throw new QuotaStoreError('commit', `${error.message}; the commit is queued and will be retried`, { cause: error });
    }
  }

  #costOf(u: ParsedUsage, state: ReservationState, r: Reservation): number | undefined {
    if (u.costUsd !== undefined) return toMicroUsd(u.costUsd);
    const price = this.config.pricing.resolve(u.model);
    if (price) return toMicroUsd(costOfUsage(u, price));
    // No price: a cost rule still needs a figure, so charge what was held rather than nothing.
    const heldCost = state.held.find((w) => w.metric === 'cost');
    if (heldCost) return heldCost.amount;
    return r.estimate.costUsd === undefined ? undefined : toMicroUsd(r.estimate.costUsd, 'up');
  }

  #committed(reply: CommitReply, stored: StoredRecord, state: ReservationState): UsageRecord {
    if (reply.type === 'released') {
      throw new InvalidArgumentError('reservation', stored.id, 'this reservation was already released');
    }
    const record: UsageRecord = { ...stored, timestamp: new Date(reply.timestamp) };
    // A duplicate of this very commit call (its first reply was lost, or it timed out and was
    // retried) was applied by this call: report it like an applied one.
    if (reply.type === 'applied' || (reply.type === 'duplicate' && reply.ownAttempt)) {
      this.#events.emit('usage', record);
      for (const alert of reply.alerts) {
        const index = state.held.findIndex((w) => w.ruleId === alert.ruleId);
        const rule = state.rules[index];
        const metric: Metric = rule?.metric ?? (state.held[index]?.metric === 'cost' ? 'costUsd' : (state.held[index]?.metric ?? 'tokens'));
        this.#events.emit('alert', {
          userId: stored.userId,
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

  // ---------------------------------------------------------------- release

  async release(reservation: Reservation): Promise<void> {
    const r = parseReservation(reservation);
    const state = this.#reservations.get(r) ?? reconstruct(r);
    const run = async (): Promise<void> => {
      await this.call('release', () => this.#store.release({ userId: r.userId, reservationId: r.id, windows: state.held, ...this.#now() }));
    };
    try {
      await run();
    } catch (error) {
      if (!(error instanceof QuotaStoreError) || this.#closed) throw error;
      this.#queue('release', r, run);
      throw new QuotaStoreError('release', `${error.message}; the release is queued and will be retried`, { cause: error });
    }
  }

  #queue(kind: PendingOperation['kind'], r: Reservation, run: () => Promise<void>): void {
    this.#pending.push({ kind, userId: r.userId, reservationId: r.id, run });
    this.#events.emit('store-error', {
      operation: kind,
      userId: r.userId,
      policy: 'queued',
      error: new QuotaStoreError(kind, `The ${kind} of reservation ${r.id} is queued until the store answers`),
    });
  }

  /** Writes waiting for the store. */
  get pendingOperations(): number {
    return this.#pending.size;
  }

  // ---------------------------------------------------------------- check / read

  async check(user: UserRef, estimate?: Estimate): Promise<QuotaDecision> {
    const userId = parseUserId(user, 'user');
    const est = estimate === undefined ? { tokens: 0 } : parseEstimate(estimate);
    let read;
    try {
      read = await this.readWindows(userId);
    } catch (error) {
      if (!(error instanceof QuotaStoreError)) throw error;
      this.#events.emit('store-error', { operation: 'check', userId, error, policy: this.config.onStoreError });
      return { allowed: this.config.onStoreError === 'allow', reason: 'store_unavailable', windows: [] };
    }
    if (!read.active) return { allowed: false, reason: 'user_disabled', windows: read.windows };
    const amounts = amountsFor(est, [], false);
    for (const [i, w] of read.windows.entries()) {
      const rule = read.config.rules[i]!;
      const requested = toPublic(rule.metric, amountOf(amounts, rule.storeMetric));
      if (w.used + w.reserved + requested > w.limit) {
        return { allowed: false, reason: 'limit_exceeded', ruleId: rule.id, windows: read.windows };
      }
    }
    return { allowed: true, windows: read.windows };
  }

  async readWindows(userId: string): Promise<{ active: boolean; config: UserConfig; windows: WindowUsage[] }> {
    let at: number | undefined;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const config = this.planner.userConfig(userId);
      // A user without an anchor has not started a rolling period: show one starting now.
      const view = this.planner.needsUserAnchor(config) ? { ...config, anchor: this.planner.estimatedNow() } : config;
      const specs = this.planner.specs(view, at);
      const sentAt = Date.now();
      const reply: ReadReply = await this.call('read', () =>
        this.#store.read({ userId, configVersion: config.version, rules: specs, ...this.#now() }),
      );
      this.planner.observe(reply.now, sentAt, Date.now());
      if (reply.type === 'stale') {
        this.planner.learn(userId, reply.config);
        at = undefined;
        continue;
      }
      if (reply.type === 'clock') {
        at = reply.at;
        continue;
      }
      const windows = reply.windows.map((w, i): WindowUsage => {
        const rule = config.rules[i]!;
        const limit = toPublic(rule.metric, rule.limit);
        const used = toPublic(rule.metric, w.used);
        const reserved = toPublic(rule.metric, w.held);
        return {
          rule: rule.rule,
          limit,
          used,
          reserved,
          remaining: Math.max(0, toPublic(rule.metric, rule.limit - w.used - w.held)),
          periodStart: new Date(w.start),
          resetAt: new Date(w.end),
        };
      });
      return { active: reply.active, config, windows };
    }
    throw new QuotaStoreError('read', 'The store kept reporting a changed configuration or clock');
  }

  // ---------------------------------------------------------------- store calls

  #now(): { now?: number } {
    const now = this.planner.explicitNow();
    return now === undefined ? {} : { now };
  }

  /** Runs a store operation with the timeout; any failure becomes a QuotaStoreError. */
  async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const op = Promise.resolve().then(fn);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new QuotaStoreError(operation, `The quota store did not answer ${operation} within ${this.config.storeTimeoutMs} ms`));
      }, this.config.storeTimeoutMs);
      timer.unref?.();
    });
    op.catch(() => {}); // the operation may fail after the timeout won: never an unhandled rejection
    try {
      return await Promise.race([op, timeout]);
    } catch (error) {
      if (error instanceof TokenLimitsError) throw error;
      throw new QuotaStoreError(operation, `The quota store failed on ${operation}: ${messageOf(error)}`, { cause: sanitize(error) });
    } finally {
      clearTimeout(timer);
    }
  }
}

function parseEstimate(value: unknown): Estimate {
  if (!isPlainObject(value)) throw new InvalidArgumentError('estimate', value, 'expected { tokens, costUsd? }');
  rejectUnknownKeys(value, ['tokens', 'costUsd'], 'estimate');
  const tokens = parseCount(value.tokens, 'estimate.tokens');
  return value.costUsd === undefined ? { tokens } : { tokens, costUsd: parseUsd(value.costUsd, 'estimate.costUsd') };
}

/** Store amounts of an estimate; a cost rule needs a cost estimate (unless `strict` is false). */
function amountsFor(est: Estimate, rules: readonly NormalizedRule[], strict = true): Amounts {
  if (strict && est.costUsd === undefined) {
    const costRule = rules.find((r) => r.storeMetric === 'cost');
    if (costRule) {
      throw new InvalidArgumentError('estimate.costUsd', undefined, `required: rule "${costRule.id}" limits costUsd (set a price for the model)`);
    }
  }
  return { tokens: est.tokens, requests: 1, cost: est.costUsd === undefined ? 0 : toMicroUsd(est.costUsd, 'up') };
}

function toPublic(metric: Metric, units: number): number {
  return metric === 'costUsd' ? fromMicroUsd(units) : units;
}

function exceededError(
  userId: string,
  rules: NormalizedRule[],
  specs: RuleSpec[],
  index: number,
  window: WindowState,
  amounts: Amounts,
  now: number,
): TokenLimitExceededError {
  const rule = rules[index]!;
  const spec = specs[index]!;
  return new TokenLimitExceededError({
    userId,
    ruleId: rule.id,
    metric: rule.metric,
    limit: toPublic(rule.metric, spec.limit),
    used: toPublic(rule.metric, window.used),
    reserved: toPublic(rule.metric, window.held),
    requested: toPublic(rule.metric, amountOf(amounts, spec.metric)),
    resetAt: new Date(window.end),
    periodStart: new Date(window.start),
    rejectedAt: new Date(now),
  });
}

/** Held windows of a reservation this process did not make (e.g. serialised and sent from another). */
function reconstruct(r: Reservation): ReservationState {
  const held = r.windows.map((w, i): HeldWindow => {
    const match = typeof w.windowKey === 'string' ? /^(tokens|requests|cost):(\d{1,16}):(\d{1,16}):([A-Za-z0-9_.-]{1,80})$/.exec(w.windowKey) : null;
    if (!match || typeof w.ruleId !== 'string') {
      throw new InvalidArgumentError(`reservation.windows[${i}]`, w, 'expected a window of a reservation returned by reserve()');
    }
    const end = new Date(w.resetAt as Date | string).getTime();
    return {
      ruleId: w.ruleId,
      metric: match[1] as HeldWindow['metric'],
      amount: Number(match[2]),
      start: Number(match[3]),
      fingerprint: match[4]!,
      ...(Number.isSafeInteger(end) && end > Number(match[3]) ? { end } : {}),
    };
  });
  const created = new Date(r.createdAt as Date | string).getTime();
  return { held, localStart: Number.isFinite(created) ? created : Date.now(), rules: [] };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Drops fields that can carry secrets (ioredis puts command arguments, AUTH included, on errors). */
function sanitize(error: unknown): Error {
  const clean = new Error(messageOf(error));
  clean.name = error instanceof Error ? error.name : 'Error';
  return clean;
}
