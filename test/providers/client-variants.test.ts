/**
 * Client variants against the emulator: OpenAI-compatible providers reached through `baseURL`,
 * Anthropic on Vertex AI, and `@google/genai` in Vertex mode.
 */
import { AnthropicBedrock } from '@anthropic-ai/bedrock-sdk';
import { AnthropicVertex } from '@anthropic-ai/vertex-sdk';
import { GoogleGenAI } from '@google/genai';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI, { AzureOpenAI } from 'openai';
import { describe, expect, it } from 'vitest';
import { createTokenLimiter, withTokenLimits } from '../../src/index.js';
import { expectedUsage } from '../../src/testing/index.js';
import { collect, useEmulator } from '../emulator/harness.js';
import { usageLog } from './helpers.js';

const emulator = useEmulator();
const messages = [{ role: 'user' as const, content: 'What is the weather in Lisbon today?' }];

/** A fallback price for models the built-in table does not know (USD per million tokens). */
const FALLBACK = { input: 2, output: 8 };

function limiter() {
  return createTokenLimiter({
    defaultLimits: [
      { id: 'tokens', tokens: 10_000_000, period: 'month' },
      { id: 'cost', costUsd: 100, period: 'month' },
    ],
    pricing: { fallback: FALLBACK },
  });
}

const last = () => emulator().requests.at(-1)!;

/**
 * A Google auth client that needs no credentials and no network (google-auth-library's `AuthClient`
 * surface the SDKs call): every request carries this bearer token.
 */
const fakeAuthClient = {
  projectId: 'my-project',
  getRequestHeaders: async () => new Headers({ authorization: 'Bearer fake-token' }),
};

describe('OpenAI-compatible providers through baseURL', () => {
  const providers = [
    { name: 'DeepSeek', model: 'deepseek-chat' },
    { name: 'Groq', model: 'llama-3.3-70b-versatile' },
    { name: 'OpenRouter', model: 'meta-llama/llama-3.3-70b-instruct' },
    { name: 'Together', model: 'meta-llama/Llama-3.3-70B-Instruct-Turbo' },
    { name: 'Ollama', model: 'llama3.2:3b' },
  ];

  for (const { name, model } of providers) {
    it(`${name} (${model}): usage from the response, priced by the fallback; estimated and marked when absent`, async () => {
      const l = limiter();
      const raw = new OpenAI({ apiKey: 'compat-key', baseURL: emulator().openaiBaseURL });
      const wrapped = withTokenLimits(raw, 'alice', { limiter: l });

      const completion = await wrapped.chat.completions.create({ model, messages });
      await l.flush();
      const [exact] = await usageLog(l);
      expect(exact).toMatchObject({ model, estimated: false, inputTokens: completion.usage!.prompt_tokens, outputTokens: completion.usage!.completion_tokens });
      const expectedCost = (completion.usage!.prompt_tokens * FALLBACK.input + completion.usage!.completion_tokens * FALLBACK.output) / 1_000_000;
      expect(exact!.costUsd).toBeCloseTo(expectedCost, 6);

      const streamed = await collect(await wrapped.chat.completions.create({ model, messages, stream: true }));
      await l.flush();
      const streamUsage = expectedUsage(last());
      expect((await usageLog(l))[0]).toMatchObject({ estimated: false, inputTokens: streamUsage.inputTokens, outputTokens: streamUsage.outputTokens });
      expect(streamed.length).toBeGreaterThan(1);

      // A provider that sends no usage (non-stream and stream): estimated, marked so, never zero.
      emulator().setDefault({ omitUsage: true });
      const bare = await wrapped.chat.completions.create({ model, messages });
      expect(bare.usage).toBeUndefined();
      await collect(await wrapped.chat.completions.create({ model, messages, stream: true }));
      await l.flush();
      const [streamEstimate, estimate] = await usageLog(l);
      for (const record of [estimate!, streamEstimate!]) {
        expect(record).toMatchObject({ model, estimated: true });
        expect(record.inputTokens).toBeGreaterThan(0);
        expect(record.outputTokens).toBeGreaterThan(0);
        expect(record.costUsd).toBeCloseTo((record.inputTokens * FALLBACK.input + record.outputTokens * FALLBACK.output) / 1_000_000, 6);
      }
    });
  }
});

describe('AzureOpenAI before api-version 2024-09-01-preview (no stream_options)', () => {
  // Those versions refuse a request carrying stream_options, as Azure does: 400 "Unrecognized
  // request argument supplied: stream_options". A bare client's stream works there.
  function refuseStreamOptionsBefore(version: string) {
    emulator().enqueue(
      {
        status: 400,
        shouldRetry: false,
        errorBody: { error: { message: 'Unrecognized request argument supplied: stream_options', type: 'invalid_request_error', param: null, code: null } },
      },
      { times: Infinity, match: { where: (r) => (r.query['api-version'] ?? '') < version && typeof r.body === 'object' && r.body !== null && 'stream_options' in r.body } },
    );
  }
  const azure = (apiVersion: string) => new AzureOpenAI({ endpoint: emulator().url, apiKey: 'azure-key', apiVersion, deployment: 'gpt-4o-mini' });

  it('streams as the bare client does, charged by estimate; a newer version is asked for its usage', async () => {
    refuseStreamOptionsBefore('2024-09-01');
    const l = limiter();
    const old = azure('2024-06-01');
    const bare = await collect(await old.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }));
    const ours = await collect(await withTokenLimits(old, 'alice', { limiter: l }).chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }));
    expect(ours).toEqual(bare);
    expect(last().body).not.toHaveProperty('stream_options');
    const legacy = await collect(await withTokenLimits(old, 'alice', { limiter: l }).completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Once', stream: true }));
    expect(legacy.length).toBeGreaterThan(0);
    await collect(await withTokenLimits(azure('2024-10-21'), 'alice', { limiter: l }).chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }));
    expect(last().body).toMatchObject({ stream_options: { include_usage: true } });
    await l.flush();
    const [current, legacyRecord, estimated] = await usageLog(l);
    expect(estimated).toMatchObject({ estimated: true, status: 'ok' });
    expect(estimated!.outputTokens).toBeGreaterThan(0);
    expect(legacyRecord).toMatchObject({ estimated: true, status: 'ok' });
    expect(current).toMatchObject({ estimated: false, ...{ inputTokens: expectedUsage(last()).inputTokens, outputTokens: expectedUsage(last()).outputTokens } });
  });
});

describe('AzureOpenAI before api-version 2024-09-01-preview (no max_completion_tokens)', () => {
  it('a call shrunk to fit (onInsufficientQuota: shrink) is sent with max_tokens; a newer version gets max_completion_tokens', async () => {
    const shrinking = createTokenLimiter({ defaultLimits: [{ id: 'm', tokens: 3_000, period: 'month' }], onInsufficientQuota: 'shrink' });
    for (const [apiVersion, field, absent] of [
      ['2024-06-01', 'max_tokens', 'max_completion_tokens'],
      ['2024-10-21', 'max_completion_tokens', 'max_tokens'],
    ] as const) {
      const client = new AzureOpenAI({ endpoint: emulator().url, apiKey: 'azure-key', apiVersion, deployment: 'gpt-4o-mini' });
      await withTokenLimits(client, apiVersion, { limiter: shrinking }).chat.completions.create({ model: 'gpt-4o-mini', messages });
      expect(last().body, apiVersion).toHaveProperty(field);
      expect(last().body, apiVersion).not.toHaveProperty(absent);
      expect((last().body as Record<string, number>)[field], apiVersion).toBeLessThan(3_000);
    }
  });
});

describe("AzureOpenAI's prompt filter chunk", () => {
  // Azure opens a chat stream with a chunk of its prompt filter results that names no model
  // (`"model": ""`); the model is in the chunks after it.
  const chunks = [
    { choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }] },
    { choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }], created: 1, id: 'chatcmpl-1', model: 'gpt-4o-mini-2024-07-18', object: 'chat.completion.chunk' },
    { choices: [{ index: 0, delta: { content: 'Sunny and warm in Lisbon.' }, finish_reason: null }], created: 1, id: 'chatcmpl-1', model: 'gpt-4o-mini-2024-07-18', object: 'chat.completion.chunk' },
    { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], created: 1, id: 'chatcmpl-1', model: 'gpt-4o-mini-2024-07-18', object: 'chat.completion.chunk' },
  ];

  it('a stream charged by estimate is recorded with the model of the chunks after it, and priced by it', async () => {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end([...chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`), 'data: [DONE]\n\n'].join(''));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const l = createTokenLimiter({ defaultLimits: [{ id: 'cost', costUsd: 100, period: 'month' }] });
      const client = new AzureOpenAI({ endpoint: `http://127.0.0.1:${port}`, apiKey: 'azure-key', apiVersion: '2024-06-01', deployment: 'gpt-4o-mini' });
      const got = await collect(await withTokenLimits(client, 'alice', { limiter: l }).chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }));
      expect(got).toHaveLength(chunks.length);
      await l.flush();
      const [record] = await usageLog(l);
      expect(record).toMatchObject({ model: 'gpt-4o-mini-2024-07-18', estimated: true, status: 'ok' });
      expect(record!.costUsd).toBeCloseTo((record!.inputTokens * 0.15 + record!.outputTokens * 0.6) / 1_000_000, 6);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('OpenAI-compatible providers that count reasoning apart (xAI)', () => {
  // xAI reports reasoning_tokens on top of completion_tokens (OpenAI counts them inside), and a
  // total_tokens of prompt + completion + reasoning: the reasoning is billed output all the same.
  const xai = { prompt_tokens: 32, completion_tokens: 9, total_tokens: 135, completion_tokens_details: { reasoning_tokens: 94 } };
  const apart = { prompt_tokens: 20, completion_tokens: 2, total_tokens: 339, completion_tokens_details: { reasoning_tokens: 317 } };
  const noTotal = { prompt_tokens: 20, completion_tokens: 2, total_tokens: undefined, completion_tokens_details: { reasoning_tokens: 317 } };

  it('charges the reasoning as output, stream or not, Chat Completions and Responses', async () => {
    const l = limiter();
    const wrapped = withTokenLimits(new OpenAI({ apiKey: 'xai-key', baseURL: emulator().openaiBaseURL }), 'alice', { limiter: l });
    for (const usage of [xai, apart, noTotal]) {
      emulator().enqueue({ usage });
      await wrapped.chat.completions.create({ model: 'grok-3-mini', messages });
    }
    emulator().enqueue({ usage: xai });
    await collect(await wrapped.chat.completions.create({ model: 'grok-3-mini', messages, stream: true }));
    emulator().enqueue({ usage: { input_tokens: 32, output_tokens: 9, total_tokens: 135, output_tokens_details: { reasoning_tokens: 94 } } });
    await wrapped.responses.create({ model: 'grok-3-mini', input: 'What is the weather in Lisbon today?' });
    await l.flush();
    const log = (await usageLog(l)).reverse();
    expect(log.map((r) => [r.inputTokens, r.outputTokens, r.reasoningTokens, r.estimated])).toEqual([
      [32, 103, 94, false],
      [20, 319, 317, false],
      [20, 319, 317, false],
      [32, 103, 94, false],
      [32, 103, 94, false],
    ]);
    expect(log[0]!.costUsd).toBeCloseTo((32 * FALLBACK.input + 103 * FALLBACK.output) / 1_000_000, 9);
  });
});

describe('Anthropic on Vertex AI (@anthropic-ai/vertex-sdk)', () => {
  it('routes to the publisher model path and records the exact usage, stream or not', async () => {
    const l = limiter();
    const raw = new AnthropicVertex({
      projectId: 'my-project',
      region: 'us-east5',
      baseURL: `${emulator().url}/v1`,
      authClient: fakeAuthClient as never,
    });
    const wrapped = withTokenLimits(raw, 'alice', { limiter: l });
    expect(wrapped.constructor).toBe(AnthropicVertex);
    const base = { model: 'claude-sonnet-4-5@20250929', max_tokens: 100, messages };
    const message = await wrapped.messages.create(base);
    expect(last().path).toBe('/v1/projects/my-project/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict');
    expect(last().headers.authorization).toBe('Bearer fake-token');
    const final = await wrapped.messages.stream(base).finalMessage();
    expect(last().path).toMatch(/:streamRawPredict$/);
    await l.flush();
    const [streamed, plain] = await usageLog(l);
    expect(plain).toMatchObject({ estimated: false, inputTokens: message.usage.input_tokens, outputTokens: message.usage.output_tokens });
    expect(streamed).toMatchObject({ estimated: false, inputTokens: final.usage.input_tokens, outputTokens: final.usage.output_tokens });
  });
});

describe('Anthropic on Amazon Bedrock (@anthropic-ai/bedrock-sdk)', () => {
  it('routes to the model invoke paths and records the exact usage, stream or not', async () => {
    const l = limiter();
    const raw = new AnthropicBedrock({ awsRegion: 'us-east-1', baseURL: emulator().url, skipAuth: true });
    const wrapped = withTokenLimits(raw, 'alice', { limiter: l });
    expect(wrapped.constructor).toBe(AnthropicBedrock);
    const model = 'anthropic.claude-sonnet-4-5-20250929-v1:0';
    const message = await wrapped.messages.create({ model, max_tokens: 100, messages });
    expect(decodeURIComponent(last().path)).toBe(`/model/${model}/invoke`);
    const final = await wrapped.messages.stream({ model, max_tokens: 100, messages }).finalMessage();
    expect(decodeURIComponent(last().path)).toBe(`/model/${model}/invoke-with-response-stream`);
    expect(last().reply?.status).toBe(200);
    expect(final.content).toEqual(message.content);
    await l.flush();
    const [streamed, plain] = await usageLog(l);
    expect(plain).toMatchObject({ estimated: false, model, inputTokens: message.usage.input_tokens, outputTokens: message.usage.output_tokens });
    expect(streamed).toMatchObject({ estimated: false, inputTokens: final.usage.input_tokens, outputTokens: final.usage.output_tokens });
  });
});

describe('@google/genai in Vertex mode', () => {
  it('routes to the Vertex publisher path and records the exact usage, stream or not', async () => {
    const l = limiter();
    const raw = new GoogleGenAI({
      vertexai: true,
      project: 'my-project',
      location: 'us-central1',
      httpOptions: { baseUrl: emulator().url },
      googleAuthOptions: { authClient: fakeAuthClient as never },
    });
    const wrapped = withTokenLimits(raw, 'alice', { limiter: l });
    const response = await wrapped.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Hello' });
    expect(last().path).toBe('/v1beta1/projects/my-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent');
    expect(last().headers.authorization).toBe('Bearer fake-token');
    const chunks = await collect(await wrapped.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'Hello' }));
    await l.flush();
    const [streamed, plain] = await usageLog(l);
    expect(plain).toMatchObject({ estimated: false, inputTokens: response.usageMetadata!.promptTokenCount });
    const lastUsage = chunks.at(-1)!.usageMetadata!;
    expect(streamed).toMatchObject({ estimated: false, inputTokens: lastUsage.promptTokenCount, outputTokens: lastUsage.candidatesTokenCount });
  });
});
