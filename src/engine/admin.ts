/**
 * `limiter.admin`: the user functions (rules, usage, reset, activity, deletion, listings, log,
 * refusals, history, export, totals) over the store's admin protocol, with plans and accounts
 * mixed in from plans-admin.ts. (Just over 300 lines: each function is a few lines of validation
 * and one store call, and the interface and its implementation are read side by side.)
 */
import { InvalidArgumentError } from '../kernel/errors.js';
import { ledgerErrors } from './store-call.js';
import { INSTANT_FORMS, parseInstant } from '../kernel/instant.js';
import { firstAnswerWithin, usagesOf, type AdminDeps } from './admin-deps.js';
import { needsAnchor } from './periods.js';
import { createPlansAdmin, type PlansAdmin } from './plans-admin.js';
import { decodeRecord } from './records.js';
import { normalizeRules, serializeRules } from './rules.js';
import { DEFAULTS } from '../kernel/defaults.js';
import type { HistoryPoint, LimitRule, RefusalRecord, UsageRecord, UsageStats, UserUsage } from '../kernel/types.js';
import { fromMicroUsd } from '../kernel/units.js';
import { isPlainObject, parseBoolean, parsePositiveInt, parseUserId, rejectUnknownKeys } from '../kernel/validate.js';

/** Admin functions, under `limiter.admin`: users, and (see `PlansAdmin`) plans and accounts. */
export interface AdminApi extends PlansAdmin {
  /**
   * Replaces the user's own rules (they win over any plan); `null` returns the user to their plan,
   * else the default plan or rules. Usage of rules whose id and period are kept is kept.
   */
  setLimits(userId: string, rules: LimitRule[] | null): Promise<void>;
  /** The rules in force for the user: their own, else their plan's, else the default plan's or rules. */
  getLimits(userId: string): Promise<LimitRule[]>;
  /** Limit, current usage, period start, reset date and active flag; every rule under `windows`. */
  getUsage(userId: string): Promise<UserUsage>;
  /** Zeroes the used figure of one rule (or all) in the current period. Calls in flight still commit. */
  resetUsage(userId: string, ruleId?: string): Promise<void>;
  /** Enables or disables a user; a disabled user's calls throw `UserDisabledError`. */
  setActive(userId: string, active: boolean): Promise<void>;
  /**
   * Users in id order, `limit` per page (default 50, at most 1000); pass the returned cursor for the
   * next page. `prefix`: only ids that start with it (a search box). One read per user listed.
   */
  listUsers(options?: { cursor?: string; limit?: number; prefix?: string }): Promise<{ users: UserUsage[]; cursor?: string }>;
  /**
   * Newest first; one user's or everyone's; `limit` default 100, at most 10,000. With a `ledger`,
   * a read reaching past the store's log retention (or asking for more records than the store
   * keeps: `usageLog.userMaxLength` of one user's, `usageLog.maxLength` of everyone's) is answered
   * by the ledger.
   */
  getUsageLog(options?: { userId?: string; since?: DateInput; until?: DateInput; limit?: number }): Promise<UsageRecord[]>;
  /**
   * The user's latest refused calls, newest first: the rule (and scope) that refused, or a disabled
   * user. Refusals are not usage: the log and the ledger never hold them. The store keeps the newest
   * 20 per user for 7 days (`limit`: at most 20, the default).
   */
  getRefusals(userId: string, options?: { limit?: number }): Promise<RefusalRecord[]>;
  /**
   * Usage per hour or UTC day and per model, one user's or everyone's, in [from, to). A read is
   * bounded: at most 31 days of hours or 366 days of days (`InvalidArgumentError` beyond), which the
   * stores serve from at most 2 or 13 monthly keys. With a `ledger`, a range starting before the
   * store's history retention is answered by the ledger.
   */
  getUsageHistory(options: { userId?: string; from: DateInput; to: DateInput; granularity: 'hour' | 'day' }): Promise<HistoryPoint[]>;
  /**
   * Every record of [from, to) (one user's, one account's, or everyone's), oldest first, as CSV with
   * a header line or JSON lines, read from the `ledger` page by page. Throws `InvalidArgumentError`
   * without a ledger, or for a bad range, before anything is read.
   */
  exportUsage(options: { userId?: string; accountId?: string; from: DateInput; to: DateInput; format: 'csv' | 'jsonl' }): AsyncIterable<string | Uint8Array>;
  /** Totals since the store was created, active users this month, known users. */
  getStats(): Promise<UsageStats>;
  /**
   * Deletes the user's rules, usage, holds, log, history and refusals, and takes them off their plan
   * and account. Aggregates over all users keep their past figures.
   */
  deleteUser(userId: string): Promise<void>;
  /**
   * Marks a detected loss of the store's data as handled (see the `store-reset` event): processes
   * with `onStoreReset: 'deny'` admit calls again at their next check. Reseed what matters first.
   * A no-op for stores without an epoch marker (MemoryStore).
   */
  acknowledgeStoreReset(): Promise<void>;
}

export type DateInput = Date | string | number;

/** The longest range of one history read, per granularity. */
export const MAX_HISTORY_DAYS = { hour: 31, day: 366 } as const;

/** What the admin functions use of the engine. */

function nowOf(core: AdminDeps['core']): number {
  return core.planner.explicitNow() ?? Date.now();
}

/**
 * Whether a log read needs records the store may no longer keep: older than its log retention, or
 * more records than the store keeps (per user, or of everyone: `usageLog.maxLength` may be set
 * below the 10,000 a read may ask for). The ledger (when configured) answers those.
 */
function beyondLogRetention(core: AdminDeps['core'], query: { userId?: string; since?: number; until?: number; limit: number }): boolean {
  const { settings } = core.config;
  const horizon = nowOf(core) - settings.logRetentionMs;
  if (query.since !== undefined && query.since < horizon) return true;
  if (query.until !== undefined && query.until < horizon) return true;
  return query.limit > (query.userId === undefined ? settings.logMaxLength : settings.userLogMaxLength);
}

export function createAdmin(deps: AdminDeps): AdminApi {
  const { core } = deps;
  const limiter = { config: core.config, planner: core.planner, settle: deps.settle };
  const { store } = core.config;
  // `until`: the end of the admin call's time, from settle (its waits and its first store operation
  // never add up past storeTimeoutMs when the store does not answer).
  const call = <T>(operation: string, fn: () => Promise<T>, until?: number): Promise<T> => core.call(`admin.${operation}`, fn, until);

  async function getUsage(userId: string): Promise<UserUsage> {
    return deps.userUsage(userId, await deps.settle());
  }

  return {
    ...createPlansAdmin(deps),
    async setLimits(user, rules) {
      const userId = parseUserId(user);
      const normalized = rules === null ? null : normalizeRules(rules, 'rules');
      await core.plansReady();
      const current = await call('setLimits', () => store.admin.getConfig(userId));
      limiter.planner.setHome(userId, current.account);
      const before = limiter.planner.learn(userId, current).rules;
      const after = normalized ?? limiter.planner.learn(userId, { ...current, rules: null }).rules;
      const removed = before.filter((r) => !after.some((n) => n.id === r.id)).map((r) => r.id);
      // Rolling periods count from the user's period start date: start it now if there is none.
      const startsPeriod = after.some((r) => needsAnchor(r.period) && r.period.kind !== 'calendar' && r.period.anchor === null);
      const change = {
        rules: normalized === null ? null : serializeRules(normalized),
        removedRuleIds: removed,
        ...(current.anchor === null && startsPeriod ? { anchor: limiter.planner.estimatedNow() } : {}),
      };
      await call('setLimits', () => store.admin.updateUser(userId, change));
      limiter.planner.forget(userId);
    },

    async getLimits(user) {
      const userId = parseUserId(user);
      await core.plansReady();
      const stored = await call('getLimits', () => store.admin.getConfig(userId));
      limiter.planner.setHome(userId, stored.account);
      return limiter.planner.learn(userId, stored).rules.map((r) => r.rule);
    },

    async getUsage(user) {
      return getUsage(parseUserId(user));
    },

    async resetUsage(user, ruleId) {
      const userId = parseUserId(user);
      await core.plansReady();
      const stored = await call('resetUsage', () => store.admin.getConfig(userId));
      const rules = limiter.planner.learn(userId, stored).rules;
      if (ruleId !== undefined && !rules.some((r) => r.id === ruleId)) {
        throw new InvalidArgumentError('ruleId', ruleId, `the user has no rule with this id (rules: ${rules.map((r) => r.id).join(', ')})`);
      }
      const ids = ruleId === undefined ? rules.map((r) => r.id) : [ruleId];
      const until = await limiter.settle();
      await call('resetUsage', () => store.admin.resetUsage(userId, ids), until);
    },

    async setActive(user, active) {
      const userId = parseUserId(user);
      const flag = parseBoolean(active, 'active');
      await call('setActive', () => store.admin.updateUser(userId, { active: flag }));
    },

    async listUsers(options = {}) {
      if (!isPlainObject(options)) throw new InvalidArgumentError('options', options, 'expected { cursor?, limit?, prefix? }');
      rejectUnknownKeys(options, ['cursor', 'limit', 'prefix'], 'options');
      const limit = options.limit === undefined ? 50 : parsePositiveInt(options.limit, 'options.limit', 1000);
      const query: { limit: number; cursor?: string; prefix?: string } = { limit };
      if (options.cursor !== undefined) query.cursor = parseUserId(options.cursor, 'options.cursor');
      if (options.prefix !== undefined && options.prefix !== '') query.prefix = parseUserId(options.prefix, 'options.prefix');
      // This process's commits first: on Redis they add a new user to the index with their batch.
      const until = await limiter.settle();
      const page = await call('listUsers', () => store.admin.listUsers(query), until);
      // Settled above: each user's read need not wait again. A user whose data cannot be read is
      // left out and reported (usagesOf), the rest of the page is listed.
      const users = await usagesOf(deps, 'listUsers', page.userIds);
      return page.next === undefined ? { users } : { users, cursor: page.next };
    },

    async getUsageLog(options = {}) {
      if (!isPlainObject(options)) throw new InvalidArgumentError('options', options, 'expected { userId?, since?, until?, limit? }');
      rejectUnknownKeys(options, ['userId', 'since', 'until', 'limit'], 'options');
      const now = limiter.planner.explicitNow();
      const query: { userId?: string; since?: number; until?: number; limit: number; now?: number } = {
        limit: options.limit === undefined ? 100 : parsePositiveInt(options.limit, 'options.limit', 10_000),
        ...(now === undefined ? {} : { now }),
      };
      if (options.userId !== undefined) query.userId = parseUserId(options.userId, 'options.userId');
      if (options.since !== undefined) query.since = parseDate(options.since, 'options.since');
      if (options.until !== undefined) query.until = parseDate(options.until, 'options.until');
      // An empty range is a mistake (the dates swapped), not a question with no answer. Both ends
      // are included: since == until asks for one instant.
      if (query.since !== undefined && query.until !== undefined && query.since > query.until) {
        throw new InvalidArgumentError('options.since', options.since, 'must not be after options.until (both are included)');
      }
      const ledger = core.config.ledger;
      const until = await limiter.settle();
      const fromStore = async () => {
        const entries = await call('getUsageLog', () => store.admin.readLog(query), until);
        return entries.map((e) => decodeRecord(e.record, e.timestamp)).filter((r): r is UsageRecord => r !== undefined);
      };
      if (ledger === undefined || !beyondLogRetention(core, query)) return fromStore();
      // The ledger holds what the store no longer keeps, but not yet the newest records (those
      // waiting to be drained: a fraction of a second, or the whole of a PostgreSQL outage): both
      // are read, and the store's records are kept beside the ledger's. A call just made was
      // missing from a log read the ledger answered. A store that fails leaves the ledger's answer
      // (as before, when the store was not read).
      const [recent, durable] = await Promise.all([
        fromStore().catch((): UsageRecord[] => []),
        call('getUsageLog', () => ledger.readLog({ ...(query.userId === undefined ? {} : { userId: query.userId }), ...(query.since === undefined ? {} : { since: query.since }), ...(query.until === undefined ? {} : { until: query.until }), limit: query.limit })),
      ]);
      return newestFirst(recent, durable, query.limit);
    },

    async getRefusals(userId, options = {}) {
      const id = parseUserId(userId, 'userId');
      if (!isPlainObject(options)) throw new InvalidArgumentError('options', options, 'expected { limit? }');
      rejectUnknownKeys(options, ['limit'], 'options');
      const limit = options.limit === undefined ? DEFAULTS.refusalsKept : parsePositiveInt(options.limit, 'options.limit', DEFAULTS.refusalsKept);
      const entries = await call('getRefusals', () => store.admin.readRefusals(id, limit));
      return entries.map((entry) => decodeRefusal(id, entry)).filter((r): r is RefusalRecord => r !== undefined);
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
      const maxDays = MAX_HISTORY_DAYS[granularity];
      if (to - from > maxDays * 86_400_000) {
        throw new InvalidArgumentError('options.to', options.to, `a history read by ${granularity} spans at most ${maxDays} days`);
      }
      const query: { userId?: string; from: number; to: number; granularity: 'hour' | 'day' } = { from, to, granularity };
      if (options.userId !== undefined) query.userId = parseUserId(options.userId, 'options.userId');
      const ledger = core.config.ledger;
      const retention = query.userId === undefined ? core.config.settings.globalHistoryRetentionMs : core.config.settings.userHistoryRetentionMs;
      if (ledger !== undefined && from < nowOf(core) - retention) return call('getUsageHistory', () => ledger.readHistory(query));
      const until = await limiter.settle();
      const buckets = await call('getUsageHistory', () => store.admin.readHistory(query), until);
      return buckets.map((b) => ({
        time: new Date(b.time),
        model: b.model,
        requests: b.requests,
        inputTokens: b.inputTokens,
        outputTokens: b.outputTokens,
        totalTokens: b.inputTokens + b.outputTokens,
        costUsd: fromMicroUsd(b.cost),
      }));
    },

    exportUsage(options) {
      const ledger = core.config.ledger;
      if (ledger === undefined) throw new InvalidArgumentError('ledger', undefined, 'exporting needs a ledger (option ledger of createTokenLimiter)');
      if (!isPlainObject(options)) throw new InvalidArgumentError('options', options, 'expected { userId?, accountId?, from, to, format }');
      rejectUnknownKeys(options, ['userId', 'accountId', 'from', 'to', 'format'], 'options');
      const from = parseDate(options.from, 'options.from');
      const to = parseDate(options.to, 'options.to');
      const rows = ledger.export({
        ...(options.userId === undefined ? {} : { userId: parseUserId(options.userId, 'options.userId') }),
        ...(options.accountId === undefined ? {} : { accountId: parseUserId(options.accountId, 'options.accountId') }),
        from,
        to,
        format: options.format,
      });
      // The reads up to the first record (or the end) have storeTimeoutMs each, as every other
      // ledger read (getUsageLog, getUsageHistory) has; later pages of a long export take their time.
      return ledgerErrors(firstAnswerWithin(rows, options.format === 'csv' ? 2 : 1, core.config.storeTimeoutMs, 'admin.exportUsage'), 'admin.exportUsage');
    },

    async getStats() {
      const until = await limiter.settle();
      const s = await call('getStats', () => store.admin.stats(limiter.planner.explicitNow()), until);
      return { totalTokens: s.totalTokens, totalCostUsd: fromMicroUsd(s.totalCost), activeUsers: s.activeUsers, users: s.users };
    },

    async deleteUser(user) {
      const userId = parseUserId(user);
      const until = await limiter.settle();
      await call('deleteUser', () => store.admin.deleteUser(userId, limiter.planner.explicitNow()), until);
      limiter.planner.forget(userId);
      core.epoch.forgetUser(userId);
    },

    async acknowledgeStoreReset() {
      await core.epoch.acknowledge();
    },
  };
}

/**
 * The newest `limit` of two log reads, each newest first, one record per id (the store's, when both
 * have it), in the ledger's order: by time, then by id, both descending.
 */
function newestFirst(recent: UsageRecord[], durable: UsageRecord[], limit: number): UsageRecord[] {
  const byId = new Map<string, UsageRecord>();
  for (const r of durable) byId.set(r.id, r);
  for (const r of recent) byId.set(r.id, r);
  const records = [...byId.values()].sort((a, b) => b.timestamp.getTime() - a.timestamp.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  return records.slice(0, limit);
}

/**
 * A Date, ms since the epoch, or text as parseInstant reads it: a date-time without its offset is
 * refused, where Date.parse read it in this server's time zone (as the HTTP API and the ledger refuse it).
 */
function parseDate(value: unknown, parameter: string): number {
  let ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : NaN;
  if (typeof value === 'string') {
    const read = parseInstant(value);
    if ('problem' in read) {
      const why = read.problem === 'no offset' ? 'a date-time needs its UTC offset (Z, or e.g. -03:00)' : `expected a Date, ms since the epoch, or ${INSTANT_FORMS}`;
      throw new InvalidArgumentError(parameter, value, why);
    }
    ms = read.ms;
  }
  // The instants the ledger holds and its own reads (ledger.query, export) accept: history
  // imported from before 1970 is read here as there (before, a negative time was refused here
  // only). Beyond them no record can be dated: a ledger was sent an invalid timestamp, and the
  // read failed as a store error.
  if (!Number.isFinite(ms) || ms < EARLIEST_DATE_MS || ms > LATEST_DATE_MS) {
    throw new InvalidArgumentError(parameter, value, `expected a Date, ms since the epoch (negative before 1970), or ${INSTANT_FORMS}, from 4714-11-24 BC to 275760-09-13`);
  }
  return ms;
}

/** The earliest instant PostgreSQL's timestamptz (the ledger's column) holds: 4714-11-24 BC, 00:00 UTC. */
const EARLIEST_DATE_MS = Date.UTC(-4713, 10, 24);
/** The latest instant a JavaScript Date holds (+275760-09-13T00:00:00Z). */
const LATEST_DATE_MS = 8.64e15;

/** A kept refusal back from the store; undefined when it is not one (never trusted blindly). */
function decodeRefusal(userId: string, entry: string): RefusalRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(entry);
  } catch {
    return undefined;
  }
  if (!isPlainObject(value)) return undefined;
  const v = value as Record<string, unknown>;
  const text = (x: unknown) => (typeof x === 'string' ? x : null);
  if (typeof v.t !== 'number' || !Number.isFinite(v.t) || (v.reason !== 'limit' && v.reason !== 'disabled')) return undefined;
  const metric = v.metric === 'tokens' || v.metric === 'requests' || v.metric === 'costUsd' ? v.metric : null;
  const scope = v.scope === 'user' || v.scope === 'account' ? v.scope : null;
  const requested = typeof v.requested === 'number' && Number.isFinite(v.requested) && v.requested >= 0 ? v.requested : 0;
  return {
    userId,
    timestamp: new Date(v.t),
    reason: v.reason,
    ruleId: text(v.ruleId),
    scope,
    accountId: text(v.accountId),
    metric,
    requested,
    model: text(v.model),
    provider: text(v.provider),
  };
}
