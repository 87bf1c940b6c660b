import { expect, it } from 'vitest';
import { createTokenLimiter, QuotaStoreError } from '../../src/index.js';
import { flakyStore } from '../helpers/flaky-store.js';

it("check answers as reserve does once the outage's fail-open budget is spent", async () => {
  const flaky = flakyStore();
  const limiter = createTokenLimiter({
    store: flaky.store,
    defaultLimits: [{ id: 'm', tokens: 1000, period: 'month' }],
    onStoreError: 'allow',
    allowBudget: { requests: 2, tokens: 100 },
  });
  flaky.set('fail');
  expect(await limiter.check('u', { tokens: 60 })).toEqual({ allowed: true, reason: 'store_unavailable', windows: [] });
  await expect(limiter.reserve('u', { tokens: 60 })).resolves.toMatchObject({ unmetered: true });
  // 40 tokens and one call are left of the budget.
  expect(await limiter.check('u', { tokens: 40 })).toEqual({ allowed: true, reason: 'store_unavailable', windows: [] });
  expect(await limiter.check('u', { tokens: 41 })).toEqual({ allowed: false, reason: 'store_unavailable', windows: [] });
  await expect(limiter.reserve('u', { tokens: 41 })).rejects.toBeInstanceOf(QuotaStoreError);
  await expect(limiter.reserve('u', { tokens: 40 })).resolves.toMatchObject({ unmetered: true });
  expect(await limiter.check('u')).toEqual({ allowed: false, reason: 'store_unavailable', windows: [] });
  await expect(limiter.reserve('u', { tokens: 0 })).rejects.toBeInstanceOf(QuotaStoreError);
});
