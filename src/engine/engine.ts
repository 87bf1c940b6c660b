import type { Estimate, LedgerLag, LimiterEvents, QuotaDecision, Reservation, Usage, UsageRecord, UserRef } from '../kernel/types.js';
import { isPlainObject, parsePositiveInt, parseUserId } from '../kernel/validate.js';
import { createAdmin, type AdminApi } from './admin.js';
import type { BackgroundWrite } from './committer.js';
import { buildCommit, type PreparedCommit } from './commit.js';
import { parseReservation } from './records.js';
import type { EngineConfig } from './config.js';
import { EngineCore, newId } from './core.js';
import { LedgerLink } from './ledger-link.js';
import { parseEstimate, parseReserveOptions, type ReserveOptions } from './estimate.js';
import { accountUsage, check, readWindows, userUsage } from './read.js';
import { reserve, type ReservationState } from './reserve.js';
import { commitOnce, homeOf, movedHome, releaseOnce } from './settle.js';

/** The longest `flushLedger` waits: a day. */
const MAX_FLUSH_LEDGER_MS = 86_400_000;

/** The quota engine: reserve before a call, commit or release after. */
export interface Engine {
  /** Would a call of this size be admitted now? Never throws for quota or store reasons. */
  check(user: UserRef, estimate?: Estimate): Promise<QuotaDecision>;
  /**
   * Holds `estimate` on every rule of the user (and of their account) that the call counts
   * against, in one atomic store operation, or throws `TokenLimitExceededError` (naming the
   * refusing rule and scope) / `UserDisabledError` and holds nothing.
   */
  reserve(user: UserRef, estimate: Estimate, options?: ReserveOptions): Promise<Reservation>;
  /**
   * Charges the actual usage and drops the hold, once per reservation id. The write starts after the
   * current turn of the event loop (`flush`, reads and the user's next refused reserve start it at
   * once), with the usage as it was when this was called. Resolves with the record once the store
   * has it; a store failure rejects it and leaves the commit queued for retry.
   */
  commit(reservation: Reservation, usage: Usage): Promise<UsageRecord>;
  /** Drops the hold: nothing is charged. Idempotent by reservation id. */
  release(reservation: Reservation): Promise<void>;
  /**
   * Keeps a reservation's hold counting until at least `leaseMs` from now (never shortens it), for
   * a call that runs longer than its lease: a hold whose lease ends stops counting, as a crashed
   * process's must. Wrapped calls renew their own while they run. Resolves `true` when the hold
   * was renewed, `false` when there is none (committed, released, its lease already ended, or an
   * unmetered reservation) or the limiter is closed; rejects with `QuotaStoreError` when the store fails (the hold then ends
   * with its lease, as without a renewal).
   */
  renew(reservation: Reservation): Promise<boolean>;
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
  /** Loads the store's scripts, the plans, and reads the store's epoch marker, ahead of the first call. */
  warmup(): Promise<void>;
  /**
   * Writes what is queued (for up to `storeTimeoutMs`), then releases the store. With a ledger and
   * MemoryStore, first writes the records still in the in-process queue (for up to `storeTimeoutMs`).
   * The limiter still works afterwards (a call that was running when it closed still commits), but
   * nothing runs in the background: each commit and release is written when it is made (a store
   * failure rejects it and nothing is queued), and with a MemoryStore ledger a commit resolves once
   * its record is in the ledger (or the ledger failed for `storeTimeoutMs`, reported as `ledger-error`).
   */
  close(): Promise<void>;
  /**
   * With a `ledger`: how far it is behind the store (records waiting to be written); null without one.
   */
  ledgerLag(): Promise<LedgerLag | null>;
  /**
   * With a `ledger` that this process drains: resolves once this process's commits are in the store
   * and every record waiting in the store's feed is in the ledger (the feed is drained even when the
   * store cannot take all of this process's writes now, and the call then rejects with that
   * `QuotaStoreError`; it rejects too if the drain takes longer than `timeoutMs`, default 30 s; an
   * integer from 1 to 86,400,000, else `InvalidArgumentError`: a deadline that is not a number
   * would never pass, and the promise would wait for ever on a ledger that stays down).
   */
  flushLedger(timeoutMs?: number): Promise<void>;
}

export function createEngine(config: EngineConfig): Engine {
  return new QuotaEngine(config);
}

class QuotaEngine implements Engine {
  readonly admin: AdminApi;
  readonly #core: EngineCore;
  readonly #states = new WeakMap<Reservation, ReservationState>();
  readonly #ledger: LedgerLink;

  constructor(config: EngineConfig) {
    this.#core = new EngineCore(config);
    const core = this.#core;
    this.admin = createAdmin({
      core,
      settle: () => this.#settle(),
      userUsage: (userId, until) => userUsage(core, userId, until),
      accountUsage: (accountId, until) => accountUsage(core, accountId, until),
      readWindows: (userId, until) => readWindows(core, userId, until),
    });
    this.#ledger = new LedgerLink(core);
  }

  ledgerLag(): Promise<LedgerLag | null> {
    return this.#ledger.lag();
  }

  async flushLedger(timeoutMs: number = 30_000): Promise<void> {
    const timeout = parsePositiveInt(timeoutMs, 'timeoutMs', MAX_FLUSH_LEDGER_MS);
    const drainer = this.#ledger.drainer;
    if (drainer === undefined) return;
    // What this process committed first. A store that cannot take all of it now (e.g. out of
    // memory) does not stop the records already in the feed from being written; it is reported after.
    let unflushed: unknown;
    await this.flush().catch((error: unknown) => {
      unflushed = error;
    });
    await drainer.drainAll(Date.now() + timeout);
    if (unflushed !== undefined) throw unflushed;
  }

  get pendingWrites(): number {
    return this.#core.committer.pending;
  }

  on<K extends keyof LimiterEvents>(event: K, listener: (payload: LimiterEvents[K]) => void): () => void {
    return this.#core.events.on(event, listener);
  }

  async reserve(user: UserRef, estimate: Estimate, options?: ReserveOptions): Promise<Reservation> {
    const userId = parseUserId(user, 'user');
    const est = parseEstimate(estimate);
    const shrink = parseReserveOptions(options);
    return reserve(this.#core, userId, est, shrink, this.#states, (r) => this.release(r));
  }

  commit(reservation: Reservation, usage: Usage): Promise<UsageRecord> {
    const core = this.#core;
    let reserved: { id: string; userId: string };
    try {
      reserved = parseReservation(reservation);
    } catch (error) {
      return Promise.reject(error);
    }
    const state = this.#states.get(reservation);
    const home = homeOf(core, reservation, reserved.userId);
    const endedAt = Date.now();
    const attemptId = newId(endedAt);
    // The usage is validated and priced when the write starts (after this turn: see Committer),
    // from a copy taken now, so that a caller changing its object afterwards changes nothing.
    const given = isPlainObject(usage) ? { ...usage } : usage;
    let prepared: PreparedCommit | undefined;
    return this.#background({
      kind: 'commit',
      userId: reserved.userId,
      reservationId: reserved.id,
      attempt: () => {
        prepared ??= buildCommit(reserved, given, core.config.cost, state?.startedAt, endedAt);
        // The rules a call counts against: as reserved (this process made it), else by what the usage says.
        const call = state?.call ?? { model: prepared.record.model, provider: prepared.record.provider };
        return commitOnce(core, prepared, home, call, attemptId);
      },
    });
  }

  async release(reservation: Reservation): Promise<void> {
    const { id, userId } = parseReservation(reservation);
    const home = homeOf(this.#core, reservation, userId);
    await this.#background({ kind: 'release', userId, reservationId: id, attempt: () => releaseOnce(this.#core, userId, id, home) });
  }

  async renew(reservation: Reservation): Promise<boolean> {
    const { id, userId } = parseReservation(reservation);
    // A reservation let through unmetered during a store outage holds nothing.
    if (reservation.unmetered === true) return false;
    const core = this.#core;
    // A closed limiter keeps no hold alive (a wrapped call still running stops renewing its own).
    if (core.closed) return false;
    const home = homeOf(core, reservation, userId);
    const renewAt = (at: string | null) => core.call('renew', () => core.config.store.hotPath.renew({ userId, reservationId: id, home: at, leaseMs: core.config.leaseMs, ...core.now() }));
    const reply = await renewAt(home);
    core.committer.storeAnswered();
    // A user moved since the call was reserved took its hold with them: renewed there too. Where
    // that is, the store says (a move made by another process); else this process may know.
    if (reply.movedTo !== undefined) core.planner.setHome(userId, reply.movedTo);
    const moved = reply.movedTo !== undefined ? reply.movedTo : movedHome(core, userId, home);
    const there = moved === undefined || moved === home ? undefined : await renewAt(moved);
    return reply.type === 'renewed' || there?.type === 'renewed';
  }

  // Async so that invalid arguments reject the promise, as every other method's do, rather than
  // throwing before the caller has a promise to catch on.
  async check(user: UserRef, estimate?: Estimate): Promise<QuotaDecision> {
    return check(this.#core, parseUserId(user, 'user'), estimate === undefined ? { tokens: 0 } : parseEstimate(estimate));
  }

  async flush(): Promise<void> {
    const core = this.#core;
    await core.committer.flush(Date.now() + core.config.storeTimeoutMs);
    await core.call('flush', () => core.config.store.maintenance.flush());
  }

  async warmup(): Promise<void> {
    const core = this.#core;
    await core.call('warmup', () => core.config.store.maintenance.warmup());
    await Promise.all([core.epoch.check(), core.plans.refresh().catch(() => {})]);
  }

  async close(): Promise<void> {
    const core = this.#core;
    if (core.closed) return;
    core.closed = true;
    await core.committer.close(Date.now() + core.config.storeTimeoutMs);
    // An in-process ledger queue (MemoryStore) would die with the process: write it out first.
    const deadline = Date.now() + core.config.storeTimeoutMs;
    if (core.config.store.ledgerFeed?.inProcess === true) await this.#ledger.drainer?.drainAll(deadline).catch(() => {});
    // The drain under way is waited for until the same deadline (a silent ledger adds nothing).
    await this.#ledger.drainer?.stop(deadline);
    await core.config.store.maintenance.close();
  }

  /**
   * Waits (briefly, `storeTimeoutMs` at most) for this process's own writes, so that admin reads see
   * them. When a store operation went unanswered meanwhile, returns the end of that time, which the
   * admin call's own store operation then keeps to: with the store down, the waits here and the
   * call never add up past `storeTimeoutMs`. Otherwise (the store answers, a write of a user being
   * moved kept waiting) nothing: the call's operation has its own `storeTimeoutMs`.
   */
  async #settle(): Promise<number | undefined> {
    const core = this.#core;
    const start = Date.now();
    const until = start + core.config.storeTimeoutMs;
    await core.committer.flush(until).catch(() => {});
    // The store's batches next, while it answers and half the time is left (a shorter deadline
    // would end the flush for want of time, not of an answer).
    if (core.noAnswerAt < start && until - Date.now() > core.config.storeTimeoutMs / 2) {
      await core.call('flush', () => core.config.store.maintenance.flush(), until).catch(() => {});
    }
    return core.noAnswerAt >= start ? until : undefined;
  }

  #background<T>(write: BackgroundWrite<T>): Promise<T> {
    const core = this.#core;
    if (!core.closed) return core.committer.run(write);
    // Closed: nothing runs in the background any more, so the write is made now, and a record
    // left in an in-process ledger queue (MemoryStore) is written out with it: a call that was
    // still running when close() returned would otherwise lose its ledger row with the process.
    const written = write.attempt();
    const drainer = this.#ledger.drainer;
    if (write.kind !== 'commit' || drainer === undefined || core.config.store.ledgerFeed?.inProcess !== true) return written;
    // The charge is in the store whatever the ledger does: a ledger that stays down (reported as
    // 'ledger-error' events) does not make the commit fail.
    return written.then(async (result) => {
      await drainer.drainAll(Date.now() + core.config.storeTimeoutMs).catch(() => {});
      return result;
    });
  }
}
