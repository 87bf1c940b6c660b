import { describe, expect, it } from 'vitest';
import { createTokenLimiter, MemoryStore, QuotaStoreError, RedisStore, type LimitRule, type QuotaStore, type StoreErrorEvent } from '../../src/index.js';
import { userKeys } from '../../src/stores/redis/keys.js';
import { redisForThisFile, uniquePrefix } from '../helpers/redis.js';
import { deleteKeysWithPrefix } from '../support/redis-available.js';

// One user whose stored data this version cannot read (a hand-edited or damaged value) failed
// listUsers (and listAccountMembers) as a whole: an admin dashboard showed no user at all. The
// page now lists every other user and reports the unreadable one as a failed read.

const client = await redisForThisFile();
const rule = (n: number): LimitRule => ({ id: 'm', tokens: n, period: 'month' });

function limiterOn(store: QuotaStore) {
  const limiter = createTokenLimiter({ store, defaultLimits: [rule(100)] });
  const errors: StoreErrorEvent[] = [];
  limiter.on('store-error', (e) => errors.push(e));
  return { limiter, errors };
}

describe('listUsers with one user whose stored data cannot be read', () => {
  it('RedisStore: lists every other user and reports each unreadable one (damaged JSON, newer rules, wrong key type)', async () => {
    const prefix = uniquePrefix('admin-unreadable');
    const { limiter, errors } = limiterOn(new RedisStore({ client, prefix }));
    for (const u of ['a', 'b', 'c', 'd', 'e']) await limiter.admin.setLimits(u, [rule(50)]);
    for (const u of ['c', 'd', 'e']) await limiter.admin.setAccount(u, 'X');
    // A fresh process: nothing cached of what the store held before.
    const fresh = limiterOn(new RedisStore({ client, prefix }));
    await client.hset(userKeys(prefix, 'b').config, 'r', '{not json');
    await client.hset(userKeys(prefix, 'c', 'X').config, 'r', JSON.stringify([{ id: 'm', tokens: 5, period: 'fortnight' }]));
    const d = userKeys(prefix, 'd', 'X').config;
    await client.del(d);
    await client.set(d, 'hand-edited');

    const page = await fresh.limiter.admin.listUsers();
    expect(page.users.map((u) => [u.userId, u.limit])).toEqual([['a', 50], ['e', 50]]);
    expect(fresh.errors.map((e) => [e.operation, e.userId, e.policy, e.error instanceof QuotaStoreError])).toEqual([
      ['admin.listUsers', 'b', 'deny', true],
      ['admin.listUsers', 'c', 'deny', true],
      ['admin.listUsers', 'd', 'deny', true],
    ]);
    const members = await fresh.limiter.admin.listAccountMembers('X');
    expect(members.members.map((u) => u.userId)).toEqual(['e']);
    expect(fresh.errors.slice(3).map((e) => [e.operation, e.userId])).toEqual([['admin.listAccountMembers', 'c'], ['admin.listAccountMembers', 'd']]);
    // Read alone, the unreadable user still fails clearly.
    await expect(fresh.limiter.admin.getUsage('b')).rejects.toBeInstanceOf(QuotaStoreError);
    expect(errors).toEqual([]);
    await limiter.close();
    await fresh.limiter.close();
    await deleteKeysWithPrefix(client, prefix);
  });

  it('MemoryStore and RedisStore agree: the same users listed, the same users reported', async () => {
    const prefix = uniquePrefix('admin-unreadable-agree');
    const outcomes: unknown[] = [];
    for (const store of [new MemoryStore(), new RedisStore({ client, prefix })]) {
      const { limiter, errors } = limiterOn(store);
      for (const u of ['a', 'b', 'c']) await limiter.admin.setLimits(u, [rule(50 + u.charCodeAt(0))]);
      // Rules this version cannot read, written through the store's own interface.
      await store.admin.updateUser('b', { rules: '{not json' });
      await limiter.close();
      const fresh = limiterOn(store);
      const page = await fresh.limiter.admin.listUsers({ limit: 2 });
      const next = await fresh.limiter.admin.listUsers({ limit: 2, cursor: page.cursor! });
      outcomes.push([page.users.map((u) => [u.userId, u.limit]), page.cursor, next.users.map((u) => u.userId), fresh.errors.map((e) => [e.operation, e.userId])]);
      expect(errors).toEqual([]);
      await fresh.limiter.close();
    }
    expect(outcomes[0]).toEqual([[['a', 147]], 'b', ['c'], [['admin.listUsers', 'b']]]);
    expect(outcomes[1]).toEqual(outcomes[0]);
    await deleteKeysWithPrefix(client, prefix);
  });
});
