import { describe, expect, it } from 'vitest';
import { createTokenLimiter, type StoreErrorEvent } from '../../src/index.js';
import { MAX_COST_USD } from '../../src/kernel/units.js';
import { bothStores } from '../helpers/both-stores.js';

// A provider's absurd usage (9e12 tokens each way) at a price-table price: its cost is past what a
// store takes. It must still be charged (bounded), the same on both stores, never refused and lost.

const stores = await bothStores('absurd-usage');

for (const store of stores) {
  describe(store.name, () => {
    it('charges a price-table cost past the largest a store takes at that largest cost, and loses none of the usage', async () => {
      const limiter = createTokenLimiter({
        store: store.create(),
        defaultLimits: [{ id: 'dollars', costUsd: 10, period: 'month' }],
        pricing: { models: { 'priced-high': { input: 1e7, output: 1e7 } } },
      });
      const errors: StoreErrorEvent[] = [];
      limiter.on('store-error', (e) => errors.push(e));
      const record = await limiter.commit(await limiter.reserve('rich', { tokens: 10, costUsd: 0.01 }), { inputTokens: 9e12, outputTokens: 9e12, model: 'priced-high' });
      expect(record).toMatchObject({ totalTokens: 18e12, costUsd: MAX_COST_USD });
      expect(errors).toEqual([]);
      expect((await limiter.admin.getUsage('rich')).windows[0]).toMatchObject({ used: MAX_COST_USD, reserved: 0 });
      await limiter.close();
    });
  });
}
