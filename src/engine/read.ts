import { QuotaStoreError } from '../kernel/errors.js';
import { toMicroUsd } from '../kernel/units.js';
import type { AccountUsage, Estimate, QuotaDecision, UserUsage, WindowUsage } from '../kernel/types.js';
import type { WindowState } from '../stores/protocol/types.js';
import { followRetry, MAX_ATTEMPTS, type EngineCore } from './core.js';
import { amountsFor, toPublic } from './estimate.js';
import type { AccountConfig, ScopeConfig, UserConfig } from './planner.js';
import type { NormalizedRule } from './rules.js';

/** A user's windows (and their account's), as the store has them now. */
export interface UserWindows {
  active: boolean;
  config: UserConfig;
  windows: WindowUsage[];
  account: { config: AccountConfig; windows: WindowUsage[] } | undefined;
}

/**
 * Reads a user's windows without writing; retries on stale rules, clock, and moves. The wait for
 * this process's own writes of the user and for a move end `storeTimeoutMs` after the read's start,
 * or by `until` (an admin call whose wait for this process's writes went unanswered passes the end
 * of its time); so does the read itself then, or when a store operation went unanswered since the
 * read began (the store is down: the waits must not add up). A read of the plans waits a quarter of
 * `storeTimeoutMs` at most, beside.
 */
export async function readWindows(core: EngineCore, userId: string, until?: number): Promise<UserWindows> {
  const start = Date.now();
  const bound = until ?? start + core.config.storeTimeoutMs;
  // What this process committed for the user before (writes start after their caller's turn).
  const landing = core.committer.writesOf(userId);
  if (landing) await settledBy(landing, bound);
  await core.plansReady();
  let at: number | undefined;
  const plans = { read: false };
  const visited = new Set<string | null>();
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    let config = core.planner.userConfig(userId);
    if (config.unreadablePlan) config = await core.configOf(userId);
    visited.add(config.account);
    if (await core.readPlansFor(plans, config, core.accountOf(config))) continue;
    // A user without an anchor has not started a rolling period: show one starting now.
    const view = core.planner.needsUserAnchor(config) ? withAnchor(config, core.planner.estimatedNow()) : config;
    const accountConfig = core.accountOf(config);
    const user = core.scopePlan(view, at);
    const account = accountConfig ? core.scopePlan(accountConfig, at) : undefined;
    const sentAt = Date.now();
    const reply = await core.call(
      'read',
      () =>
        core.config.store.admin.read({
          userId,
          home: config.account,
          user: { configVersion: config.version, rules: user.specs },
          ...(accountConfig && account ? { account: { configVersion: accountConfig.version, rules: account.specs } } : {}),
          ...core.now(),
        }),
      // A retry follows a reply (the store answers): its own time, as a reserve's.
      attempt === 0 && (until !== undefined || core.noAnswerAt >= start) ? bound : undefined,
    );
    core.planner.observe(reply.now, sentAt, Date.now());
    switch (reply.type) {
      case 'stale':
      case 'clock':
      case 'moved':
      case 'moving':
        at = await followRetry(core, 'read', userId, config.account, reply, visited, attempt, at, bound);
        continue;
      case 'ok': {
        const n = user.rules.length;
        return {
          active: reply.active,
          config,
          windows: reply.windows.slice(0, n).map((w, i) => windowUsage(user.rules[i]!, w)),
          account: accountConfig && account ? { config: accountConfig, windows: reply.windows.slice(n).map((w, i) => windowUsage(account.rules[i]!, w)) } : undefined,
        };
      }
    }
  }
  throw new QuotaStoreError('read', 'The store kept reporting a changed configuration, clock or home');
}

/** Waits for `landing` (never rejects) until `until` at the latest. */
async function settledBy(landing: Promise<void>, until: number): Promise<void> {
  const ms = until - Date.now();
  if (ms <= 0) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([landing, late]);
  } finally {
    clearTimeout(timer);
  }
}

export async function userUsage(core: EngineCore, userId: string, until?: number): Promise<UserUsage> {
  const { active, config, windows, account } = await readWindows(core, userId, until);
  const first = windows[0]!;
  return {
    userId,
    isActive: active,
    limit: first.limit,
    used: first.used,
    reserved: first.reserved,
    remaining: first.remaining,
    periodStart: first.periodStart,
    resetAt: first.resetAt,
    windows,
    plan: planOf(config),
    account: account ? { accountId: account.config.accountId, plan: planOf(account.config), windows: account.windows } : null,
  };
}

/** An account's windows: the members' calls together. */
export async function accountUsage(core: EngineCore, accountId: string, until?: number): Promise<AccountUsage> {
  await core.plansReady();
  let at: number | undefined;
  const plans = { read: false };
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    const config = core.planner.accountConfig(accountId);
    if (await core.readPlansFor(plans, config)) continue;
    const plan = core.scopePlan(config, at);
    const reply = await core.call(
      'read',
      () => core.config.store.admin.readAccount({ accountId, configVersion: config.version, rules: plan.specs, ...core.now() }),
      attempt === 0 ? until : undefined,
    );
    if (reply.type === 'stale') {
      core.planner.learnAccount(accountId, reply.config);
      at = undefined;
    } else if (reply.type === 'clock') at = reply.at;
    else return { accountId, plan: planOf(config), windows: reply.windows.map((w, i) => windowUsage(plan.rules[i]!, w)) };
  }
  throw new QuotaStoreError('read', 'The store kept reporting a changed configuration or clock');
}

/** Would a call of this size be admitted now? Never throws for quota or store reasons. */
export async function check(core: EngineCore, userId: string, est: Estimate): Promise<QuotaDecision> {
  let read: UserWindows;
  try {
    read = await readWindows(core, userId);
  } catch (error) {
    if (!(error instanceof QuotaStoreError)) throw error;
    // As a reserve would be answered: let through only within what is left of the fail-open budget.
    const allowed = core.config.onStoreError === 'allow' && core.outage.wouldAllow(est.tokens);
    core.outage.failed();
    core.storeError('check', error, allowed ? 'allow' : 'deny', userId);
    return { allowed, reason: 'store_unavailable', windows: [] };
  }
  const account: Pick<QuotaDecision, 'account'> = read.account
    ? { account: { accountId: read.account.config.accountId, plan: planOf(read.account.config), windows: read.account.windows } }
    : {};
  if (!read.active) return { allowed: false, reason: 'user_disabled', windows: read.windows, ...account };
  const amounts = amountsFor(est, [], false);
  const call = { model: est.model, provider: est.provider };
  const scopes: Array<['user' | 'account', ScopeConfig, WindowUsage[]]> = [['user', read.config, read.windows]];
  if (read.account) scopes.push(['account', read.account.config, read.account.windows]);
  // As a refused reserve does: of the rules that would refuse, the one that frees up last, or one the call can never fit.
  let refusal: { scope: 'user' | 'account'; ruleId: string; requested: number; resetAt: number; never: boolean } | undefined;
  for (const [scope, config, windows] of scopes) {
    for (const [i, w] of windows.entries()) {
      const rule = config.rules[i]!;
      if (rule.filtered && !rule.matches(call)) continue;
      const amount = rule.storeMetric === 'tokens' ? amounts.tokens : rule.storeMetric === 'requests' ? amounts.requests : amounts.cost;
      const requested = toPublic(rule.metric, amount);
      // In store units, as the store decides: dollars added as floats refused what fits to the
      // micro-dollar ($0.1 used + $0.2 held + $0.3 asked came to more than a $0.6 limit).
      const units = (v: number): number => (rule.storeMetric === 'cost' ? toMicroUsd(v) : v);
      if (units(w.used) + units(w.reserved) + amount > rule.limit) {
        const found = { scope, ruleId: rule.id, requested, resetAt: w.resetAt.getTime(), never: amount > rule.limit };
        if (!refusal || (!refusal.never && (found.never || found.resetAt > refusal.resetAt))) refusal = found;
      }
    }
  }
  if (refusal) {
    const { scope, ruleId, requested } = refusal;
    const accountId = scope === 'account' ? { accountId: read.account!.config.accountId } : {};
    return { allowed: false, reason: 'limit_exceeded', scope, ...accountId, ruleId, requested, windows: read.windows, ...account };
  }
  return { allowed: true, windows: read.windows, ...account };
}

function planOf(config: ScopeConfig): string | null {
  return config.rulesPlan;
}

/** A user's config as if its period had started at `anchor` (for reads of a user who has none yet). */
function withAnchor(config: UserConfig, anchor: number): UserConfig {
  const { cache: _cache, ...rest } = config;
  return { ...rest, anchor };
}

function windowUsage(rule: NormalizedRule, w: WindowState): WindowUsage {
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
