import { InvalidArgumentError } from '../../kernel/errors.js';
import type {
  AccountChange,
  AccountReadReply,
  GlobalStats,
  HistoryBucket,
  ReadReply,
  RulesCommand,
  StoreAdmin,
  StoredConfig,
  StoredLogEntry,
  StoredPlan,
  UserChange,
} from '../protocol/types.js';
import type { RedisContext } from './context.js';
import { configReply, decodeModel, ruleArgs, windowsOf } from './hot-path.js';
import { accountKeys, DAY_MS, HOUR_MS, monthName, monthsCovering, recentBuckets, userKeys, userTag } from './keys.js';
import { SCRIPTS } from './registry.js';
import { indexUser, SNAPSHOT_TTL_MS, userHomes } from './user-homes.js';
import { encodeArgs, READ_ACCOUNT_ARGS, READ_ARGS } from './schema.js';


/**
 * Rules text no version can read: what getPlans passes on for a plan entry that is not the
 * `{ v, rules }` set-plan writes (hand-edited, damaged), so that the engine reports that one plan as
 * unreadable (to its users only), as it does a plan whose rules it cannot decode.
 */
const UNREADABLE_PLAN_ENTRY = JSON.stringify('a plan entry in Redis that is not { v, rules } (hand-edited or damaged): admin.setPlan replaces it');

/**
 * A plan's entry in the plans hash. Parsed whole (JSON.parse) before, one damaged entry failed
 * every read of the plans, and with it every call of every user, on a plan or not.
 */
function planEntryOf(text: string): { version: number; rules: string } {
  let entry: unknown;
  try {
    entry = JSON.parse(text);
  } catch {
    return { version: 0, rules: UNREADABLE_PLAN_ENTRY };
  }
  const e = (typeof entry === 'object' && entry !== null ? entry : {}) as { v?: unknown; rules?: unknown };
  const version = typeof e.v === 'number' && Number.isSafeInteger(e.v) && e.v > 0 ? e.v : 0;
  return version > 0 && typeof e.rules === 'string' ? { version, rules: e.rules } : { version, rules: UNREADABLE_PLAN_ENTRY };
}

/** Reads and admin writes on Redis; never on a wrapped call's path. */
export function redisAdmin(ctx: RedisContext): StoreAdmin {
  const g = ctx.global;
  const homes = userHomes(ctx);
  const { homeOf, atHome, liveConfigAt } = homes;
  const index = (userId: string): Promise<unknown> => indexUser(ctx, userId);
  /** Keeps the plan-use counts: the new plan first (so a delete is refused meanwhile), the old one after. */
  const planUse = (planId: string, kind: 'u' | 'a', delta: 1 | -1): Promise<unknown> => ctx.run(SCRIPTS.planUse, [g.planUse, g.plans], [planId, kind, String(delta)]);
  /**
   * Counts the user or account onto the plan they are assigned, before writing it: refused, writing
   * nothing, when the plan no longer exists (deleted since the engine checked it).
   */
  const countOnto = async (planId: string, kind: 'u' | 'a'): Promise<void> => {
    if (Number(await planUse(planId, kind, 1)) < 0) throw new InvalidArgumentError('planId', planId, 'no plan has this id (admin.setPlan creates one)');
  };
  const changePayload = (change: UserChange | AccountChange): string =>
    JSON.stringify({
      ...(change.rules === undefined ? {} : { rules: change.rules }),
      ...(change.plan === undefined ? {} : { plan: change.plan }),
      removed: change.removedRuleIds ?? [],
      ...('anchor' in change && change.anchor !== undefined ? { anchor: change.anchor } : {}),
      ...('active' in change && change.active !== undefined ? { active: change.active } : {}),
    });

  return {
    async read(c: RulesCommand): Promise<ReadReply> {
      const k = userKeys(ctx.prefix, c.userId, c.home);
      const a = c.home === null ? undefined : accountKeys(ctx.prefix, c.home);
      const args = encodeArgs(READ_ARGS, {
        inAccount: a !== undefined,
        version: c.user.configVersion,
        accountVersion: c.account?.configVersion ?? 0,
        ...(c.now === undefined ? {} : { now: c.now }),
        rules: ruleArgs(c.user.rules),
        accountRules: ruleArgs(c.account?.rules ?? []),
      });
      const reply = await ctx.runArray(SCRIPTS.read, [k.config, k.windows, ...(a ? [a.config, a.windows] : [])], args);
      const now = ctx.learn(reply[1]);
      const count = c.user.rules.length + (c.account?.rules.length ?? 0);
      if (reply[0] === 'ok') return { type: 'ok', now, active: reply[2] === 1, windows: windowsOf(reply, 3, count) };
      return configReply(reply, now);
    },

    async readAccount(c): Promise<AccountReadReply> {
      const a = accountKeys(ctx.prefix, c.accountId);
      const args = encodeArgs(READ_ACCOUNT_ARGS, { version: c.configVersion, ...(c.now === undefined ? {} : { now: c.now }), rules: ruleArgs(c.rules) });
      const reply = await ctx.runArray(SCRIPTS.readAccount, [a.config, a.windows], args);
      const now = ctx.learn(reply[1]);
      if (reply[0] === 'ok') return { type: 'ok', now, windows: windowsOf(reply, 2, c.rules.length) };
      const config = configReply(reply, now);
      if (config.type === 'stale' || config.type === 'clock') return config;
      throw new Error(`Unexpected reply ${String(reply[0])} to an account read`);
    },

    async getConfig(userId) {
      // Not the config of a home the user is leaving or not in yet (a move under way): the rules
      // read there were not the user's, and writes based on them were wrong.
      return atHome(userId, 'getConfig', async (home) => {
        const { config, lives } = await liveConfigAt(userId, home);
        return lives ? config : undefined;
      });
    },

    async updateUser(userId: string, change: UserChange): Promise<number> {
      if (typeof change.plan === 'string') await countOnto(change.plan, 'u');
      let reply: unknown[];
      try {
        const payload = changePayload(change);
        reply = await atHome(userId, 'updateUser', async (home) => {
          const k = userKeys(ctx.prefix, userId, home);
          const r = await ctx.runArray(SCRIPTS.updateUser, [k.config, k.windows], [payload, home === null ? '0' : '1']);
          return r[0] === 'moved' ? undefined : r;
        });
      } catch (error) {
        if (typeof change.plan === 'string') await planUse(change.plan, 'u', -1).catch(() => {});
        throw error;
      }
      const [version, previous] = reply;
      // The same plan again: +1 above, -1 here (the script changed nothing).
      if (change.plan !== undefined && previous !== '') await planUse(String(previous), 'u', -1);
      await index(userId);
      return Number(version);
    },

    setAccount: (userId, to) => homes.setAccount(userId, to),

    async getAccountConfig(accountId) {
      const a = accountKeys(ctx.prefix, accountId);
      const [v, rules, plan, exists, members] = await ctx.runArray(SCRIPTS.getAccount, [a.config, a.members], []);
      const config: StoredConfig = { version: Number(v), rules: rules === '' ? null : String(rules), anchor: null, plan: plan === '' ? null : String(plan) };
      return { ...config, exists: exists === 1, members: Number(members) };
    },

    async updateAccount(accountId, change) {
      const a = accountKeys(ctx.prefix, accountId);
      if (typeof change.plan === 'string') await countOnto(change.plan, 'a');
      let reply: unknown[];
      try {
        reply = await ctx.runArray(SCRIPTS.updateAccount, [a.config, a.windows], [changePayload(change)]);
      } catch (error) {
        // As updateUser: the account was counted onto the plan before the write that failed. Left
        // counted, the plan showed an account it does not have and deletePlan refused it for ever.
        if (typeof change.plan === 'string') await planUse(change.plan, 'a', -1).catch(() => {});
        throw error;
      }
      const [version, previous] = reply;
      if (change.plan !== undefined && previous !== '') await planUse(String(previous), 'a', -1);
      await ctx.run(SCRIPTS.indexUser, [g.accounts], [accountId]);
      return Number(version);
    },

    async listAccountMembers(q) {
      const ids = (await ctx.run(SCRIPTS.listLex, [accountKeys(ctx.prefix, q.accountId).members], [q.cursor ?? '', String(q.limit + 1)])) as string[];
      const page = ids.slice(0, q.limit);
      return ids.length > q.limit ? { userIds: page, next: page.at(-1)! } : { userIds: page };
    },

    async listAccounts(q) {
      const ids = (await ctx.run(SCRIPTS.listLex, [g.accounts], [q.cursor ?? '', String(q.limit + 1)])) as string[];
      const page = ids.slice(0, q.limit);
      return ids.length > q.limit ? { accountIds: page, next: page.at(-1)! } : { accountIds: page };
    },

    async setPlan(planId, rules) {
      return Number(await ctx.run(SCRIPTS.setPlan, [g.plans, g.planUse], [planId, rules]));
    },

    async getPlans(): Promise<StoredPlan[]> {
      const [plans, uses] = (await ctx.runArray(SCRIPTS.getPlans, [g.plans, g.planUse], [])) as [string[], string[]];
      const counts = new Map<string, number>();
      for (let i = 0; i + 1 < uses.length; i += 2) counts.set(uses[i]!, Number(uses[i + 1]));
      const out: StoredPlan[] = [];
      for (let i = 0; i + 1 < plans.length; i += 2) {
        const planId = plans[i]!;
        const { version, rules } = planEntryOf(plans[i + 1]!);
        out.push({ planId, version, rules, users: counts.get(`${planId}|u`) ?? 0, accounts: counts.get(`${planId}|a`) ?? 0 });
      }
      return out;
    },

    async deletePlan(planId) {
      return (await ctx.run(SCRIPTS.deletePlan, [g.plans, g.planUse], [planId])) === 1;
    },

    async resetUsage(userId, ruleIds) {
      await atHome(userId, 'resetUsage', async (home) => {
        const k = userKeys(ctx.prefix, userId, home);
        const r = await ctx.run(SCRIPTS.resetUsage, [k.config, k.windows], [home === null ? '0' : '1', ...ruleIds]);
        return r === 'moved' ? undefined : true;
      });
    },

    // Under the move lock: a move runs several scripts on two homes, and a delete between two of
    // them was undone by the next (the user came back at the new home with their rules and usage).
    deleteUser: (userId, now) => homes.exclusive(userId, 'deleteUser', async () => {
      const home = await homeOf(userId);
      // A move that stopped after the user arrived in another account, before their pointer
      // followed: they live (and are a member) there, and the account left keeps a copy of their
      // config. Both are deleted; only the config where they live counts on their plan.
      const arrived = home === null ? undefined : await homes.arrivedBeyond(userId, home);
      // A move from the own home that stopped before the user arrived: their config (and plan) is
      // in the snapshot move-out left at the own home.
      const stranded = home !== null && arrived === undefined && (await homes.neverArrived(userId, home));
      const today = ctx.serverNow(now);
      const months = monthsCovering(today - ctx.settings.userHistoryRetentionMs - 31 * DAY_MS, today + 31 * DAY_MS);
      // The highest version the user's config had in an account: the own home's marker goes above it.
      let carried = 0;
      for (const at of home === null ? [null] : arrived === undefined ? [home, null] : [home, arrived, null]) {
        const k = userKeys(ctx.prefix, userId, at);
        const keys = [k.windows, k.log, k.snapshot, ...(at === null ? [k.refusals] : []), ...recentBuckets(today, ctx.settings.idempotencyTtlMs + 7 * DAY_MS).map(k.outcomes), ...months.map(k.historyMonth)];
        let plan: unknown;
        if (at === null) {
          plan = await ctx.run(SCRIPTS.deleteKeys, [k.config, ...keys], [String(carried), ...(stranded ? [String(keys.indexOf(k.snapshot) + 2)] : [])]);
        } else {
          const [named, version] = await ctx.runArray(SCRIPTS.deleteMember, [k.config, accountKeys(ctx.prefix, at).members, ...keys], [userId, String(SNAPSHOT_TTL_MS)]);
          plan = named;
          carried = Math.max(carried, Number(version) || 0);
        }
        // Only the delete that removed the config frees its plan: a repeat finds none.
        if (typeof plan === 'string' && plan !== '' && !(arrived !== undefined && at === home)) await planUse(plan, 'u', -1);
      }
      await ctx.run(SCRIPTS.unindexUser, [g.users, g.activeMonth(monthName(today))], [userId, userTag(userId)]);
    }),

    async listUsers(q) {
      const ids = (await ctx.run(SCRIPTS.listUsers, [g.users], [q.cursor ?? '', String(q.limit + 1), q.prefix ?? ''])) as string[];
      const page = ids.slice(0, q.limit);
      return ids.length > q.limit ? { userIds: page, next: page.at(-1)! } : { userIds: page };
    },

    async recordRefusal(userId, entry, maxKept, ttlMs) {
      await ctx.run(SCRIPTS.recordRefusal, [userKeys(ctx.prefix, userId).refusals], [entry, String(maxKept), String(ttlMs)]);
    },

    async readRefusals(userId, limit) {
      return (await ctx.run(SCRIPTS.readRefusals, [userKeys(ctx.prefix, userId).refusals], [String(limit)])) as string[];
    },

    async readLog(q): Promise<StoredLogEntry[]> {
      const key = q.userId === undefined ? g.log : userKeys(ctx.prefix, q.userId, await homeOf(q.userId)).log;
      // Records past the retention are dropped with the key or by length; never show them meanwhile.
      const oldest = ctx.serverNow(q.now) - ctx.settings.logRetentionMs;
      const since = Math.max(q.since ?? 0, oldest);
      const flat = (await ctx.run(SCRIPTS.readLog, [key], [q.until === undefined ? '+inf' : String(q.until), String(since), String(q.limit)])) as string[];
      const out: StoredLogEntry[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) out.push({ record: flat[i]!, timestamp: Number(flat[i + 1]) });
      return out;
    },

    async readHistory(q): Promise<HistoryBucket[]> {
      const keyOf = q.userId === undefined ? g.historyMonth : userKeys(ctx.prefix, q.userId, await homeOf(q.userId)).historyMonth;
      // The engine caps the range (31 days of hours, 366 of days): at most 13 month keys.
      const keys = monthsCovering(q.from - DAY_MS, q.to + DAY_MS).map(keyOf);
      const hashes = (await ctx.run(SCRIPTS.readHashes, keys, [])) as string[][];
      const step = q.granularity === 'hour' ? HOUR_MS : DAY_MS;
      const buckets = new Map<string, HistoryBucket>();
      for (const flat of hashes) {
        for (let i = 0; i + 1 < flat.length; i += 2) {
          const [hourText, model, metric] = flat[i]!.split('|');
          const hour = Number(hourText);
          if (!(hour >= q.from && hour < q.to) || model === undefined) continue;
          const time = hour - (hour % step);
          const key = `${time}|${model}`;
          let b = buckets.get(key);
          if (!b) {
            b = { time, model: decodeModel(model), requests: 0, inputTokens: 0, outputTokens: 0, cost: 0 };
            buckets.set(key, b);
          }
          const value = Number(flat[i + 1]);
          if (metric === 'r') b.requests += value;
          else if (metric === 'i') b.inputTokens += value;
          else if (metric === 'o') b.outputTokens += value;
          else if (metric === 'c') b.cost += value;
        }
      }
      return [...buckets.values()].sort((a, b) => a.time - b.time || (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
    },

    async stats(now): Promise<GlobalStats> {
      const [tokens, cost, active, users] = await ctx.runArray(SCRIPTS.stats, [g.totals, g.users, g.activeMonth(monthName(ctx.serverNow(now)))], []);
      return { totalTokens: Number(tokens), totalCost: Number(cost), activeUsers: Number(active), users: Number(users) };
    },
  };
}
