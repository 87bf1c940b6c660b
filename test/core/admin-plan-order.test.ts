import { describe, expect, it } from 'vitest';
import { createTokenLimiter, MemoryStore, RedisStore } from '../../src/index.js';
import { redisForThisFile, uniquePrefix } from '../helpers/redis.js';
import { deleteKeysWithPrefix } from '../support/redis-available.js';

// listPlans sorted ids with `<`, which compares UTF-16 code units: an id with a character above
// U+FFFF (an emoji, a surrogate pair) came before one with a character in U+E000-U+FFFF (fullwidth
// forms, private use), the opposite of the code point order users and accounts are listed in.

const client = await redisForThisFile();
const IDS = ['z', '\u{FF5E}plan', '\u{1F680}plan', 'a', '\u{E000}', 'plan\u{10000}', 'plan\u{FFFD}'];

describe('listPlans order', () => {
  it('is code point order, the order listUsers and listAccounts use, on both stores', async () => {
    const prefix = uniquePrefix('plan-order');
    const seen: unknown[] = [];
    for (const store of [new MemoryStore(), new RedisStore({ client, prefix })]) {
      const limiter = createTokenLimiter({ store });
      for (const id of IDS) {
        await limiter.admin.setPlan(id, [{ id: 'm', tokens: 10, period: 'month' }]);
        await limiter.admin.setAccountLimits(id, [{ id: 'm', tokens: 10, period: 'month' }]);
      }
      const plans = (await limiter.admin.listPlans()).map((p) => p.planId);
      const accounts = (await limiter.admin.listAccounts()).accounts.map((a) => a.accountId);
      expect(plans).toEqual(accounts);
      seen.push(plans);
      await limiter.close();
    }
    expect(seen[0]).toEqual(['a', 'plan\u{FFFD}', 'plan\u{10000}', 'z', '\u{E000}', '\u{FF5E}plan', '\u{1F680}plan']);
    expect(seen[1]).toEqual(seen[0]);
    await deleteKeysWithPrefix(client, prefix);
  });
});
