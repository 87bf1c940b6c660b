import { describe, expect, it } from 'vitest';
import { createTokenLimiter, type LimitRule } from '../../src/index.js';
import { bothStores } from '../helpers/both-stores.js';

// Which users the admin lists (listUsers, getStats().users): those with a commit or an admin write,
// on both stores. MemoryStore also listed users who only reserved (released, refused or still held),
// and listed a deleted user again when a call they had in flight was released.

const stores = await bothStores('admin-user-list');
const tokens = (n: number): LimitRule => ({ id: 'main', tokens: n, period: 'month' });

for (const store of stores) {
  describe(`${store.name}: the users an admin lists`, () => {
    it('lists users with a commit or an admin write, not those who only reserved', async () => {
      const limiter = createTokenLimiter({ store: store.create(), defaultLimits: [tokens(1000)] });
      await limiter.release(await limiter.reserve('released', { tokens: 10 }));
      await expect(limiter.reserve('refused', { tokens: 5000 })).rejects.toMatchObject({ code: 'token_limit_exceeded' });
      const held = await limiter.reserve('held', { tokens: 10 });
      await limiter.admin.setAccount('on-own', null);
      await limiter.admin.getUsage('read-only');
      await limiter.commit(await limiter.reserve('committed', { tokens: 10 }), { inputTokens: 5, outputTokens: 0 });
      await limiter.admin.setActive('disabled', false);
      expect((await limiter.admin.listUsers()).users.map((u) => u.userId)).toEqual(['committed', 'disabled']);
      expect(await limiter.admin.getStats()).toMatchObject({ users: 2, activeUsers: 1 });
      await limiter.release(held);
      await limiter.close();
    });

    it('does not list a deleted user again when a call they had in flight is released', async () => {
      const limiter = createTokenLimiter({ store: store.create(), defaultLimits: [tokens(1000)] });
      await limiter.commit(await limiter.reserve('gone', { tokens: 10 }), { inputTokens: 5, outputTokens: 0 });
      const inFlight = await limiter.reserve('gone', { tokens: 10 });
      await limiter.admin.deleteUser('gone');
      await limiter.release(inFlight);
      expect((await limiter.admin.listUsers()).users).toEqual([]);
      expect(await limiter.admin.getStats()).toMatchObject({ users: 0 });
      expect(await limiter.admin.getUsage('gone')).toMatchObject({ used: 0, reserved: 0 });
      await limiter.close();
    });
  });
}
