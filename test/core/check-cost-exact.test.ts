import { describe, expect, it } from 'vitest';
import { createTokenLimiter, TokenLimitExceededError } from '../../src/index.js';
import { bothStores } from '../helpers/both-stores.js';

const stores = await bothStores('check-cost');

/** A deterministic stream of integers in [0, n). */
function randomInts(seed: number): (n: number) => number {
  let s = seed;
  return (n) => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s % n;
  };
}

for (const store of stores) {
  describe(`${store.name}: check on a cost rule`, () => {
    it('admits what reserve admits to the micro-dollar ($0.1 used + $0.2 held + $0.3 asked of $0.6)', async () => {
      const limiter = createTokenLimiter({ store: store.create(), defaultLimits: [{ id: 'budget', costUsd: 0.6, period: 'month' }] });
      await limiter.commit(await limiter.reserve('u', { tokens: 1, costUsd: 0.1 }), { inputTokens: 1, outputTokens: 0, costUsd: 0.1 });
      await limiter.reserve('u', { tokens: 1, costUsd: 0.2 });
      expect(await limiter.check('u', { tokens: 1, costUsd: 0.3 })).toMatchObject({ allowed: true });
      expect(await limiter.check('u', { tokens: 1, costUsd: 0.300001 })).toMatchObject({ allowed: false, reason: 'limit_exceeded', ruleId: 'budget' });
      await expect(limiter.reserve('u', { tokens: 1, costUsd: 0.300001 })).rejects.toBeInstanceOf(TokenLimitExceededError);
      await expect(limiter.reserve('u', { tokens: 1, costUsd: 0.3 })).resolves.toBeTruthy();
    });

    it('answers as reserve does for used, held and asked amounts that fill the limit exactly, and one micro-dollar more', async () => {
      const next = randomInts(store.name.length);
      const limiter = createTokenLimiter({ store: store.create(), defaultLimits: [{ id: 'budget', costUsd: 1, period: 'month' }] });
      for (let i = 0; i < 40; i += 1) {
        const user = `u${i}`;
        // Three parts of $1 in micro-dollars, written as the dollars a caller passes.
        const a = 1 + next(600_000);
        const b = 1 + next(999_998 - a);
        const parts = [a, b, 1_000_000 - a - b].map((m) => m / 1_000_000);
        const [used, held, asked] = parts as [number, number, number];
        await limiter.commit(await limiter.reserve(user, { tokens: 1, costUsd: used }), { inputTokens: 1, outputTokens: 0, costUsd: used });
        await limiter.reserve(user, { tokens: 1, costUsd: held });
        const fits = await limiter.check(user, { tokens: 1, costUsd: asked });
        const over = await limiter.check(user, { tokens: 1, costUsd: asked + 0.000001 });
        expect({ parts, fits: fits.allowed, over: over.allowed }).toEqual({ parts, fits: true, over: false });
        await expect(limiter.reserve(user, { tokens: 1, costUsd: asked })).resolves.toBeTruthy();
      }
    });
  });
}
