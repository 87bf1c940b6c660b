import { describe, expect, it } from 'vitest';
import { createTokenLimiter, QuotaStoreError, RedisStore } from '../../src/index.js';
import { globalKeys } from '../../src/stores/redis/keys.js';
import { redisForThisFile, uniquePrefix } from '../helpers/redis.js';
import { deleteKeysWithPrefix } from '../support/redis-available.js';

// One entry of RedisStore's plans hash that is not the { v, rules } JSON set-plan writes (hand-edited,
// damaged, written by a tool) failed every read of the plans: every call of every user, on that plan,
// another or none, failed with "The quota store failed on plans", and so did the admin functions.
// It is now one unreadable plan, as a plan whose rules cannot be decoded is: its users' calls fail,
// the others' go on, and admin.setPlan repairs it.

const client = await redisForThisFile();

describe('a damaged entry in the plans hash', () => {
  it.each([['not JSON', 'garbage'], ['JSON of another shape', '[1,2]'], ['no version', '{"rules":"[]"}'], ['rules not text', '{"v":3,"rules":[]}']])(
    '%s: fails only the calls of that plan\'s users, and setPlan repairs it',
    async (_name, entry) => {
      const prefix = uniquePrefix('damaged-plan');
      const first = createTokenLimiter({ store: new RedisStore({ client, prefix }), defaultLimits: [{ id: 'd', tokens: 100, period: 'month' }] });
      await first.admin.setPlan('good', [{ id: 'g', tokens: 1000, period: 'month' }]);
      await first.admin.setPlan('bad', [{ id: 'b', tokens: 1000, period: 'month' }]);
      await first.admin.assignPlan('alice', 'good');
      await first.admin.assignPlan('bob', 'bad');
      await first.close();
      await client.hset(globalKeys(prefix).plans, 'bad', entry);

      const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix }), defaultLimits: [{ id: 'd', tokens: 100, period: 'month' }] });
      limiter.on('store-error', () => {});
      const alice = await limiter.reserve('alice', { tokens: 10 });
      expect(alice.windows.map((w) => w.ruleId)).toEqual(['g']);
      await limiter.release(alice);
      const carol = await limiter.reserve('carol', { tokens: 10 });
      expect(carol.windows.map((w) => w.ruleId)).toEqual(['d']);
      await limiter.release(carol);
      await expect(limiter.reserve('bob', { tokens: 10 })).rejects.toThrow(/plan "bad" that this version cannot read/);
      await expect(limiter.admin.getPlan('bad')).rejects.toBeInstanceOf(QuotaStoreError);
      expect((await limiter.admin.listPlans()).map((p) => p.planId)).toEqual(['good']);
      expect((await limiter.admin.getUsage('alice')).plan).toBe('good');

      // An admin writes the plan again: its users' calls go on, under a version above any it had.
      const repaired = await limiter.admin.setPlan('bad', [{ id: 'b', tokens: 500, period: 'month' }]);
      expect(repaired.version).toBeGreaterThanOrEqual(entry.includes('"v":3') ? 4 : 1);
      const bob = await limiter.reserve('bob', { tokens: 10 });
      expect(bob.windows.map((w) => w.ruleId)).toEqual(['b']);
      await limiter.release(bob);
      expect((await limiter.admin.getUsage('bob')).limit).toBe(500);
      await limiter.close();
      await deleteKeysWithPrefix(client, prefix);
    },
  );
});
