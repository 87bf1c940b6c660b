import { describe, expect, it } from 'vitest';
import { createTokenLimiter, MemoryStore, TokenLimitExceededError, type QuotaStore } from '../../src/index.js';

/**
 * `inner`, whose reserves fail as an unreachable store's would when `fails(n)` says so of the n-th
 * (from 1). A test double of the store.
 */
function reservesFail(inner: QuotaStore, fails: (n: number) => boolean): QuotaStore {
  let calls = 0;
  const real = inner.hotPath.reserve.bind(inner.hotPath);
  return {
    kind: inner.kind,
    hotPath: {
      reserve: (c) => {
        calls += 1;
        return fails(calls) ? Promise.reject(new Error('ECONNRESET 127.0.0.1:6379')) : real(c);
      },
      commit: inner.hotPath.commit.bind(inner.hotPath),
      release: inner.hotPath.release.bind(inner.hotPath),
      renew: inner.hotPath.renew.bind(inner.hotPath),
    },
    admin: inner.admin,
    maintenance: inner.maintenance,
  };
}

describe('a reserve the store refused, whose second try fails', () => {
  for (const onStoreError of ['deny', 'allow'] as const) {
    it(`keeps the refusal (onStoreError: ${onStoreError}): never a store error, never let through unmetered`, async () => {
      const inner = new MemoryStore();
      // Two reserves answer: the first call's, and the first try of the second.
      const limiter = createTokenLimiter({ store: reservesFail(inner, (n) => n > 2), onStoreError, defaultLimits: [{ id: 'm', tokens: 1000, period: 'month' }] });
      const first = await limiter.reserve('u', { tokens: 900 });
      // Its commit is on its way (it starts after this turn) when the next call is refused; the
      // refused reserve asks again once it has landed, and that try fails.
      const committed = limiter.commit(first, { inputTokens: 950, outputTokens: 0 });
      const second = await limiter.reserve('u', { tokens: 200 }).catch((e: unknown) => e);
      await committed;
      expect(second).toBeInstanceOf(TokenLimitExceededError);
      expect(second).toMatchObject({ ruleId: 'm', limit: 1000, requested: 200 });
      await limiter.flush();
      expect(await limiter.admin.getUsage('u')).toMatchObject({ used: 950, reserved: 0 });
    });
  }

  it('keeps the refusal when the smaller hold of onInsufficientQuota shrink cannot be asked for', async () => {
    const inner = new MemoryStore();
    const limiter = createTokenLimiter({ store: reservesFail(inner, (n) => n > 2), onStoreError: 'allow', defaultLimits: [{ id: 'm', tokens: 1000, period: 'month' }] });
    await limiter.commit(await limiter.reserve('u', { tokens: 900 }), { inputTokens: 900, outputTokens: 0 });
    const error = await limiter.reserve('u', { tokens: 300 }, { shrinkable: { tokens: 250 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenLimitExceededError);
    expect(await limiter.admin.getUsage('u')).toMatchObject({ used: 900, reserved: 0 });
  });

  it('makes no smaller hold under an id whose try failed (its release is on its way), and holds nothing', async () => {
    const inner = new MemoryStore();
    // The third reserve (the refused one asked again) fails; a fourth would answer.
    const limiter = createTokenLimiter({ store: reservesFail(inner, (n) => n === 3), defaultLimits: [{ id: 'm', tokens: 1000, period: 'month' }] });
    const first = await limiter.reserve('u', { tokens: 900 });
    const committed = limiter.commit(first, { inputTokens: 850, outputTokens: 0 });
    // Refused (900 held + 200), asked again once the commit landed: that try fails. A smaller hold
    // of 100 would fit now (850 used), but not under an id whose release is on its way.
    const error = await limiter.reserve('u', { tokens: 200 }, { shrinkable: { tokens: 180 } }).catch((e: unknown) => e);
    await committed;
    expect(error).toBeInstanceOf(TokenLimitExceededError);
    await limiter.flush();
    expect(await limiter.admin.getUsage('u')).toMatchObject({ used: 850, reserved: 0 });
  });
});
