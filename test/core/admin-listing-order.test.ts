import { describe, expect, it } from 'vitest';
import { createTokenLimiter } from '../../src/index.js';
import { bothStores } from '../helpers/both-stores.js';

// Listings page in id order, and the two stores must give one order: Redis sorts ids by their UTF-8
// bytes, which is code point order. JavaScript's `<` compares UTF-16 code units, which puts an id
// with a character above U+FFFF (a surrogate pair) before one with a character in U+E000-U+FFFF.

const stores = await bothStores('admin-order');
// In code point order: U+E000 and U+FF01 (fullwidth '!') come before U+1F600 (an emoji).
const IDS = ['a', 'é', '\uE000', '\uFF01x', '😀x', '😀y'];
const shuffled = [IDS[4]!, IDS[1]!, IDS[3]!, IDS[0]!, IDS[5]!, IDS[2]!];

for (const store of stores) {
  describe(`${store.name}: listings in code point order`, () => {
    it('listUsers, listAccounts and listAccountMembers page in the same order as Redis', async () => {
      const limiter = createTokenLimiter({ store: store.create() });
      for (const id of shuffled) {
        await limiter.admin.setActive(id, true);
        await limiter.admin.setAccountLimits(id, [{ id: 'team', tokens: 100, period: 'month' }]);
        await limiter.admin.setAccount(id, 'acct');
      }
      expect((await limiter.admin.listUsers()).users.map((u) => u.userId)).toEqual(IDS);
      expect((await limiter.admin.listAccounts()).accounts.map((a) => a.accountId)).toEqual([...IDS, 'acct'].sort((x, y) => (Buffer.compare(Buffer.from(x), Buffer.from(y)))));
      expect((await limiter.admin.listAccountMembers('acct')).members.map((m) => m.userId)).toEqual(IDS);

      // Page by page, with a cursor on each side of the surrogate boundary.
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await limiter.admin.listUsers({ limit: 2, ...(cursor === undefined ? {} : { cursor }) });
        seen.push(...page.users.map((u) => u.userId));
        cursor = page.cursor;
      } while (cursor !== undefined);
      expect(seen).toEqual(IDS);
      expect((await limiter.admin.listUsers({ cursor: '\uFF01x' })).users.map((u) => u.userId)).toEqual(['😀x', '😀y']);
      expect((await limiter.admin.listUsers({ prefix: '😀' })).users.map((u) => u.userId)).toEqual(['😀x', '😀y']);
      expect((await limiter.admin.listUsers({ prefix: '😀', cursor: '\uFF01x' })).users.map((u) => u.userId)).toEqual(['😀x', '😀y']);
      expect((await limiter.admin.listUsers({ prefix: '\uFF01', cursor: '\uE000' })).users.map((u) => u.userId)).toEqual(['\uFF01x']);
      await limiter.close();
    });
  });
}
