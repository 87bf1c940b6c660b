import { describe, expect, it } from 'vitest';
import { createTokenLimiter, PlanInUseError, RedisStore, type LimitRule } from '../../src/index.js';
import { accountKeys, userKeys } from '../../src/stores/redis/keys.js';
import { SCRIPTS } from '../../src/stores/redis/registry.js';
import { redisForThisFile, uniquePrefix } from '../helpers/redis.js';

// deleteUser of a user whose move between accounts stopped after they arrived, before their own
// config's pointer followed (a process that died between move-in and the pointer). The user lives
// in the new account, but deleteUser deleted only at the account the pointer names: the user stayed
// a member of the new account, counted in its members, with their usage and plan there.

const client = await redisForThisFile();
const tokens = (n: number, id: string): LimitRule => ({ id, tokens: n, period: 'month' });

describe('RedisStore: deleteUser after a move that stopped before the pointer followed', () => {
  it('deletes the user where they arrived, and takes them off their plan once', async () => {
    const prefix = uniquePrefix('delete-half-moved');
    const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix }), defaultLimits: [tokens(1000, 'main')] });
    await limiter.admin.setPlan('p', [tokens(5000, 'own')]);
    await limiter.admin.assignPlan('u', 'p');
    await limiter.admin.assignPlan('v', 'p');
    await limiter.admin.setAccount('u', 'A');
    await limiter.commit(await limiter.reserve('u', { tokens: 10 }), { inputTokens: 10, outputTokens: 0 });
    // What a process that died after move-in (from A to X), before setting the pointer, leaves.
    const a = userKeys(prefix, 'u', 'A');
    const x = userKeys(prefix, 'u', 'X');
    const snapshot = (await client.eval(SCRIPTS.moveOut.source, 4, a.config, a.windows, a.snapshot, accountKeys(prefix, 'A').members, 'X', 'u', '86400000')) as string[];
    await client.eval(SCRIPTS.moveIn.source, 4, x.config, x.windows, x.snapshot, accountKeys(prefix, 'X').members, 'u', '86400000', ...snapshot);
    expect((await limiter.admin.listAccountMembers('X')).members.map((m) => m.userId)).toEqual(['u']);

    await limiter.admin.deleteUser('u');
    expect((await limiter.admin.listAccountMembers('X')).members).toEqual([]);
    expect(await limiter.admin.getAccountUsage('X')).toMatchObject({ members: 0 });
    expect(await limiter.admin.getAccountUsage('A')).toMatchObject({ members: 0 });
    // Only the marker that sends late calls on to the own home stays there.
    expect(await client.exists(x.windows)).toBe(0);
    expect(await client.hgetall(x.config)).toEqual({ moved: '' });
    expect(await limiter.admin.getUsage('u')).toMatchObject({ used: 0, plan: null, account: null });
    // v is still on the plan: deleting u took one assignment off it, not two.
    expect((await limiter.admin.listPlans()).map((p) => [p.planId, p.users])).toEqual([['p', 1]]);
    await expect(limiter.admin.deletePlan('p')).rejects.toBeInstanceOf(PlanInUseError);
    await limiter.close();
  });

  // A move from the own home that stopped after move-out: the own config was emptied, the user's
  // config (with their plan) is in the snapshot there, and they never arrived in the account. The
  // delete found no plan in either config, so the plan stayed counted and could never be deleted.
  it('takes a user whose move from their own home stopped before they arrived off their plan', async () => {
    const prefix = uniquePrefix('delete-stranded');
    const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix }), defaultLimits: [tokens(1000, 'main')] });
    await limiter.admin.setPlan('p', [tokens(5000, 'own')]);
    await limiter.admin.assignPlan('u', 'p');
    await limiter.admin.assignPlan('v', 'p');
    await limiter.admin.setAccount('w', 'A');
    await limiter.admin.assignPlan('w', 'p');
    // u: the first step of a move from the own home to X; w: of a move from A to X.
    const own = userKeys(prefix, 'u');
    await client.eval(SCRIPTS.moveOut.source, 3, own.config, own.windows, own.snapshot, 'X', 'u', '86400000');
    const a = userKeys(prefix, 'w', 'A');
    await client.eval(SCRIPTS.moveOut.source, 4, a.config, a.windows, a.snapshot, accountKeys(prefix, 'A').members, 'X', 'w', '86400000');
    expect((await limiter.admin.listPlans()).map((p) => [p.planId, p.users])).toEqual([['p', 3]]);

    await limiter.admin.deleteUser('u');
    await limiter.admin.deleteUser('w');
    await limiter.admin.deleteUser('u'); // a repeat takes nothing more off
    expect((await limiter.admin.listPlans()).map((p) => [p.planId, p.users])).toEqual([['p', 1]]);
    await limiter.admin.deleteUser('v');
    await expect(limiter.admin.deletePlan('p')).resolves.toBeUndefined();
    expect(await limiter.admin.getUsage('u')).toMatchObject({ plan: null, account: null, limit: 1000 });
    await limiter.close();
  });
});
