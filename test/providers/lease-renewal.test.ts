import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { createTokenLimiter, MemoryStore, RedisStore, TokenLimitExceededError, withTokenLimits, type QuotaStore } from '../../src/index.js';
import { MAX_RENEWED_LEASES } from '../../src/providers/shared/tracked-call.js';
import { useEmulator } from '../emulator/harness.js';
import { redisForThisFile, uniquePrefix } from '../helpers/redis.js';

const emulator = useEmulator();
const redis = await redisForThisFile();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const question = [{ role: 'user' as const, content: 'Write a long answer, please.' }];

describe.each([
  ['MemoryStore', (): QuotaStore => new MemoryStore()],
  ['RedisStore', (): QuotaStore => new RedisStore({ client: redis, prefix: uniquePrefix() })],
])('a wrapped call that outlasts its lease, %s', (_name, makeStore) => {
  // Holds end with their lease (so that a crashed process's free themselves); a call still running
  // renews its own, so that a long stream keeps counting and no other call spends its share.
  it.each([false, true])('keeps its hold counting until it ends (stream: %s)', async (stream) => {
    const leaseMs = 1500;
    const limiter = createTokenLimiter({ store: makeStore(), leaseMs, defaultLimits: [{ id: 'day', tokens: 10_000, period: 'day' }] });
    const client = withTokenLimits(new OpenAI({ apiKey: 'test', baseURL: emulator().openaiBaseURL, maxRetries: 0 }), 'slow', { limiter });
    const started = Date.now();
    const slow = (async () => {
      const options = { headers: { 'x-emulator-delay-ms': '4000' } };
      if (!stream) return client.chat.completions.create({ model: 'gpt-4o-mini', messages: question, max_completion_tokens: 6000 }, options);
      for await (const _ of await client.chat.completions.create({ model: 'gpt-4o-mini', messages: question, max_completion_tokens: 6000, stream: true }, options));
      return undefined;
    })();
    await sleep(2 * leaseMs + 200 - (Date.now() - started));
    const during = await limiter.admin.getUsage('slow');
    expect(during.reserved).toBeGreaterThan(6000);
    // What is left beside the running call's hold is refused more; without the renewals its hold
    // would have stopped counting after 1.5 s, and this would fit.
    await expect(limiter.reserve('slow', { tokens: 10_000 - during.reserved + 1 })).rejects.toBeInstanceOf(TokenLimitExceededError);
    await slow;
    await limiter.flush();
    const after = await limiter.admin.getUsage('slow');
    expect(after.reserved).toBe(0);
    expect(after.used).toBeGreaterThan(0);
    expect(after.used).toBeLessThan(during.reserved);
    await limiter.close();
  });
});

describe('renewals of a wrapped call', () => {
  it(`stop after ${MAX_RENEWED_LEASES} leases: a call that never ends cannot hold quota for ever`, async () => {
    // Renewed every 300 ms, each to 600 ms from then: 300 ms of slack for a timer late on a busy machine.
    const leaseMs = 600;
    const limiter = createTokenLimiter({ store: new MemoryStore(), leaseMs, defaultLimits: [{ id: 'day', tokens: 10_000, period: 'day' }] });
    const client = withTokenLimits(new OpenAI({ apiKey: 'test', baseURL: emulator().openaiBaseURL, maxRetries: 0 }), 'stuck', { limiter });
    const controller = new AbortController();
    const stuck = client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: question, max_completion_tokens: 6000 }, { headers: { 'x-emulator-delay-ms': '10000' }, signal: controller.signal })
      .catch(() => 'aborted');
    await sleep(3 * leaseMs);
    expect((await limiter.admin.getUsage('stuck')).reserved).toBeGreaterThan(6000);
    // The last renewal starts before MAX_RENEWED_LEASES leases and lasts one more lease.
    await sleep((MAX_RENEWED_LEASES + 2) * leaseMs);
    expect((await limiter.admin.getUsage('stuck')).reserved).toBe(0);
    controller.abort();
    expect(await stuck).toBe('aborted');
    await limiter.close();
  });
});
