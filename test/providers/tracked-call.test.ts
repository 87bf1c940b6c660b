import { describe, expect, it } from 'vitest';
import { createTokenLimiter, MemoryStore } from '../../src/index.js';
import type { LimiterPort } from '../../src/providers/shared/port.js';
import { TrackedCall } from '../../src/providers/shared/tracked-call.js';

describe('TrackedCall', () => {
  it('never throws from commit or release when the limiter throws instead of rejecting', async () => {
    const warnings: unknown[] = [];
    const limiter = createTokenLimiter({
      store: new MemoryStore(),
      defaultLimits: [{ id: 'day', tokens: 1_000, period: 'day' }],
      logger: { warn: (...args: unknown[]) => warnings.push(args) },
    });
    // A port whose commit and release throw synchronously (a limiter of another version, or a bug):
    // the terminal methods run inside the caller's read of a response, which must not fail for it.
    const port: LimiterPort = {
      reserve: (user, estimate, options) => limiter.reserve(user, estimate, options),
      commit: () => {
        throw new TypeError('commit threw');
      },
      release: () => {
        throw new TypeError('release threw');
      },
      renew: (reservation) => limiter.renew(reservation),
      callSettings: limiter.callSettings,
    };
    const plan = { provider: 'openai' as const, endpoint: 'chat.completions', model: 'gpt-4o-mini', inputTokens: 5, outputTokens: 5 };
    const binding = { userId: 'u1', options: {}, limiter: () => port };
    for (const settle of [(c: TrackedCall) => c.commit({ inputTokens: 5, outputTokens: 5 }), (c: TrackedCall) => c.release()]) {
      const call = new TrackedCall(binding, () => plan);
      await call.admitted;
      expect(() => settle(call)).not.toThrow();
      await call.settled;
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings).toHaveLength(2);
    await limiter.close();
  });

  it('logs a renewal that throws instead of rejecting, and tries again', async () => {
    const warnings: unknown[] = [];
    const limiter = createTokenLimiter({ store: new MemoryStore(), leaseMs: 500, logger: { warn: (...args: unknown[]) => warnings.push(args) } });
    let renewals = 0;
    const port: LimiterPort = {
      reserve: (user, estimate, options) => limiter.reserve(user, estimate, options),
      commit: (reservation, usage) => limiter.commit(reservation, usage),
      release: (reservation) => limiter.release(reservation),
      renew: () => {
        renewals += 1;
        throw new TypeError('renew threw');
      },
      callSettings: limiter.callSettings,
    };
    const plan = { provider: 'openai' as const, endpoint: 'chat.completions', model: 'gpt-4o-mini', inputTokens: 5, outputTokens: 5 };
    const call = new TrackedCall({ userId: 'u2', options: {}, limiter: () => port }, () => plan);
    await call.admitted;
    // Renewals every 250 ms: at least two by 900 ms, each failure logged, none thrown out of its timer.
    await new Promise((resolve) => setTimeout(resolve, 900));
    expect(renewals).toBeGreaterThanOrEqual(2);
    expect(warnings).toHaveLength(renewals);
    call.commit({ inputTokens: 5, outputTokens: 5 });
    await call.settled;
    const settledAt = renewals;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(renewals).toBe(settledAt);
    await limiter.close();
  });
});
