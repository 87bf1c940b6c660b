import { describe, expect, it } from 'vitest';
import { createTokenLimiter, TokenLimitExceededError, type LimitRule } from '../../src/index.js';
import { errorToResponse } from '../../src/integrations/http/index.js';
import { bothStores } from '../helpers/both-stores.js';
import { manualClock } from '../helpers/clock.js';

// A call refused by several rules at once is admitted only when every one of them has room again.
// The store names the first rule that refused, so a user whose daily and monthly quotas were both
// used up was told to come back at midnight (resetAt, Retry-After), and was refused again then,
// with the month's end as the new answer.

const stores = await bothStores('resets-retry-after');
const T0 = '2026-03-10T12:00:00.000Z';

async function refusal(promise: Promise<unknown>): Promise<TokenLimitExceededError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenLimitExceededError);
  return error as TokenLimitExceededError;
}

for (const store of stores) {
  describe(`${store.name}: the reset a refusal reports when several rules refuse`, () => {
    const daily: LimitRule = { id: 'daily', tokens: 100, period: 'day' };
    const monthly: LimitRule = { id: 'monthly', tokens: 100, period: 'month' };

    it('is the latest of their resets, and nothing is admitted before it', async () => {
      const clock = manualClock(T0);
      const limiter = createTokenLimiter({ store: store.create(), clock: clock.now, defaultLimits: [daily, monthly] });
      await limiter.commit(await limiter.reserve('u', { tokens: 100 }), { inputTokens: 100, outputTokens: 0 });
      const error = await refusal(limiter.reserve('u', { tokens: 10 }));
      expect(error).toMatchObject({ ruleId: 'monthly', resetAt: new Date('2026-04-01T00:00:00.000Z'), periodStart: new Date('2026-03-01T00:00:00.000Z') });
      expect(await limiter.check('u', { tokens: 10 })).toMatchObject({ allowed: false, ruleId: 'monthly' });
      const response = errorToResponse(error)!;
      expect(response.headers.get('retry-after')).toBe(String((Date.parse('2026-04-01T00:00:00.000Z') - Date.parse(T0)) / 1000));
      // The daily rule's reset does not let the call in.
      clock.set('2026-03-11T00:00:00.000Z');
      expect(await refusal(limiter.reserve('u', { tokens: 10 }))).toMatchObject({ ruleId: 'monthly', resetAt: new Date('2026-04-01T00:00:00.000Z') });
      clock.set('2026-04-01T00:00:00.000Z');
      await limiter.release(await limiter.reserve('u', { tokens: 10 }));
      await limiter.close();
    });

    it('names the account rule when it frees up after the user rule', async () => {
      const clock = manualClock(T0);
      const limiter = createTokenLimiter({ store: store.create(), clock: clock.now, defaultLimits: [daily] });
      await limiter.admin.setAccountLimits('acme', [monthly]);
      await limiter.admin.setAccount('u', 'acme');
      await limiter.commit(await limiter.reserve('u', { tokens: 100 }), { inputTokens: 100, outputTokens: 0 });
      const error = await refusal(limiter.reserve('u', { tokens: 10 }));
      expect(error).toMatchObject({ scope: 'account', accountId: 'acme', ruleId: 'monthly', resetAt: new Date('2026-04-01T00:00:00.000Z') });
      expect(await limiter.check('u', { tokens: 10 })).toMatchObject({ allowed: false, scope: 'account', accountId: 'acme', ruleId: 'monthly' });
      await limiter.close();
    });

    it('names a rule the call can never fit, so that no Retry-After is sent', async () => {
      const clock = manualClock(T0);
      const small: LimitRule = { id: 'small', tokens: 50, period: 'month' };
      const limiter = createTokenLimiter({ store: store.create(), clock: clock.now, defaultLimits: [daily, small] });
      await limiter.commit(await limiter.reserve('u', { tokens: 40 }), { inputTokens: 40, outputTokens: 0 });
      const error = await refusal(limiter.reserve('u', { tokens: 70 }));
      expect(error).toMatchObject({ ruleId: 'small', limit: 50, requested: 70 });
      expect(await limiter.check('u', { tokens: 70 })).toMatchObject({ allowed: false, ruleId: 'small' });
      expect(errorToResponse(error)!.headers.get('retry-after')).toBeNull();
      await limiter.close();
    });

    it('keeps the rule the store named when it is the one that frees up last', async () => {
      const clock = manualClock(T0);
      const limiter = createTokenLimiter({ store: store.create(), clock: clock.now, defaultLimits: [monthly, daily] });
      await limiter.commit(await limiter.reserve('u', { tokens: 100 }), { inputTokens: 100, outputTokens: 0 });
      expect(await refusal(limiter.reserve('u', { tokens: 10 }))).toMatchObject({ ruleId: 'monthly' });
      expect(await limiter.check('u', { tokens: 10 })).toMatchObject({ allowed: false, ruleId: 'monthly' });
      await limiter.close();
    });
  });
}
