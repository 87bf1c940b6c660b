/**
 * The provider test matrix, shared by the wrapper tests: for each token-billing method, through
 * the real SDK over HTTP to the emulator, the wrapped client returns what the unwrapped one
 * returns for the same requests, records the provider's usage exactly, refuses an over-limit call
 * before it reaches the provider, and releases the hold when the provider answers an error.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore, TokenLimitExceededError, type LimitRule, type QuotaStore, type TokenLimiter } from '../../src/index.js';
import type { Emulator } from '../../src/testing/index.js';
import { emulatorTotals, usageLog } from './helpers.js';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A MemoryStore whose operations (the hot path's reserve, commit, release and renew, and the admin
 * reads and writes) answer `ms` later, as a networked store does (Redis).
 */
export function slowStore(ms = 15): QuotaStore {
  const later = <T extends object>(part: T): T =>
    new Proxy(part, {
      get(target, key) {
        const value = Reflect.get(target, key, target) as unknown;
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          await sleep(ms);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  const store = new MemoryStore();
  const hotPath = later(store.hotPath);
  const admin = later(store.admin);
  return new Proxy(store, {
    get(target, key) {
      if (key === 'hotPath') return hotPath;
      if (key === 'admin') return admin;
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

export interface MatrixCase<C> {
  name: string;
  /** Billed HTTP requests the call makes. */
  requests: number;
  /** The model the call names (and its usage records). */
  model: string;
  /** No usage in the answer (embeddings): the input estimate is committed, marked estimated. */
  estimated?: boolean;
  run(client: C): Promise<unknown>;
}

export interface MatrixSetup<C> {
  emulator: () => Emulator;
  provider: 'openai' | 'anthropic' | 'google';
  /** A limiter with `rules` for user `alice`, and the unwrapped and wrapped clients for a case. */
  make(rules: LimitRule[], c: MatrixCase<C>): { limiter: TokenLimiter; raw: C; wrapped: C };
  /** The SDK's error class for HTTP error answers. */
  providerError: abstract new (...args: never[]) => Error;
  /** Error answers to test (the Google SDKs do not retry, so each is one request). */
  statuses: number[];
  /** What of a result may differ between two calls (per-attempt headers); default: nothing. */
  comparable?: (value: unknown) => unknown;
}

export function describeMatrix<C>(title: string, cases: MatrixCase<C>[], setup: MatrixSetup<C>): void {
  const comparable = setup.comparable ?? ((value: unknown) => JSON.parse(JSON.stringify(value)) as unknown);
  const roomy: LimitRule[] = [{ id: 'm', tokens: 1_000_000, period: 'month' }];
  describe(title, () => {
    for (const c of cases) {
      describe(c.name, () => {
        it('returns exactly what the unwrapped client returns, and records the provider usage of every request', async () => {
          const { limiter, raw, wrapped } = setup.make(roomy, c);
          const bare = await c.run(raw);
          const bareRequests = [...setup.emulator().requests];
          setup.emulator().clearRequests();
          const ours = await c.run(wrapped);
          const ourRequests = [...setup.emulator().requests];
          expect(comparable(ours)).toEqual(comparable(bare));
          expect(ourRequests.map((r) => r.rawBody)).toEqual(bareRequests.map((r) => r.rawBody));
          expect(ourRequests).toHaveLength(c.requests);
          const logged = await usageLog(limiter);
          expect(logged).toHaveLength(c.requests);
          expect(logged.every((r) => r.userId === 'alice' && r.provider === setup.provider && r.status === 'ok' && r.model === c.model)).toBe(true);
          if (c.estimated) {
            expect(logged.every((r) => r.estimated && r.inputTokens > 0 && r.outputTokens === 0)).toBe(true);
          } else {
            expect(logged.every((r) => !r.estimated)).toBe(true);
            const want = emulatorTotals(ourRequests);
            expect(logged.reduce((n, r) => n + r.inputTokens, 0)).toBe(want.input);
            expect(logged.reduce((n, r) => n + r.outputTokens, 0)).toBe(want.output);
          }
          expect(await limiter.admin.getUsage('alice')).toMatchObject({ used: logged.reduce((n, r) => n + r.totalTokens, 0), reserved: 0 });
        });

        it('refuses an over-limit call before it reaches the provider', async () => {
          const { limiter, wrapped } = setup.make([{ id: 'tiny', tokens: 1, period: 'day' }], c);
          const error = await c.run(wrapped).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(TokenLimitExceededError);
          expect(error).toMatchObject({ ruleId: 'tiny', limit: 1, used: 0, reserved: 0 });
          await sleep(50);
          expect(setup.emulator().requests).toHaveLength(0);
          expect(await limiter.admin.getUsage('alice')).toMatchObject({ used: 0, reserved: 0 });
        });

        for (const status of setup.statuses) {
          it(`releases the hold when the provider answers ${status} (the SDK's own error)`, async () => {
            const { limiter, wrapped } = setup.make(roomy, c);
            setup.emulator().enqueue({ status }, { times: 10 });
            const error = await c.run(wrapped).catch((e: unknown) => e);
            expect(error).toBeInstanceOf(setup.providerError);
            expect(error).toMatchObject({ status });
            expect(setup.emulator().requests).toHaveLength(1);
            expect(await limiter.admin.getUsage('alice')).toMatchObject({ used: 0, reserved: 0 });
            expect(await usageLog(limiter)).toHaveLength(0);
          });
        }
      });
    }
  });
}
