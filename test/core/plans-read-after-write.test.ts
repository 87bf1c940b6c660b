import { describe, expect, it } from 'vitest';
import { createTokenLimiter, MemoryStore, TokenLimitExceededError, type QuotaStore } from '../../src/index.js';
import { sleep } from '../support/wait.js';

/**
 * `inner`, with its plan reads able to be held: a held read takes the plans as they are when it
 * starts and answers once released (a slow store under load). A test double of the store.
 */
function heldPlanReads(inner: QuotaStore) {
  let gate: Promise<void> | undefined;
  let open: () => void = () => {};
  let started = 0;
  const admin = new Proxy(inner.admin, {
    get(real, key) {
      const value = Reflect.get(real, key, real) as unknown;
      if (key !== 'getPlans' || typeof value !== 'function') return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(real) : value;
      return async () => {
        const plans = (await (value as () => Promise<unknown>).call(real)) as unknown;
        started += 1;
        if (gate) await gate;
        return plans;
      };
    },
  });
  const store: QuotaStore = { kind: inner.kind, hotPath: inner.hotPath, admin, maintenance: inner.maintenance };
  return {
    store,
    started: () => started,
    hold() {
      gate = new Promise((resolve) => {
        open = resolve;
      });
    },
    release() {
      gate = undefined;
      open();
    },
  };
}

describe('plans read while an older read of them is under way', () => {
  it('the process that edits a plan applies it on its next call', async () => {
    const held = heldPlanReads(new MemoryStore());
    const limiter = createTokenLimiter({ store: held.store });
    await limiter.admin.setPlan('pro', [{ id: 'monthly', tokens: 1000, period: 'month' }]);
    await limiter.admin.assignPlan('u', 'pro');
    await limiter.release(await limiter.reserve('u', { tokens: 500 }));
    // Half of planRefreshMs later, a call reads the plans beside it: that read is held.
    await sleep(550);
    held.hold();
    const before = held.started();
    await limiter.check('someone');
    expect(held.started()).toBe(before + 1);
    const edit = limiter.admin.setPlan('pro', [{ id: 'monthly', tokens: 100, period: 'month' }]);
    await sleep(20);
    held.release();
    await edit;
    await expect(limiter.reserve('u', { tokens: 500 })).rejects.toBeInstanceOf(TokenLimitExceededError);
    await limiter.close();
  });

  it("a call on a plan another process just created is checked against it, not the default rules", async () => {
    const inner = new MemoryStore();
    const held = heldPlanReads(inner);
    const here = createTokenLimiter({ store: held.store });
    const there = createTokenLimiter({ store: inner });
    await here.admin.listPlans();
    await sleep(550);
    held.hold();
    await here.check('someone');
    // Another process creates a plan and puts a user on it while this one's read is under way.
    await there.admin.setPlan('tiny', [{ id: 'monthly', tokens: 10, period: 'month' }]);
    await there.admin.assignPlan('u2', 'tiny');
    const call = here.reserve('u2', { tokens: 100 });
    await sleep(20);
    held.release();
    await expect(call).rejects.toMatchObject({ name: 'TokenLimitExceededError', ruleId: 'monthly', limit: 10 });
    await here.close();
    await there.close();
  });
});
