import type { GlobalStats, HistoryBucket, ReadReply, RulesCommand, StoreAdmin, StoredLogEntry, UserChange } from '../protocol/types.js';
import type { RedisContext } from './context.js';
import { DAY_MS, HOUR_MS, monthName, monthsCovering, recentBuckets, userKeys } from './keys.js';
import { configReply, decodeModel, ruleArgs, windowsOf } from './hot-path.js';
import { SCRIPTS } from './registry.js';
import { encodeArgs, READ_ARGS } from './schema.js';

/** Reads and admin writes on Redis; never on a wrapped call's path. */
export function redisAdmin(ctx: RedisContext): StoreAdmin {
  const index = (userId: string): Promise<unknown> => ctx.run(SCRIPTS.indexUser, [ctx.global.users], [userId]);
  return {
    async read(c: RulesCommand): Promise<ReadReply> {
      const k = userKeys(ctx.prefix, c.userId);
      const args = encodeArgs(READ_ARGS, { version: c.configVersion, ...(c.now === undefined ? {} : { now: c.now }), rules: ruleArgs(c.rules) });
      const reply = await ctx.runArray(SCRIPTS.read, [k.config, k.windows], args);
      const now = ctx.learn(reply[1]);
      if (reply[0] === 'ok') return { type: 'ok', now, active: reply[2] === 1, windows: windowsOf(reply, 3, c.rules.length) };
      return configReply(reply, now);
    },

    async getConfig(userId) {
      const k = userKeys(ctx.prefix, userId);
      const [v, rules, anchor, active, exists] = await ctx.runArray(SCRIPTS.getConfig, [k.config, k.windows], []);
      return {
        version: Number(v),
        rules: rules === '' ? null : String(rules),
        anchor: anchor === '' ? null : Number(anchor),
        active: active === 1,
        exists: exists === 1,
      };
    },

    async updateUser(userId: string, change: UserChange): Promise<number> {
      const k = userKeys(ctx.prefix, userId);
      const payload = {
        ...(change.rules === undefined ? {} : { rules: change.rules }),
        removed: change.removedRuleIds ?? [],
        ...(change.anchor === undefined ? {} : { anchor: change.anchor }),
        ...(change.active === undefined ? {} : { active: change.active }),
      };
      const version = await ctx.run(SCRIPTS.updateUser, [k.config, k.windows], [JSON.stringify(payload)]);
      await index(userId);
      return Number(version);
    },

    async resetUsage(userId, ruleIds) {
      await ctx.run(SCRIPTS.resetUsage, [userKeys(ctx.prefix, userId).windows], [...ruleIds]);
    },

    async deleteUser(userId, now) {
      const k = userKeys(ctx.prefix, userId);
      const today = ctx.serverNow(now);
      const months = monthsCovering(today - ctx.settings.userHistoryRetentionMs - 31 * DAY_MS, today + 31 * DAY_MS);
      const buckets = recentBuckets(today, ctx.settings.idempotencyTtlMs + 7 * DAY_MS).map(k.outcomes);
      await ctx.run(SCRIPTS.deleteKeys, [k.config, k.windows, k.log, ...buckets, ...months.map(k.historyMonth)], []);
      await ctx.run(SCRIPTS.unindexUser, [ctx.global.users, ctx.global.activeMonth(monthName(today))], [userId, k.tag]);
    },

    async listUsers(q) {
      const ids = (await ctx.run(SCRIPTS.listUsers, [ctx.global.users], [q.cursor ?? '', String(q.limit + 1), q.prefix ?? ''])) as string[];
      const page = ids.slice(0, q.limit);
      return ids.length > q.limit ? { userIds: page, next: page.at(-1)! } : { userIds: page };
    },

    async readLog(q): Promise<StoredLogEntry[]> {
      const key = q.userId === undefined ? ctx.global.log : userKeys(ctx.prefix, q.userId).log;
      // Records past the retention are dropped with the key or by length; never show them meanwhile.
      const oldest = ctx.serverNow(q.now) - ctx.settings.logRetentionMs;
      const since = Math.max(q.since ?? 0, oldest);
      const flat = (await ctx.run(SCRIPTS.readLog, [key], [q.until === undefined ? '+inf' : String(q.until), String(since), String(q.limit)])) as string[];
      const out: StoredLogEntry[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) out.push({ record: flat[i]!, timestamp: Number(flat[i + 1]) });
      return out;
    },

    async readHistory(q): Promise<HistoryBucket[]> {
      const keyOf = q.userId === undefined ? ctx.global.historyMonth : userKeys(ctx.prefix, q.userId).historyMonth;
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
      const g = ctx.global;
      const [tokens, cost, active, users] = await ctx.runArray(SCRIPTS.stats, [g.totals, g.users, g.activeMonth(monthName(ctx.serverNow(now)))], []);
      return { totalTokens: Number(tokens), totalCost: Number(cost), activeUsers: Number(active), users: Number(users) };
    },
  };
}
