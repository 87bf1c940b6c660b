import { describe, expect, it } from 'vitest';
import { createTokenLimiter, MemoryStore, RedisStore, type LimitRule, type QuotaStore, type Reservation } from '../../src/index.js';
import { manualClock } from '../helpers/clock.js';
import { redisForThisFile, uniquePrefix } from '../helpers/redis.js';
import { deleteKeysWithPrefix } from '../support/redis-available.js';

// The same random sequence of calls and admin operations (rules, plans, accounts, resets, disabled
// users, deletions, time passing, calls held across all of them) on MemoryStore and RedisStore:
// after every step, every figure an admin reads must be the same on both.

const client = await redisForThisFile();
const T0 = Date.parse('2026-03-10T12:00:00.000Z');
const rule = (id: string, n: number, period: LimitRule['period'] = 'month'): LimitRule => ({ id, tokens: n, period });

async function trace(store: QuotaStore, seed: number): Promise<string[]> {
  let state = seed;
  const rnd = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const pick = <T>(values: readonly T[]): T => values[Math.floor(rnd() * values.length)]!;
  const clock = manualClock(T0);
  const limiter = createTokenLimiter({ store, clock: clock.now, defaultLimits: [rule('m', 1000)] });
  const users = ['a', 'b', '😀'];
  const held: Reservation[] = [];
  const take = () => held.splice(Math.floor(rnd() * held.length), 1)[0]!;
  const outcome = (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (e as { code?: string }).code ?? String(e));
  await limiter.admin.setPlan('p', [rule('m', 500), { id: 'r', requests: 3, period: 'day' }]);
  await limiter.admin.setPlan('q', [rule('q', 800)]);
  const out: string[] = [];
  for (let step = 0; step < 60; step += 1) {
    const u = pick(users);
    const op = Math.floor(rnd() * 14);
    let result = '';
    if (op <= 2) result = await outcome(limiter.reserve(u, { tokens: 1 + Math.floor(rnd() * 300) }).then((r) => held.push(r)));
    else if (op <= 4 && held.length > 0) result = await outcome(limiter.commit(take(), { inputTokens: Math.floor(rnd() * 200), outputTokens: 0 }));
    else if (op === 5 && held.length > 0) result = await outcome(limiter.release(take()));
    else if (op === 6) result = await outcome(limiter.admin.setLimits(u, rnd() < 0.5 ? null : [rule('m', 600 + Math.floor(rnd() * 3) * 100), ...(rnd() < 0.5 ? [rule('h', 200, 'hour')] : [])]));
    else if (op === 7) result = await outcome(limiter.admin.assignPlan(u, pick(['p', 'q', null])));
    else if (op === 8) result = await outcome(limiter.admin.setAccount(u, pick(['X', 'Y', null])));
    else if (op === 9) result = await outcome(limiter.admin.resetUsage(u, rnd() < 0.5 ? undefined : 'm'));
    else if (op === 10) result = await outcome(limiter.admin.setActive(u, rnd() < 0.7));
    else if (op === 11) result = rnd() < 0.3 ? await outcome(limiter.admin.deleteUser(u)) : 'kept';
    else if (op === 12) result = await outcome(limiter.admin.setAccountLimits(pick(['X', 'Y']), rnd() < 0.3 ? null : [rule('team', 700 + Math.floor(rnd() * 3) * 100)]));
    else if (op === 13) clock.advance(Math.floor(rnd() * 3 * 3_600_000));
    const seen: unknown[] = [];
    for (const id of users) {
      const usage = await limiter.admin.getUsage(id);
      seen.push([usage.isActive, usage.plan, usage.account?.accountId ?? null, usage.windows.map((w) => [w.rule.id, w.used, w.reserved])]);
    }
    for (const id of ['X', 'Y']) {
      const usage = await limiter.admin.getAccountUsage(id);
      seen.push([usage.members, usage.windows.map((w) => [w.rule.id, w.used, w.reserved])]);
    }
    seen.push((await limiter.admin.listUsers()).users.map((x) => x.userId));
    seen.push((await limiter.admin.listPlans()).map((p) => [p.planId, p.users, p.accounts]));
    seen.push(await limiter.admin.getStats());
    // As a set: records of one millisecond have no order of their own (Redis orders them by their text).
    seen.push((await limiter.admin.getUsageLog({ limit: 1000 })).map((r) => `${r.timestamp.getTime()} ${r.userId} ${r.totalTokens}`).sort());
    out.push(`step ${step}: op ${op} by ${u} -> ${result} ${JSON.stringify(seen)}`);
  }
  for (const r of held) await limiter.release(r).catch(() => {});
  await limiter.close();
  return out;
}

describe('MemoryStore and RedisStore agree on admin figures through calls and admin operations', () => {
  for (const seed of [1, 2, 3]) {
    it(`random sequence ${seed}`, async () => {
      const prefix = uniquePrefix('admin-agree');
      try {
        const memory = await trace(new MemoryStore(), seed);
        const redis = await trace(new RedisStore({ client, prefix }), seed);
        const first = memory.findIndex((line, i) => line !== redis[i]);
        expect(first === -1 ? null : { memory: memory[first], redis: redis[first] }).toBeNull();
      } finally {
        await deleteKeysWithPrefix(client, `${prefix}:`);
      }
    });
  }
});
