import { DEFAULTS } from '../kernel/defaults.js';
import { QuotaStoreError, StoreFullError, TokenLimitExceededError, UserDisabledError } from '../kernel/errors.js';
import type { Estimate, Reservation } from '../kernel/types.js';
import type { ReserveCommand, ReserveReply, WindowState } from '../stores/protocol/types.js';
import { followRetry, MAX_ATTEMPTS, newId, type CallKind, type EngineCore, type ScopePlan } from './core.js';
import { amountsFor, exceededError, shrinkToFit, toPublic, type ReserveOptions } from './estimate.js';
import type { UserConfig } from './planner.js';
import type { NormalizedRule } from './rules.js';

/** What the engine keeps of a reservation it made (commit routes and charges from it). */
export interface ReservationState {
  startedAt: number;
  call: CallKind;
}

type Decided = ReserveReply & { type: 'ok' | 'rejected' | 'disabled' | 'closed' | 'full' };

interface Attempt {
  reply: Decided;
  config: UserConfig;
  user: ScopePlan;
  account: ScopePlan | undefined;
}

/** Holds an estimate on every rule of the user (and of their account) that the call counts against. */
export async function reserve(
  core: EngineCore,
  userId: string,
  est: Estimate,
  shrink: ReserveOptions['shrinkable'],
  states: WeakMap<Reservation, ReservationState>,
  release: (r: Reservation) => Promise<void>,
): Promise<Reservation> {
  const waiting = core.epoch.beforeReserve();
  if (waiting) await waiting;
  const call: CallKind = { model: est.model, provider: est.provider };
  const id = newId(core.planner.estimatedNow());
  let attempt: Attempt;
  let held = est;
  let failedAgain = false;
  try {
    // A read of the plans (when this process's copy is due) waits a quarter of storeTimeoutMs at
    // most; from then on every wait of the call (the reserve, this process's writes, asking again)
    // ends by `until`.
    await core.plansReady();
    const until = Date.now() + core.config.storeTimeoutMs;
    attempt = await reserveOnce(core, userId, id, est, call, until);
    if (attempt.reply.type === 'rejected') {
      // The commits of the user's previous calls start after their caller's turn (Committer): the
      // hold of one that has not landed yet may be why. Once they have, ask again (same id: a
      // refused reserve held nothing). Only within one store timeout of the reserve's start: writes
      // that have not landed by then (a store failing over) leave the refusal as the answer, so
      // that a refused call never waits several store timeouts.
      const landing = core.committer.writesOf(userId);
      if (landing && (await landedWithin(landing, until - Date.now()))) {
        const again = await askAgain(core, userId, id, est, call, release, until);
        if (again) attempt = again;
        // The id is being released (that try may have held): no other hold may be made under it.
        else failedAgain = true;
      }
    }
    if (attempt.reply.type === 'rejected' && shrink && !failedAgain) {
      const smaller = shrinkToFit(est, shrink, [...attempt.user.rules, ...(attempt.account?.rules ?? [])], attempt.reply.windows);
      if (smaller) {
        const second = await askAgain(core, userId, id, smaller.estimate, call, release, until);
        if (second?.reply.type === 'ok') {
          attempt = second;
          held = smaller.estimate;
        }
      }
    }
  } catch (error) {
    return reserveFailed(core, error, userId, est, id, states, release);
  }
  const { reply, config } = attempt;
  switch (reply.type) {
    case 'ok': {
      const reservation = makeReservation(core, id, userId, held, reply.now, config.account, attempt, reply.windows);
      states.set(reservation, { startedAt: Date.now(), call });
      await core.epoch.afterReserve(userId, reply.isNewUser, () => release(reservation));
      return reservation;
    }
    case 'rejected': {
      const users = attempt.user.rules.length;
      const i = lastToFree([...attempt.user.rules, ...(attempt.account?.rules ?? [])], reply.windows, est, (reply.scope === 'account' ? users : 0) + reply.ruleIndex);
      const scope = i < users ? attempt.user : attempt.account!;
      const error = exceededError(userId, scope.rules, i < users ? i : i - users, reply.windows[i]!, est, reply.now, i < users ? undefined : config.account!);
      return refuse(core, error, call);
    }
    case 'disabled':
      return refuse(core, new UserDisabledError(userId), call);
    case 'full':
      throw new StoreFullError(userId, reply.capacity);
    case 'closed':
      throw new QuotaStoreError('reserve', `Reservation ${id} was already committed or released`);
  }
}

/**
 * Which refusing rule a refusal names (an index into the user's rules then the account's): the
 * store names the first, but the call is admitted only once every rule that refused it has room,
 * so the error's `resetAt` (and the 429's `Retry-After`) must be the latest of their resets. A rule
 * the call can never fit (larger than its whole limit) is named before those: waiting does not help.
 * `check` (read.ts) picks the same way.
 */
function lastToFree(rules: readonly NormalizedRule[], windows: readonly WindowState[], est: Estimate, named: number): number {
  const amounts = amountsFor(est, rules, false);
  let chosen: { i: number; end: number; never: boolean } | undefined;
  rules.forEach((rule, i) => {
    const w = windows[i];
    const amount = rule.storeMetric === 'tokens' ? amounts.tokens : rule.storeMetric === 'requests' ? amounts.requests : amounts.cost;
    if (!w || w.used + w.held + amount <= rule.limit) return;
    const found = { i, end: w.end, never: amount > rule.limit };
    if (!chosen || (!chosen.never && (found.never || found.end > chosen.end))) chosen = found;
  });
  return chosen?.i ?? named;
}

/**
 * A reserve asked again after the store refused it (once this user's writes have landed, or with a
 * smaller hold): undefined when the store fails this time. The store's refusal then stands: it is
 * an answer, where a store error made the call fail as an outage (503 instead of 429), or under
 * `onStoreError: 'allow'` let a user the store had just refused through unmetered. The try may
 * have been applied (a timeout): its hold is released in the background, as a failed reserve's is.
 */
async function askAgain(
  core: EngineCore,
  userId: string,
  id: string,
  est: Estimate,
  call: CallKind,
  release: (r: Reservation) => Promise<void>,
  until: number,
): Promise<Attempt | undefined> {
  try {
    return await reserveOnce(core, userId, id, est, call, until);
  } catch (error) {
    if (!(error instanceof QuotaStoreError)) throw error;
    core.outage.failed();
    core.storeError('reserve', error, 'deny', userId);
    release(windowless(core, id, userId, est, false)).catch(() => {});
    return undefined;
  }
}

/** One reserve, with the retries that `stale`, `clock`, `moved` and `moving` replies ask for. */
async function reserveOnce(core: EngineCore, userId: string, id: string, est: Estimate, call: CallKind, until: number): Promise<Attempt> {
  let at: number | undefined;
  const plans = { read: false };
  const visited = new Set<string | null>();
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    let config = core.planner.userConfig(userId);
    if (config.unreadablePlan) config = await core.configOf(userId);
    visited.add(config.account);
    if (await core.readPlansFor(plans, config, core.accountOf(config))) continue;
    const initAnchor = core.planner.needsUserAnchor(config);
    const user = initAnchor ? { rules: [], specs: [] } : core.scopePlan(config, at, call);
    const accountConfig = core.accountOf(config);
    const account = accountConfig ? core.scopePlan(accountConfig, at, call) : undefined;
    const amounts = amountsFor(est, account === undefined ? user.rules : [...user.rules, ...account.rules]);
    // Built field by field rather than with spread-in optional fields: one object shape per call.
    const command: ReserveCommand = {
      userId,
      reservationId: id,
      home: config.account,
      user: { configVersion: config.version, rules: user.specs },
      amounts,
      leaseMs: core.config.leaseMs,
      initAnchor,
    };
    if (accountConfig && account) command.account = { configVersion: accountConfig.version, rules: account.specs };
    const now = core.planner.explicitNow();
    if (now !== undefined) command.now = now;
    const sentAt = Date.now();
    // The first try keeps to the call's time; a retry follows a reply (the store answers), and the
    // waits between retries keep to it (followRetry).
    const reply = await core.call('reserve', () => core.config.store.hotPath.reserve(command), attempt === 0 ? until : undefined);
    core.planner.observe(reply.now, sentAt, Date.now());
    core.committer.storeAnswered();
    switch (reply.type) {
      case 'stale':
      case 'clock':
      case 'moved':
      case 'moving':
        at = await followRetry(core, 'reserve', userId, config.account, reply, visited, attempt, at, until);
        continue;
      default:
        return { reply, config, user, account };
    }
  }
  throw new QuotaStoreError('reserve', 'The store kept reporting a changed configuration, clock or home');
}

function refuse(core: EngineCore, error: TokenLimitExceededError | UserDisabledError, call: CallKind): never {
  core.events.emit('rejected', { userId: error.userId, error });
  recordRefusal(core, error, call);
  throw error;
}

/**
 * Keeps the refusal for the user's latest calls, beside the refusal (never awaited, never thrown:
 * a store that cannot keep it costs the record, not the call's answer).
 */
function recordRefusal(core: EngineCore, error: TokenLimitExceededError | UserDisabledError, call: CallKind): void {
  const limit = error instanceof TokenLimitExceededError;
  const entry = JSON.stringify({
    t: (limit ? (error.rejectedAt ?? new Date()) : new Date()).getTime(),
    reason: limit ? 'limit' : 'disabled',
    ruleId: limit ? error.ruleId : null,
    scope: limit ? error.scope : null,
    accountId: limit ? (error.accountId ?? null) : null,
    metric: limit ? error.metric : null,
    requested: limit ? error.requested : 0,
    model: call.model === undefined ? null : call.model.slice(0, 256),
    provider: call.provider ?? null,
  });
  void core
    .call('recordRefusal', () => core.config.store.admin.recordRefusal(error.userId, entry, DEFAULTS.refusalsKept, DEFAULTS.refusalTtlMs))
    .catch((failure: unknown) => core.config.logger?.warn?.('token-limits: could not keep a refusal', { error: (failure as Error).message }));
}

function reserveFailed(
  core: EngineCore,
  error: unknown,
  userId: string,
  est: Estimate,
  id: string,
  states: WeakMap<Reservation, ReservationState>,
  release: (r: Reservation) => Promise<void>,
): Reservation {
  if (!(error instanceof QuotaStoreError)) throw error;
  const allowed = core.config.onStoreError === 'allow' && core.outage.spend(est.tokens);
  if (core.config.onStoreError !== 'allow') core.outage.failed();
  const reported =
    core.config.onStoreError === 'allow' && !allowed
      ? new QuotaStoreError('reserve', `${error.message}; the fail-open budget of this outage is spent (options.allowBudget)`, { cause: error })
      : error;
  core.storeError('reserve', reported, allowed ? 'allow' : 'deny', userId);
  const reservation = windowless(core, id, userId, est, allowed);
  // A reserve that failed (timed out, connection lost) may still have been applied: release it in
  // the background so that the hold does not linger until its lease ends. Release is idempotent,
  // and it marks the id, so that a late replay of the reserve holds nothing. An unmetered call is
  // committed later instead (the commit drops a hold that did land).
  if (!allowed) {
    release(reservation).catch(() => {});
    throw reported;
  }
  states.set(reservation, { startedAt: Date.now(), call: { model: est.model, provider: est.provider } });
  return reservation;
}

/**
 * A reservation the store gave no windows for: one whose reserve failed (to release it, since the
 * store may have applied it), or one let through unmetered while the store fails.
 */
function windowless(core: EngineCore, id: string, userId: string, est: Estimate, unmetered: boolean): Reservation {
  const now = core.planner.estimatedNow();
  return Object.freeze({
    id,
    userId,
    account: core.planner.userConfig(userId).account,
    estimate: Object.freeze({ ...est }),
    createdAt: new Date(now),
    expiresAt: new Date(now + core.config.leaseMs),
    windows: Object.freeze([]),
    unmetered,
  });
}

function makeReservation(
  core: EngineCore,
  id: string,
  userId: string,
  est: Estimate,
  now: number,
  account: string | null,
  attempt: Attempt,
  windows: WindowState[],
): Reservation {
  const rules = attempt.account === undefined ? attempt.user.rules : [...attempt.user.rules, ...attempt.account.rules];
  const amounts = amountsFor(est, rules, false);
  return Object.freeze({
    id,
    userId,
    account,
    estimate: Object.freeze({ ...est }),
    createdAt: new Date(now),
    expiresAt: new Date(now + core.config.leaseMs),
    windows: Object.freeze(
      rules.map((rule, i) =>
        Object.freeze({
          scope: i < attempt.user.rules.length ? ('user' as const) : ('account' as const),
          ruleId: rule.id,
          metric: rule.metric,
          amount: toPublic(rule.metric, rule.storeMetric === 'tokens' ? amounts.tokens : rule.storeMetric === 'requests' ? amounts.requests : amounts.cost),
          periodStart: new Date(windows[i]!.start),
          resetAt: new Date(windows[i]!.end),
        }),
      ),
    ),
    unmetered: false,
  });
}

/** Whether `landing` settles within `ms` (never rejects; leaves no timer behind). */
async function landedWithin(landing: Promise<void>, ms: number): Promise<boolean> {
  if (ms <= 0) return false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([landing.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
