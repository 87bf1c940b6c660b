import { resolveModelLimits } from '../../src/providers/pricing/limits.js';
import { ApiError, GoogleGenAI, type CallableTool, type GenerateContentResponse } from '@google/genai';
import { describe, expect, it } from 'vitest';
import { createTokenLimiter, MissingUserError, runWithUser, TokenLimitExceededError, withTokenLimits, type LimitRule } from '../../src/index.js';
import { expectedUsage } from '../../src/testing/index.js';
import { collect, useEmulator } from '../emulator/harness.js';
import { emulatorTotals, loggedAtLeast, usageLog } from './helpers.js';
import { describeMatrix, sleep, type MatrixCase } from './matrix.js';

const emulator = useEmulator();
const MODEL = 'gemini-2.5-flash';
const EMBED_MODEL = 'gemini-embedding-001';

function client(httpOptions: Record<string, unknown> = {}): GoogleGenAI {
  return new GoogleGenAI({ apiKey: 'test', httpOptions: { baseUrl: emulator().googleBaseUrl, ...httpOptions } });
}

function setup(rules: LimitRule[] = [{ id: 'm', tokens: 1_000_000, period: 'month' }], user = 'alice', estimator?: 'local' | 'provider') {
  const limiter = createTokenLimiter({ defaultLimits: rules });
  const raw = client();
  const wrapped = withTokenLimits(raw, user, { limiter, ...(estimator ? { estimator } : {}) });
  return { limiter, raw, wrapped };
}

/** A callable tool: with it, the SDK runs automatic function calling (one more request per call). */
function weatherTool(calls: string[] = []): CallableTool {
  return {
    tool: async () => ({
      functionDeclarations: [{ name: 'get_weather', parametersJsonSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }],
    }),
    callTool: async (functionCalls) => {
      calls.push(...functionCalls.map((c) => c.name ?? ''));
      return functionCalls.map((c) => ({ functionResponse: { name: c.name ?? '', response: { celsius: 21 } } }));
    },
  };
}

const prompt = 'What is the weather in Lisbon today?';
const cases: MatrixCase<GoogleGenAI>[] = [
  { name: 'models.generateContent', requests: 1, model: MODEL, run: (ai) => ai.models.generateContent({ model: MODEL, contents: prompt }) },
  {
    name: 'models.generateContent (system instruction, maxOutputTokens, candidateCount)',
    requests: 1,
    model: MODEL,
    run: (ai) =>
      ai.models.generateContent({
        model: MODEL,
        contents: [{ role: 'user', parts: [{ text: prompt }] }],
        config: { systemInstruction: 'Answer briefly.', maxOutputTokens: 4, candidateCount: 2 },
      }),
  },
  {
    name: 'models.generateContent (automatic function calling: 2 requests)',
    requests: 2,
    model: MODEL,
    run: (ai) => ai.models.generateContent({ model: MODEL, contents: prompt, config: { tools: [weatherTool()] } }),
  },
  {
    name: 'models.generateContentStream',
    requests: 1,
    model: MODEL,
    run: async (ai) => collect(await ai.models.generateContentStream({ model: MODEL, contents: prompt, config: { maxOutputTokens: 50 } })),
  },
  {
    name: 'models.generateContentStream (automatic function calling: 2 requests)',
    requests: 2,
    model: MODEL,
    run: async (ai) => collect(await ai.models.generateContentStream({ model: MODEL, contents: prompt, config: { tools: [weatherTool()] } })),
  },
  {
    name: 'chats.create().sendMessage (two turns)',
    requests: 2,
    model: MODEL,
    run: async (ai) => {
      const chat = ai.chats.create({ model: MODEL, history: [{ role: 'user', parts: [{ text: 'Hi' }] }, { role: 'model', parts: [{ text: 'Hello!' }] }] });
      const first = await chat.sendMessage({ message: prompt });
      const second = await chat.sendMessage({ message: 'And tomorrow?' });
      return { first, second, history: chat.getHistory() };
    },
  },
  {
    name: 'chats.create().sendMessageStream',
    requests: 1,
    model: MODEL,
    run: async (ai) => {
      const chat = ai.chats.create({ model: MODEL, config: { systemInstruction: 'Be brief.' } });
      const chunks = await collect(await chat.sendMessageStream({ message: prompt }));
      return { chunks, history: chat.getHistory() };
    },
  },
  {
    name: 'models.embedContent',
    requests: 1,
    model: EMBED_MODEL,
    estimated: true,
    run: (ai) => ai.models.embedContent({ model: EMBED_MODEL, contents: ['first text', 'second text'] }),
  },
];

/** `sdkHttpResponse` carries per-attempt headers (request ids); everything else must be identical. */
function comparable(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (key, v: unknown) => (key === 'sdkHttpResponse' ? undefined : v)));
}

describeMatrix('withTokenLimits(@google/genai): every token-billing method', cases, {
  emulator,
  provider: 'google',
  make: (rules) => setup(rules),
  providerError: ApiError,
  statuses: [500, 429, 400],
  comparable,
});

describe('withTokenLimits(@google/genai): several requests in one call', () => {
  it('automatic function calling: each request is reserved and committed; the SDK itself reports only the last', async () => {
    const { limiter, wrapped } = setup();
    const calls: string[] = [];
    const response = await wrapped.models.generateContent({ model: MODEL, contents: prompt, config: { tools: [weatherTool(calls)] } });
    expect(calls).toEqual(['get_weather']);
    expect(response.text).toBe('Emulated answer using the tool result: {"celsius":21}.');
    const [first, second] = emulator().requests;
    const logged = await usageLog(limiter);
    expect(logged.map((r) => [r.inputTokens, r.outputTokens])).toEqual(
      [second!, first!].map((r) => [expectedUsage(r).inputTokens, expectedUsage(r).outputTokens]),
    );
    expect(response.usageMetadata?.totalTokenCount).toBe(expectedUsage(second!).totalTokens);
  });

  it('automatic function calling stops at the quota: the refused request is never sent', async () => {
    const { limiter, raw, wrapped } = setup([{ id: 'calls', requests: 1, period: 'day' }]);
    const error = await wrapped.models.generateContent({ model: MODEL, contents: prompt, config: { tools: [weatherTool()] } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenLimitExceededError);
    expect(emulator().requests).toHaveLength(1);
    expect(await usageLog(limiter)).toHaveLength(1);
    expect(raw.models).not.toBe(wrapped.models);
  });

  it('automatic continuation: every hop is committed, and the hops add up to the usage the SDK merges', async () => {
    // The emulator never asks for continuation: a fetch stands in for a server that does, once.
    let hops = 0;
    const continuing = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const answer = await fetch(input, init);
      if (!String(input).includes(':generateContent') || hops++ > 0) return answer;
      const body = (await answer.json()) as { candidates: Array<Record<string, unknown>> };
      delete body.candidates[0]!['finishReason'];
      body.candidates[0]!['continuationToken'] = 'tok-1';
      return new Response(JSON.stringify(body), { status: answer.status, headers: answer.headers });
    };
    const limiter = createTokenLimiter();
    const ai = withTokenLimits(client({ fetch: continuing }), 'alice', { limiter });
    const response = await ai.models.generateContent({ model: MODEL, contents: prompt });
    expect(emulator().requests).toHaveLength(2);
    const logged = await usageLog(limiter);
    expect(logged).toHaveLength(2);
    expect(logged.every((r) => !r.estimated)).toBe(true);
    expect(logged.reduce((n, r) => n + r.inputTokens, 0)).toBe(response.usageMetadata?.promptTokenCount);
    expect(logged.reduce((n, r) => n + r.outputTokens, 0)).toBe(response.usageMetadata?.candidatesTokenCount);
  });
});

describe('withTokenLimits(@google/genai): an SDK without the request primitives', () => {
  it('tracks the public methods instead: one record per call, with the usage the SDK reports', async () => {
    const raw = client();
    const models = raw.models;
    // A structural client whose models are plain functions (no prototype internals to track).
    const plain = {
      models: { generateContent: models.generateContent, generateContentStream: models.generateContentStream, embedContent: models.embedContent },
      chats: raw.chats,
    } as unknown as GoogleGenAI;
    const limiter = createTokenLimiter();
    const ai = withTokenLimits(plain, 'alice', { limiter });
    const response = await ai.models.generateContent({ model: MODEL, contents: prompt });
    const chunks = await collect(await ai.models.generateContentStream({ model: MODEL, contents: prompt }));
    expect(response.text).toMatch(/^Emulated reply/);
    expect(chunks.length).toBeGreaterThan(2);
    emulator().enqueue({ status: 503 });
    await expect(ai.models.generateContent({ model: MODEL, contents: prompt })).rejects.toBeInstanceOf(ApiError);
    const logged = await usageLog(limiter);
    expect(logged).toHaveLength(2);
    expect(logged.every((r) => !r.estimated)).toBe(true);
    const want = emulatorTotals(emulator().requests);
    expect(logged.reduce((n, r) => n + r.totalTokens, 0)).toBe(want.input + want.output);
    expect(await limiter.admin.getUsage('alice')).toMatchObject({ reserved: 0 });
  });

  it("tracks a chat's own methods when the chat does not go through its client's models", async () => {
    const raw = client();
    // A chats module whose chats keep no `modelsModule` to point at the wrapped models.
    const opaque = {
      models: raw.models,
      chats: {
        create: (params: Parameters<GoogleGenAI['chats']['create']>[0]) => {
          const chat = raw.chats.create(params);
          return {
            model: params.model,
            getHistory: (curated?: boolean) => chat.getHistory(curated),
            sendMessage: (p: Parameters<typeof chat.sendMessage>[0]) => chat.sendMessage(p),
            sendMessageStream: (p: Parameters<typeof chat.sendMessageStream>[0]) => chat.sendMessageStream(p),
          };
        },
      },
    } as unknown as GoogleGenAI;
    const limiter = createTokenLimiter();
    const chat = withTokenLimits(opaque, 'alice', { limiter }).chats.create({ model: MODEL });
    await chat.sendMessage({ message: prompt });
    await collect(await chat.sendMessageStream({ message: ['And', { text: ' tomorrow?' }] }));
    const logged = await usageLog(limiter);
    expect(logged).toHaveLength(2);
    const want = emulatorTotals(emulator().requests);
    expect(logged.reduce((n, r) => n + r.totalTokens, 0)).toBe(want.input + want.output);
    expect((emulator().requests[1]!.body as { contents: unknown[] }).contents).toHaveLength(3);
  });
});

describe('withTokenLimits(@google/genai): transparency', () => {
  it('keeps the stream a generator of GenerateContentResponse, and has committed when it ends', async () => {
    const { limiter, wrapped } = setup();
    const stream = await wrapped.models.generateContentStream({ model: MODEL, contents: prompt });
    const bare = await client().models.generateContentStream({ model: MODEL, contents: prompt });
    expect(Object.getPrototypeOf(stream)).toBe(Object.getPrototypeOf(bare));
    expect(typeof stream.next === 'function' && typeof stream.return === 'function' && stream[Symbol.asyncIterator]() === stream).toBe(true);
    const chunks: GenerateContentResponse[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((c) => c.text).join('')).toMatch(/^Emulated reply/);
    expect(chunks.every((c) => c.constructor.name === 'GenerateContentResponse')).toBe(true);
    expect(await usageLog(limiter)).toHaveLength(1);
  });

  it('keeps the chat history the SDK builds; a refused message does not enter it', async () => {
    const { raw, wrapped } = setup();
    const bareChat = raw.chats.create({ model: MODEL });
    const ourChat = wrapped.chats.create({ model: MODEL });
    for (const chat of [bareChat, ourChat]) {
      await chat.sendMessage({ message: 'First question' });
      await collect(await chat.sendMessageStream({ message: 'Second question' }));
    }
    // (The SDK records every streamed chunk as one more model turn.)
    expect(ourChat.getHistory(true).map((h) => h.role).slice(0, 4)).toEqual(['user', 'model', 'user', 'model']);
    expect(comparable(ourChat.getHistory())).toEqual(comparable(bareChat.getHistory()));
    const third = emulator().requests[3]!.body as { contents: unknown[] };
    expect(third.contents).toHaveLength(3);

    const poor = setup([{ id: 'tiny', tokens: 1, period: 'day' }]);
    const refused = poor.wrapped.chats.create({ model: MODEL });
    await expect(refused.sendMessage({ message: 'nope' })).rejects.toBeInstanceOf(TokenLimitExceededError);
    expect(refused.getHistory()).toEqual([]);
  });

  it('passes models.countTokens through uncharged', async () => {
    const { limiter, wrapped } = setup([{ id: 'tiny', tokens: 1, period: 'day' }]);
    const counted = await wrapped.models.countTokens({ model: MODEL, contents: prompt });
    expect(counted.totalTokens).toBe(expectedUsage(emulator().requests[0]!).inputTokens);
    expect(await usageLog(limiter)).toHaveLength(0);
  });

  it('reads thoughts, cached and tool-use prompt tokens from usageMetadata', async () => {
    const { limiter, wrapped } = setup();
    emulator().enqueue({ reasoningTokens: 40, cachedInputTokens: 5, usage: { toolUsePromptTokenCount: 7 } });
    const response = await wrapped.models.generateContent({ model: MODEL, contents: prompt });
    const meta = response.usageMetadata!;
    const [record] = await usageLog(limiter);
    expect(record).toMatchObject({
      estimated: false,
      inputTokens: meta.promptTokenCount! + 7,
      cachedInputTokens: 5,
      outputTokens: meta.candidatesTokenCount! + 40,
      reasoningTokens: 40,
    });
  });
});

describe('withTokenLimits(@google/genai): audio input', () => {
  it('charges the audio tokens of the input at the audio rate, stream or not (gemini-2.5-flash: $1 against $0.30 per million)', async () => {
    const { limiter, wrapped } = setup([{ id: 'dollars', costUsd: 100, period: 'month' }]);
    const usage = { promptTokenCount: 1000, candidatesTokenCount: 100, totalTokenCount: 1100, promptTokensDetails: [{ modality: 'AUDIO', tokenCount: 400 }, { modality: 'TEXT', tokenCount: 600 }] };
    for (const stream of [false, true]) {
      emulator().enqueue({ usage: usage as never });
      if (stream) await collect(await wrapped.models.generateContentStream({ model: 'gemini-2.5-flash', contents: prompt }));
      else await wrapped.models.generateContent({ model: 'gemini-2.5-flash', contents: prompt });
      const [record] = await loggedAtLeast(limiter, 1);
      expect(record).toMatchObject({ inputTokens: 1000, outputTokens: 100, estimated: false });
      const exact = (600 * 0.3 + 400 * 1 + 100 * 2.5) / 1e6;
      expect(Math.abs(record!.costUsd! - exact), `stream: ${stream}`).toBeLessThanOrEqual(0.5e-6 + 1e-12);
      await limiter.admin.resetUsage('alice');
    }
  });
});

describe('withTokenLimits(@google/genai): streams that end early', () => {
  it('commits the exact usage of a stream the caller never reads', async () => {
    const { limiter, wrapped } = setup();
    await wrapped.models.generateContentStream({ model: MODEL, contents: prompt });
    const [record] = await loggedAtLeast(limiter, 1);
    expect(record).toMatchObject({ estimated: false, status: 'ok' });
    const want = emulatorTotals(emulator().requests);
    expect([record!.inputTokens, record!.outputTokens]).toEqual([want.input, want.output]);
  });

  it('commits the exact usage when the caller breaks out early (the SDK does not cancel the HTTP stream)', async () => {
    const { limiter, wrapped } = setup();
    const stream = await wrapped.models.generateContentStream({ model: MODEL, contents: prompt });
    for await (const _chunk of stream) break;
    const [record] = await loggedAtLeast(limiter, 1);
    expect(record).toMatchObject({ estimated: false, status: 'ok' });
    expect(record!.outputTokens).toBe(emulatorTotals(emulator().requests).output);
  });

  it('commits input + received output, marked estimated, when the connection breaks (a thinking model: what it reported, not its hold)', async () => {
    const { limiter, wrapped } = setup();
    emulator().enqueue({ disconnectAfterChunks: 3 });
    const got: Array<{ usageMetadata?: { promptTokenCount?: number; candidatesTokenCount?: number } }> = [];
    const error = await (async () => {
      for await (const chunk of await wrapped.models.generateContentStream({ model: MODEL, contents: prompt })) got.push(chunk);
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(got).toHaveLength(3);
    const [record] = await usageLog(limiter);
    expect(record).toMatchObject({ estimated: true, status: 'aborted' });
    expect(record!.inputTokens).toBe(expectedUsage(emulator().requests[0]!).inputTokens);
    // The running usage of the last chunk received, or the text's tokens if more; the hold (the
    // model's 65,536) only where the stream reported nothing.
    const reported = got.at(-1)!.usageMetadata!.candidatesTokenCount!;
    expect(record!.outputTokens).toBeGreaterThanOrEqual(reported);
    expect(record!.outputTokens).toBeLessThan(100);
    expect(await limiter.admin.getUsage('alice')).toMatchObject({ reserved: 0, used: record!.totalTokens });
  });

  it('commits an estimate when the caller aborts mid-stream with config.abortSignal: the usage reported so far, not the hold', async () => {
    const { limiter, wrapped } = setup();
    emulator().enqueue({ chunkDelayMs: 40 });
    const controller = new AbortController();
    const stream = await wrapped.models.generateContentStream({ model: MODEL, contents: prompt, config: { abortSignal: controller.signal } });
    let n = 0;
    let last: { promptTokenCount?: number; candidatesTokenCount?: number } | undefined;
    const error = await (async () => {
      for await (const chunk of stream) {
        last = chunk.usageMetadata;
        n += 1;
        if (n === 2) controller.abort();
      }
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    const [record] = await loggedAtLeast(limiter, 1);
    expect(record).toMatchObject({ estimated: true, status: 'aborted', inputTokens: last!.promptTokenCount });
    expect(record!.outputTokens).toBeGreaterThanOrEqual(last!.candidatesTokenCount!);
    expect(record!.outputTokens).toBeLessThan(100);
  });

  it('charges an aborted thinking stream that reported nothing its hold (abortedStreamCharge)', async () => {
    const { limiter, wrapped } = setup();
    emulator().enqueue({ chunkDelayMs: 40, omitUsage: true });
    const controller = new AbortController();
    const stream = await wrapped.models.generateContentStream({ model: MODEL, contents: prompt, config: { abortSignal: controller.signal, maxOutputTokens: 500 } });
    await (async () => {
      for await (const _chunk of stream) controller.abort();
    })().catch(() => {});
    const [record] = await loggedAtLeast(limiter, 1);
    expect(record).toMatchObject({ estimated: true, status: 'aborted', outputTokens: 500 });
  });

  it('an in-stream error record throws the SDK ApiError and commits an estimate', async () => {
    const { limiter, wrapped } = setup();
    emulator().enqueue({ midStreamError: { afterChunks: 2 } });
    const error = await collect(await wrapped.models.generateContentStream({ model: MODEL, contents: prompt })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    const [record] = await usageLog(limiter);
    expect(record).toMatchObject({ estimated: true, status: 'error' });
    expect(record!.totalTokens).toBeGreaterThan(0);
  });

  it('estimates when the provider omits usage or sends malformed numbers', async () => {
    const { limiter, wrapped } = setup();
    emulator().enqueue({ omitUsage: true });
    await wrapped.models.generateContent({ model: MODEL, contents: prompt });
    emulator().enqueue({ omitUsage: true });
    await collect(await wrapped.models.generateContentStream({ model: MODEL, contents: prompt }));
    for (const usage of [{ promptTokenCount: -1 }, { candidatesTokenCount: '3' }, { thoughtsTokenCount: 1.5 }]) {
      emulator().enqueue({ usage: usage as never });
      await wrapped.models.generateContent({ model: MODEL, contents: prompt });
    }
    const logged = await usageLog(limiter);
    expect(logged).toHaveLength(5);
    expect(logged.every((r) => r.estimated && r.status === 'ok' && r.inputTokens > 0 && r.outputTokens > 0)).toBe(true);
  });

  it('reads a count Gemini left out (it omits zeros) from totalTokenCount: output is at least the total less the input', async () => {
    const { limiter, wrapped } = setup();
    for (const stream of [false, true]) {
      emulator().enqueue({ usage: { candidatesTokenCount: undefined } as never });
      if (stream) await collect(await wrapped.models.generateContentStream({ model: MODEL, contents: prompt }));
      else await wrapped.models.generateContent({ model: MODEL, contents: prompt });
    }
    const exact = expectedUsage(emulator().requests[0]!);
    const logged = await usageLog(limiter);
    expect(logged).toHaveLength(2);
    for (const record of logged) expect(record).toMatchObject({ estimated: false, inputTokens: exact.inputTokens, outputTokens: exact.outputTokens });
    expect(exact.outputTokens).toBeGreaterThan(0);
    // A total below the input tells nothing more: the counts stand.
    emulator().enqueue({ usage: { totalTokenCount: 1 } });
    await wrapped.models.generateContent({ model: MODEL, contents: prompt });
    const [low] = await usageLog(limiter);
    expect(low).toMatchObject({ estimated: false });
    expect(low!.outputTokens).toBe(exact.outputTokens);
  });
});

describe('withTokenLimits(@google/genai): a request the SDK refuses before sending', () => {
  const refusedLocally = [
    { name: 'enterpriseWebSearch on the Gemini API', params: { model: MODEL, contents: prompt, config: { tools: [{ enterpriseWebSearch: {} }] } } },
    { name: 'contents mixing a Content and a Part', params: { model: MODEL, contents: [{ role: 'user', parts: [{ text: 'a' }] }, { text: 'b' }] } },
  ];
  for (const c of refusedLocally) {
    it(`${c.name}: the same error as the bare client, nothing sent, nothing charged`, async () => {
      // Room for a hosted tool's hold (the context window).
      const { limiter, raw, wrapped } = setup([{ id: 'm', tokens: 10_000_000, period: 'month' }]);
      for (const stream of [false, true]) {
        const send = (client: GoogleGenAI) => (stream ? client.models.generateContentStream(c.params as never) : client.models.generateContent(c.params as never));
        const bare = await send(raw).catch((e: unknown) => e);
        const ours = await send(wrapped).catch((e: unknown) => e);
        expect(bare).toBeInstanceOf(Error);
        expect((ours as Error).message).toBe((bare as Error).message);
      }
      await limiter.flush();
      expect(emulator().requests).toHaveLength(0);
      expect(await limiter.admin.getUsage('alice')).toMatchObject({ used: 0, reserved: 0 });
      expect(await usageLog(limiter)).toHaveLength(0);
    });
  }
});

describe('withTokenLimits(@google/genai): users, limits and the provider estimator', () => {
  it('takes the user from runWithUser, keeps it for the requests a stream makes later, and refuses a call with no user', async () => {
    const limiter = createTokenLimiter();
    const ai = withTokenLimits(client(), undefined, { limiter });
    await expect(ai.models.generateContent({ model: MODEL, contents: prompt })).rejects.toBeInstanceOf(MissingUserError);
    await expect(ai.chats.create({ model: MODEL }).sendMessage({ message: prompt })).rejects.toBeInstanceOf(MissingUserError);
    expect(emulator().requests).toHaveLength(0);
    await runWithUser('bob', () => ai.models.generateContent({ model: MODEL, contents: prompt }));
    // AFC streams send their later requests while the caller iterates, outside runWithUser.
    const stream = await runWithUser('carol', () => ai.models.generateContentStream({ model: MODEL, contents: prompt, config: { tools: [weatherTool()] } }));
    await collect(stream);
    expect(emulator().requests).toHaveLength(3);
    expect((await limiter.admin.getUsage('bob')).used).toBeGreaterThan(0);
    expect(await limiter.admin.getUsageLog({ userId: 'carol' })).toHaveLength(2);
  });

  it('never lets concurrent calls exceed a limit: exactly as many calls as fit reach the provider', async () => {
    const { limiter, wrapped } = setup([{ id: 'calls', requests: 7, period: 'hour' }]);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        i % 2 ? wrapped.models.generateContent({ model: MODEL, contents: prompt }) : wrapped.models.generateContentStream({ model: MODEL, contents: prompt }),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(7);
    expect(outcomes.filter((o) => o.status === 'rejected').every((o) => (o as PromiseRejectedResult).reason instanceof TokenLimitExceededError)).toBe(true);
    await sleep(100);
    expect(emulator().requests).toHaveLength(7);
    expect((await limiter.admin.getUsage('alice')).used).toBe(7);
  });

  it("estimator 'provider' reserves the provider's exact input count (the count itself is free)", async () => {
    const { limiter, wrapped } = setup([{ id: 'tiny', tokens: 1, period: 'day' }], 'alice', 'provider');
    const params = { model: MODEL, contents: [{ role: 'user', parts: [{ text: prompt }] }], config: { maxOutputTokens: 30 } };
    const error = await wrapped.models.generateContent(params).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenLimitExceededError);
    expect(emulator().requests.map((r) => r.endpoint)).toEqual(['countTokens']);
    const exact = expectedUsage({ provider: 'google', endpoint: 'generateContent', body: { contents: params.contents, generationConfig: { maxOutputTokens: 30 } } });
    expect((error as TokenLimitExceededError).requested).toBe(exact.inputTokens + 30);
    expect(await limiter.admin.getUsage('alice')).toMatchObject({ used: 0, reserved: 0 });

    // A chat: the count covers the history; the generate request waits while the hold is checked.
    const rich = setup(undefined, 'dan', 'provider');
    emulator().clearRequests();
    const chat = rich.wrapped.chats.create({ model: MODEL });
    await chat.sendMessage({ message: prompt });
    emulator().enqueue({ delayMs: 300 }, { match: { endpoint: 'generateContent' } });
    const pending = chat.sendMessage({ message: 'And tomorrow?' });
    await emulator().waitForRequests(4);
    const [count, generate] = emulator().requests.slice(2);
    expect(count!.endpoint).toBe('countTokens');
    const input = expectedUsage(generate!).inputTokens;
    expect(expectedUsage(count!).inputTokens).toBe(input);
    expect((await rich.limiter.admin.getUsage('dan')).reserved).toBe(input + resolveModelLimits(MODEL, 'google').maxOutput);
    await pending;
  });

  it("estimator 'provider' adds the local estimate of a system instruction (the Gemini API counts contents only), and falls back when counting fails", async () => {
    const { limiter, wrapped } = setup([{ id: 'tiny', tokens: 1, period: 'day' }], 'alice', 'provider');
    const params = { model: MODEL, contents: prompt, config: { systemInstruction: 'Be brief.', maxOutputTokens: 10 } };
    const error = (await wrapped.models.generateContent(params).catch((e: unknown) => e)) as TokenLimitExceededError;
    const counted = expectedUsage(emulator().requests[0]!).inputTokens;
    expect(error.requested).toBeGreaterThan(counted + 10);
    expect(error.requested).toBeLessThan(counted + 10 + 20);

    const ok = setup(undefined, 'bob', 'provider');
    emulator().clearRequests();
    emulator().enqueue({ status: 500 }, { match: { endpoint: 'countTokens' } });
    await ok.wrapped.models.generateContent({ model: MODEL, contents: prompt });
    expect(emulator().requests.map((r) => r.endpoint)).toEqual(['countTokens', 'generateContent']);
    const [record] = await usageLog(ok.limiter);
    expect(record).toMatchObject({ estimated: false, inputTokens: emulatorTotals(emulator().requests).input });
    expect(limiter).toBeDefined();
  });
});
