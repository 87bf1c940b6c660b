import { InvalidArgumentError } from '../../kernel/errors.js';
import type { AccountChange, GlobalStats, ReadReply, RulesCommand, StoreAdmin, StoredConfig, UserChange } from '../protocol/types.js';
import { UserState, type MemoryData } from './data.js';
import type { ScopeState } from './scope-state.js';

/** Users whose refusals MemoryStore keeps at once (the least recently refused are forgotten). */
const MAX_REFUSAL_USERS = 10_000;

/** MemoryStore's reads and admin writes (see `StoreAdmin`). */
export function memoryAdmin(d: MemoryData, clock: () => number, touch: (userId: string, now: number) => UserState): StoreAdmin {
  const empty = (): StoredConfig => ({ version: 0, rules: null, anchor: null, plan: null });
  /**
   * A removed rule's window: its usage goes, what calls in flight hold on it stays while they hold
   * it (as on Redis: the rule added again must not start a fresh window their shares match).
   */
  const dropWindow = (scope: ScopeState, ruleId: string): void => {
    const w = scope.windows.get(ruleId);
    if (w && w.held > 0) {
      w.used = 0;
      w.alerts = 0;
    } else scope.windows.delete(ruleId);
  };
  /** A plan assigned must exist (see `UserChange.plan`); checked before anything is written. */
  const planExists = (plan: string | null | undefined): void => {
    if (typeof plan === 'string' && !d.plans.has(plan)) throw new InvalidArgumentError('planId', plan, 'no plan has this id (admin.setPlan creates one)');
  };
  // Refusals per user, newest last; bounded in users (oldest dropped) as well as per user.
  const refusals = new Map<string, Array<{ entry: string; expires: number }>>();
  // The version each deleted plan had: a plan created again under its id goes on from there (other
  // processes keep the rules they read for a version they hold), as on Redis.
  const deletedPlanVersions = new Map<string, number>();
  return {
    async recordRefusal(userId, entry, maxKept, ttlMs) {
      const now = clock();
      const list = (refusals.get(userId) ?? []).filter((r) => r.expires > now);
      list.push({ entry, expires: now + ttlMs });
      refusals.delete(userId);
      refusals.set(userId, list.slice(-maxKept));
      if (refusals.size > MAX_REFUSAL_USERS) refusals.delete(refusals.keys().next().value!);
    },

    async readRefusals(userId, limit) {
      const now = clock();
      return (refusals.get(userId) ?? []).filter((r) => r.expires > now).map((r) => r.entry).reverse().slice(0, limit);
    },

    async read(c: RulesCommand): Promise<ReadReply> {
      const now = c.now ?? clock();
      const user = d.users.get(c.userId);
      const home = user?.account ?? null;
      if (home !== c.home) return { type: 'moved', now, home };
      const config = user?.config() ?? d.emptyConfig(c.userId);
      if (config.version !== c.user.configVersion) return { type: 'stale', now, scope: 'user', config };
      const account = home === null ? undefined : d.accounts.get(home);
      if (home !== null && (account?.version ?? 0) !== (c.account?.configVersion ?? 0)) {
        return { type: 'stale', now, scope: 'account', config: account?.config() ?? empty() };
      }
      const state = user ?? new UserState(1);
      const picked = state.pick(c.user.rules, now);
      if (!Array.isArray(picked)) return { type: 'clock', now, at: picked.at };
      const accountState = account ?? new UserState(1);
      const accountRules = c.account?.rules ?? [];
      const pickedAccount = accountState.pick(accountRules, now);
      if (!Array.isArray(pickedAccount)) return { type: 'clock', now, at: pickedAccount.at };
      const windows = [...state.view(c.user.rules, picked, now), ...accountState.view(accountRules, pickedAccount, now)];
      return { type: 'ok', now, active: state.active, windows };
    },

    async getConfig(userId) {
      const user = d.users.get(userId);
      return { ...(user?.config() ?? d.emptyConfig(userId)), active: user?.active ?? true, exists: user !== undefined, account: user?.account ?? null };
    },

    async updateUser(userId: string, change: UserChange) {
      planExists(change.plan);
      const user = touch(userId, clock());
      let bump = false;
      if (change.rules !== undefined) {
        user.rules = change.rules;
        bump = true;
      }
      for (const id of change.removedRuleIds ?? []) dropWindow(user, id);
      if (change.anchor !== undefined && user.anchor === null) {
        user.anchor = change.anchor;
        bump = true;
      }
      if (change.plan !== undefined && change.plan !== user.plan) {
        user.plan = change.plan;
        bump = true;
      }
      if (change.active !== undefined) user.active = change.active;
      if (bump) user.version += 1;
      return user.version;
    },

    async setAccount(userId, to) {
      // Already there: nothing written (a user never seen is not listed, as on Redis).
      if ((d.users.get(userId)?.account ?? null) === to) return;
      const user = touch(userId, clock());
      if (user.account !== null) d.accounts.get(user.account)?.members.delete(userId);
      // Holds already made stay where they were made; their commits and releases name that account.
      user.account = to;
      if (to !== null) d.account(to, true)!.members.add(userId);
    },

    async readAccount(c) {
      const now = c.now ?? clock();
      const account = d.accounts.get(c.accountId);
      if ((account?.version ?? 0) !== c.configVersion) return { type: 'stale', now, scope: 'account', config: account?.config() ?? empty() };
      const state = account ?? new UserState(1);
      const picked = state.pick(c.rules, now);
      if (!Array.isArray(picked)) return { type: 'clock', now, at: picked.at };
      return { type: 'ok', now, windows: state.view(c.rules, picked, now) };
    },

    async getAccountConfig(accountId) {
      const account = d.accounts.get(accountId);
      return { ...(account?.config() ?? empty()), exists: account !== undefined, members: account?.members.size ?? 0 };
    },

    async updateAccount(accountId: string, change: AccountChange) {
      planExists(change.plan);
      const account = d.account(accountId, true)!;
      let bump = false;
      if (change.rules !== undefined) {
        account.rules = change.rules;
        bump = true;
      }
      for (const id of change.removedRuleIds ?? []) dropWindow(account, id);
      if (change.plan !== undefined && change.plan !== account.plan) {
        account.plan = change.plan;
        bump = true;
      }
      if (bump) account.version += 1;
      return account.version;
    },

    async listAccountMembers(q) {
      const members = d.accounts.get(q.accountId)?.members;
      return members ? members.page({ limit: q.limit, ...(q.cursor === undefined ? {} : { cursor: q.cursor }) }) : { userIds: [] };
    },

    async listAccounts(q) {
      const page = d.accountIds.page({ limit: q.limit, ...(q.cursor === undefined ? {} : { cursor: q.cursor }) });
      return page.next === undefined ? { accountIds: page.userIds } : { accountIds: page.userIds, next: page.next };
    },

    async setPlan(planId, rules) {
      const version = Math.max(d.plans.get(planId)?.version ?? 0, deletedPlanVersions.get(planId) ?? 0) + 1;
      d.plans.set(planId, { version, rules });
      return version;
    },

    async getPlans() {
      return [...d.plans].map(([planId, p]) => ({ planId, version: p.version, rules: p.rules, ...d.planUse(planId) }));
    },

    async deletePlan(planId) {
      const use = d.planUse(planId);
      if (use.users > 0 || use.accounts > 0) return false;
      const version = d.plans.get(planId)?.version;
      if (version !== undefined) deletedPlanVersions.set(planId, Math.max(version, deletedPlanVersions.get(planId) ?? 0));
      d.plans.delete(planId);
      return true;
    },

    async resetUsage(userId, ruleIds) {
      const user = d.users.get(userId);
      for (const id of ruleIds) {
        const w = user?.windows.get(id);
        if (w) {
          w.used = 0;
          w.alerts = 0;
        }
      }
    },

    async deleteUser(userId) {
      d.deleteUser(userId, true);
      refusals.delete(userId);
    },

    async listUsers(q) {
      return d.userIds.page(q);
    },

    async readLog(q) {
      const oldest = (q.now ?? clock()) - d.settings.logRetentionMs;
      if (q.userId === undefined) return d.globalLog.read(q, oldest);
      return d.users.get(q.userId)?.log.read(q, oldest) ?? [];
    },

    async readHistory(q) {
      const source = q.userId === undefined ? d.globalHistory : d.users.get(q.userId)?.history;
      return source ? source.read(q.from, q.to, q.granularity) : [];
    },

    async stats(now?: number): Promise<GlobalStats> {
      const month = new Date(now ?? clock()).toISOString().slice(0, 7);
      const active = d.activeMonth.month === month ? d.activeMonth.users.size : 0;
      return { totalTokens: d.totals.tokens, totalCost: d.totals.cost, activeUsers: active, users: d.userIds.size };
    },
  };
}
