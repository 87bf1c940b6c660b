import { describe, expect, it } from 'vitest';
import { createTokenLimiter, MemoryStore, type LimitRule } from '../../src/index.js';
import { bothStores } from '../helpers/both-stores.js';

// setAccountLimits(account, null) drops the account's own rules. As with a user's rules, a rule
// that leaves loses its usage: removing the team's limit and setting it again later brought back
// what the team had spent before, refusing calls at once. Rules the account's plan has under the
// same id keep their usage.

const stores = await bothStores('admin-account-limits');
const tokens = (n: number, id: string): LimitRule => ({ id, tokens: n, period: 'month' });

for (const store of stores) {
  describe(`${store.name}: setAccountLimits(account, null)`, () => {
    it('a rule that leaves with the own rules loses its usage; one the plan keeps keeps it', async () => {
      const limiter = createTokenLimiter({ store: store.create(), defaultLimits: [tokens(1_000_000, 'main')] });
      await limiter.admin.setAccountLimits('acme', [tokens(1000, 'team'), tokens(5000, 'wide')]);
      await limiter.admin.setAccount('u', 'acme');
      await limiter.commit(await limiter.reserve('u', { tokens: 900 }), { inputTokens: 900, outputTokens: 0 });
      await limiter.admin.setAccountLimits('acme', null);
      expect(await limiter.admin.getAccountUsage('acme')).toMatchObject({ windows: [] });
      await limiter.admin.setAccountLimits('acme', [tokens(1000, 'team')]);
      expect((await limiter.admin.getAccountUsage('acme')).windows.map((w) => [w.rule.id, w.used])).toEqual([['team', 0]]);
      await expect(limiter.reserve('u', { tokens: 500 })).resolves.toMatchObject({ account: 'acme' });

      // On a plan: null returns the account to the plan's rules; the one it shares keeps its usage.
      await limiter.admin.setPlan('teams', [tokens(2000, 'team')]);
      await limiter.admin.assignAccountPlan('acme', 'teams');
      await limiter.admin.setAccountLimits('acme', [tokens(1000, 'team'), tokens(5000, 'wide')]);
      await limiter.commit(await limiter.reserve('u', { tokens: 300 }), { inputTokens: 300, outputTokens: 0 });
      await limiter.admin.setAccountLimits('acme', null);
      expect((await limiter.admin.getAccountUsage('acme')).windows.map((w) => [w.rule.id, w.used])).toEqual([['team', 300]]);
      await limiter.admin.setAccountLimits('acme', [tokens(1000, 'team'), tokens(5000, 'wide')]);
      expect((await limiter.admin.getAccountUsage('acme')).windows.map((w) => [w.rule.id, w.used])).toEqual([['team', 300], ['wide', 0]]);
      await limiter.close();
    });
  });
}

describe('setAccountLimits(account, null) while members call', () => {
  it("keeps the account's rules for the members' calls until the store has the change", async () => {
    const store = new MemoryStore();
    // The store's update of the account waits at a gate: the window in which calls still meet the
    // stored rules, which the store enforces by version.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const limiter = createTokenLimiter({ store, defaultLimits: [tokens(1_000_000, 'main')] });
    await limiter.admin.setAccountLimits('acme', [tokens(100, 'team')]);
    await limiter.admin.setAccount('u', 'acme');
    await limiter.commit(await limiter.reserve('u', { tokens: 10 }), { inputTokens: 10, outputTokens: 0 });
    const update = store.admin.updateAccount.bind(store.admin);
    store.admin.updateAccount = async (...args) => {
      await gate;
      return update(...args);
    };
    const removing = limiter.admin.setAccountLimits('acme', null);
    // Let setAccountLimits read the stored config and reach the gate.
    for (let i = 0; i < 20; i += 1) await new Promise((resolve) => setImmediate(resolve));
    await expect(limiter.reserve('u', { tokens: 500 })).rejects.toMatchObject({ code: 'token_limit_exceeded', scope: 'account' });
    open();
    await removing;
    await expect(limiter.reserve('u', { tokens: 500 })).resolves.toMatchObject({ account: 'acme' });
    await limiter.close();
  });
});
