import { describe, expect, it } from 'vitest';
import { createTokenLimiter, QuotaStoreError, RedisStore } from '../../src/index.js';
import { globalKeys } from '../../src/stores/redis/keys.js';
import { redisForThisFile, uniquePrefix } from '../helpers/redis.js';

/**
 * A plan the store holds that this process cannot read (a rule a newer version wrote, or a damaged
 * value) fails the calls of that plan's users only, by the store-error policy, and never the
 * calls of other plans' users.
 */
const client = await redisForThisFile();

describe('a plan this version cannot read', () => {
  it('refuses its own users’ calls with a clear error and leaves every other plan working', async () => {
    const prefix = uniquePrefix('plans');
    const first = createTokenLimiter({ store: new RedisStore({ client, prefix }) });
    await first.admin.setPlan('good', [{ id: 'g', tokens: 1000, period: 'month' }]);
    await first.admin.setPlan('newer', [{ id: 'n', tokens: 1000, period: 'month' }]);
    await first.admin.assignPlan('alice', 'good');
    await first.admin.assignPlan('bob', 'newer');
    await first.close();
    // The plan as a newer version could write it: a period this version does not know.
    const plans = globalKeys(prefix).plans;
    const stored = JSON.parse((await client.hget(plans, 'newer'))!) as { rules: string };
    stored.rules = JSON.stringify([{ id: 'n', tokens: 1000, period: 'fortnight' }]);
    await client.hset(plans, 'newer', JSON.stringify(stored));

    const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix }) });
    const errors: string[] = [];
    limiter.on('store-error', (e) => errors.push(e.error.message));
    const alice = await limiter.reserve('alice', { tokens: 10 });
    expect(alice.windows.map((w) => w.ruleId)).toEqual(['g']);
    await limiter.commit(alice, { inputTokens: 5, outputTokens: 5 });
    await expect(limiter.reserve('bob', { tokens: 10 })).rejects.toThrow(/plan "newer" that this version cannot read/);
    expect(errors).toEqual([expect.stringMatching(/plan "newer" that this version cannot read/)]);
    await expect(limiter.admin.getPlan('newer')).rejects.toBeInstanceOf(QuotaStoreError);
    const reported: Array<{ operation: string; planId?: string }> = [];
    limiter.on('store-error', (e) => reported.push({ operation: e.operation, ...(e.planId === undefined ? {} : { planId: e.planId }) }));
    expect((await limiter.admin.listPlans()).map((p) => p.planId)).toEqual(['good']);
    // Left out, and said so: an admin does not see it vanish without a word.
    expect(reported).toEqual([{ operation: 'admin.listPlans', planId: 'newer' }]);
    // As the default plan, it fails the calls of users without a plan of their own, rather than
    // letting the default limits stand in for it.
    const byDefault = createTokenLimiter({ store: new RedisStore({ client, prefix }), defaultPlan: 'newer' });
    await expect(byDefault.reserve('carol', { tokens: 10 })).rejects.toThrow(/plan "newer" that this version cannot read/);
    expect((await byDefault.reserve('alice', { tokens: 10 })).windows.map((w) => w.ruleId)).toEqual(['g']);
    await byDefault.close();
    // Saved again in a form this version reads, the plan is back for its users.
    await limiter.admin.setPlan('newer', [{ id: 'n', tokens: 1000, period: 'month' }]);
    expect((await limiter.reserve('bob', { tokens: 10 })).windows.map((w) => w.ruleId)).toEqual(['n']);
    await limiter.close();
    const keys = await client.keys(`${prefix}:*`);
    if (keys.length > 0) await client.del(...keys);
  });
});
