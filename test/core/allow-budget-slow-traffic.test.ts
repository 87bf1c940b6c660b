import { expect, it } from 'vitest';
import { createTokenLimiter, QuotaStoreError, type StoreErrorEvent } from '../../src/index.js';
import { flakyStore } from '../helpers/flaky-store.js';
import { sleep } from '../support/wait.js';

it('the fail-open budget binds a whole outage even when calls come further apart than quietMs', async () => {
  const flaky = flakyStore();
  const limiter = createTokenLimiter({
    store: flaky.store,
    defaultLimits: [{ id: 'm', tokens: 1000, period: 'month' }],
    onStoreError: 'allow',
    allowBudget: { requests: 1, quietMs: 2_500 },
  });
  const dropped: StoreErrorEvent[] = [];
  limiter.on('store-error', (e) => {
    if (e.policy === 'dropped') dropped.push(e);
  });
  flaky.set('fail');
  const first = await limiter.reserve('u', { tokens: 10 });
  expect(first.unmetered).toBe(true);
  // The call ends; its commit waits for the store, and every retry of it fails (backoff of at most
  // 2 s between them): the store has not gone quietMs without failing.
  await expect(limiter.commit(first, { inputTokens: 5, outputTokens: 5 })).rejects.toBeInstanceOf(QuotaStoreError);
  await sleep(2_700);
  // The next call comes more than quietMs after the last call, in the same outage.
  const second = await limiter.reserve('u', { tokens: 10 }).catch((e: unknown) => e);
  expect(second).toBeInstanceOf(QuotaStoreError);
  expect((second as Error).message).toMatch(/fail-open budget/);
  // Once the store is back, the first call is charged, once.
  flaky.set('ok');
  await limiter.flush();
  expect(await limiter.admin.getUsage('u')).toMatchObject({ used: 10, reserved: 0 });
  expect(dropped).toEqual([]);
  await limiter.close();
});
