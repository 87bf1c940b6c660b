import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { createTokenLimiter, MemoryStore, RedisStore, TokenLimitExceededError, withTokenLimits, type QuotaStore } from '../../src/index.js';
import { MAX_RENEWED_LEASES } from '../../src/providers/shared/tracked-call.js';
import { collect, useEmulator } from '../emulator/harness.js';
import { loggedAtLeast } from './helpers.js';
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

describe('a stream that stalls after its renewals end', () => {
  // Renewals stop after MAX_RENEWED_LEASES leases, so that a request that never answers cannot hold
  // quota for ever; a stream being read is renewed on while data comes, and one that brought
  // nothing for a whole lease past that point is settled with what it brought (else it would
  // charge nothing once its hold ended).
  const leaseMs = 600;
  const limits = [{ id: 'day', tokens: 1_000_000, period: 'day' as const }];
  const settledWithin = (limiter: ReturnType<typeof createTokenLimiter>, ms: number) => loggedAtLeast(limiter, 1, ms);

  it('OpenAI: a stream the caller never reads, whose connection goes silent after the first chunk, is charged an estimate', async () => {
    const limiter = createTokenLimiter({ store: new MemoryStore(), leaseMs, defaultLimits: limits });
    const client = withTokenLimits(new OpenAI({ apiKey: 'test', baseURL: emulator().openaiBaseURL, maxRetries: 0 }), 'silent', { limiter });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: question, max_completion_tokens: 100, stream: true }, { headers: { 'x-emulator-chunk-delay-ms': '600000' } });
    const [record] = await settledWithin(limiter, (MAX_RENEWED_LEASES + 10) * leaseMs + 10_000);
    expect(record).toMatchObject({ status: 'aborted', estimated: true });
    expect(record!.inputTokens).toBeGreaterThan(0);
    expect(await limiter.admin.getUsage('silent')).toMatchObject({ reserved: 0, used: record!.totalTokens });
    stream.controller.abort();
    await limiter.close();
  }, 30_000);

  it('@google/genai: a stream the caller broke out of, whose connection goes silent, is charged what it reported', async () => {
    const limiter = createTokenLimiter({ store: new MemoryStore(), leaseMs, defaultLimits: limits });
    const client = withTokenLimits(new GoogleGenAI({ apiKey: 'test', httpOptions: { baseUrl: emulator().googleBaseUrl } }), 'silent', { limiter });
    const controller = new AbortController();
    const stream = await client.models.generateContentStream({
      model: 'gemini-2.0-flash',
      contents: 'What is the weather in Lisbon today?',
      config: { maxOutputTokens: 100, abortSignal: controller.signal, httpOptions: { headers: { 'x-emulator-chunk-delay-ms': '600000' } } },
    });
    let prompt = 0;
    for await (const chunk of stream) {
      prompt = chunk.usageMetadata?.promptTokenCount ?? 0;
      break;
    }
    const [record] = await settledWithin(limiter, (MAX_RENEWED_LEASES + 10) * leaseMs + 10_000);
    expect(record).toMatchObject({ status: 'aborted', estimated: true, inputTokens: prompt });
    expect(await limiter.admin.getUsage('silent')).toMatchObject({ reserved: 0, used: record!.totalTokens });
    controller.abort();
    await limiter.close();
  }, 30_000);

  it('a stream still bringing data past its renewals is renewed on and charged its exact usage when it ends', async () => {
    const limiter = createTokenLimiter({ store: new MemoryStore(), leaseMs, defaultLimits: limits });
    const client = withTokenLimits(new OpenAI({ apiKey: 'test', baseURL: emulator().openaiBaseURL, maxRetries: 0 }), 'steady', { limiter });
    const started = Date.now();
    // About 16 records 400 ms apart: it ends after the renewals' end (3.6 s) plus two leases.
    const reading = (async () =>
      collect(
        await client.chat.completions.create({ model: 'gpt-4o-mini', messages: question, max_completion_tokens: 6000, stream: true }, { headers: { 'x-emulator-chunk-delay-ms': '400' } }),
      ))();
    await sleep((MAX_RENEWED_LEASES + 2) * leaseMs - (Date.now() - started));
    // Past the renewals' end and a lease more: its hold still counts.
    expect((await limiter.admin.getUsage('steady')).reserved).toBeGreaterThan(6000);
    const chunks = await reading;
    expect(Date.now() - started).toBeGreaterThan((MAX_RENEWED_LEASES + 2) * leaseMs);
    const [record] = await settledWithin(limiter, 10_000);
    expect(record).toMatchObject({ status: 'ok', estimated: false });
    expect(chunks.length).toBeGreaterThan(10);
    expect(await limiter.admin.getUsage('steady')).toMatchObject({ reserved: 0, used: record!.totalTokens });
    await limiter.close();
  }, 30_000);
});
