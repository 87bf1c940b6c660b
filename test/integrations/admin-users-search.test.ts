/** GET /users?prefix=: the admin API's search by user id prefix, on both stores. */
import { afterAll, describe, expect, it } from 'vitest';
import { createAdminHandler } from '../../src/integrations/http/index.js';
import { closeRedis, makeLimiter, type StoreKind } from './helpers.js';

afterAll(() => closeRedis());

describe.each(['memory', 'redis'] as StoreKind[])('GET /users?prefix= (%s)', (kind) => {
  it('lists only the users whose id starts with the prefix, paged with the cursor', async () => {
    const limiter = await makeLimiter(kind);
    for (const id of ['ana', 'anabela', 'andre', 'bia', 'an']) {
      const r = await limiter.reserve(id, { tokens: 1 });
      await limiter.commit(r, { inputTokens: 1, outputTokens: 0, model: 'gpt-4o-mini' });
    }
    await limiter.flush(); // RedisStore indexes users when its aggregator runs
    const api = createAdminHandler({ limiter, authorize: () => ({ role: 'admin' }) });
    const get = async (query: string) => {
      const response = await api(new Request(`http://localhost/users${query}`));
      return { status: response.status, body: (await response.json()) as { users: Array<{ userId: string }>; nextCursor: string | null; field?: string } };
    };
    const all = await get('?prefix=ana');
    expect(all.body.users.map((u) => u.userId)).toEqual(['ana', 'anabela']);
    const first = await get('?prefix=an&limit=2');
    expect(first.body.users.map((u) => u.userId)).toEqual(['an', 'ana']);
    const second = await get(`?prefix=an&limit=2&cursor=${encodeURIComponent(first.body.nextCursor!)}`);
    expect(second.body.users.map((u) => u.userId)).toEqual(['anabela', 'andre']);
    expect((await get('?prefix=zz')).body.users).toEqual([]);
    expect((await get('?prefix=')).body.users).toHaveLength(5);
    const bad = await get(`?prefix=${'x'.repeat(65_537)}`);
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe('prefix');
    await limiter.close();
  });
});
