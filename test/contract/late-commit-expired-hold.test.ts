import { describe, expect, it } from 'vitest';
import { createTokenLimiter, type LimitRule } from '../../src/index.js';
import { bothStores } from '../helpers/both-stores.js';
import { manualClock } from '../helpers/clock.js';

const stores = await bothStores('late-commit');
const daily: LimitRule = { id: 'daily', tokens: 1000, period: 'day' };
const team: LimitRule = { id: 'team', tokens: 5000, period: 'day' };

for (const store of stores) {
  describe(`${store.name}: a commit that lands after its hold's lease ended`, () => {
    async function setup(start: string, member: boolean) {
      const clock = manualClock(start);
      const limiter = createTokenLimiter({ store: store.create(), clock: clock.now, leaseMs: 60_000, defaultLimits: [daily] });
      if (member) {
        await limiter.admin.setAccountLimits('acme', [team]);
        await limiter.admin.setAccount('u', 'acme');
      }
      return { clock, limiter };
    }

    for (const member of [false, true]) {
      const who = member ? 'a member (and the account)' : 'a user on their own';
      it(`${who}: a hold that ended before its day did, committed the next day, charges all of its usage there`, async () => {
        const { clock, limiter } = await setup('2026-03-10T23:58:00.000Z', member);
        const r = await limiter.reserve('u', { tokens: 900 });
        // The lease ends at 23:59: from then on the day counts nothing for this call.
        clock.set('2026-03-10T23:59:30.000Z');
        expect((await limiter.admin.getUsage('u')).reserved).toBe(0);
        clock.set('2026-03-11T00:00:10.000Z');
        await limiter.commit(r, { inputTokens: 150, outputTokens: 0 });
        const usage = await limiter.admin.getUsage('u');
        expect(usage.windows[0]).toMatchObject({ used: 150, reserved: 0, periodStart: new Date('2026-03-11T00:00:00.000Z') });
        if (member) expect(usage.account!.windows[0]).toMatchObject({ used: 150, reserved: 0 });
      });

      it(`${who}: a hold that ended after its day did is charged in full too, whether or not a purge dropped it first`, async () => {
        const { clock, limiter } = await setup('2026-03-10T23:59:30.000Z', member);
        const r = await limiter.reserve('u', { tokens: 900 });
        clock.set('2026-03-11T00:00:40.000Z');
        await limiter.commit(r, { inputTokens: 150, outputTokens: 0 });
        const usage = await limiter.admin.getUsage('u');
        expect(usage.windows[0]).toMatchObject({ used: 150, reserved: 0 });
        if (member) expect(usage.account!.windows[0]).toMatchObject({ used: 150, reserved: 0 });
      });

      it(`${who}: in the window it was held in, the ended hold leaves it and the usage is charged once`, async () => {
        const { clock, limiter } = await setup('2026-03-10T12:00:00.000Z', member);
        const late = await limiter.reserve('u', { tokens: 600 });
        clock.advance(30_000);
        const live = await limiter.reserve('u', { tokens: 300 });
        clock.advance(40_000);
        await limiter.commit(late, { inputTokens: 200, outputTokens: 0 });
        const usage = await limiter.admin.getUsage('u');
        expect(usage.windows[0]).toMatchObject({ used: 200, reserved: 300 });
        if (member) expect(usage.account!.windows[0]).toMatchObject({ used: 200, reserved: 300 });
        await limiter.commit(live, { inputTokens: 100, outputTokens: 0 });
        expect((await limiter.admin.getUsage('u')).windows[0]).toMatchObject({ used: 300, reserved: 0 });
      });
    }
  });
}
