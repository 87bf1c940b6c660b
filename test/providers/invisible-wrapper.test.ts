/**
 * The wrapped client is the caller's own client: one test per class of difference a wrapper could
 * introduce, each through the real SDK over HTTP against the emulator.
 */
import { getEventListeners } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI, { AzureOpenAI } from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTokenLimiter, withTokenLimits, type WrapOptions } from '../../src/index.js';
import { expectedUsage, startEmulator, type Emulator } from '../../src/testing/index.js';
import { collect, useEmulator } from '../emulator/harness.js';
import { usageLog } from './helpers.js';

const emulator = useEmulator();
const messages = [{ role: 'user' as const, content: 'What is the weather in Lisbon today?' }];
const chat = { model: 'gpt-4o-mini', messages };

function limiterAndWrap<C extends object>(client: C, options: Omit<WrapOptions, 'limiter'> = {}) {
  const limiter = createTokenLimiter({ defaultLimits: [{ id: 'm', tokens: 10_000_000, period: 'month' }] });
  return { limiter, wrapped: withTokenLimits(client, 'alice', { limiter, ...options }) };
}

const openai = (extra: Record<string, unknown> = {}) => new OpenAI({ apiKey: 'test', baseURL: emulator().openaiBaseURL, ...extra });

/** A field TypeScript declares private. */
const fieldOf = (client: object, key: string): unknown => (client as Record<string, unknown>)[key];

/** The last request the emulator received. */
const last = () => emulator().requests.at(-1)!;

describe('constructor, statics, instanceof, own properties', () => {
  it('reads back exactly as on the bare client, and sends the same user-agent', async () => {
    const raw = openai();
    const { wrapped } = limiterAndWrap(raw);
    const { wrapped: other } = limiterAndWrap(openai());
    expect(wrapped.constructor).toBe(OpenAI);
    expect(other.constructor).toBe(wrapped.constructor);
    expect((wrapped.constructor as typeof OpenAI).APIError).toBe(OpenAI.APIError);
    expect((wrapped.constructor as typeof OpenAI).DEFAULT_TIMEOUT).toBe(OpenAI.DEFAULT_TIMEOUT);
    expect(wrapped).toBeInstanceOf(OpenAI);
    expect(wrapped.constructor.name).toBe('OpenAI');
    expect(Object.keys(wrapped)).toEqual(Object.keys(raw));
    const routed = new Set(['chat', 'responses', 'beta', 'completions', 'embeddings']);
    for (const key of Object.keys(raw)) {
      if (!routed.has(key)) expect((wrapped as unknown as Record<string, unknown>)[key], key).toBe((raw as unknown as Record<string, unknown>)[key]);
    }
    expect(fieldOf(wrapped, 'fetch')).toBe(fieldOf(raw, 'fetch'));
    expect(wrapped.chat.completions.constructor).toBe(raw.chat.completions.constructor);
    // The resources' client is the wrapped client, as the bare client's resources hold the bare one.
    expect((wrapped.chat.completions as unknown as { _client: unknown })._client).toBe(wrapped);

    await raw.chat.completions.create(chat);
    const bareAgent = last().headers['user-agent'];
    await wrapped.chat.completions.create(chat);
    expect(last().headers['user-agent']).toBe(bareAgent);
    expect(bareAgent).toMatch(/^OpenAI\/JS /);
  });

  it('constructs no second client when wrapping (construction side effects run once)', async () => {
    let constructed = 0;
    class Counted extends OpenAI {
      constructor(options: ConstructorParameters<typeof OpenAI>[0]) {
        super(options);
        constructed += 1;
      }
    }
    const raw = new Counted({ apiKey: 'test', baseURL: emulator().openaiBaseURL });
    const { wrapped, limiter } = limiterAndWrap(raw);
    await wrapped.chat.completions.create(chat);
    await collect(await wrapped.chat.completions.create({ ...chat, stream: true }));
    expect(constructed).toBe(1);
    expect(wrapped.constructor).toBe(Counted);
    await limiter.flush();
    expect(await usageLog(limiter)).toHaveLength(2);
  });

  it('holds for an Anthropic client too', async () => {
    const raw = new Anthropic({ apiKey: 'test', baseURL: emulator().anthropicBaseURL });
    const { wrapped } = limiterAndWrap(raw);
    expect(wrapped.constructor).toBe(Anthropic);
    expect((wrapped.constructor as typeof Anthropic).APIError).toBe(Anthropic.APIError);
    expect(wrapped).toBeInstanceOf(Anthropic);
    for (const key of Object.keys(raw)) {
      if (key !== 'messages' && key !== 'beta') expect((wrapped as unknown as Record<string, unknown>)[key], key).toBe((raw as unknown as Record<string, unknown>)[key]);
    }
    await raw.messages.create({ model: 'claude-sonnet-5', max_tokens: 50, messages });
    const bareAgent = last().headers['user-agent'];
    await wrapped.messages.create({ model: 'claude-sonnet-5', max_tokens: 50, messages });
    expect(last().headers['user-agent']).toBe(bareAgent);
  });
});

describe('spies and replaced methods', () => {
  it('vi.spyOn and assignments read back exactly, and billed calls still go through the spy and the quota', async () => {
    const raw = openai();
    const { wrapped, limiter } = limiterAndWrap(raw);

    const requestSpy = vi.spyOn(wrapped, 'request');
    expect(vi.isMockFunction(wrapped.request)).toBe(true);
    expect(wrapped.request).toBe(requestSpy);
    // A spied method of the client itself still runs on the real client (private fields).
    expect(wrapped.buildURL('/models', null)).toBe(raw.buildURL('/models', null));
    const urlSpy = vi.spyOn(wrapped, 'buildURL');
    expect(wrapped.buildURL('/models', null)).toBe(raw.buildURL('/models', null));
    expect(urlSpy).toHaveBeenCalled();
    urlSpy.mockRestore();

    const createSpy = vi.spyOn(wrapped.chat.completions, 'create');
    expect(wrapped.chat.completions.create).toBe(createSpy);
    const completion = await wrapped.chat.completions.create(chat);
    expect(createSpy).toHaveBeenCalledTimes(1);
    expect(requestSpy).toHaveBeenCalledTimes(1);
    await limiter.flush();
    const [record] = await usageLog(limiter);
    expect(record).toMatchObject({ userId: 'alice', inputTokens: completion.usage!.prompt_tokens, outputTokens: completion.usage!.completion_tokens, estimated: false });

    const replaced = (() => 'mine') as unknown as OpenAI['buildURL'];
    wrapped.buildURL = replaced;
    expect(wrapped.buildURL).toBe(replaced);
    expect(raw.buildURL).toBe(replaced);
    createSpy.mockRestore();
    requestSpy.mockRestore();
  });

  it('a function-valued field set on the bare client reads back as set', () => {
    const raw = openai();
    const { wrapped } = limiterAndWrap(raw);
    const fetcher = async () => new Response('{}');
    (raw as unknown as { fetch: unknown }).fetch = fetcher;
    expect(fieldOf(wrapped, 'fetch')).toBe(fetcher);
  });
});

describe('function values of getters, and helper results', () => {
  it("a getter's function value (Anthropic credentials) reads back as on the bare client, on clones too", async () => {
    const provider = async () => ({ token: 'oauth-token', expiresAt: Math.floor(Date.now() / 1000) + 3600 });
    const raw = new Anthropic({ credentials: provider as never, baseURL: emulator().anthropicBaseURL });
    const { wrapped } = limiterAndWrap(raw);
    expect(wrapped.credentials).toBe(raw.credentials);
    expect(wrapped.credentials).toBe(provider);
    const copied = wrapped.withOptions({ timeout: 5000 });
    expect(copied.credentials).toBe(provider);
    await wrapped.messages.create({ model: 'claude-sonnet-5', max_tokens: 50, messages });
    expect(last().headers.authorization).toBe('Bearer oauth-token');
  });

  it("a helper's result keeps its class (constructor.name), wrapped or not", async () => {
    const raw = new Anthropic({ apiKey: 'test', baseURL: emulator().anthropicBaseURL });
    const { wrapped } = limiterAndWrap(raw);
    const bare = raw.messages.stream({ model: 'claude-sonnet-5', max_tokens: 50, messages });
    const stream = wrapped.messages.stream({ model: 'claude-sonnet-5', max_tokens: 50, messages });
    expect(stream.constructor).toBe(bare.constructor);
    expect(stream.constructor.name).toBe('MessageStream');
    expect((await stream.finalMessage()).content).toEqual((await bare.finalMessage()).content);
  });
});

describe('configuration changed after wrapping applies to billing calls', () => {
  let second: Emulator;
  beforeAll(async () => {
    second = await startEmulator();
  });
  afterAll(async () => {
    await second.close();
  });

  it('a key rotated after wrapping (on either side) is used by the next billing call', async () => {
    const raw = openai({ apiKey: 'key-1' });
    const { wrapped } = limiterAndWrap(raw);
    await wrapped.chat.completions.create(chat);
    expect(last().headers.authorization).toBe('Bearer key-1');
    wrapped.apiKey = 'key-2';
    await wrapped.chat.completions.create(chat);
    expect(last().headers.authorization).toBe('Bearer key-2');
    raw.apiKey = 'key-3';
    await collect(await wrapped.chat.completions.create({ ...chat, stream: true }));
    expect(last().headers.authorization).toBe('Bearer key-3');
    await wrapped.responses.create({ model: 'gpt-4.1', input: 'hi' });
    expect(last().headers.authorization).toBe('Bearer key-3');
  });

  it('a base URL changed after wrapping is used by the next billing call', async () => {
    const raw = openai();
    const { wrapped, limiter } = limiterAndWrap(raw);
    raw.baseURL = second.openaiBaseURL;
    const before = emulator().requests.length;
    await wrapped.chat.completions.create(chat);
    expect(emulator().requests.length).toBe(before);
    expect(second.requests.at(-1)?.endpoint).toBe('chat.completions');
    await limiter.flush();
    expect(await usageLog(limiter)).toHaveLength(1);
  });

  it('AzureOpenAI: billing calls go to the client-level deployment and api-version, with the client key', async () => {
    const raw = new AzureOpenAI({ endpoint: emulator().url, apiKey: 'azure-key', apiVersion: '2025-04-01-preview', deployment: 'my-deployment' });
    const { wrapped, limiter } = limiterAndWrap(raw);
    await raw.chat.completions.create(chat);
    const bare = last();
    const completion = await wrapped.chat.completions.create(chat);
    const viaWrapper = last();
    await collect(await wrapped.chat.completions.create({ ...chat, stream: true }));
    const streamed = last();
    for (const r of [bare, viaWrapper, streamed]) {
      expect(r.path).toBe('/openai/deployments/my-deployment/chat/completions');
      expect(r.query['api-version']).toBe('2025-04-01-preview');
      expect(r.headers['api-key']).toBe('azure-key');
    }
    await limiter.flush();
    const records = await usageLog(limiter);
    expect(records).toHaveLength(2);
    expect(records.find((r) => r.estimated === false && r.inputTokens === completion.usage!.prompt_tokens)).toBeDefined();
    const streamUsage = expectedUsage(streamed);
    expect(records[0]).toMatchObject({ inputTokens: streamUsage.inputTokens, outputTokens: streamUsage.outputTokens, estimated: false });
  });

  it('AzureOpenAI with azureADTokenProvider: each billing call sends a fresh token', async () => {
    let n = 0;
    const raw = new AzureOpenAI({ endpoint: emulator().url, apiVersion: '2024-10-21', azureADTokenProvider: async () => `token-${++n}` });
    const { wrapped } = limiterAndWrap(raw);
    await wrapped.chat.completions.create({ ...chat, model: 'gpt-4o' });
    expect(last().headers.authorization).toBe('Bearer token-1');
    expect(last().path).toBe('/openai/deployments/gpt-4o/chat/completions');
    await wrapped.chat.completions.create({ ...chat, model: 'gpt-4o' });
    expect(last().headers.authorization).toBe('Bearer token-2');
    expect(last().query['api-version']).toBe('2024-10-21');
  });
});

describe("the caller's AbortSignal", () => {
  it('is the one the SDK sees: it carries the same listeners as with the bare client while a stream is held', async () => {
    const raw = openai();
    const { wrapped } = limiterAndWrap(raw);
    const counts: number[][] = [];
    for (const client of [raw, wrapped]) {
      const controller = new AbortController();
      const stream = await client.chat.completions.create({ ...chat, stream: true }, { signal: controller.signal });
      const held = getEventListeners(controller.signal, 'abort').length;
      await collect(stream);
      counts.push([held, getEventListeners(controller.signal, 'abort').length]);
    }
    expect(counts[0]![0]).toBeGreaterThan(0);
    expect(counts[1]).toEqual(counts[0]);
  });

  it('keeps its listener while the caller holds only the body reader, after garbage collection', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    setFlagsFromString('--no-expose-gc');
    const raw = new Anthropic({ apiKey: 'test', baseURL: emulator().anthropicBaseURL });
    const { wrapped } = limiterAndWrap(raw);
    const counts: number[] = [];
    for (const client of [raw, wrapped]) {
      const session = new AbortController();
      const response = await client.messages
        .create({ model: 'claude-sonnet-5', max_tokens: 50, messages, stream: true }, { signal: session.signal })
        .asResponse();
      const reader = response.body!.getReader();
      await reader.read();
      // The wrapper's own copy of the stream is read to its end meanwhile; the SDK's body must stay alive.
      for (let i = 0; i < 10; i++) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      counts.push(getEventListeners(session.signal, 'abort').length);
      await reader.cancel();
    }
    expect(counts[0]).toBe(1);
    expect(counts[1]).toBe(counts[0]);
  });

  it('aborting it stops the wrapped stream and charges an estimate', async () => {
    const { wrapped, limiter } = limiterAndWrap(openai());
    emulator().setDefault({ chunkDelayMs: 30 });
    const controller = new AbortController();
    const stream = await wrapped.chat.completions.create({ ...chat, stream: true }, { signal: controller.signal });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    controller.abort();
    // The SDK ends an aborted stream quietly, wrapped or not.
    await collect({ [Symbol.asyncIterator]: () => iterator });
    await limiter.flush();
    await vi.waitFor(async () => expect(await usageLog(limiter)).toHaveLength(1));
    const [record] = await usageLog(limiter);
    expect(record).toMatchObject({ estimated: true, status: 'aborted' });
  });
});

describe('includeStreamUsage', () => {
  it('by default asks for stream usage and charges it exactly; the caller sees the chunks of its own request', async () => {
    const raw = openai();
    const { wrapped, limiter } = limiterAndWrap(raw);
    const bareChunks = await collect(await raw.chat.completions.create({ ...chat, stream: true }));
    const chunks = await collect(await wrapped.chat.completions.create({ ...chat, stream: true }));
    expect((last().body as { stream_options?: unknown }).stream_options).toEqual({ include_usage: true });
    expect(chunks.map((c) => c.choices)).toEqual(bareChunks.map((c) => c.choices));
    expect(chunks.some((c) => 'usage' in c)).toBe(false);
    await limiter.flush();
    const usage = expectedUsage(last());
    expect((await usageLog(limiter))[0]).toMatchObject({ inputTokens: usage.inputTokens, outputTokens: usage.outputTokens, estimated: false });
  });

  it('false: sends the request as written and charges the stream by estimate, marked estimated', async () => {
    const raw = openai();
    const { wrapped, limiter } = limiterAndWrap(raw, { includeStreamUsage: false });
    const bareChunks = await collect(await raw.chat.completions.create({ ...chat, stream: true }));
    const bareBody = last().rawBody;
    const chunks = await collect(await wrapped.chat.completions.create({ ...chat, stream: true }));
    expect(last().rawBody).toBe(bareBody);
    expect((last().body as { stream_options?: unknown }).stream_options).toBeUndefined();
    expect(chunks.map((c) => c.choices)).toEqual(bareChunks.map((c) => c.choices));
    await limiter.flush();
    const [record] = await usageLog(limiter);
    expect(record).toMatchObject({ estimated: true, status: 'ok' });
    expect(record!.outputTokens).toBeGreaterThan(0);
    expect(record!.inputTokens).toBeGreaterThan(0);

    // A caller that asks for usage itself still gets exact usage under the opt-out.
    await collect(await wrapped.chat.completions.create({ ...chat, stream: true, stream_options: { include_usage: true } }));
    await limiter.flush();
    const usage = expectedUsage(last());
    expect((await usageLog(limiter))[0]).toMatchObject({ inputTokens: usage.inputTokens, outputTokens: usage.outputTokens, estimated: false });
  });

  it('rejects a non-boolean value with a typed error', () => {
    const limiter = createTokenLimiter();
    expect(() => withTokenLimits(openai(), 'alice', { limiter, includeStreamUsage: 'no' as never })).toThrow(
      expect.objectContaining({ code: 'invalid_argument', parameter: 'options.includeStreamUsage' }),
    );
  });
});
