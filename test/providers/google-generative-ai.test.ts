import { resolveModelLimits } from '../../src/providers/pricing/limits.js';
import { GoogleGenerativeAI, GoogleGenerativeAIFetchError, type GenerativeModel } from '@google/generative-ai';
import { describe, expect, it } from 'vitest';
import {
  createTokenLimiter,
  MissingUserError,
  runWithUser,
  TokenLimitExceededError,
  withTokenLimits,
  type LimitRule,
  type QuotaStore,
} from '../../src/index.js';
import { expectedUsage } from '../../src/testing/index.js';
import { collect, useEmulator } from '../emulator/harness.js';
import { emulatorTotals, loggedAtLeast, usageLog } from './helpers.js';
import { describeMatrix, sleep, slowStore, type MatrixCase } from './matrix.js';

const emulator = useEmulator();
const MODEL = 'gemini-2.5-flash';
const EMBED_MODEL = 'gemini-embedding-001';

function setup(rules: LimitRule[] = [{ id: 'm', tokens: 1_000_000, period: 'month' }], user = 'alice', estimator?: 'local' | 'provider', store?: QuotaStore) {
  const limiter = createTokenLimiter({ defaultLimits: rules, ...(store ? { store } : {}) });
  const raw = new GoogleGenerativeAI('test');
  const wrapped = withTokenLimits(raw, user, { limiter, ...(estimator ? { estimator } : {}) });
  const model = (client: GoogleGenerativeAI, name = MODEL) => client.getGenerativeModel({ model: name }, { baseUrl: emulator().googleBaseUrl });
  return { limiter, raw, wrapped, model };
}

const prompt = 'What is the weather in Lisbon today?';
const cases: MatrixCase<GenerativeModel>[] = [
  { name: 'generateContent (string)', requests: 1, model: MODEL, run: (m) => m.generateContent(prompt) },
  {
    name: 'generateContent (request: system instruction, maxOutputTokens, candidateCount)',
    requests: 1,
    model: MODEL,
    run: (m) =>
      m.generateContent({
        contents: [{ role: 'user', parts: [{ text: prompt }] }],
        systemInstruction: 'Answer briefly.',
        generationConfig: { maxOutputTokens: 4, candidateCount: 2 },
      }),
  },
  {
    name: 'generateContentStream (iterate the stream, then await the response)',
    requests: 1,
    model: MODEL,
    run: async (m) => {
      const result = await m.generateContentStream(prompt);
      const chunks = await collect(result.stream);
      return { chunks, texts: chunks.map((c) => c.text()), response: await result.response };
    },
  },
  {
    name: 'generateContentStream (await only the response)',
    requests: 1,
    model: MODEL,
    run: async (m) => {
      const result = await m.generateContentStream([prompt, { text: ' In one line.' }]);
      const response = await result.response;
      return { response, text: response.text(), chunks: await collect(result.stream) };
    },
  },
  {
    name: 'startChat().sendMessage (two turns)',
    requests: 2,
    model: MODEL,
    run: async (m) => {
      const chat = m.startChat({ history: [{ role: 'user', parts: [{ text: 'Hi' }] }, { role: 'model', parts: [{ text: 'Hello!' }] }] });
      const first = await chat.sendMessage(prompt);
      const second = await chat.sendMessage('And tomorrow?');
      return { first, second, history: await chat.getHistory() };
    },
  },
  {
    name: 'startChat().sendMessageStream',
    requests: 1,
    model: MODEL,
    run: async (m) => {
      const chat = m.startChat({ systemInstruction: 'Be brief.' });
      const result = await chat.sendMessageStream(prompt);
      const chunks = await collect(result.stream);
      return { chunks, response: await result.response, history: await chat.getHistory() };
    },
  },
  { name: 'embedContent', requests: 1, model: EMBED_MODEL, estimated: true, run: (m) => m.embedContent('embed this sentence') },
  {
    name: 'batchEmbedContents',
    requests: 1,
    model: EMBED_MODEL,
    estimated: true,
    run: (m) =>
      m.batchEmbedContents({
        requests: [{ content: { role: 'user', parts: [{ text: 'first text' }] } }, { content: { role: 'user', parts: [{ text: 'second text' }] } }],
      }),
  },
];

describeMatrix('withTokenLimits(@google/generative-ai): every token-billing method', cases, {
  emulator,
  provider: 'google',
  make(rules, c) {
    const { limiter, raw, wrapped, model } = setup(rules);
    return { limiter, raw: model(raw, c.model), wrapped: model(wrapped, c.model) };
  },
  providerError: GoogleGenerativeAIFetchError,
  statuses: [500, 429, 400],
});

describe('withTokenLimits(@google/generative-ai): objects and pass-through', () => {
  it('wraps a GenerativeModel and a ChatSession given directly', async () => {
    const { limiter, raw, model } = setup();
    const wrappedModel = withTokenLimits(model(raw), 'alice', { limiter });
    await wrappedModel.generateContent(prompt);
    const chat = withTokenLimits(model(raw).startChat(), 'alice', { limiter });
    await chat.sendMessage(prompt);
    await chat.sendMessage('again');
    const logged = await usageLog(limiter);
    expect(logged).toHaveLength(3);
    expect(logged.every((r) => !r.estimated)).toBe(true);
    expect(logged.reduce((n, r) => n + r.inputTokens, 0)).toBe(emulatorTotals(emulator().requests).input);
  });

  it('passes countTokens through uncharged, and keeps the model fields', async () => {
    const { limiter, wrapped, model } = setup([{ id: 'tiny', tokens: 1, period: 'day' }]);
    const m = model(wrapped);
    expect(m.model).toBe(`models/${MODEL}`);
    const counted = await m.countTokens(prompt);
    expect(counted.totalTokens).toBe(expectedUsage(emulator().requests[0]!).inputTokens);
    expect(await usageLog(limiter)).toHaveLength(0);
    expect(await limiter.admin.getUsage('alice')).toMatchObject({ used: 0, reserved: 0 });
  });

  it('keeps the chat history the SDK builds, and a refused message does not enter it', async () => {
    const { raw, wrapped, model } = setup();
    const bareChat = model(raw).startChat();
    const ourChat = model(wrapped).startChat();
    for (const chat of [bareChat, ourChat]) {
      await chat.sendMessage('First question');
      const streamed = await chat.sendMessageStream('Second question');
      await collect(streamed.stream);
      await streamed.response;
    }
    const history = await ourChat.getHistory();
    expect(history.map((h) => h.role)).toEqual(['user', 'model', 'user', 'model']);
    expect(history).toEqual(await bareChat.getHistory());
    const third = emulator().requests[3]!.body as { contents: unknown[] };
    expect(third.contents).toHaveLength(3);

    const { wrapped: poor, model: poorModel } = setup([{ id: 'tiny', tokens: 1, period: 'day' }]);
    const refusedChat = poorModel(poor).startChat();
    await expect(refusedChat.sendMessage('nope')).rejects.toBeInstanceOf(TokenLimitExceededError);
    expect(await refusedChat.getHistory()).toEqual([]);
  });

  it('reads thoughts, cached and tool-use prompt tokens from usageMetadata', async () => {
    const { limiter, wrapped, model } = setup();
    emulator().enqueue({ reasoningTokens: 40, cachedInputTokens: 5, usage: { toolUsePromptTokenCount: 7 } });
    const { response } = await model(wrapped).generateContent(prompt);
    const meta = response.usageMetadata as unknown as Record<string, number>;
    const [record] = await usageLog(limiter);
    expect(record).toMatchObject({
      estimated: false,
      inputTokens: meta['promptTokenCount']! + 7,
      cachedInputTokens: 5,
      outputTokens: meta['candidatesTokenCount']! + 40,
      reasoningTokens: 40,
    });
    expect(record!.totalTokens).toBe(meta['totalTokenCount']! + 7);
  });

  it('prices Gemini calls for cost rules', async () => {
    const { limiter, wrapped, model } = setup([{ id: 'budget', costUsd: 1, period: 'month' }]);
    const { response } = await model(wrapped).generateContent({ contents: [{ role: 'user', parts: [{ text: prompt }] }], generationConfig: { maxOutputTokens: 50 } });
    const u = response.usageMetadata!;
    const [record] = await usageLog(limiter);
    expect(record!.costUsd).toBeCloseTo((u.promptTokenCount * 0.3 + u.candidatesTokenCount * 2.5) / 1_000_000, 6);
  });

  it('rewraps the models a wrapped client makes, including from cached content', () => {
    const { wrapped } = setup([{ id: 'tiny', tokens: 1, period: 'day' }]);
    const cached = wrapped.getGenerativeModelFromCachedContent(
      { name: 'cachedContents/abc', model: `models/${MODEL}`, contents: [] },
      {},
      { baseUrl: emulator().googleBaseUrl },
    );
    return expect(cached.generateContent(prompt)).rejects.toBeInstanceOf(TokenLimitExceededError);
  });
});

describe('withTokenLimits(@google/generative-ai): input the request does not show', () => {
  it('a model from cached content holds the context window: a call its cache makes larger than the limit is refused before it is sent', async () => {
    const { limiter, wrapped } = setup([{ id: 'small', tokens: 5_000, period: 'month' }]);
    const fromCache = wrapped.getGenerativeModelFromCachedContent(
      { name: 'cachedContents/big-doc', model: `models/${MODEL}`, contents: [], expireTime: '2099-01-01T00:00:00Z' } as never,
      { generationConfig: { maxOutputTokens: 100 } } as never,
      { baseUrl: emulator().googleBaseUrl },
    );
    await expect(fromCache.generateContent(prompt)).rejects.toBeInstanceOf(TokenLimitExceededError);
    await expect(fromCache.startChat().sendMessage(prompt)).rejects.toBeInstanceOf(TokenLimitExceededError);
    expect(emulator().requests).toHaveLength(0);
    expect(await limiter.admin.getUsage('alice')).toMatchObject({ used: 0, reserved: 0 });
  });
});

describe('withTokenLimits(@google/generative-ai): streams', () => {
  it('commits the exact usage of a stream whose result is never touched', async () => {
    const { limiter, wrapped, model } = setup();
    await model(wrapped).generateContentStream(prompt);
    const [record] = await loggedAtLeast(limiter, 1);
    expect(record).toMatchObject({ estimated: false, status: 'ok' });
    const want = emulatorTotals(emulator().requests);
    expect([record!.inputTokens, record!.outputTokens]).toEqual([want.input, want.output]);
  });

  it('yields the same chunk objects as the response aggregates, and has committed when the stream ends', async () => {
    const { limiter, wrapped, model } = setup();
    const result = await model(wrapped).generateContentStream(prompt);
    let n = 0;
    for await (const chunk of result.stream) {
      expect(typeof chunk.text).toBe('function');
      n += 1;
    }
    expect(n).toBeGreaterThan(2);
    expect(await usageLog(limiter)).toHaveLength(1);
    expect((await result.response).text()).toBe(`Emulated reply to "${prompt.split(' ').slice(0, 8).join(' ')}".`);
  });

  it('commits input + received output, marked estimated, when the connection breaks; no unhandled rejection', async () => {
    const { limiter, wrapped, model } = setup();
    emulator().enqueue({ disconnectAfterChunks: 3 });
    const result = await model(wrapped).generateContentStream(prompt);
    const got: unknown[] = [];
    const error = await (async () => {
      for await (const chunk of result.stream) got.push(chunk);
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(got).toHaveLength(3);
    await expect(result.response).rejects.toBeInstanceOf(Error);
    const [record] = await usageLog(limiter);
    expect(record).toMatchObject({ estimated: true, status: 'aborted' });
    // The stream told the exact input and the output so far (running totals).
    expect(record!.inputTokens).toBe(expectedUsage(emulator().requests[0]!).inputTokens);
    expect(record!.outputTokens).toBeGreaterThanOrEqual(3);
    expect(await limiter.admin.getUsage('alice')).toMatchObject({ reserved: 0, used: record!.totalTokens });
  });

  it('a broken stream whose result the caller ignores neither crashes nor leaks the hold', async () => {
    // With a store that answers later than the stream breaks, as Redis does: the SDK's response
    // promise rejects before the wrapper has settled (vitest fails on an unhandled rejection).
    const { limiter, wrapped, model } = setup(undefined, 'alice', undefined, slowStore());
    emulator().enqueue({ disconnectAfterChunks: 2 });
    await model(wrapped).generateContentStream(prompt);
    emulator().enqueue({ disconnectAfterChunks: 0 });
    const chat = model(wrapped).startChat();
    await chat.sendMessageStream('hello');
    const logged = await loggedAtLeast(limiter, 2);
    expect(logged).toHaveLength(2);
    expect(logged.every((r) => r.estimated && r.status === 'aborted' && r.totalTokens > 0)).toBe(true);
    expect(await limiter.admin.getUsage('alice')).toMatchObject({ reserved: 0 });
  });

  it('commits an estimate when the caller aborts the request mid-stream', async () => {
    const { limiter, wrapped, model } = setup();
    emulator().enqueue({ chunkDelayMs: 40 });
    const controller = new AbortController();
    const result = await model(wrapped).generateContentStream(prompt, { signal: controller.signal });
    let n = 0;
    const error = await (async () => {
      for await (const _chunk of result.stream) {
        n += 1;
        if (n === 2) controller.abort();
      }
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    const [record] = await usageLog(limiter);
    expect(record).toMatchObject({ estimated: true, status: 'aborted' });
    expect(record!.outputTokens).toBeGreaterThan(0);
  });

  it('an in-stream error record (which this SDK yields as a chunk) is committed as an estimate', async () => {
    const { limiter, wrapped, model } = setup();
    emulator().enqueue({ midStreamError: { afterChunks: 2 } });
    const result = await model(wrapped).generateContentStream(prompt);
    await collect(result.stream);
    const [record] = await usageLog(limiter);
    expect(record).toMatchObject({ estimated: true, status: 'error' });
    expect(record!.totalTokens).toBeGreaterThan(0);
  });
});

describe('withTokenLimits(@google/generative-ai): usage that cannot be trusted', () => {
  it('estimates when the provider omits usage, and honours an explicit zero', async () => {
    const { limiter, wrapped, model } = setup();
    emulator().enqueue({ omitUsage: true });
    await model(wrapped).generateContent(prompt);
    emulator().enqueue({ omitUsage: true });
    await collect((await model(wrapped).generateContentStream(prompt)).stream);
    emulator().enqueue({ usage: { promptTokenCount: 0, candidatesTokenCount: 0, totalTokenCount: 0 } });
    await model(wrapped).generateContent(prompt);
    const [zero, streamed, plain] = await usageLog(limiter);
    for (const estimated of [plain, streamed]) {
      expect(estimated).toMatchObject({ estimated: true, status: 'ok' });
      expect(estimated!.inputTokens).toBeGreaterThan(0);
      expect(estimated!.outputTokens).toBeGreaterThan(0);
    }
    expect(zero).toMatchObject({ estimated: false, inputTokens: 0, outputTokens: 0 });
  });

  it('never commits malformed usage numbers: it estimates instead', async () => {
    const { limiter, wrapped, model } = setup();
    const bad = [
      { promptTokenCount: -1 },
      { promptTokenCount: '12' },
      { candidatesTokenCount: 1.5 },
      { promptTokenCount: null },
      { thoughtsTokenCount: 2 ** 53 },
      { cachedContentTokenCount: 10_000 },
    ];
    for (const usage of bad) {
      emulator().enqueue({ usage: usage as never });
      await model(wrapped).generateContent(prompt);
    }
    const logged = await usageLog(limiter);
    expect(logged).toHaveLength(bad.length);
    expect(logged.every((r) => r.estimated && Number.isSafeInteger(r.totalTokens) && r.totalTokens > 0)).toBe(true);
    expect((await limiter.admin.getUsage('alice')).reserved).toBe(0);
  });
});

describe('withTokenLimits(@google/generative-ai): users, limits and the provider estimator', () => {
  it('takes the user from runWithUser when none is given, and refuses a call with no user at all', async () => {
    const limiter = createTokenLimiter();
    const client = withTokenLimits(new GoogleGenerativeAI('test'), undefined, { limiter });
    const m = client.getGenerativeModel({ model: MODEL }, { baseUrl: emulator().googleBaseUrl });
    await expect(m.generateContent(prompt)).rejects.toBeInstanceOf(MissingUserError);
    await expect(m.startChat().sendMessage(prompt)).rejects.toBeInstanceOf(MissingUserError);
    expect(emulator().requests).toHaveLength(0);
    await runWithUser('bob', () => m.generateContent(prompt));
    await runWithUser({ id: 'carol' }, async () => {
      const result = await m.generateContentStream(prompt);
      await result.response;
    });
    expect((await limiter.admin.getUsage('bob')).used).toBeGreaterThan(0);
    expect(await limiter.admin.getUsageLog({ userId: 'carol' })).toHaveLength(1);
  });

  it('never lets concurrent calls exceed a limit: exactly as many calls as fit reach the provider', async () => {
    const { limiter, wrapped, model } = setup([{ id: 'calls', requests: 7, period: 'hour' }]);
    const m = model(wrapped);
    const outcomes = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => (i % 2 ? m.generateContent(prompt) : m.generateContentStream(prompt))));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(7);
    expect(outcomes.filter((o) => o.status === 'rejected').every((o) => (o as PromiseRejectedResult).reason instanceof TokenLimitExceededError)).toBe(true);
    await sleep(100);
    expect(emulator().requests).toHaveLength(7);
    expect((await limiter.admin.getUsage('alice')).used).toBe(7);
  });

  it("estimator 'provider' reserves the provider's exact input count (the count itself is free)", async () => {
    const { limiter, wrapped, model } = setup([{ id: 'tiny', tokens: 1, period: 'day' }], 'alice', 'provider');
    const request = { contents: [{ role: 'user', parts: [{ text: prompt }] }], systemInstruction: 'Be brief.', generationConfig: { maxOutputTokens: 30 } };
    const error = await model(wrapped).generateContent(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenLimitExceededError);
    expect(emulator().requests.map((r) => r.endpoint)).toEqual(['countTokens']);
    const exact = expectedUsage({ ...emulator().requests[0]!, endpoint: 'generateContent', body: { ...request, systemInstruction: { role: 'system', parts: [{ text: 'Be brief.' }] } } });
    expect((error as TokenLimitExceededError).requested).toBe(exact.inputTokens + 30);
    expect(await limiter.admin.getUsage('alice')).toMatchObject({ used: 0, reserved: 0 });

    // The same through a chat: the count covers the history the SDK will send.
    const rich = setup([{ id: 'm', tokens: 1_000_000, period: 'month' }], 'dan', 'provider');
    emulator().clearRequests();
    const chat = rich.model(rich.wrapped).startChat();
    await chat.sendMessage(prompt);
    emulator().enqueue({ delayMs: 300 }, { match: { endpoint: 'generateContent' } });
    const pending = chat.sendMessage('And tomorrow?');
    await emulator().waitForRequests(4);
    const [count, generate] = emulator().requests.slice(2);
    expect(count!.endpoint).toBe('countTokens');
    const input = expectedUsage(generate!).inputTokens;
    expect(input).toBe(expectedUsage({ ...count!, endpoint: 'countTokens' }).inputTokens);
    expect((await rich.limiter.admin.getUsage('dan')).reserved).toBe(input + resolveModelLimits(MODEL, 'google').maxOutput);
    await pending;
  });

  it("estimator 'provider' falls back to the local estimate when counting fails", async () => {
    const { limiter, wrapped, model } = setup(undefined, 'alice', 'provider');
    emulator().enqueue({ status: 500 }, { match: { endpoint: 'countTokens' } });
    await model(wrapped).generateContent(prompt);
    expect(emulator().requests.map((r) => r.endpoint)).toEqual(['countTokens', 'generateContent']);
    const [record] = await usageLog(limiter);
    expect(record).toMatchObject({ estimated: false, inputTokens: emulatorTotals(emulator().requests).input });
  });
});
