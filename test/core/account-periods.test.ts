import { describe, expect, it } from 'vitest';
import { createTokenLimiter } from '../../src/index.js';
import { manualClock } from '../helpers/clock.js';
import { bothStores } from '../helpers/both-stores.js';

// An account has no first call of its own to count a rolling period from (a user's `{ days }` and
// `{ months }` rules without an anchor count from the user's first call): its rules without an
// anchor count from local midnight of 1970-01-01 in the rule's zone. Such a rule made every call
// of every member throw a plain Error.

const stores = await bothStores('account-periods');
const T0 = Date.parse('2026-03-10T12:00:00.000Z');
const DAY = 86_400_000;

for (const store of stores) {
  describe(`${store.name}: an account rule with a rolling period and no anchor`, () => {
    it('counts from 1970-01-01 in its zone: months are calendar months, days fixed blocks; members call as usual', async () => {
      const clock = manualClock(T0);
      const limiter = createTokenLimiter({ store: store.create(), clock: clock.now });
      await limiter.admin.setAccountLimits('acme', [
        { id: 'days', tokens: 1_000, period: { days: 30 } },
        { id: 'quarter', tokens: 1_000, period: { months: 3 }, timeZone: 'America/Sao_Paulo' },
      ]);
      await limiter.admin.setAccount('u', 'acme');
      await limiter.commit(await limiter.reserve('u', { tokens: 10 }), { inputTokens: 6, outputTokens: 4 });
      expect(await limiter.check('u', { tokens: 991 })).toMatchObject({ allowed: false });
      const account = await limiter.admin.getAccountUsage('acme');
      const daysStart = Math.floor(T0 / (30 * DAY)) * 30 * DAY;
      expect(account.windows.map((w) => [w.rule.id, w.used, w.periodStart.toISOString(), w.resetAt.toISOString()])).toEqual([
        ['days', 10, new Date(daysStart).toISOString(), new Date(daysStart + 30 * DAY).toISOString()],
        ['quarter', 10, '2026-01-01T03:00:00.000Z', '2026-04-01T03:00:00.000Z'],
      ]);
      expect((await limiter.admin.getUsage('u')).account).toMatchObject({ accountId: 'acme' });
      await limiter.close();
    });

    it('a plan with { months: 1 } assigned to an account renews with the calendar month', async () => {
      const clock = manualClock(T0);
      const limiter = createTokenLimiter({ store: store.create(), clock: clock.now });
      await limiter.admin.setPlan('team', [{ id: 'billing', tokens: 100, period: { months: 1 } }]);
      await limiter.admin.assignAccountPlan('acme', 'team');
      await limiter.admin.setAccount('u', 'acme');
      await limiter.commit(await limiter.reserve('u', { tokens: 100 }), { inputTokens: 100, outputTokens: 0 });
      await expect(limiter.reserve('u', { tokens: 1 })).rejects.toMatchObject({ code: 'token_limit_exceeded', scope: 'account' });
      clock.set(Date.parse('2026-04-01T00:00:00.000Z'));
      await limiter.release(await limiter.reserve('u', { tokens: 100 }));
      await limiter.close();
    });
  });
}
