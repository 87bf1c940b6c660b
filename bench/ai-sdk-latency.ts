import { createOpenAI } from '@ai-sdk/openai';
import { generateText, wrapLanguageModel } from 'ai';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { createTokenLimiter, MemoryStore, RedisStore, type TokenLimiter } from '../src/index.js';
import { tokenLimitsMiddleware } from '../src/integrations/ai/index.js';
import { startEmulator } from '../src/testing/index.js';
import { pct } from './wrapper-latency.js';

/** AI SDK `generateText` through `tokenLimitsMiddleware` vs the bare model, same run, same payload. */
export interface AiSdkLatencyResult {
  store: 'memory' | 'redis';
  calls: number;
  bareP50Ms: number;
  bareP99Ms: number;
  wrappedP50Ms: number;
  wrappedP99Ms: number;
  /** wrapped p50 − bare p50, in ms. */
  addedP50Ms: number;
  /** wrapped p50 ÷ bare p50: `generateText` wall time through the middleware over the same call on the bare model. */
  ratioP50: number;
}

/** Calls per slice: bare and wrapped alternate slice by slice (each slice starting with the other than the last). */
const SLICE = 10;

/**
 * `generateText` (@ai-sdk/openai chat, `gpt-4o-mini`, the same prompt and `maxOutputTokens`) on the
 * bare model and on the model wrapped with `tokenLimitsMiddleware`, against the local emulator.
 * Bare and wrapped calls alternate in slices of {@link SLICE}, so machine noise hits both alike.
 */
export async function benchAiSdkLatency(redisUrl: string, iterations = 300): Promise<AiSdkLatencyResult[]> {
  const emulator = await startEmulator();
  const redis = new Redis(redisUrl);
  const rules = [{ id: 'm', tokens: Number.MAX_SAFE_INTEGER, period: 'month' as const }];
  const limiters: Record<'memory' | 'redis', TokenLimiter> = {
    memory: createTokenLimiter({ store: new MemoryStore(), defaultLimits: rules }),
    redis: createTokenLimiter({ store: new RedisStore({ client: redis, prefix: `bench${randomBytes(4).toString('hex')}` }), defaultLimits: rules }),
  };
  await Promise.all(Object.values(limiters).map((l) => l.warmup()));
  const bare = createOpenAI({ apiKey: 'bench', baseURL: emulator.openaiBaseURL }).chat('gpt-4o-mini');
  const call = (model: typeof bare) => generateText({ model, prompt: 'What is the capital of Portugal? Answer in one word.', maxOutputTokens: 20 });
  const results: AiSdkLatencyResult[] = [];
  try {
    for (const store of ['memory', 'redis'] as const) {
      const wrapped = wrapLanguageModel({ model: bare, middleware: tokenLimitsMiddleware({ limiter: limiters[store], user: 'bench-user' }) });
      for (let i = 0; i < 30; i += 1) {
        await call(bare);
        await call(wrapped);
      }
      const times = { bare: [] as number[], wrapped: [] as number[] };
      for (let slice = 0; slice * SLICE < iterations; slice += 1) {
        const order = slice % 2 === 0 ? (['bare', 'wrapped'] as const) : (['wrapped', 'bare'] as const);
        for (const kind of order) {
          const model = kind === 'bare' ? bare : wrapped;
          for (let i = 0; i < SLICE; i += 1) {
            const t = performance.now();
            await call(model);
            times[kind].push(performance.now() - t);
          }
        }
        emulator.clearRequests();
      }
      await limiters[store].flush();
      const b50 = pct(times.bare, 0.5);
      const w50 = pct(times.wrapped, 0.5);
      results.push({
        store,
        calls: times.bare.length,
        bareP50Ms: b50,
        bareP99Ms: pct(times.bare, 0.99),
        wrappedP50Ms: w50,
        wrappedP99Ms: pct(times.wrapped, 0.99),
        addedP50Ms: w50 - b50,
        ratioP50: w50 / b50,
      });
    }
  } finally {
    await Promise.all(Object.values(limiters).map((l) => l.close()));
    await emulator.close();
    redis.disconnect();
  }
  return results;
}
