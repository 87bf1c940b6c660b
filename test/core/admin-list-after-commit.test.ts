import { describe, expect, it } from 'vitest';
import { createTokenLimiter } from '../../src/index.js';
import { bothStores } from '../helpers/both-stores.js';

// The admin reads wait for this process's own commits (docs/admin.md). listUsers read the index of
// users before them: on Redis a user's first commit adds them to it with its batch of everyone's
// figures, so a user who had just made their first call was missing from the list.

const stores = await bothStores('admin-list-after-commit');

for (const store of stores) {
  describe(`${store.name}: listUsers after a first call`, () => {
    it("lists a user whose first call this process just committed, and counts them in getStats", async () => {
      const limiter = createTokenLimiter({ store: store.create() });
      for (const id of ['new-1', 'new-2', 'new-3']) {
        await limiter.commit(await limiter.reserve(id, { tokens: 10 }), { inputTokens: 7, outputTokens: 0 });
        expect((await limiter.admin.listUsers({ prefix: id })).users.map((u) => [u.userId, u.used])).toEqual([[id, 7]]);
      }
      expect(await limiter.admin.getStats()).toMatchObject({ users: 3, activeUsers: 3, totalTokens: 21 });
      await limiter.close();
    });
  });
}
