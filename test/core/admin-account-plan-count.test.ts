import { describe, expect, it } from 'vitest';
import { createTokenLimiter, QuotaStoreError, RedisStore } from '../../src/index.js';
import { accountKeys } from '../../src/stores/redis/keys.js';
import { redisForThisFile, uniquePrefix } from '../helpers/redis.js';
import { deleteKeysWithPrefix } from '../support/redis-available.js';

// assignAccountPlan counts the account onto the plan before it writes the account: when that write
// failed (the store failed or timed out, an account key of the wrong type), the count stayed, so the
// plan showed one account more than it had and deletePlan refused it (PlanInUseError) for ever.
// assignPlan undoes its count on a failed write; assignAccountPlan now does too.

const client = await redisForThisFile();

describe('assignAccountPlan whose write fails', () => {
  it('leaves the plan counts as they were: listPlans agrees, deletePlan succeeds', async () => {
    const prefix = uniquePrefix('account-plan-count');
    const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix }) });
    limiter.on('store-error', () => {});
    await limiter.admin.setPlan('team', [{ id: 't', tokens: 1000, period: 'month' }]);
    await limiter.admin.setPlan('pro', [{ id: 'p', tokens: 5000, period: 'month' }]);
    await limiter.admin.assignAccountPlan('ok', 'pro');
    // An account whose config key is of the wrong type (hand-edited): its write fails.
    const broken = accountKeys(prefix, 'broken').config;
    await client.set(broken, 'hand-edited');
    await expect(limiter.admin.assignAccountPlan('broken', 'team')).rejects.toBeInstanceOf(QuotaStoreError);
    // Moving an account between plans that fails keeps both counts too.
    const ok = accountKeys(prefix, 'ok').config;
    const saved = await client.hgetall(ok);
    await client.del(ok);
    await client.set(ok, 'hand-edited');
    await expect(limiter.admin.assignAccountPlan('ok', 'team')).rejects.toBeInstanceOf(QuotaStoreError);
    await client.del(ok);
    await client.hset(ok, saved);

    expect((await limiter.admin.listPlans()).map((p) => [p.planId, p.users, p.accounts])).toEqual([
      ['pro', 0, 1],
      ['team', 0, 0],
    ]);
    await expect(limiter.admin.deletePlan('team')).resolves.toBeUndefined();
    await limiter.close();
    await deleteKeysWithPrefix(client, prefix);
  });
});
