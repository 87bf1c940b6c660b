import { afterAll, describe, expect, it } from 'vitest';
import { createTokenLimiter, MemoryStore, RedisStore, type LimitRule, type QuotaStore } from '../../src/index.js';
import { redisForThisFile, uniquePrefix } from '../helpers/redis.js';
import { deleteKeysWithPrefix } from '../support/redis-available.js';

// A process keeps the rules it read for a user's config version, and checks only the version on
// each call. deleteUser removed the config, so the user's next config started again at version 0
// and went through versions other processes had already seen: after a delete and two setLimits,
// another process applied the deleted user's old rules (a limit of 200 where the admin set 50).

const client = await redisForThisFile();
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await deleteKeysWithPrefix(client, `${p}:`);
});
const tokens = (n: number, id = 'main'): LimitRule => ({ id, tokens: n, period: 'month' });

/** Two stores of one quota state, for two limiters that stand for two processes. */
const kinds: Array<{ name: string; pair: () => [QuotaStore, QuotaStore] }> = [
  {
    name: 'MemoryStore',
    pair: () => {
      const store = new MemoryStore();
      return [store, store];
    },
  },
  {
    name: 'RedisStore',
    pair: () => {
      const prefix = uniquePrefix('admin-delete-recreate');
      prefixes.push(prefix);
      return [new RedisStore({ client, prefix }), new RedisStore({ client, prefix })];
    },
  },
];

for (const kind of kinds) {
  describe(`${kind.name}: rules set after deleteUser, seen from another process`, () => {
    for (const account of [null, 'acme']) {
      it(`applies the new rules, never the deleted user's (${account === null ? 'on their own' : 'in an account'})`, async () => {
        const [s1, s2] = kind.pair();
        const p1 = createTokenLimiter({ store: s1, defaultLimits: [tokens(1000)] });
        const p2 = createTokenLimiter({ store: s2, defaultLimits: [tokens(1000)] });
        if (account !== null) await p1.admin.setAccount('u', account);
        await p1.admin.setLimits('u', [tokens(100)]);
        await p1.admin.setLimits('u', [tokens(200)]);
        await p2.release(await p2.reserve('u', { tokens: 10 })); // p2 now holds the rules of that version
        await p1.admin.deleteUser('u');
        await p1.admin.setLimits('u', [tokens(5000)]);
        await p1.admin.setLimits('u', [tokens(50)]);
        await expect(p2.reserve('u', { tokens: 150 })).rejects.toMatchObject({ code: 'token_limit_exceeded', limit: 50 });
        await expect(p2.admin.getLimits('u')).resolves.toEqual([tokens(50)]);
        // Deleted again with nothing of their own: the defaults, everywhere.
        await p1.admin.deleteUser('u');
        await p2.release(await p2.reserve('u', { tokens: 900 }));
        expect(await p1.admin.getUsage('u')).toMatchObject({ limit: 1000, used: 0, plan: null, account: null });
        expect((await p1.admin.listUsers()).users).toEqual([]);
        await Promise.all([p1.close(), p2.close()]);
      });
    }
  });
}
