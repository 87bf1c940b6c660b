import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import { GoogleGenerativeAI } from '@google/generative-ai';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { randomBytes } from 'node:crypto';
import { createTokenLimiter, MemoryStore, RedisStore, withTokenLimits, type TokenLimiter } from '../src/index.js';
import { startEmulator, type Emulator } from '../src/testing/index.js';

/**
 * Added latency of a wrapped call over the bare SDK call against the local emulator, in the same
 * run: bare and wrapped calls alternate, so machine noise hits both alike.
 */
export interface LatencyResult {
  provider: string;
  mode: 'non-stream' | 'stream';
  store: 'memory' | 'redis';
  bareP50Ms: number;
  bareP99Ms: number;
  wrappedP50Ms: number;
  wrappedP99Ms: number;
  /** wrapped p50 / bare p50. */
  ratioP50: number;
  /** wrapped p50 - bare p50, in ms. */
  addedP50Ms: number;
}

type Call = (client: any) => Promise<unknown>;

interface ProviderCase {
  provider: string;
  make(emulator: Emulator): object;
  calls: Record<'non-stream' | 'stream', Call>;
}

const prompt = 'What is the capital of Portugal? Answer in one word.';
const question = [{ role: 'user' as const, content: prompt }];
/** The running emulator's Gemini base URL (@google/generative-ai takes it per model). */
let googleBaseUrl = '';

export const PROVIDER_CASES: ProviderCase[] = [
  {
    provider: 'openai',
    make: (e) => new OpenAI({ apiKey: 'bench', baseURL: e.openaiBaseURL }),
    calls: {
      'non-stream': (c: OpenAI) => c.chat.completions.create({ model: 'gpt-4o-mini', messages: question, max_completion_tokens: 20 }),
      stream: async (c: OpenAI) => {
        for await (const _ of await c.chat.completions.create({ model: 'gpt-4o-mini', messages: question, max_completion_tokens: 20, stream: true }));
      },
    },
  },
  {
    provider: 'anthropic',
    make: (e) => new Anthropic({ apiKey: 'bench', baseURL: e.anthropicBaseURL }),
    calls: {
      'non-stream': (c: Anthropic) => c.messages.create({ model: 'claude-haiku-4-5', max_tokens: 20, messages: question }),
      stream: async (c: Anthropic) => {
        for await (const _ of await c.messages.create({ model: 'claude-haiku-4-5', max_tokens: 20, messages: question, stream: true }));
      },
    },
  },
  {
    provider: '@google/generative-ai',
    make: () => new GoogleGenerativeAI('bench'),
    calls: {
      'non-stream': (c: GoogleGenerativeAI) =>
        c.getGenerativeModel({ model: 'gemini-2.5-flash', generationConfig: { maxOutputTokens: 20 } }, { baseUrl: googleBaseUrl }).generateContent(prompt),
      stream: async (c: GoogleGenerativeAI) => {
        const model = c.getGenerativeModel({ model: 'gemini-2.5-flash', generationConfig: { maxOutputTokens: 20 } }, { baseUrl: googleBaseUrl });
        const result = await model.generateContentStream(prompt);
        for await (const _ of result.stream);
        await result.response;
      },
    },
  },
  {
    provider: '@google/genai',
    make: (e) => new GoogleGenAI({ apiKey: 'bench', httpOptions: { baseUrl: e.googleBaseUrl } }),
    calls: {
      'non-stream': (c: GoogleGenAI) => c.models.generateContent({ model: 'gemini-2.5-flash', contents: prompt, config: { maxOutputTokens: 20 } }),
      stream: async (c: GoogleGenAI) => {
        for await (const _ of await c.models.generateContentStream({ model: 'gemini-2.5-flash', contents: prompt, config: { maxOutputTokens: 20 } }));
      },
    },
  },
];

export async function benchWrapperLatency(redisUrl: string, iterations = 300, cases = PROVIDER_CASES): Promise<LatencyResult[]> {
  const emulator = await startEmulator();
  googleBaseUrl = emulator.googleBaseUrl;
  const redis = new Redis(redisUrl);
  const limiters: Record<'memory' | 'redis', TokenLimiter> = {
    memory: createTokenLimiter({ store: new MemoryStore(), defaultLimits: [{ id: 'm', tokens: Number.MAX_SAFE_INTEGER, period: 'month' }] }),
    redis: createTokenLimiter({
      store: new RedisStore({ client: redis, prefix: `bench${randomBytes(4).toString('hex')}` }),
      defaultLimits: [{ id: 'm', tokens: Number.MAX_SAFE_INTEGER, period: 'month' }],
    }),
  };
  await Promise.all(Object.values(limiters).map((l) => l.warmup()));
  const results: LatencyResult[] = [];
  try {
    for (const c of cases) {
      for (const mode of ['non-stream', 'stream'] as const) {
        for (const store of ['memory', 'redis'] as const) {
          const bare = c.make(emulator);
          const wrapped = withTokenLimits(c.make(emulator), 'bench-user', { limiter: limiters[store] });
          const call = c.calls[mode];
          for (let i = 0; i < 30; i += 1) {
            await call(bare);
            await call(wrapped);
          }
          const bareTimes: number[] = [];
          const wrappedTimes: number[] = [];
          for (let i = 0; i < iterations; i += 1) {
            const order = i % 2 === 0 ? ([bare, bareTimes, wrapped, wrappedTimes] as const) : ([wrapped, wrappedTimes, bare, bareTimes] as const);
            let t = performance.now();
            await call(order[0]);
            order[1].push(performance.now() - t);
            t = performance.now();
            await call(order[2]);
            order[3].push(performance.now() - t);
          }
          emulator.clearRequests();
          const b50 = pct(bareTimes, 0.5);
          const w50 = pct(wrappedTimes, 0.5);
          results.push({
            provider: c.provider,
            mode,
            store,
            bareP50Ms: b50,
            bareP99Ms: pct(bareTimes, 0.99),
            wrappedP50Ms: w50,
            wrappedP99Ms: pct(wrappedTimes, 0.99),
            ratioP50: w50 / b50,
            addedP50Ms: w50 - b50,
          });
        }
      }
    }
  } finally {
    await emulator.close();
    redis.disconnect();
  }
  return results;
}

/** The p-th quantile (0..1) of `values`. */
export function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

/** Redis script calls a wrapped call makes before the provider receives the request, and in all. */
export interface WrappedRoundTrips {
  provider: string;
  beforeProviderCall: number;
  total: number;
}

/**
 * Counts the EVALSHA/EVAL calls the Redis server saw (INFO commandstats) while a wrapped non-stream
 * call runs: up to the moment the emulator holds the request (the provider is delayed 150 ms), and
 * until the call returns. Minimum of five calls per provider, so that the epoch check a process makes
 * at most once a second (beside a reserve, not before it) and other clients of a shared Redis do not
 * count.
 */
export async function countWrappedRoundTrips(redisUrl: string, cases = PROVIDER_CASES): Promise<WrappedRoundTrips[]> {
  const emulator = await startEmulator();
  googleBaseUrl = emulator.googleBaseUrl;
  const redis = new Redis(redisUrl);
  const probe = new Redis(redisUrl);
  const calls = async () => {
    const info = await probe.info('commandstats');
    let total = 0;
    for (const m of info.matchAll(/cmdstat_(?:evalsha|eval|evalsha_ro|eval_ro):calls=(\d+)/g)) total += Number(m[1]);
    return total;
  };
  const limiter = createTokenLimiter({
    store: new RedisStore({ client: redis, prefix: `bench${randomBytes(4).toString('hex')}` }),
    defaultLimits: [{ id: 'm', tokens: Number.MAX_SAFE_INTEGER, period: 'month' }],
  });
  await limiter.warmup();
  const out: WrappedRoundTrips[] = [];
  try {
    for (const c of cases) {
      const wrapped = withTokenLimits(c.make(emulator), 'rt-user', { limiter });
      await c.calls['non-stream'](wrapped); // warm: user known, scripts loaded
      let before = Number.POSITIVE_INFINITY;
      let total = Number.POSITIVE_INFINITY;
      for (let i = 0; i < 5; i += 1) {
        emulator.clearRequests();
        emulator.enqueue({ delayMs: 150 });
        const start = await calls();
        const call = c.calls['non-stream'](wrapped);
        await emulator.waitForRequests(1, { timeoutMs: 5000 });
        const atProvider = await calls();
        await call;
        const end = await calls();
        before = Math.min(before, atProvider - start);
        total = Math.min(total, end - start);
      }
      out.push({ provider: c.provider, beforeProviderCall: before, total });
    }
  } finally {
    await limiter.close();
    await emulator.close();
    redis.disconnect();
    probe.disconnect();
  }
  return out;
}
