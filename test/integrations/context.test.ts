import { describe, expect, it, vi } from 'vitest';
import { createTokenLimiter, currentLimiter, currentUserId, runWithUser } from '../../src/index.js';

describe('request context', () => {
  it('carries the user and the limiter across awaits; nested scopes override; the limiter is inherited', async () => {
    const outer = createTokenLimiter();
    const inner = createTokenLimiter();
    await runWithUser(
      'alice',
      async () => {
        await new Promise((r) => setTimeout(r, 5));
        expect(currentUserId()).toBe('alice');
        expect(currentLimiter()).toBe(outer);
        await runWithUser('bob', async () => {
          await Promise.resolve();
          expect(currentUserId()).toBe('bob');
          expect(currentLimiter()).toBe(outer); // inherited
        });
        runWithUser('carol', () => expect(currentLimiter()).toBe(inner), { limiter: inner });
        expect(currentUserId()).toBe('alice');
      },
      { limiter: outer },
    );
    expect(currentUserId()).toBeUndefined();
    expect(currentLimiter()).toBeUndefined();
    expect(() => runWithUser('x', () => 1, { limiter: {} as never })).toThrow(/options\.limiter/);
    expect(() => runWithUser('', () => 1)).toThrow(/user/);
  });

  it('is shared by every copy of the library in the process (ESM and CJS builds side by side)', async () => {
    const first = await import('../../src/providers/shared/context.js');
    vi.resetModules();
    const second = await import('../../src/providers/shared/context.js');
    expect(second).not.toBe(first); // two module instances, as a dual ESM/CJS install has
    first.runWithUser('dual', () => {
      expect(second.currentUserId()).toBe('dual');
    });
  });
});

describe('the default limiter', () => {
  it('is shared by every copy of the library in the process: configured through one, used by the other', async () => {
    const first = await import('../../src/face/with-token-limits.js');
    vi.resetModules();
    const second = await import('../../src/face/with-token-limits.js');
    expect(second).not.toBe(first);
    const configured = first.configureTokenLimits({ defaultLimits: [{ id: 'daily', tokens: 10, period: 'day' }] });
    try {
      expect(second.getDefaultLimiter()).toBe(configured);
    } finally {
      await configured.close();
      // Later tests in this worker get a default limiter of their own.
      delete (globalThis as Record<symbol, unknown>)[Symbol.for('token-limits.default-limiter.v1')];
    }
  });
});
