import OpenAI, { AzureOpenAI } from 'openai';
import OpenAIv5 from 'openai-v5';
import { describe, expect, it } from 'vitest';
import {
  createTokenLimiter,
  estimateOpenAIRequest,
  MissingUserError,
  runWithUser,
  TokenLimitExceededError,
  withTokenLimits,
  type LimitRule,
} from '../../src/index.js';
import { runInScope } from '../../src/providers/shared/context.js';
import { collect, useEmulator } from '../emulator/harness.js';
import { emulatorTotals, loggedAtLeast, usageLog } from './helpers.js';

const emulator = useEmulator();

function setup(rules: LimitRule[] = [{ id: 'm', tokens: 1_000_000, period: 'month' }], user = 'alice') {
  const limiter = createTokenLimiter({ defaultLimits: rules });
  const raw = new OpenAI({ apiKey: 'test', baseURL: emulator().openaiBaseURL });
  const wrapped = withTokenLimits(raw, user, { limiter });
  return { limiter, raw, wrapped };
}

const schema = {
  type: 'json_schema' as const,
  json_schema: {
    name: 'answer',
    strict: true,
    schema: { type: 'object', properties: { city: { type: 'string' }, score: { type: 'number' } }, required: ['city', 'score'], additionalProperties: false },
  },
};
const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Get the weather',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    function: (args: { city: string }) => ({ city: args.city, celsius: 21 }),
    parse: JSON.parse,
  },
};

interface Case {
  name: string;
  /** Billed HTTP requests the call makes. */
  requests: number;
  run(client: OpenAI): Promise<unknown>;
}

const messages = [{ role: 'user' as const, content: 'What is the weather in Lisbon today?' }];
const cases: Case[] = [
  { name: 'chat.completions.create', requests: 1, run: (c) => c.chat.completions.create({ model: 'gpt-4o-mini', messages }) },
  {
    name: 'chat.completions.create (stream)',
    requests: 1,
    run: async (c) => collect(await c.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true })),
  },
  {
    name: 'chat.completions.create (stream, caller asks for usage)',
    requests: 1,
    run: async (c) => collect(await c.chat.completions.create({ model: 'gpt-4o', messages, stream: true, stream_options: { include_usage: true } })),
  },
  {
    name: 'chat.completions.create (n = 2, max_completion_tokens)',
    requests: 1,
    run: (c) => c.chat.completions.create({ model: 'gpt-4.1-mini', messages, n: 2, max_completion_tokens: 5 }),
  },
  { name: 'chat.completions.parse', requests: 1, run: (c) => c.chat.completions.parse({ model: 'gpt-4o-mini', messages, response_format: schema }) },
  {
    name: 'chat.completions.stream (helper)',
    requests: 1,
    run: async (c) => {
      const stream = c.chat.completions.stream({ model: 'gpt-4o-mini', messages });
      const chunks: unknown[] = [];
      stream.on('chunk', (chunk) => chunks.push(chunk));
      const content: string[] = [];
      stream.on('content', (delta) => content.push(delta));
      const final = await stream.finalChatCompletion();
      return { chunks, content, final };
    },
  },
  {
    name: 'chat.completions.runTools (2 requests)',
    requests: 2,
    run: async (c) => {
      const runner = c.chat.completions.runTools({ model: 'gpt-4o-mini', messages, tools: [weatherTool] });
      const content = await runner.finalContent();
      return { content, completions: runner.allChatCompletions(), usage: await runner.totalUsage() };
    },
  },
  { name: 'responses.create', requests: 1, run: (c) => c.responses.create({ model: 'gpt-4.1', input: 'Say hello to Lisbon' }) },
  {
    name: 'responses.create (stream)',
    requests: 1,
    run: async (c) => collect(await c.responses.create({ model: 'gpt-4.1', input: 'Say hello to Lisbon', stream: true })),
  },
  {
    name: 'responses.stream (helper)',
    requests: 1,
    run: async (c) => {
      const stream = c.responses.stream({ model: 'gpt-5-mini', input: [{ role: 'user', content: 'Say hello' }], max_output_tokens: 50 });
      const events: unknown[] = [];
      stream.on('event', (e) => events.push(e));
      return { events, final: await stream.finalResponse() };
    },
  },
  {
    name: 'responses.parse',
    requests: 1,
    run: (c) =>
      c.responses.parse({
        model: 'gpt-4.1',
        input: 'Where?',
        text: { format: { type: 'json_schema', name: 'answer', strict: true, schema: schema.json_schema.schema } },
      }),
  },
  {
    name: 'responses.compact (a billed compaction pass)',
    requests: 1,
    run: (c) =>
      c.responses.compact({
        model: 'gpt-5',
        input: [
          { role: 'user', content: 'What is the weather in Lisbon today?' },
          { role: 'assistant', content: 'Sunny, 21 degrees.' },
          { role: 'user', content: 'And tomorrow?' },
        ],
      }),
  },
  {
    name: 'beta.responses.create',
    requests: 1,
    run: (c) => c.beta.responses.create({ model: 'gpt-4.1', input: 'Say hello to Lisbon', betas: ['responses_multi_agent=v1'] }),
  },
  {
    name: 'beta.responses.create (stream)',
    requests: 1,
    run: async (c) => collect(await c.beta.responses.create({ model: 'gpt-4.1', input: 'Say hello to Lisbon', stream: true })),
  },
  {
    name: 'beta.responses.compact',
    requests: 1,
    run: (c) => c.beta.responses.compact({ model: 'gpt-5', input: [{ role: 'user', content: 'What is the weather in Lisbon today?' }] }),
  },
  { name: 'completions.create', requests: 1, run: (c) => c.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Once upon a time', max_tokens: 12 }) },
  {
    name: 'completions.create (stream)',
    requests: 1,
    run: async (c) => collect(await c.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Once upon a time', stream: true })),
  },
  { name: 'embeddings.create', requests: 1, run: (c) => c.embeddings.create({ model: 'text-embedding-3-small', input: ['alpha', 'beta'] }) },
];

describe('withTokenLimits(openai): every token-billing method', () => {
  for (const c of cases) {
    describe(c.name, () => {
      it('returns exactly what the unwrapped client returns, and records the provider usage exactly', async () => {
        const { limiter, raw, wrapped } = setup();
        const bare = await c.run(raw);
        const bareRequests = [...emulator().requests];
        emulator().clearRequests();
        const ours = await c.run(wrapped);
        const ourRequests = [...emulator().requests];
        expect(JSON.parse(JSON.stringify(ours))).toEqual(JSON.parse(JSON.stringify(bare)));
        expect(ourRequests).toHaveLength(c.requests);
        expect(bareRequests).toHaveLength(c.requests);
        const logged = await usageLog(limiter);
        expect(logged).toHaveLength(c.requests);
        expect(logged.every((r) => r.userId === 'alice' && r.provider === 'openai' && !r.estimated && r.status === 'ok')).toBe(true);
        const want = emulatorTotals(ourRequests);
        expect(logged.reduce((n, r) => n + r.inputTokens, 0)).toBe(want.input);
        expect(logged.reduce((n, r) => n + r.outputTokens, 0)).toBe(want.output);
        expect(await limiter.admin.getUsage('alice')).toMatchObject({ used: want.input + want.output, reserved: 0 });
      });

      it('refuses an over-limit call before it reaches the provider', async () => {
        const { limiter, wrapped } = setup([{ id: 'tiny', tokens: 1, period: 'day' }]);
        const error = await c.run(wrapped).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TokenLimitExceededError);
        expect(error).toMatchObject({ ruleId: 'tiny', limit: 1, used: 0, reserved: 0 });
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(emulator().requests).toHaveLength(0);
        expect(await limiter.admin.getUsage('alice')).toMatchObject({ used: 0, reserved: 0 });
      });

      it('releases the hold when the provider fails with 500 after the SDK retries', async () => {
        const { limiter, wrapped } = setup();
        emulator().enqueue({ status: 500 }, { times: 3 * c.requests });
        const error = await c.run(wrapped).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(OpenAI.InternalServerError);
        expect(emulator().requests.length).toBe(3);
        expect(await limiter.admin.getUsage('alice')).toMatchObject({ used: 0, reserved: 0 });
        expect(await usageLog(limiter)).toHaveLength(0);
      });
    });
  }
});

describe('withTokenLimits(openai): transparency', () => {
  it('keeps APIPromise: .withResponse() and .asResponse() work through the wrapper', async () => {
    const { limiter, wrapped } = setup();
    const promise = wrapped.chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(promise).toBeInstanceOf(Promise);
    expect(promise.constructor.name).toBe('APIPromise');
    const { data, response, request_id } = await promise.withResponse();
    expect(response.status).toBe(200);
    expect(request_id).toMatch(/^req_/);
    expect((data as { _request_id?: string })._request_id).toBe(request_id);
    const raw = await wrapped.chat.completions.create({ model: 'gpt-4o-mini', messages }).asResponse();
    expect(raw.headers.get('content-type')).toContain('application/json');
    const records2 = await usageLog(limiter);
    expect(records2).toHaveLength(2);
    expect(records2[1]!.requestId).toBe(request_id);
  });

  it('keeps Stream: controller, tee() and toReadableStream(); the injected usage chunk is hidden everywhere', async () => {
    const { limiter, wrapped, raw } = setup();
    const stream = await wrapped.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    expect(stream.controller).toBeInstanceOf(AbortController);
    const [a, b] = stream.tee();
    const [left, right] = await Promise.all([collect(a), collect(b)]);
    expect(left).toEqual(right);
    expect(left.every((chunk) => !('usage' in chunk))).toBe(true);
    const bare = await collect(await raw.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }));
    expect(left).toEqual(bare);
    const readable = (await wrapped.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true })).toReadableStream();
    const text = await new Response(readable).text();
    expect(text).not.toContain('"usage"');
    const body = await (await wrapped.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }).asResponse()).text();
    expect(body).not.toContain('usage');
    expect(body).toContain('[DONE]');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await usageLog(limiter)).every((r) => !r.estimated)).toBe(true);
  });

  it('a stream taken raw reads like the bare response: body, bodyUsed, clone and every reading method', async () => {
    const { limiter, raw, wrapped } = setup();
    const stream = () => ({ model: 'gpt-4o-mini', messages, stream: true as const, stream_options: { include_usage: true } });
    const bare = await raw.chat.completions.create(stream()).asResponse();
    const response = await wrapped.chat.completions.create(stream()).asResponse();
    expect(response).toBeInstanceOf(Response);
    expect([response.status, response.url, response.headers.get('content-type')]).toEqual([bare.status, bare.url, bare.headers.get('content-type')]);
    expect(response.bodyUsed).toBe(false);
    expect(response.body).toBeInstanceOf(ReadableStream);
    const copy = response.clone();
    const [text, copied, bareText] = await Promise.all([response.text(), copy.text(), bare.text()]);
    expect(text).toBe(copied);
    // The caller asked for the usage here, so nothing is hidden: the same events as the bare call's.
    expect(text.split('\n\n').length).toBe(bareText.split('\n\n').length);
    expect(response.bodyUsed).toBe(true);
    await expect(response.text()).rejects.toThrow(TypeError);
    const bytes = await (await wrapped.chat.completions.create(stream()).asResponse()).arrayBuffer();
    expect(new TextDecoder().decode(bytes)).toContain('[DONE]');
    const reader = (await wrapped.chat.completions.create(stream()).asResponse()).body!.getReader();
    let chunks = 0;
    while (!(await reader.read()).done) chunks += 1;
    expect(chunks).toBeGreaterThan(0);
    await limiter.flush();
    const log = await usageLog(limiter);
    expect(log).toHaveLength(3);
    expect(log.every((r) => !r.estimated)).toBe(true);
  });

  it('throws the SDK own errors (400 is not retried and charges nothing)', async () => {
    const { limiter, wrapped } = setup();
    emulator().enqueue({ status: 400 });
    const error = await wrapped.chat.completions.create({ model: 'gpt-4o-mini', messages }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(emulator().requests).toHaveLength(1);
    expect(await limiter.admin.getUsage('alice')).toMatchObject({ used: 0, reserved: 0 });
  });

  it('a request the SDK fails before sending (a failing apiKey function or Azure token provider) charges nothing', async () => {
    const limiter = createTokenLimiter({ defaultLimits: [{ id: 'm', tokens: 1_000_000, period: 'month' }] });
    const keyless = new OpenAI({ apiKey: () => Promise.reject(new Error('vault down')), baseURL: emulator().openaiBaseURL });
    const azure = new AzureOpenAI({
      azureADTokenProvider: () => Promise.reject(new Error('token service down')),
      endpoint: emulator().url,
      apiVersion: '2024-10-21',
      deployment: 'gpt-4o-mini',
    });
    for (const raw of [keyless, azure]) {
      const bare = await raw.chat.completions.create({ model: 'gpt-4o-mini', messages }).catch((e: unknown) => e);
      const error = await withTokenLimits(raw, 'alice', { limiter }).chat.completions.create({ model: 'gpt-4o-mini', messages }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.OpenAIError);
      expect((error as Error).message).toBe((bare as Error).message);
    }
    expect(emulator().requests).toHaveLength(0);
    await limiter.flush();
    expect(await usageLog(limiter)).toEqual([]);
    expect(await limiter.admin.getUsage('alice')).toMatchObject({ used: 0, reserved: 0 });
  });

  it('charges one reservation once when the SDK retries (429, 429, 200)', async () => {
    const { limiter, wrapped } = setup();
    emulator().enqueue({ status: 429 }, { times: 2 });
    const result = await wrapped.chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(result.choices[0]!.message.content).toBeTruthy();
    expect(emulator().requests).toHaveLength(3);
    const logged = await usageLog(limiter);
    expect(logged).toHaveLength(1);
    expect(logged[0]!.totalTokens).toBe(result.usage!.total_tokens);
  });

  it('passes non-billing methods through untouched and keeps clients derived with withOptions() wrapped', async () => {
    const { limiter, wrapped } = setup([{ id: 'tiny', tokens: 1, period: 'day' }]);
    expect(typeof wrapped.models.list).toBe('function');
    expect(wrapped.baseURL).toBe(emulator().openaiBaseURL);
    const derived = wrapped.withOptions({ maxRetries: 0 });
    await expect(derived.chat.completions.create({ model: 'gpt-4o-mini', messages })).rejects.toBeInstanceOf(TokenLimitExceededError);
    expect(emulator().requests).toHaveLength(0);
    expect(await limiter.admin.getUsage('alice')).toMatchObject({ used: 0 });
  });
});

describe('withTokenLimits(openai): background responses', () => {
  // background: true answers at once, queued, with no usage: the response is billed when it has
  // run. Charging only the input (what the missing usage's estimate saw) let a caller run
  // unlimited output through background responses.
  it('charges a queued response its hold (input estimate + max_output_tokens), marked estimated, and returns it unchanged', async () => {
    const { limiter, raw, wrapped } = setup();
    const params = { model: 'gpt-4.1', input: 'Write a long story about Lisbon', background: true, max_output_tokens: 300 };
    const bare = await raw.responses.create(params);
    emulator().clearRequests();
    const ours = await wrapped.responses.create(params);
    expect(ours.status).toBe('queued');
    expect(ours.usage).toBeNull();
    expect({ ...JSON.parse(JSON.stringify(ours)), id: 'x' }).toEqual({ ...JSON.parse(JSON.stringify(bare)), id: 'x' });
    const [record] = await loggedAtLeast(limiter, 1);
    const hold = await estimateOpenAIRequest('responses', params);
    expect(record).toMatchObject({ estimated: true, status: 'ok', inputTokens: hold.inputTokens, outputTokens: 300 });
    // What the emulator bills once the response has run: no more output than that.
    expect(record!.outputTokens).toBeGreaterThanOrEqual(emulatorTotals(emulator().requests).output);
    expect(await limiter.admin.getUsage('alice')).toMatchObject({ used: record!.totalTokens, reserved: 0 });
  });

  it('without max_output_tokens, charges the output the call held (the model\'s)', async () => {
    const { limiter, wrapped } = setup();
    const params = { model: 'gpt-4.1', input: 'Write a long story about Lisbon', background: true };
    await wrapped.responses.create(params);
    const [record] = await loggedAtLeast(limiter, 1);
    const hold = await estimateOpenAIRequest('responses', params);
    expect(hold.outputTokens).toBeGreaterThan(1000);
    expect(record).toMatchObject({ estimated: true, status: 'ok', inputTokens: hold.inputTokens, outputTokens: hold.outputTokens });
  });

  it('charges a background stream the caller stops reading its hold: the response runs on', async () => {
    for (const abortedStreamCharge of [undefined, 'received'] as const) {
      const limiter = createTokenLimiter({ defaultLimits: [{ id: 'm', tokens: 1_000_000, period: 'month' }], ...(abortedStreamCharge ? { abortedStreamCharge } : {}) });
      const wrapped = withTokenLimits(new OpenAI({ apiKey: 'test', baseURL: emulator().openaiBaseURL }), 'alice', { limiter });
      emulator().enqueue({ chunkDelayMs: 30 });
      const params = { model: 'gpt-4.1', input: 'Write a long story about Lisbon', background: true, max_output_tokens: 400, stream: true as const };
      const stream = await wrapped.responses.create(params);
      let n = 0;
      for await (const _event of stream) if ((n += 1) === 3) break;
      const [record] = await loggedAtLeast(limiter, 1);
      expect(record).toMatchObject({ estimated: true, status: 'aborted', outputTokens: 400 });
      // Not in the background, the same stream is charged what it received (a model that bills no hidden reasoning).
      emulator().enqueue({ chunkDelayMs: 30 });
      const plain = await wrapped.responses.create({ ...params, background: false });
      n = 0;
      for await (const _event of plain) if ((n += 1) === 3) break;
      const records = await loggedAtLeast(limiter, 2);
      expect(records.find((r) => r.id !== record!.id)!.outputTokens).toBeLessThan(400);
      await limiter.close();
    }
  });

  it('charges a response that ran before it answered (background, finished) by its usage, as any other', async () => {
    const { limiter, wrapped } = setup();
    const params = { model: 'gpt-4.1', input: 'Say hello to Lisbon', background: true, stream: true as const };
    await collect(await wrapped.responses.create(params));
    const [record] = await loggedAtLeast(limiter, 1);
    const billed = emulatorTotals(emulator().requests);
    expect(record).toMatchObject({ estimated: false, inputTokens: billed.input, outputTokens: billed.output });
  });
});

describe('withTokenLimits(openai): service tiers', () => {
  // gpt-4.1, USD per million tokens: standard 2 in / 8 out, priority 3.5 / 14 (OpenAI's
  // priority-processing page), flex half the standard rates. The emulator answers with the tier
  // asked for.
  const costRules: LimitRule[] = [{ id: 'dollars', costUsd: 100, period: 'month' }];
  const priced = (input: number, output: number, rates: { input: number; output: number }) => (input * rates.input + output * rates.output) / 1e6;
  const PRIORITY = { input: 3.5, output: 14 };
  const STANDARD = { input: 2, output: 8 };
  const FLEX = { input: 1, output: 4 };
  const RATES = { priority: PRIORITY, flex: FLEX, default: STANDARD };
  type Tier = keyof typeof RATES;
  const calls = [
    { name: 'chat, non-stream', run: (c: OpenAI, tier?: Tier) => c.chat.completions.create({ model: 'gpt-4.1', messages, ...(tier ? { service_tier: tier } : {}) }) },
    {
      name: 'chat, stream',
      run: async (c: OpenAI, tier?: Tier) => collect(await c.chat.completions.create({ model: 'gpt-4.1', messages, stream: true, ...(tier ? { service_tier: tier } : {}) })),
    },
    { name: 'responses, non-stream', run: (c: OpenAI, tier?: Tier) => c.responses.create({ model: 'gpt-4.1', input: 'Say hello to Lisbon', ...(tier ? { service_tier: tier } : {}) }) },
    {
      name: 'responses, stream',
      run: async (c: OpenAI, tier?: Tier) => collect(await c.responses.create({ model: 'gpt-4.1', input: 'Say hello to Lisbon', stream: true, ...(tier ? { service_tier: tier } : {}) })),
    },
  ];
  for (const c of calls) {
    it(`${c.name}: a call run with service_tier 'priority' is charged at the priority rates, 'flex' at half the standard ones, any other at the standard ones`, async () => {
      const { limiter, wrapped } = setup(costRules);
      for (const tier of ['priority', 'flex', 'default', undefined] as const) {
        emulator().clearRequests();
        await c.run(wrapped, tier);
        const billed = emulatorTotals(emulator().requests);
        const [record] = await usageLog(limiter);
        // Kept in whole micro-dollars: within half of one of the exact price.
        expect(Math.abs(record!.costUsd! - priced(billed.input, billed.output, RATES[tier ?? 'default']))).toBeLessThanOrEqual(0.5e-6 + 1e-12);
        await limiter.admin.resetUsage('alice');
      }
    });
  }

  it("holds a priority call at the priority rates: refused before it reaches OpenAI where a standard one fits", async () => {
    const params = { model: 'gpt-4.1', messages, max_completion_tokens: 1000 };
    const hold = await estimateOpenAIRequest('chat.completions', params);
    const limit = (priced(hold.inputTokens, hold.outputTokens, STANDARD) + priced(hold.inputTokens, hold.outputTokens, PRIORITY)) / 2;
    const { limiter, wrapped } = setup([{ id: 'dollars', costUsd: limit, period: 'month' }]);
    await expect(wrapped.chat.completions.create({ ...params, service_tier: 'priority' })).rejects.toBeInstanceOf(TokenLimitExceededError);
    expect(emulator().requests).toHaveLength(0);
    await wrapped.chat.completions.create(params);
    expect(emulator().requests).toHaveLength(1);
    expect(await usageLog(limiter)).toHaveLength(1);
  });

  it('holds a flex call at the standard rates (OpenAI may run it in another tier), and charges it at the flex ones', async () => {
    const params = { model: 'gpt-4.1', messages, max_completion_tokens: 1000 };
    const hold = await estimateOpenAIRequest('chat.completions', params);
    const limit = (priced(hold.inputTokens, hold.outputTokens, STANDARD) + priced(hold.inputTokens, hold.outputTokens, FLEX)) / 2;
    const { limiter, wrapped } = setup([{ id: 'dollars', costUsd: limit, period: 'month' }]);
    await expect(wrapped.chat.completions.create({ ...params, service_tier: 'flex' })).rejects.toBeInstanceOf(TokenLimitExceededError);
    expect(emulator().requests).toHaveLength(0);
    await limiter.admin.setLimits('alice', [{ id: 'dollars', costUsd: 100, period: 'month' }]);
    await wrapped.chat.completions.create({ ...params, service_tier: 'flex' });
    const billed = emulatorTotals(emulator().requests);
    const [record] = await usageLog(limiter);
    expect(Math.abs(record!.costUsd! - priced(billed.input, billed.output, FLEX))).toBeLessThanOrEqual(0.5e-6 + 1e-12);
  });
});

describe('withTokenLimits(openai): audio models', () => {
  // gpt-4o-audio-preview, USD per million tokens: text 2.50 in / 10 out, audio 40 in / 80 out.
  const TEXT = { input: 2.5, output: 10 };
  const AUDIO = { input: 40, output: 80 };
  const audioUsage = {
    'x-emulator-usage': 'prompt_tokens=1000,completion_tokens=500,total_tokens=1500,prompt_tokens_details.audio_tokens=300,completion_tokens_details.audio_tokens=200',
  };
  const params = { model: 'gpt-4o-audio-preview', messages, modalities: ['text', 'audio'] as Array<'text' | 'audio'>, audio: { voice: 'alloy' as const, format: 'wav' as const }, max_completion_tokens: 1000 };

  it('charges audio tokens at the audio rates, stream or not', async () => {
    const { limiter, wrapped } = setup([{ id: 'dollars', costUsd: 100, period: 'month' }]);
    for (const stream of [false, true]) {
      emulator().clearRequests();
      if (stream) await collect(await wrapped.chat.completions.create({ ...params, stream: true }, { headers: audioUsage }));
      else await wrapped.chat.completions.create(params, { headers: audioUsage });
      const [record] = await loggedAtLeast(limiter, 1);
      expect(record).toMatchObject({ inputTokens: 1000, outputTokens: 500, estimated: false });
      const exact = (700 * TEXT.input + 300 * AUDIO.input + 300 * TEXT.output + 200 * AUDIO.output) / 1e6;
      expect(Math.abs(record!.costUsd! - exact), `stream: ${stream}`).toBeLessThanOrEqual(0.5e-6 + 1e-12);
      await limiter.admin.resetUsage('alice');
    }
  });

  it('holds a call of an audio model at the audio rates: refused before it reaches OpenAI where its text price fits', async () => {
    const hold = await estimateOpenAIRequest('chat.completions', params);
    const atText = (hold.inputTokens * TEXT.input + hold.outputTokens * TEXT.output) / 1e6;
    const atAudio = (hold.inputTokens * AUDIO.input + hold.outputTokens * AUDIO.output) / 1e6;
    const { wrapped } = setup([{ id: 'dollars', costUsd: (atText + atAudio) / 2, period: 'month' }]);
    await expect(wrapped.chat.completions.create(params)).rejects.toBeInstanceOf(TokenLimitExceededError);
    expect(emulator().requests).toHaveLength(0);
  });
});

describe('withTokenLimits(openai): streams that end early', () => {
  it('commits input estimate + received text, marked estimated, when the connection breaks mid-stream', async () => {
    const { limiter, wrapped } = setup();
    emulator().enqueue({ disconnectAfterChunks: 3 });
    const got: unknown[] = [];
    const error = await (async () => {
      const stream = await wrapped.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
      for await (const chunk of stream) got.push(chunk);
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(got.length).toBeGreaterThan(0);
    const [record] = await loggedAtLeast(limiter, 1);
    expect(record).toMatchObject({ estimated: true, status: 'aborted' });
    expect(record!.inputTokens).toBeGreaterThan(0);
    expect(record!.outputTokens).toBeGreaterThan(0);
    expect(await limiter.admin.getUsage('alice')).toMatchObject({ reserved: 0, used: record!.totalTokens });
  });

  it('commits an estimate when the caller breaks out early (never zero)', async () => {
    const { limiter, wrapped } = setup();
    emulator().enqueue({ chunkDelayMs: 30 });
    const stream = await wrapped.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    let n = 0;
    for await (const _chunk of stream) {
      n += 1;
      if (n === 2) break;
    }
    expect(stream.controller.signal.aborted).toBe(true);
    const [record] = await loggedAtLeast(limiter, 1);
    expect(record).toMatchObject({ estimated: true, status: 'aborted' });
    expect(record!.totalTokens).toBeGreaterThan(0);
  });

  it('commits the exact usage of a stream the caller never reads', async () => {
    const { limiter, wrapped } = setup();
    await wrapped.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    const [record] = await loggedAtLeast(limiter, 1);
    expect(record).toMatchObject({ estimated: false, status: 'ok' });
    const want = emulatorTotals(emulator().requests);
    expect(record!.inputTokens).toBe(want.input);
  });

  it('estimates when the provider omits usage, and honours an explicit zero', async () => {
    const { limiter, wrapped } = setup();
    emulator().enqueue({ omitUsage: true });
    await wrapped.chat.completions.create({ model: 'gpt-4o-mini', messages });
    emulator().enqueue({ usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 } });
    await wrapped.chat.completions.create({ model: 'gpt-4o-mini', messages });
    const [zero, estimated] = await usageLog(limiter);
    expect(estimated).toMatchObject({ estimated: true, status: 'ok' });
    expect(estimated!.inputTokens).toBeGreaterThan(0);
    expect(estimated!.outputTokens).toBeGreaterThan(0);
    expect(zero).toMatchObject({ estimated: false, inputTokens: 0, outputTokens: 0 });
  });

  it('never commits malformed usage numbers: it estimates instead', async () => {
    const { limiter, wrapped } = setup();
    for (const bad of [-1, '12', 1.5, null, 2 ** 53]) {
      emulator().enqueue({ usage: { prompt_tokens: bad as never } });
      await wrapped.chat.completions.create({ model: 'gpt-4o-mini', messages });
    }
    const logged = await usageLog(limiter);
    expect(logged).toHaveLength(5);
    expect(logged.every((r) => r.estimated && Number.isSafeInteger(r.totalTokens) && r.totalTokens > 0)).toBe(true);
    const usage = await limiter.admin.getUsage('alice');
    expect(Number.isSafeInteger(usage.used)).toBe(true);
    expect(usage.reserved).toBe(0);
  });
});

describe('withTokenLimits(openai): users and limits', () => {
  it('takes the user from runWithUser when none is given, and refuses a call with no user at all', async () => {
    const limiter = createTokenLimiter();
    const client = withTokenLimits(new OpenAI({ apiKey: 'test', baseURL: emulator().openaiBaseURL }), undefined, { limiter });
    await expect(client.chat.completions.create({ model: 'gpt-4o-mini', messages })).rejects.toBeInstanceOf(MissingUserError);
    await expect(client.chat.completions.create({ model: 'gpt-4o-mini', messages })).rejects.toThrow(
      'No user for this call: pass one to withTokenLimits(client, user) or run the call inside runWithUser(user, fn)',
    );
    // In a request the web middleware runs with no user (its getUserId gave none), the error says so.
    await expect(runInScope({ userId: undefined, limiter }, () => client.chat.completions.create({ model: 'gpt-4o-mini', messages }))).rejects.toThrow(
      /runs in a request without one \(the middleware's getUserId gave none\)/,
    );
    expect(emulator().requests).toHaveLength(0);
    await runWithUser('bob', () => client.chat.completions.create({ model: 'gpt-4o-mini', messages }));
    await runWithUser({ id: 'carol' }, async () => {
      const runner = client.chat.completions.runTools({ model: 'gpt-4o-mini', messages, tools: [weatherTool] });
      await runner.finalContent();
    });
    expect((await limiter.admin.getUsage('bob')).used).toBeGreaterThan(0);
    expect((await limiter.admin.getUsageLog({ userId: 'carol' })).length).toBe(2);
  });

  it('never lets concurrent calls exceed a limit: exactly as many calls as fit reach the provider', async () => {
    const { limiter, wrapped } = setup([{ id: 'calls', requests: 7, period: 'hour' }]);
    const outcomes = await Promise.allSettled(Array.from({ length: 40 }, () => wrapped.chat.completions.create({ model: 'gpt-4o-mini', messages })));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(7);
    expect(outcomes.filter((o) => o.status === 'rejected').every((o) => (o as PromiseRejectedResult).reason instanceof TokenLimitExceededError)).toBe(true);
    expect(emulator().requests).toHaveLength(7);
    expect((await limiter.admin.getUsage('alice')).used).toBe(7);
  });

  it('prices calls for cost rules, and refuses a model with no price unless a fallback is set', async () => {
    const rules: LimitRule[] = [{ id: 'budget', costUsd: 1, period: 'month' }];
    const { limiter, wrapped } = setup(rules);
    const result = await wrapped.chat.completions.create({ model: 'gpt-4o-mini', messages, max_completion_tokens: 100 });
    const [record] = await usageLog(limiter);
    const want = (result.usage!.prompt_tokens * 0.15 + result.usage!.completion_tokens * 0.6) / 1_000_000;
    expect(record!.costUsd).toBeCloseTo(want, 6);
    const unknown = await wrapped.chat.completions.create({ model: 'my-private-model', messages }).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ code: 'invalid_argument', parameter: 'estimate.costUsd' });
    const withFallback = createTokenLimiter({ defaultLimits: rules, pricing: { fallback: { input: 1, output: 2 } } });
    const client = withTokenLimits(new OpenAI({ apiKey: 'test', baseURL: emulator().openaiBaseURL }), 'dan', { limiter: withFallback });
    await client.chat.completions.create({ model: 'my-private-model', messages });
    expect((await withFallback.admin.getUsage('dan')).used).toBeGreaterThan(0);
  });

  it('validates its arguments', () => {
    const raw = new OpenAI({ apiKey: 'test', baseURL: emulator().openaiBaseURL });
    expect(() => withTokenLimits(raw, '')).toThrow(/user/);
    expect(() => withTokenLimits(raw, 'u', { outputReservation: -1 })).toThrow(/outputReservation/);
    expect(() => withTokenLimits({} as object, 'u')).toThrow(/client/);
    expect(() => withTokenLimits(raw, 'u', { limiter: {} as never })).toThrow(/limiter/);
  });
});

describe('openai v5', () => {
  it('wraps a v5 client: create, stream and the stream helper', async () => {
    const limiter = createTokenLimiter();
    const client = withTokenLimits(new OpenAIv5({ apiKey: 'test', baseURL: emulator().openaiBaseURL }), 'v5', { limiter });
    const result = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
    const chunks = await collect(await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }));
    expect(chunks.every((chunk) => !('usage' in chunk))).toBe(true);
    await client.chat.completions.stream({ model: 'gpt-4o-mini', messages }).finalChatCompletion();
    const logged = await limiter.admin.getUsageLog({ userId: 'v5' });
    expect(logged).toHaveLength(3);
    expect(logged.every((r) => !r.estimated)).toBe(true);
    expect(logged[2]!.totalTokens).toBe(result.usage!.total_tokens);
  });
});
