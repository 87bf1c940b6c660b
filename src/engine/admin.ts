import { InvalidArgumentError } from './errors.js';
import type { LimiterInternals } from './limiter.js';
import { needsAnchor } from './periods.js';
import { decodeRecord } from './records.js';
import { normalizeRules, serializeRules } from './rules.js';
import type { HistoryPoint, LimitRule, UsageRecord, UsageStats, UserUsage } from './types.js';
import { fromMicroUsd, isPlainObject, parseBoolean, parsePositiveInt, parseUserId, rejectUnknownKeys } from './validate.js';

/** Admin functions, under `limiter.admin`. */
export interface AdminApi {
  /** Replaces the user's rules; `null` returns the user to the default rules. Usage of rules kept is kept. */
  setLimits(userId: string, rules: LimitRule[] | null): Promise<void>;
  /** The user's rules (the defaults if the user has none of their own). */
  getLimits(userId: string): Promise<LimitRule[]>;
  /** Limit, current usage, period start, reset date and active flag; every rule under `windows`. */
  getUsage(userId: string): Promise<UserUsage>;
  /** Zeroes the used figure of one rule (or all) in the current period. Calls in flight still commit. */
  resetUsage(userId: string, ruleId?: string): Promise<void>;
  /** Enables or disables a user; a disabled user's calls throw `UserDisabledError`. */
  setActive(userId: string, active: boolean): Promise<void>;
  /** Users in id order, `limit` per page (default 50, at most 1000); pass the returned cursor for the next page. */
  listUsers(options?: { cursor?: string; limit?: number }): Promise<{ users: UserUsage[]; cursor?: string }>;
  /** Newest first; one user's or everyone's; `limit` default 100, at most 10,000. */
  getUsageLog(options?: { userId?: string; since?: DateInput; until?: DateInput; limit?: number }): Promise<UsageRecord[]>;
  /** Usage per hour or UTC day and per model, one user's or everyone's, in [from, to). */
  getUsageHistory(options: { userId?: string; from: DateInput; to: DateInput; granularity: 'hour' | 'day' }): Promise<HistoryPoint[]>;
  /** Totals since the store was created, active users this month, known users. */
  getStats(): Promise<UsageStats>;
  /** Deletes the user's rules, usage, holds and log. Aggregates over all users keep their past figures. */
  deleteUser(userId: string): Promise<void>;
  /**
   * Marks a detected loss of the store's data as handled (see the `store-reset` event): processes
   * with `onStoreReset: 'deny'` admit calls again at their next check. Reseed what matters first.
   * A no-op for stores without an epoch marker (MemoryStore).
   */
  acknowledgeStoreReset(): Promise<void>;
}

export type DateInput = Date | string | number;

const MAX_HISTORY_BUCKETS = 10_000;

export function createAdmin(limiter: LimiterInternals): AdminApi {
  const { store } = limiter.config;
  const call = <T>(operation: string, fn: () => Promise<T>): Promise<T> => limiter.call(`admin.${operation}`, fn);

  async function getUsage(userId: string): Promise<UserUsage> {
    const { active, windows } = await limiter.readWindows(userId);
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
    };
  }

  return {
    async setLimits(user, rules) {
      const userId = parseUserId(user);
      const normalized = rules === null ? null : normalizeRules(rules, 'rules');
      const current = await call('setLimits', () => store.getConfig(userId));
      const before = current.rules === null ? limiter.config.defaultRules : limiter.planner.learn(userId, current).rules;
      const after = normalized ?? limiter.config.defaultRules;
      const removed = before.filter((r) => !after.some((n) => n.id === r.id)).map((r) => r.id);
      // Rolling periods count from the user's period start date: start it now if there is none.
      const anchor =
        current.anchor === null && after.some((r) => needsAnchor(r.period) && r.period.kind !== 'calendar' && r.period.anchor === null)
          ? limiter.planner.estimatedNow()
          : undefined;
      await call('setLimits', () => store.setConfig(userId, normalized === null ? null : serializeRules(normalized), removed, anchor));
      limiter.planner.forget(userId);
    },

    async getLimits(user) {
      const userId = parseUserId(user);
      const stored = await call('getLimits', () => store.getConfig(userId));
      return limiter.planner.learn(userId, stored).rules.map((r) => r.rule);
    },

    async getUsage(user) {
      return getUsage(parseUserId(user));
    },

    async resetUsage(user, ruleId) {
      const userId = parseUserId(user);
      const stored = await call('resetUsage', () => store.getConfig(userId));
      const rules = limiter.planner.learn(userId, stored).rules;
      if (ruleId !== undefined && !rules.some((r) => r.id === ruleId)) {
        throw new InvalidArgumentError('ruleId', ruleId, `the user has no rule with this id (rules: ${rules.map((r) => r.id).join(', ')})`);
      }
      const ids = ruleId === undefined ? rules.map((r) => r.id) : [ruleId];
      await call('resetUsage', () => store.resetUsage(userId, ids));
    },

    async setActive(user, active) {
      const userId = parseUserId(user);
      const flag = parseBoolean(active, 'active');
      await call('setActive', () => store.setActive(userId, flag));
    },

    async listUsers(options = {}) {
      if (!isPlainObject(options)) throw new InvalidArgumentError('options', options, 'expected { cursor?, limit? }');
      rejectUnknownKeys(options, ['cursor', 'limit'], 'options');
      const limit = options.limit === undefined ? 50 : parsePositiveInt(options.limit, 'options.limit', 1000);
      const cursor = options.cursor === undefined ? undefined : parseUserId(options.cursor, 'options.cursor');
      const page = await call('listUsers', () => store.listUsers(cursor, limit));
      const users: UserUsage[] = [];
      for (let i = 0; i < page.userIds.length; i += 50) {
        users.push(...(await Promise.all(page.userIds.slice(i, i + 50).map((id) => getUsage(id)))));
      }
      return page.next === undefined ? { users } : { users, cursor: page.next };
    },

    async getUsageLog(options = {}) {
      if (!isPlainObject(options)) throw new InvalidArgumentError('options', options, 'expected { userId?, since?, until?, limit? }');
      rejectUnknownKeys(options, ['userId', 'since', 'until', 'limit'], 'options');
      const query: { userId?: string; since?: number; until?: number; limit: number } = {
        limit: options.limit === undefined ? 100 : parsePositiveInt(options.limit, 'options.limit', 10_000),
      };
      if (options.userId !== undefined) query.userId = parseUserId(options.userId, 'options.userId');
      if (options.since !== undefined) query.since = parseDate(options.since, 'options.since');
      if (options.until !== undefined) query.until = parseDate(options.until, 'options.until');
      const entries = await call('getUsageLog', () => store.readLog(query));
      return entries.map((e) => decodeRecord(e.record, e.timestamp)).filter((r): r is UsageRecord => r !== undefined);
    },

    async getUsageHistory(options) {
      if (!isPlainObject(options)) throw new InvalidArgumentError('options', options, 'expected { userId?, from, to, granularity }');
      rejectUnknownKeys(options, ['userId', 'from', 'to', 'granularity'], 'options');
      const { granularity } = options;
      if (granularity !== 'hour' && granularity !== 'day') {
        throw new InvalidArgumentError('options.granularity', granularity, "expected 'hour' or 'day'");
      }
      const step = granularity === 'hour' ? 3_600_000 : 86_400_000;
      const requestedFrom = parseDate(options.from, 'options.from');
      const from = Math.floor(requestedFrom / step) * step;
      const to = parseDate(options.to, 'options.to');
      if (to <= requestedFrom) throw new InvalidArgumentError('options.to', options.to, 'must be after options.from');
      if ((to - from) / step > MAX_HISTORY_BUCKETS) {
        throw new InvalidArgumentError('options.to', options.to, `the range holds more than ${MAX_HISTORY_BUCKETS} ${granularity}s`);
      }
      const query: { userId?: string; from: number; to: number } = { from, to };
      if (options.userId !== undefined) query.userId = parseUserId(options.userId, 'options.userId');
      const buckets = await call('getUsageHistory', () => store.readHistory(query));
      const points = new Map<string, HistoryPoint & { micro: number }>();
      for (const b of buckets) {
        const time = Math.floor(b.hour / step) * step;
        const key = `${time}\u0000${b.model}`;
        let p = points.get(key);
        if (!p) {
          p = { time: new Date(time), model: b.model, requests: 0, inputTokens: 0, outputTokens: 0, totalTokens: 0, costUsd: 0, micro: 0 };
          points.set(key, p);
        }
        p.requests += b.requests;
        p.inputTokens += b.inputTokens;
        p.outputTokens += b.outputTokens;
        p.totalTokens += b.inputTokens + b.outputTokens;
        p.micro += b.cost;
      }
      return [...points.values()]
        .map(({ micro, ...p }) => ({ ...p, costUsd: fromMicroUsd(micro) }))
        .sort((a, b) => a.time.getTime() - b.time.getTime() || (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
    },

    async getStats() {
      const s = await call('getStats', () => store.stats(limiter.planner.explicitNow()));
      return { totalTokens: s.totalTokens, totalCostUsd: fromMicroUsd(s.totalCost), activeUsers: s.activeUsers, users: s.users };
    },

    async deleteUser(user) {
      const userId = parseUserId(user);
      await call('deleteUser', () => store.deleteUser(userId, limiter.planner.explicitNow()));
      limiter.planner.forget(userId);
      limiter.forgetUser(userId);
    },

    async acknowledgeStoreReset() {
      await limiter.acknowledgeStoreReset();
    },
  };
}

function parseDate(value: unknown, parameter: string): number {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : typeof value === 'number' ? value : NaN;
  if (!Number.isFinite(ms) || ms < 0) throw new InvalidArgumentError(parameter, value, 'expected a Date, an ISO 8601 string or ms since epoch');
  return ms;
}
