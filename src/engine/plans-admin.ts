import { InvalidArgumentError, PlanInUseError } from '../kernel/errors.js';
import type { AccountUsage, LimitRule, Plan, UserUsage } from '../kernel/types.js';
import { isPlainObject, parsePositiveInt, parseUserId, rejectUnknownKeys } from '../kernel/validate.js';
import { readableOf, usagesOf, type AdminDeps } from './admin-deps.js';
import { normalizeRules, serializeRules } from './rules.js';

/** Plans and accounts, under `limiter.admin`. */
export interface PlansAdmin {
  /**
   * Creates or replaces a plan. Every process applies the new rules within `planRefreshMs` (this
   * one at once); usage of rules whose id and period are unchanged is kept.
   */
  setPlan(planId: string, rules: LimitRule[]): Promise<Plan>;
  getPlan(planId: string): Promise<Plan | null>;
  /** Every plan in id order (by code point, as `listUsers`), with how many users and accounts are assigned to it. */
  listPlans(): Promise<Array<Plan & { users: number; accounts: number }>>;
  /** Deletes a plan; `PlanInUseError` (409) while users or accounts are assigned to it. */
  deletePlan(planId: string): Promise<void>;
  /** Assigns a plan to a user (null: none). A user's own rules (`setLimits`) still win over it. */
  assignPlan(userId: string, planId: string | null): Promise<void>;
  /**
   * Puts the user into an account (null: on their own); a user is in at most one account. Every
   * call is then checked against the user's rules and the account's, in one atomic operation. The
   * usage of the user's own rules moves with them; calls in flight are charged exactly once, to the
   * account they were reserved in.
   */
  setAccount(userId: string, accountId: string | null): Promise<void>;
  /** Replaces an account's own rules (null: its plan's, else none). */
  setAccountLimits(accountId: string, rules: LimitRule[] | null): Promise<void>;
  /** Assigns a plan to an account (null: none); the account's own rules still win over it. */
  assignAccountPlan(accountId: string, planId: string | null): Promise<void>;
  /** The account's windows (its members' calls together) and member count. */
  getAccountUsage(accountId: string): Promise<AccountUsage & { members: number }>;
  /** Members in id order, `limit` per page (default 50, at most 1000). One read per member listed. */
  listAccountMembers(accountId: string, options?: { cursor?: string; limit?: number }): Promise<{ members: UserUsage[]; cursor?: string }>;
  /**
   * Accounts in id order, `limit` per page (default 50, at most 1000). An account whose stored data
   * cannot be read is left out and reported (`store-error` with its `accountId`); a failing store
   * fails the page.
   */
  listAccounts(options?: { cursor?: string; limit?: number }): Promise<{ accounts: Array<AccountUsage & { members: number }>; cursor?: string }>;
}

export function createPlansAdmin(deps: AdminDeps): PlansAdmin {
  const { core } = deps;
  const store = core.config.store.admin;
  // `until`: the end of the admin call's time, from settle (see createAdmin).
  const call = <T>(operation: string, fn: () => Promise<T>, until?: number): Promise<T> => core.call(`admin.${operation}`, fn, until);
  const planOf = async (planId: string): Promise<Plan | null> => {
    await core.plans.refresh();
    const p = core.plans.get(planId);
    const unreadable = core.plans.unreadable(planId);
    if (unreadable) throw unreadable;
    return p ? { planId, version: p.version, rules: p.rules.map((r) => r.rule) } : null;
  };
  const existingPlan = async (value: unknown, parameter: string): Promise<string | null> => {
    if (value === null) return null;
    const planId = parseUserId(value, parameter);
    if (!(await planOf(planId))) throw new InvalidArgumentError(parameter, planId, 'no plan has this id (admin.setPlan creates one)');
    return planId;
  };
  const page = (options: unknown, parameter: string) => {
    if (options === undefined) return { limit: 50 };
    if (!isPlainObject(options)) throw new InvalidArgumentError(parameter, options, 'expected { cursor?, limit? }');
    rejectUnknownKeys(options, ['cursor', 'limit'], parameter);
    return {
      limit: options.limit === undefined ? 50 : parsePositiveInt(options.limit, `${parameter}.limit`, 1000),
      ...(options.cursor === undefined ? {} : { cursor: parseUserId(options.cursor, `${parameter}.cursor`) }),
    };
  };
  const accountUsage = async (accountId: string, until?: number): Promise<AccountUsage & { members: number }> => {
    const [usage, config] = await Promise.all([deps.accountUsage(accountId, until), call('getAccountUsage', () => store.getAccountConfig(accountId), until)]);
    return { ...usage, members: config.members };
  };

  return {
    async setPlan(id, rules) {
      const planId = parseUserId(id, 'planId');
      const normalized = normalizeRules(rules, 'rules');
      const version = await call('setPlan', () => store.setPlan(planId, serializeRules(normalized)));
      await core.plans.refresh();
      return { planId, version, rules: normalized.map((r) => r.rule) };
    },

    async getPlan(id) {
      return planOf(parseUserId(id, 'planId'));
    },

    async listPlans() {
      await core.plans.refresh();
      // A plan this version cannot read is left out (it has no rules to show) and reported, as
      // listUsers reports a user: an admin would otherwise see it vanish without a word.
      for (const [planId, error] of core.plans.unreadablePlans()) {
        core.events.emit('store-error', { operation: 'admin.listPlans', error, policy: 'deny', planId });
        core.config.logger?.warn?.('token-limits: admin.listPlans failed', { policy: 'deny', error: error.message, planId });
      }
      // By code point (the byte order of UTF-8), as users and accounts are listed: `<` compares
      // UTF-16 units, which put an id with a character above U+FFFF before one with U+E000-U+FFFF.
      return core.plans.all().sort((a, b) => Buffer.compare(Buffer.from(a.planId, 'utf8'), Buffer.from(b.planId, 'utf8'))).map((p) => ({ planId: p.planId, version: p.version, rules: p.rules.map((r) => r.rule), users: p.users, accounts: p.accounts }));
    },

    async deletePlan(id) {
      const planId = parseUserId(id, 'planId');
      if (!(await call('deletePlan', () => store.deletePlan(planId)))) {
        await core.plans.refresh();
        const p = core.plans.get(planId);
        throw new PlanInUseError(planId, p?.users ?? 0, p?.accounts ?? 0);
      }
      await core.plans.refresh();
    },

    async assignPlan(user, plan) {
      const userId = parseUserId(user);
      const planId = await existingPlan(plan, 'planId');
      await call('assignPlan', () => store.updateUser(userId, { plan: planId }));
      core.planner.forget(userId);
    },

    async setAccount(user, account) {
      const userId = parseUserId(user);
      const accountId = account === null ? null : parseUserId(account, 'accountId');
      const until = await deps.settle();
      await call('setAccount', () => store.setAccount(userId, accountId), until);
      // Its rules are read again at the next call; where it lives is known now (the releases and
      // renewals of its calls in flight follow it there).
      core.planner.forget(userId);
      core.planner.setHome(userId, accountId);
    },

    async setAccountLimits(account, rules) {
      const accountId = parseUserId(account, 'accountId');
      const normalized = rules === null ? null : normalizeRules(rules, 'rules');
      await core.plansReady();
      const stored = await call('setAccountLimits', () => store.getAccountConfig(accountId));
      // As for a user's rules: a rule that leaves (null: the account's plan's rules, else none
      // apply) loses its usage, so that setting it again later does not bring back what was spent.
      // The rules after null are worked out first: learnAccount keeps what it is given, and until
      // the store has the change, the members' calls must go on being planned with the stored rules.
      const after = normalized ?? core.planner.learnAccount(accountId, { ...stored, rules: null }).rules;
      const before = core.planner.learnAccount(accountId, stored).rules;
      const removed = before.filter((r) => !after.some((n) => n.id === r.id)).map((r) => r.id);
      await call('setAccountLimits', () => store.updateAccount(accountId, { rules: normalized === null ? null : serializeRules(normalized), removedRuleIds: removed }));
      core.planner.forgetAccount(accountId);
    },

    async assignAccountPlan(account, plan) {
      const accountId = parseUserId(account, 'accountId');
      const planId = await existingPlan(plan, 'planId');
      await call('assignAccountPlan', () => store.updateAccount(accountId, { plan: planId }));
      core.planner.forgetAccount(accountId);
    },

    async getAccountUsage(account) {
      const accountId = parseUserId(account, 'accountId');
      return accountUsage(accountId, await deps.settle());
    },

    async listAccountMembers(account, options) {
      const accountId = parseUserId(account, 'accountId');
      const q = page(options, 'options');
      const until = await deps.settle();
      const result = await call('listAccountMembers', () => store.listAccountMembers({ accountId, ...q }), until);
      // A member whose data cannot be read is left out and reported, as listUsers does.
      const members = await usagesOf(deps, 'listAccountMembers', result.userIds);
      return result.next === undefined ? { members } : { members, cursor: result.next };
    },

    async listAccounts(options) {
      const q = page(options, 'options');
      const until = await deps.settle();
      const result = await call('listAccounts', () => store.listAccounts(q), until);
      // An account whose stored data cannot be read is left out and reported (with its accountId),
      // as listUsers does for a user: one damaged account must not blank the whole page.
      const accounts = await readableOf(deps, 'listAccounts', result.accountIds, accountUsage, (accountId) => ({ accountId }));
      return result.next === undefined ? { accounts } : { accounts, cursor: result.next };
    },
  };
}
