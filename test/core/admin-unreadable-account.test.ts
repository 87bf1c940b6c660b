import { describe, expect, it } from 'vitest';
import { createTokenLimiter, MemoryStore, QuotaStoreError, RedisStore, type LimitRule, type QuotaStore, type StoreErrorEvent } from '../../src/index.js';
import { accountKeys } from '../../src/stores/redis/keys.js';
import { redisForThisFile, uniquePrefix } from '../helpers/redis.js';
import { deleteKeysWithPrefix } from '../support/redis-available.js';

// One account whose stored data this version cannot read (hand-edited or damaged rules, a key of
// the wrong type) failed admin.listAccounts as a whole: a back office showed no account at all.
// The page now lists every other account and reports the unreadable one, named by its accountId.

const client = await redisForThisFile();
const rule = (n: number): LimitRule => ({ id: 'm', tokens: n, period: 'month' });

function limiterOn(store: QuotaStore) {
  const warnings: unknown[][] = [];
  const logger = { debug() {}, info() {}, warn: (...args: unknown[]) => warnings.push(args), error() {} };
  const limiter = createTokenLimiter({ store, defaultLimits: [rule(100)], logger });
  const errors: StoreErrorEvent[] = [];
  limiter.on('store-error', (e) => errors.push(e));
  return { limiter, errors, warnings };
}

async function seed(store: QuotaStore): Promise<void> {
  const { limiter } = limiterOn(store);
  for (const a of ['A', 'B', 'C', 'D']) {
    await limiter.admin.setAccountLimits(a, [rule(10 + a.charCodeAt(0))]);
    await limiter.admin.setAccount(`u${a}`, a);
  }
  await limiter.close();
}

describe('listAccounts with one account whose stored data cannot be read', () => {
  it('RedisStore: lists every other account and reports each unreadable one (damaged JSON, wrong key types)', async () => {
    const prefix = uniquePrefix('admin-unreadable-account');
    const store = new RedisStore({ client, prefix });
    await seed(store);
    await client.hset(accountKeys(prefix, 'B').config, 'r', '{not json');
    const c = accountKeys(prefix, 'C').config;
    await client.del(c);
    await client.set(c, 'hand-edited');
    const d = accountKeys(prefix, 'D').windows;
    await client.del(d);
    await client.set(d, 'hand-edited');
    // A fresh process: nothing cached of what the store held before.
    const fresh = limiterOn(store);
    const page = await fresh.limiter.admin.listAccounts();
    expect(page.accounts.map((a) => [a.accountId, a.windows[0]?.limit, a.members])).toEqual([['A', 75, 1]]);
    expect(fresh.errors.map((e) => [e.operation, e.accountId, e.userId, e.policy, e.error instanceof QuotaStoreError])).toEqual([
      ['admin.listAccounts', 'B', undefined, 'deny', true],
      ['admin.listAccounts', 'C', undefined, 'deny', true],
      ['admin.listAccounts', 'D', undefined, 'deny', true],
    ]);
    expect(fresh.warnings.map((w) => [w[0], (w[1] as { accountId?: string }).accountId])).toEqual([
      ['token-limits: admin.listAccounts failed', 'B'],
      ['token-limits: admin.listAccounts failed', 'C'],
      ['token-limits: admin.listAccounts failed', 'D'],
    ]);
    // Read alone, an unreadable account still fails clearly.
    await expect(fresh.limiter.admin.getAccountUsage('B')).rejects.toBeInstanceOf(QuotaStoreError);
    await fresh.limiter.close();
    await deleteKeysWithPrefix(client, prefix);
  });

  it('MemoryStore and RedisStore agree: the same accounts listed and paged, the same accounts reported', async () => {
    const prefix = uniquePrefix('admin-unreadable-account-agree');
    const outcomes: unknown[] = [];
    for (const store of [new MemoryStore(), new RedisStore({ client, prefix })]) {
      await seed(store);
      // Rules this version cannot read, written through the store's own interface.
      await store.admin.updateAccount('B', { rules: '{not json' });
      const fresh = limiterOn(store);
      const page = await fresh.limiter.admin.listAccounts({ limit: 2 });
      const next = await fresh.limiter.admin.listAccounts({ limit: 2, cursor: page.cursor! });
      outcomes.push([page.accounts.map((a) => [a.accountId, a.windows[0]?.limit]), page.cursor, next.accounts.map((a) => a.accountId), next.cursor, fresh.errors.map((e) => [e.operation, e.accountId])]);
      await fresh.limiter.close();
    }
    expect(outcomes[0]).toEqual([[['A', 75]], 'B', ['C', 'D'], undefined, [['admin.listAccounts', 'B']]]);
    expect(outcomes[1]).toEqual(outcomes[0]);
    await deleteKeysWithPrefix(client, prefix);
  });

  it.each([
    ['fails', () => Promise.reject(new Error('ECONNREFUSED 127.0.0.1:6399'))],
    ['does not answer', () => new Promise<never>(() => {})],
  ] as Array<[string, () => Promise<never>]>)('a store that %s on one account still fails the page', async (_name, failure) => {
    const inner = new MemoryStore();
    await seed(inner);
    const admin = new Proxy(inner.admin, {
      get(real, key) {
        const value = Reflect.get(real, key, real) as unknown;
        if (key === 'readAccount') {
          return (c: { accountId: string }) => (c.accountId === 'B' ? failure() : inner.admin.readAccount(c as never));
        }
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(real) : value;
      },
    });
    const store: QuotaStore = { kind: inner.kind, hotPath: inner.hotPath, admin, maintenance: inner.maintenance };
    const warnings: unknown[] = [];
    const limiter = createTokenLimiter({ store, defaultLimits: [rule(100)], storeTimeoutMs: 200, logger: { warn: (...a: unknown[]) => warnings.push(a) } });
    const errors: StoreErrorEvent[] = [];
    limiter.on('store-error', (e) => errors.push(e));
    await expect(limiter.admin.listAccounts()).rejects.toBeInstanceOf(QuotaStoreError);
    expect(errors.filter((e) => e.accountId !== undefined)).toEqual([]);
    await limiter.close();
  });
});
