import { describe, expect, it } from 'vitest';
import { createTokenLimiter, type LimitRule, type TokenLimiterOptions } from '../../src/index.js';
import { manualClock } from '../helpers/clock.js';
import { bothStores } from '../helpers/both-stores.js';

// A call holds on the rules in force when it is reserved; its commit charges the rules in force
// when it lands. When the rules changed in between (a plan edited or assigned, the user's own rules
// set), the hold's shares on rules no longer in force must leave their windows too: else they stay
// held until the window ends (a day, a month), refusing calls for spend that never happened.

const stores = await bothStores('stray-holds');
const T0 = Date.parse('2026-03-10T12:00:00.000Z');
const tokens = (n: number, id: string, period: LimitRule['period'] = 'month'): LimitRule => ({ id, tokens: n, period });
const outcome = (p: Promise<unknown>) => p.then(() => 'admitted', (e: unknown) => `refused by ${(e as { ruleId?: string }).ruleId}`);

for (const store of stores) {
  describe(`${store.name}: a hold on rules that left while the call ran`, () => {
    const setup = (options: Omit<TokenLimiterOptions, 'store'> = {}) => {
      const clock = manualClock(T0);
      const limiter = createTokenLimiter({ store: store.create(), clock: clock.now, defaultLimits: [tokens(1_000_000, 'main')], ...options });
      return { clock, limiter };
    };

    it('a plan rule dropped while a call holds on it, then put back: nothing held on it, even hours later', async () => {
      const { clock, limiter } = setup();
      await limiter.admin.setPlan('p', [tokens(10_000, 'monthly'), tokens(300, 'daily', 'day')]);
      await limiter.admin.assignPlan('u', 'p');
      const inFlight = await limiter.reserve('u', { tokens: 300 });
      await limiter.admin.setPlan('p', [tokens(10_000, 'monthly')]);
      await limiter.commit(inFlight, { inputTokens: 100, outputTokens: 0 });
      await limiter.admin.setPlan('p', [tokens(10_000, 'monthly'), tokens(300, 'daily', 'day')]);
      clock.advance(6 * 3_600_000); // past any lease, the same day
      const usage = await limiter.admin.getUsage('u');
      expect(usage.windows.map((w) => [w.rule.id, w.used, w.reserved])).toEqual([
        ['monthly', 100, 0],
        ['daily', 0, 0],
      ]);
      expect(await outcome(limiter.reserve('u', { tokens: 300 }))).toBe('admitted');
    });

    it('upgraded from the default rules while a call runs, downgraded a week later: the default rule holds nothing', async () => {
      const { clock, limiter } = setup({ defaultLimits: [tokens(100_000, 'main')] });
      await limiter.admin.setPlan('pro', [tokens(5_000_000, 'monthly')]);
      const inFlight = await limiter.reserve('u', { tokens: 60_000 });
      await limiter.admin.assignPlan('u', 'pro');
      await limiter.commit(inFlight, { inputTokens: 1_000, outputTokens: 500 });
      clock.advance(7 * 86_400_000);
      await limiter.admin.assignPlan('u', null);
      expect(await limiter.admin.getUsage('u')).toMatchObject({ used: 0, reserved: 0, remaining: 100_000 });
      expect(await outcome(limiter.reserve('u', { tokens: 50_000 }))).toBe('admitted');
    });

    it("an account plan's rule dropped while a member holds on it, then put back: the account holds nothing on it", async () => {
      const { limiter } = setup();
      await limiter.admin.setPlan('team', [tokens(10_000, 'monthly'), tokens(300, 'daily', 'day')]);
      await limiter.admin.assignAccountPlan('acme', 'team');
      await limiter.admin.setAccount('u', 'acme');
      const inFlight = await limiter.reserve('u', { tokens: 300 });
      await limiter.admin.setPlan('team', [tokens(10_000, 'monthly')]);
      await limiter.commit(inFlight, { inputTokens: 100, outputTokens: 0 });
      await limiter.admin.setPlan('team', [tokens(10_000, 'monthly'), tokens(300, 'daily', 'day')]);
      const account = await limiter.admin.getAccountUsage('acme');
      expect(account.windows.map((w) => [w.rule.id, w.used, w.reserved])).toEqual([
        ['monthly', 100, 0],
        ['daily', 0, 0],
      ]);
      await limiter.admin.setAccount('v', 'acme');
      expect(await outcome(limiter.reserve('v', { tokens: 300 }))).toBe('admitted');
    });

    it('the rules in force when the commit lands are charged as before; a released call holds nothing anywhere', async () => {
      const { limiter } = setup();
      await limiter.admin.setPlan('a', [tokens(10_000, 'monthly'), tokens(300, 'daily', 'day')]);
      await limiter.admin.setPlan('b', [tokens(10_000, 'monthly')]);
      await limiter.admin.assignPlan('u', 'a');
      const committed = await limiter.reserve('u', { tokens: 300 });
      const released = await limiter.reserve('u', { tokens: 0 });
      await limiter.admin.assignPlan('u', 'b');
      await limiter.commit(committed, { inputTokens: 120, outputTokens: 30 });
      await limiter.release(released);
      await limiter.admin.assignPlan('u', 'a');
      const usage = await limiter.admin.getUsage('u');
      expect(usage.windows.map((w) => [w.rule.id, w.used, w.reserved])).toEqual([
        ['monthly', 150, 0],
        ['daily', 0, 0],
      ]);
    });
  });
}
