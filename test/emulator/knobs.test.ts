import Anthropic from '@anthropic-ai/sdk';
import { ApiError, GoogleGenAI } from '@google/genai';
import { GoogleGenerativeAI, GoogleGenerativeAIFetchError } from '@google/generative-ai';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';

import { expectedUsage, rawJson, startEmulator } from '../../src/testing/index.js';
import { collect, useEmulator } from './harness.js';

const emulator = useEmulator();
const openai = (options: { maxRetries?: number } = {}): OpenAI => new OpenAI({ apiKey: 'sk-test', baseURL: emulator().openaiBaseURL, ...options });
const anthropic = (): Anthropic => new Anthropic({ apiKey: 'sk-ant-test', baseURL: emulator().anthropicBaseURL });
const gemini = () => new GoogleGenerativeAI('g-key').getGenerativeModel({ model: 'gemini-2.5-flash' }, { baseUrl: emulator().googleBaseUrl });
const genai = () => new GoogleGenAI({ apiKey: 'g-key', httpOptions: { baseUrl: emulator().googleBaseUrl } });
const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'knob test' }] };
const message = { model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user' as const, content: 'knob test' }] };

describe('HTTP error statuses', () => {
  it('429 -> OpenAI RateLimitError after 3 identical attempts', async () => {
    emulator().setDefault({ status: 429 });
    const error = await openai().chat.completions.create(chat).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).status).toBe(429);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).code).toBe('rate_limit_exceeded');
    const attempts = emulator().requests;
    expect(attempts).toHaveLength(3);
    expect(attempts.map((r) => r.headers['x-stainless-retry-count'])).toEqual(['0', '1', '2']);
    expect(new Set(attempts.map((r) => r.rawBody)).size).toBe(1);
    expect(attempts.every((r) => r.reply?.status === 429)).toBe(true);
  });

  it('500 -> Anthropic InternalServerError after 3 attempts; 529 -> OverloadedError', async () => {
    emulator().enqueue({ status: 500 }, { times: 3 });
    const error = await anthropic().messages.create(message).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.InternalServerError);
    expect((error as InstanceType<typeof Anthropic.InternalServerError>).type).toBe('api_error');
    expect(emulator().requests).toHaveLength(3);

    emulator().clearRequests();
    emulator().enqueue({ status: 529 }, { times: 3 });
    const overloaded = await anthropic().messages.create(message).catch((e: unknown) => e);
    expect((overloaded as { status?: number }).status).toBe(529);
    expect((overloaded as { type?: string }).type).toBe('overloaded_error');
    expect(emulator().requests).toHaveLength(3);
  });

  it('succeeds when the errors run out before the retries do', async () => {
    emulator().enqueue({ status: 503 }, { times: 2 });
    const completion = await openai().chat.completions.create(chat);
    expect(completion.choices[0]?.message.content).toBe('Emulated reply to "knob test".');
    expect(emulator().requests.map((r) => r.reply?.status)).toEqual([503, 503, 200]);
  });

  it('x-should-retry: false stops the Stainless retries; per-request headers steer one call', async () => {
    const error = await openai()
      .chat.completions.create(chat, { headers: { 'x-emulator-status': '429', 'x-emulator-should-retry': 'false' } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(emulator().requests).toHaveLength(1);
    expect(emulator().requests[0]?.behavior).toMatchObject({ status: 429, shouldRetry: false });
    // The next call without the headers is untouched.
    await expect(openai().chat.completions.create(chat)).resolves.toBeDefined();
  });

  it('Google SDKs make one attempt and throw their own error classes', async () => {
    emulator().setDefault({ status: 429 });
    const legacy = await gemini().generateContent('x').catch((e: unknown) => e);
    expect(legacy).toBeInstanceOf(GoogleGenerativeAIFetchError);
    expect((legacy as GoogleGenerativeAIFetchError).status).toBe(429);
    expect((legacy as GoogleGenerativeAIFetchError).message).toContain('You exceeded your current quota');
    const modern = await genai().models.generateContent({ model: 'gemini-2.5-flash', contents: 'x' }).catch((e: unknown) => e);
    expect(modern).toBeInstanceOf(ApiError);
    expect((modern as ApiError).status).toBe(429);
    expect(JSON.parse((modern as ApiError).message)).toMatchObject({ error: { code: 429, status: 'RESOURCE_EXHAUSTED' } });
    expect(emulator().requests).toHaveLength(2);
  });

  it('takes knob headers from the Google SDKs (customHeaders, config.httpOptions.headers)', async () => {
    const legacy = new GoogleGenerativeAI('g-key').getGenerativeModel(
      { model: 'gemini-2.5-flash' },
      { baseUrl: emulator().googleBaseUrl, customHeaders: { 'x-emulator-status': '500' } },
    );
    await expect(legacy.generateContent('x')).rejects.toMatchObject({ status: 500 });
    const response = await genai().models.generateContent({
      model: 'gemini-2.5-flash',
      contents: 'x',
      config: { httpOptions: { headers: { 'x-emulator-omit-usage': 'true' } } },
    });
    expect(response.text).toBe('Emulated reply to "x".');
    expect(response.usageMetadata).toBeUndefined();
  });

  it('applies enqueued behaviors only to matching requests, first in first out', async () => {
    emulator().enqueue({ status: 400 }, { match: { provider: 'anthropic' } });
    emulator().enqueue({ status: 404 }, { match: { endpoint: 'chat.completions', stream: true } });
    await expect(openai().chat.completions.create(chat)).resolves.toBeDefined();
    await expect(openai().chat.completions.create({ ...chat, stream: true })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(anthropic().messages.create(message)).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    await expect(anthropic().messages.create(message)).resolves.toBeDefined();
  });

  it('rejects unknown knob headers with a 400 naming the header', async () => {
    const error = await openai({ maxRetries: 0 })
      .chat.completions.create(chat, { headers: { 'x-emulator-stauts': '500' } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as Error).message).toContain('x-emulator-stauts');
  });
});

describe('stream faults', () => {
  it('disconnectAfterChunks makes the OpenAI stream iteration throw after k chunks', async () => {
    emulator().enqueue({ disconnectAfterChunks: 3 });
    const stream = await openai().chat.completions.create({ ...chat, stream: true, stream_options: { include_usage: true } });
    const received: unknown[] = [];
    await expect(
      (async () => {
        for await (const chunk of stream) received.push(chunk);
      })(),
    ).rejects.toThrow();
    expect(received).toHaveLength(3);
    expect(emulator().requests[0]?.reply?.outcome).toBe('disconnected');
  });

  it('disconnectAfterChunks breaks Anthropic finalMessage() and both Google streams', async () => {
    emulator().setDefault({ disconnectAfterChunks: 2 });
    await expect(anthropic().messages.stream(message).finalMessage()).rejects.toThrow();

    const legacy = await gemini().generateContentStream('cut me');
    legacy.response.catch(() => undefined);
    await expect(collect(legacy.stream)).rejects.toThrow();

    const modern = await genai().models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'cut me' });
    await expect(collect(modern)).rejects.toThrow();
    expect(emulator().requests.map((r) => r.reply?.outcome)).toEqual(['disconnected', 'disconnected', 'disconnected']);
  });

  it('midStreamError sends the provider in-stream error format', async () => {
    emulator().setDefault({ midStreamError: { afterChunks: 2, message: 'boom' } });
    const openaiStream = await openai().chat.completions.create({ ...chat, stream: true });
    await expect(collect(openaiStream)).rejects.toMatchObject({ message: expect.stringContaining('boom') });

    const anthropicStream = await anthropic().messages.create({ ...message, stream: true });
    await expect(collect(anthropicStream)).rejects.toBeInstanceOf(Anthropic.APIError);

    const genaiStream = await genai().models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'x' });
    await expect(collect(genaiStream)).rejects.toBeInstanceOf(ApiError);
    expect(emulator().requests.every((r) => r.reply?.outcome === 'stream-error')).toBe(true);
  });

  it('chunkDelayMs paces the records', async () => {
    emulator().enqueue({ chunkDelayMs: 15 });
    const started = performance.now();
    const chunks = await collect(await openai().chat.completions.create({ ...chat, stream: true }));
    const elapsed = performance.now() - started;
    // One delay before every record after the first (the [DONE] record included).
    expect(elapsed).toBeGreaterThanOrEqual(15 * chunks.length - 5);
  });
});

describe('usage knobs', () => {
  it('omitUsage removes usage everywhere', async () => {
    emulator().setDefault({ omitUsage: true });
    const completion = await openai().chat.completions.create(chat);
    expect(completion.usage).toBeUndefined();
    const chunks = await collect(await openai().chat.completions.create({ ...chat, stream: true, stream_options: { include_usage: true } }));
    expect(chunks.every((c) => c.choices.length === 1 && c.usage === null)).toBe(true);
    const msg = await anthropic().messages.create(message);
    expect(msg.usage).toBeUndefined();
    const { response } = await gemini().generateContent('x');
    expect(response.usageMetadata).toBeUndefined();
    expect(response.text()).toBe('Emulated reply to "x".');
    expect(emulator().requests.every((r) => r.reply?.usage === undefined)).toBe(true);
  });

  it('usage overrides write malformed values verbatim', async () => {
    emulator().enqueue({ usage: { prompt_tokens: -1, completion_tokens: '12', total_tokens: null, prompt_tokens_details: { cached_tokens: 1.5 }, extra: rawJson('1e309') } });
    const completion = await openai().chat.completions.create(chat);
    expect(completion.usage).toMatchObject({ prompt_tokens: -1, completion_tokens: '12', total_tokens: null, prompt_tokens_details: { cached_tokens: 1.5, audio_tokens: 0 } });
    expect((completion.usage as unknown as Record<string, unknown>)['extra']).toBe(Infinity);
    // The reply's own accounting is unaffected by overrides.
    expect(emulator().requests[0]?.reply?.usage).toEqual(expectedUsage(emulator().requests[0]!));
  });

  it('NaN makes the body invalid JSON; the usage header sets fields from raw text', async () => {
    emulator().enqueue({ usage: { input_tokens: NaN } });
    const broken = await fetch(`${emulator().url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'k', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify(message),
    });
    expect(await broken.text()).toContain('"input_tokens":NaN');

    const msg = await anthropic().messages.create(message, { headers: { 'x-emulator-usage': 'output_tokens="7",input_tokens=1e309,cache_read_input_tokens=' } });
    expect(msg.usage.output_tokens).toBe('7');
    expect(msg.usage.input_tokens).toBe(Infinity);
    expect('cache_read_input_tokens' in msg.usage).toBe(false);
  });

  it('reasoningTokens and cachedInputTokens shape OpenAI usage', async () => {
    emulator().enqueue({ reasoningTokens: 20, cachedInputTokens: 4 });
    const completion = await openai().chat.completions.create(chat);
    const visible = expectedUsage(emulator().requests[0]!).outputTokens;
    expect(completion.usage?.completion_tokens).toBe(visible + 20);
    expect(completion.usage?.completion_tokens_details?.reasoning_tokens).toBe(20);
    expect(completion.usage?.prompt_tokens_details?.cached_tokens).toBe(4);
    expect(expectedUsage(emulator().requests[0]!, { reasoningTokens: 20, cachedInputTokens: 4 })).toEqual(emulator().requests[0]?.reply?.usage);
  });
});

describe('timing and connection knobs', () => {
  it('delayMs holds the response headers', async () => {
    emulator().enqueue({ delayMs: 120 });
    const started = performance.now();
    await openai().chat.completions.create(chat);
    expect(performance.now() - started).toBeGreaterThanOrEqual(115);
  });

  it('dropConnection gives a connection error', async () => {
    emulator().enqueue({ dropConnection: true });
    await expect(openai({ maxRetries: 0 }).chat.completions.create(chat)).rejects.toBeInstanceOf(OpenAI.APIConnectionError);
    expect(emulator().requests[0]?.reply?.outcome).toBe('dropped');
  });

  it('hang never answers, and close() ends it without hanging', async () => {
    const own = await startEmulator({ defaultBehavior: { hang: true } });
    const client = new OpenAI({ apiKey: 'sk-test', baseURL: own.openaiBaseURL, maxRetries: 0 });
    const pending = client.chat.completions.create(chat);
    const settled = pending.then(
      () => 'resolved',
      (e: unknown) => e,
    );
    await own.waitForRequests(1);
    const raced = await Promise.race([settled, new Promise((resolve) => setTimeout(() => resolve('still pending'), 100))]);
    expect(raced).toBe('still pending');
    await own.close();
    expect(await settled).toBeInstanceOf(OpenAI.APIConnectionError);
    expect(own.requests[0]?.reply?.outcome).toBe('hung');
    await own.close();
  });
});

describe('misspelt knobs', () => {
  // An ignored `{ stauts: 429 }` answered 200, and the test meant to exercise the error passed.
  it('refuses a behavior, midStreamError or enqueue option field that does not exist, changing nothing', async () => {
    const e = emulator();
    expect(() => e.enqueue({ stauts: 429 } as never)).toThrow(new TypeError('enqueue(): unknown field "stauts" (known: status, errorBody, retryAfterMs, retryAfter, shouldRetry, headers, delayMs, chunkDelayMs, disconnectAfterChunks, dropConnection, midStreamError, omitUsage, usage, reasoningTokens, cachedInputTokens, cacheCreationInputTokens, messageDeltas, hang)'));
    expect(() => e.setDefault({ status: 429, delayMS: 5 } as never)).toThrow(/^setDefault\(\): unknown field "delayMS"/);
    expect(() => e.enqueue({ midStreamError: { afterChunk: 2 } } as never)).toThrow(/^enqueue\(\): midStreamError: unknown field "afterChunk"/);
    expect(() => e.enqueue({ status: 429 }, { time: 3 } as never)).toThrow(/^enqueue\(\) options: unknown field "time"/);
    expect(() => e.enqueue({ status: 429 }, { match: { modle: 'gpt-4o-mini' } } as never)).toThrow(/^enqueue\(\): match: unknown field "modle"/);
    expect(() => e.enqueue({ status: 429 }, { match: { provider: 'gemini' } } as never)).toThrow(new TypeError('enqueue(): match.provider must be one of openai, anthropic, google, got "gemini"'));
    expect(() => e.enqueue({ status: 429 }, { match: { stream: 'yes' } } as never)).toThrow(TypeError);
    await expect(startEmulator({ defaultBehavior: { hnag: true } as never })).rejects.toThrow(/^startEmulator: defaultBehavior: unknown field "hnag"/);
    // None of them was queued or set: the next request is answered normally.
    await openai().chat.completions.create(chat);
    expect(e.requests.map((r) => r.reply?.status)).toEqual([200]);
  });
});

describe('extra response headers', () => {
  // An invalid name or value was accepted, then writeHead threw: the request got a bare 500.
  it('refuses a header HTTP cannot carry when it is given, changing nothing', async () => {
    const e = emulator();
    expect(() => e.enqueue({ headers: { 'x bad': '1' } })).toThrow(new TypeError('enqueue(): headers: "x bad": "1" is not a valid HTTP header'));
    expect(() => e.setDefault({ headers: { 'x-ok': 'a\nb' } })).toThrow(TypeError);
    e.enqueue({ headers: { 'x-fine': 'yes' } });
    const { response } = await openai().chat.completions.create(chat).withResponse();
    expect(response.headers.get('x-fine')).toBe('yes');
    expect(e.requests.map((r) => r.reply?.status)).toEqual([200]);
  });
});
