import Anthropic from '@anthropic-ai/sdk';
import { betaTool } from '@anthropic-ai/sdk/helpers/beta/json-schema';
import AnthropicV0 from 'anthropic-sdk-v0';
import { describe, expect, it } from 'vitest';
import {
  createTokenLimiter,
  MissingUserError,
  runWithUser,
  TokenLimitExceededError,
  withTokenLimits,
  type LimitRule,
} from '../../src/index.js';
import { expectedUsage } from '../../src/testing/index.js';
import { estimateAnthropicMessage } from '../../src/providers/anthropic/estimate.js';
import { collect, useEmulator } from '../emulator/harness.js';
import { emulatorTotals, loggedAtLeast, usageLog } from './helpers.js';
import { slowStore } from './matrix.js';

const emulator = useEmulator();
const MODEL = 'claude-sonnet-5';

function setup(rules: LimitRule[] = [{ id: 'm', tokens: 1_000_000, period: 'month' }], user = 'alice') {
  const limiter = createTokenLimiter({ defaultLimits: rules });
  const raw = new Anthropic({ apiKey: 'test', baseURL: emulator().anthropicBaseURL });
  const wrapped = withTokenLimits(raw, user, { limiter });
  return { limiter, raw, wrapped };
}

const messages = [{ role: 'user' as const, content: 'What is the weather in Lisbon today?' }];
const base = { model: MODEL, max_tokens: 200, messages };

interface Case {
  name: string;
  requests: number;
  run(client: Anthropic): Promise<unknown>;
}

const cases: Case[] = [
  { name: 'messages.create', requests: 1, run: (c) => c.messages.create(base) },
  { name: 'messages.create (stream)', requests: 1, run: async (c) => collect(await c.messages.create({ ...base, stream: true })) },
  {
    name: 'messages.stream (MessageStream)',
    requests: 1,
    run: async (c) => {
      const stream = c.messages.stream(base);
      const texts: string[] = [];
      stream.on('text', (t) => texts.push(t));
      const final = await stream.finalMessage();
      return { texts, final, text: await stream.finalText() };
    },
  },
  {
    name: 'messages.parse',
    requests: 1,
    run: (c) =>
      c.messages.parse({
        ...base,
        output_config: { format: { type: 'json_schema', schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false } } },
      } as never),
  },
  { name: 'beta.messages.create', requests: 1, run: (c) => c.beta.messages.create({ ...base, betas: ['context-management-2025-06-27'] }) },
  {
    name: 'beta.messages.stream',
    requests: 1,
    run: async (c) => c.beta.messages.stream(base).finalMessage(),
  },
  {
    name: 'beta.messages.toolRunner (2 requests)',
    requests: 2,
    run: async (c) =>
      c.beta.messages
        .toolRunner({
          ...base,
          tools: [
            betaTool({
              name: 'get_weather',
              description: 'Weather in a city',
              inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
              run: () => 'sunny',
            }),
          ],
        })
        .runUntilDone(),
  },
];

describe('withTokenLimits(anthropic): every token-billing method', () => {
  for (const c of cases) {
    describe(c.name, () => {
      it('returns exactly what the unwrapped client returns, and records the provider usage exactly', async () => {
        const { limiter, raw, wrapped } = setup();
        const bare = await c.run(raw);
        const bareCount = emulator().requests.length;
        emulator().clearRequests();
        const ours = await c.run(wrapped);
        const ourRequests = [...emulator().requests];
        expect(JSON.parse(JSON.stringify(ours))).toEqual(JSON.parse(JSON.stringify(bare)));
        expect(ourRequests).toHaveLength(c.requests);
        expect(bareCount).toBe(c.requests);
        const logged = await usageLog(limiter);
        expect(logged).toHaveLength(c.requests);
        expect(logged.every((r) => r.provider === 'anthropic' && !r.estimated && r.status === 'ok' && r.userId === 'alice')).toBe(true);
        const want = emulatorTotals(ourRequests, ['messages']);
        expect(logged.reduce((n, r) => n + r.inputTokens, 0)).toBe(want.input);
        expect(logged.reduce((n, r) => n + r.outputTokens, 0)).toBe(want.output);
        expect(await limiter.admin.getUsage('alice')).toMatchObject({ used: want.input + want.output, reserved: 0 });
      });

      it('refuses an over-limit call before it reaches the provider', async () => {
        const { limiter, wrapped } = setup([{ id: 'tiny', tokens: 10, period: 'day' }]);
        const error = await c.run(wrapped).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TokenLimitExceededError);
        expect(error).toMatchObject({ ruleId: 'tiny', limit: 10 });
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(emulator().requests).toHaveLength(0);
        expect(await limiter.admin.getUsage('alice')).toMatchObject({ used: 0, reserved: 0 });
      });

      it('releases the hold when the provider is overloaded (529) after the SDK retries', async () => {
        const { limiter, wrapped } = setup();
        emulator().enqueue({ status: 529 }, { times: 3 });
        const error = await c.run(wrapped).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(Anthropic.APIError);
        expect(emulator().requests).toHaveLength(3);
        expect(await limiter.admin.getUsage('alice')).toMatchObject({ used: 0, reserved: 0 });
      });
    });
  }
});

describe('withTokenLimits(anthropic): usage semantics', () => {
  it('a request the SDK fails before sending (no credentials it can resolve) charges nothing, stream or not', async () => {
    const limiter = createTokenLimiter({ defaultLimits: [{ id: 'm', tokens: 1_000_000, period: 'month' }] });
    const keyless = new Anthropic({ apiKey: null, authToken: null, baseURL: emulator().anthropicBaseURL });
    const wrapped = withTokenLimits(keyless, 'alice', { limiter });
    for (const stream of [false, true]) {
      const bare = await keyless.messages.create({ ...base, stream }).catch((e: unknown) => e);
      const error = await wrapped.messages.create({ ...base, stream }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Anthropic.AnthropicError);
      expect(error).not.toBeInstanceOf(Anthropic.APIError);
      expect((error as Error).message).toBe((bare as Error).message);
    }
    expect(emulator().requests).toHaveLength(0);
    await limiter.flush();
    expect(await usageLog(limiter)).toEqual([]);
    expect(await limiter.admin.getUsage('alice')).toMatchObject({ used: 0, reserved: 0 });
  });

  it('takes the last cumulative message_delta (never sums them)', async () => {
    const { limiter, wrapped } = setup();
    emulator().enqueue({ messageDeltas: 3 });
    const final = await wrapped.messages.stream(base).finalMessage();
    const [record] = await usageLog(limiter);
    expect(record!.outputTokens).toBe(final.usage.output_tokens);
    expect(record!.outputTokens).toBe(expectedUsage(emulator().requests[0]!).outputTokens);
  });

  it('a stream stopped between cumulative message_delta events is charged an estimate: the input of message_start, at least the output reported so far', async () => {
    const { limiter, wrapped } = setup();
    const stream = await wrapped.messages.create({ ...base, stream: true }, { headers: { 'x-emulator-message-deltas': '3', 'x-emulator-chunk-delay-ms': '30' } });
    let reported = 0;
    for await (const event of stream) {
      if (event.type === 'message_delta') {
        reported = event.usage.output_tokens;
        break;
      }
    }
    const [record] = await loggedAtLeast(limiter, 1);
    const exact = expectedUsage(emulator().requests[0]!);
    expect(record).toMatchObject({ status: 'aborted', estimated: true, inputTokens: exact.inputTokens });
    expect(reported).toBeLessThan(exact.outputTokens);
    expect(record!.outputTokens).toBeGreaterThanOrEqual(reported);
    // All the text had come (the emulator sends it before the deltas): its tokens are charged.
    expect(record!.outputTokens).toBeGreaterThan(reported);
  });

  it('prices one-hour cache writes at their own rate (twice the input rate, where five-minute writes are 1.25 times)', async () => {
    const { limiter, wrapped } = setup([{ id: 'budget', costUsd: 100, period: 'month' }]);
    for (const stream of [false, true]) {
      const headers = { 'x-emulator-usage': 'cache_creation_input_tokens=100000,cache_creation.ephemeral_5m_input_tokens=40000,cache_creation.ephemeral_1h_input_tokens=60000' };
      const params = { ...base, system: [{ type: 'text' as const, text: 'a long document', cache_control: { type: 'ephemeral' as const, ttl: '1h' as const } }] };
      if (stream) await collect(await wrapped.messages.create({ ...params, stream: true }, { headers }));
      else await wrapped.messages.create(params, { headers });
      const [record] = await loggedAtLeast(limiter, 1);
      // claude-sonnet-5: input $2, 5-minute writes $2.50, one-hour writes $4, output $10 per million.
      const plain = record!.inputTokens - 100_000;
      const exact = (plain * 2 + 40_000 * 2.5 + 60_000 * 4 + record!.outputTokens * 10) / 1e6;
      expect(Math.abs(record!.costUsd! - exact), `stream: ${stream}`).toBeLessThanOrEqual(0.5e-6 + 1e-12);
      await limiter.admin.resetUsage('alice');
    }
  });

  it("charges the web search tool's searches at $10 per 1,000 on top of the tokens (web fetches are free), non-stream and stream", async () => {
    const { limiter, wrapped } = setup([{ id: 'budget', costUsd: 100, period: 'month' }]);
    for (const stream of [false, true]) {
      const headers = { 'x-emulator-usage': 'server_tool_use.web_search_requests=3,server_tool_use.web_fetch_requests=2' };
      const params = { ...base, tools: [{ type: 'web_search_20250305' as const, name: 'web_search' as const, max_uses: 5 }] };
      if (stream) await collect(await wrapped.messages.create({ ...params, stream: true }, { headers }));
      else await wrapped.messages.create(params, { headers });
      const [record] = await loggedAtLeast(limiter, 1);
      // claude-sonnet-5: input $2, output $10 per million; 3 searches at $0.01.
      const exact = (record!.inputTokens * 2 + record!.outputTokens * 10) / 1e6 + 0.03;
      expect(Math.abs(record!.costUsd! - exact), `stream: ${stream}`).toBeLessThanOrEqual(0.5e-6 + 1e-12);
      await limiter.admin.resetUsage('alice');
    }
  });

  it("holds the web search fee of a request's max_uses: a request whose searches could pass a cost limit is refused before it is sent", async () => {
    const search = (maxUses?: number) => ({ ...base, tools: [{ type: 'web_search_20250305' as const, name: 'web_search' as const, ...(maxUses === undefined ? {} : { max_uses: maxUses }) }] });
    // The hold of the same request with no bound on its searches (the input is held at the context window: a hosted tool).
    const probe = await setup([{ id: 'budget', costUsd: 0.000001, period: 'month' }]).wrapped.messages.create(search()).catch((e: unknown) => e);
    expect(probe).toBeInstanceOf(TokenLimitExceededError);
    const tokensHold = (probe as TokenLimitExceededError).requested;
    const { limiter, wrapped } = setup([{ id: 'budget', costUsd: tokensHold + 0.04, period: 'month' }]);
    const before = emulator().requests.length;
    // 5 searches at $0.01 pass the limit by $0.01: refused, never sent.
    await expect(wrapped.messages.create(search(5))).rejects.toMatchObject({ ruleId: 'budget', requested: expect.closeTo(tokensHold + 0.05, 6) });
    expect(emulator().requests).toHaveLength(before);
    // 3 searches fit.
    await wrapped.messages.create(search(3));
    expect(emulator().requests).toHaveLength(before + 1);
    expect(await limiter.admin.getUsage('alice')).toMatchObject({ reserved: 0 });
    // Any number of searches allowed (up to 2^53 on two tools) is held as a million: a refusal by the limit, not an invalid estimate.
    const endless = { ...base, tools: [search(Number.MAX_SAFE_INTEGER).tools[0]!, search(Number.MAX_SAFE_INTEGER).tools[0]!] };
    await expect(wrapped.messages.create(endless)).rejects.toMatchObject({ constructor: TokenLimitExceededError, requested: expect.closeTo(tokensHold + 10_000, 6) });
  });

  it('charges an aborted stream with thinking (asked for, or the model default) its hold (thinking is billed whole, streamed as a summary), unless abortedStreamCharge says received', async () => {
    for (const abortedStreamCharge of [undefined, 'received'] as const) {
      const limiter = createTokenLimiter({ defaultLimits: [{ id: 'm', tokens: 1_000_000, period: 'month' }], ...(abortedStreamCharge ? { abortedStreamCharge } : {}) });
      const wrapped = withTokenLimits(new Anthropic({ apiKey: 'test', baseURL: emulator().anthropicBaseURL }), 'alice', { limiter });
      // Fable and Mythos think without being asked (adaptive thinking only, its text omitted by default).
      const cases = [
        { model: MODEL, thinking: { type: 'enabled' as const, budget_tokens: 2000 }, thinks: true },
        { model: MODEL, thinking: { type: 'adaptive' as const }, thinks: true },
        { model: MODEL, thinking: undefined, thinks: false },
        { model: 'claude-fable-5-2', thinking: undefined, thinks: true },
        { model: 'claude-mythos-5-1', thinking: undefined, thinks: true },
      ];
      for (const [i, { model, thinking, thinks }] of cases.entries()) {
        const stream = await wrapped.messages.create(
          { ...base, model, max_tokens: 4000, ...(thinking ? { thinking } : {}), stream: true },
          { headers: { 'x-emulator-chunk-delay-ms': '30' } },
        );
        let n = 0;
        for await (const _event of stream) if ((n += 1) === 4) break;
        const log = await loggedAtLeast(limiter, i + 1);
        expect(log).toHaveLength(i + 1);
        const record = log[0]!;
        expect(record).toMatchObject({ estimated: true, status: 'aborted' });
        const held = thinks && abortedStreamCharge === undefined;
        if (held) expect(record.outputTokens, `${model} ${JSON.stringify(thinking)}`).toBe(4000);
        else expect(record.outputTokens, `${model} ${JSON.stringify(thinking)} ${abortedStreamCharge}`).toBeLessThan(100);
      }
      await limiter.close();
    }
  });

  it('counts cache reads and writes as input and prices them as Anthropic does', async () => {
    const { limiter, wrapped } = setup([{ id: 'budget', costUsd: 10, period: 'month' }]);
    emulator().enqueue({ cachedInputTokens: 8, cacheCreationInputTokens: 5 });
    const message = await wrapped.messages.create(base);
    const [record] = await usageLog(limiter);
    const u = message.usage;
    const read = u.cache_read_input_tokens ?? 0;
    const written = u.cache_creation_input_tokens ?? 0;
    expect(read).toBe(8);
    expect(written).toBe(5);
    expect(record).toMatchObject({ inputTokens: u.input_tokens + read + written, cachedInputTokens: read, outputTokens: u.output_tokens });
    // claude-sonnet-5: $2 input, $0.20 cache read, $2.50 cache write (5 min), $10 output per million.
    const want = (u.input_tokens * 2 + read * 0.2 + written * 2.5 + u.output_tokens * 10) / 1_000_000;
    expect(record!.costUsd).toBeCloseTo(want, 6);
  });

  it('passes countTokens through uncharged', async () => {
    const { limiter, wrapped } = setup();
    const counted = await wrapped.messages.countTokens({ model: MODEL, messages });
    expect(counted.input_tokens).toBeGreaterThan(0);
    expect(await usageLog(limiter)).toHaveLength(0);
  });

  it("estimator: 'provider' reserves the provider's exact input count", async () => {
    // A limit that fits the smaller of (exact count, local estimate) + max_tokens but not the larger:
    // exactly one of the two modes is admitted, which tells which count the reservation used.
    const longer = [{ role: 'user' as const, content: 'Explain the difference between a hash tag and a hash slot in Redis Cluster, with two examples.' }];
    const params = { ...base, messages: longer, max_tokens: 7 };
    const exact = (await new Anthropic({ apiKey: 'test', baseURL: emulator().anthropicBaseURL }).messages.countTokens({ model: MODEL, messages: longer })).input_tokens;
    const local = (await estimateAnthropicMessage(params)).inputTokens;
    expect(local).not.toBe(exact);
    emulator().clearRequests();
    const rules: LimitRule[] = [{ id: 'fit', tokens: Math.min(exact, local) + 7, period: 'day' }];
    const run = async (estimator: 'local' | 'provider') => {
      const limiter = createTokenLimiter({ defaultLimits: rules });
      const client = withTokenLimits(new Anthropic({ apiKey: 'test', baseURL: emulator().anthropicBaseURL }), 'p', { limiter, estimator });
      const outcome = await client.messages.stream(params).finalMessage().then(() => 'admitted', (e: unknown) => (e instanceof TokenLimitExceededError ? 'refused' : e));
      return { outcome, logged: await limiter.admin.getUsageLog({ userId: 'p' }) };
    };
    const provider = await run('provider');
    const providerRequests = emulator().requests.map((r) => r.endpoint);
    emulator().clearRequests();
    const localRun = await run('local');
    expect(provider.outcome).toBe(exact < local ? 'admitted' : 'refused');
    expect(localRun.outcome).toBe(exact < local ? 'refused' : 'admitted');
    expect(providerRequests[0]).toBe('messages.count_tokens');
    if (provider.outcome === 'admitted') expect(provider.logged[0]!.inputTokens).toBe(exact);
  });

  it('commits a non-zero estimate when a stream breaks, and no unhandled rejection escapes', async () => {
    const { limiter, wrapped } = setup();
    emulator().enqueue({ disconnectAfterChunks: 4 });
    const stream = wrapped.messages.stream(base);
    await expect(stream.finalMessage()).rejects.toBeInstanceOf(Error);
    const [record] = await loggedAtLeast(limiter, 1);
    expect(record).toMatchObject({ estimated: true, status: 'aborted' });
    expect(record!.totalTokens).toBeGreaterThan(0);
    expect((await limiter.admin.getUsage('alice')).reserved).toBe(0);
  });

  it('abort() of a MessageStream charges an estimate, never zero', async () => {
    const { limiter, wrapped } = setup();
    emulator().enqueue({ chunkDelayMs: 40 });
    const stream = wrapped.messages.stream(base);
    stream.on('text', () => stream.abort());
    await stream.done().catch(() => {});
    const [record] = await loggedAtLeast(limiter, 1);
    expect(record).toMatchObject({ estimated: true });
    expect(record!.totalTokens).toBeGreaterThan(0);
  });

  it('keeps .withResponse() on create, and MessageStream.withResponse()', async () => {
    const { wrapped } = setup();
    const { data, request_id } = await wrapped.messages.create(base).withResponse();
    expect(request_id).toMatch(/^req_/);
    expect(data.content.length).toBeGreaterThan(0);
    const stream = wrapped.messages.stream(base);
    const { response } = await stream.withResponse();
    expect(response.status).toBe(200);
    await stream.done();
  });

  it('takes the user from runWithUser, refuses with no user, and rewraps withOptions() clients', async () => {
    const limiter = createTokenLimiter({ defaultLimits: [{ id: 'tiny', tokens: 10, period: 'day' }] });
    const client = withTokenLimits(new Anthropic({ apiKey: 'test', baseURL: emulator().anthropicBaseURL }), undefined, { limiter });
    await expect(client.messages.create(base)).rejects.toBeInstanceOf(MissingUserError);
    await expect(runWithUser('u', () => client.withOptions({ maxRetries: 0 }).messages.create(base))).rejects.toBeInstanceOf(TokenLimitExceededError);
    expect(emulator().requests).toHaveLength(0);
  });
});

describe('withTokenLimits(anthropic): a call aborted before it is admitted', () => {
  const slowLimiter = () => createTokenLimiter({ store: slowStore(1500), defaultLimits: [{ id: 'm', tokens: 1_000_000, period: 'month' }] });
  const settledBack = async (limiter: ReturnType<typeof createTokenLimiter>) => {
    // The reservation lands after the abort, and is released then.
    const deadline = Date.now() + 10_000;
    while ((await limiter.admin.getUsage('alice')).reserved > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await limiter.flush();
  };

  it('rejects at once with the SDK abort error, sends nothing and charges nothing (the store still answering)', async () => {
    const limiter = slowLimiter();
    const wrapped = withTokenLimits(new Anthropic({ apiKey: 'test', baseURL: emulator().anthropicBaseURL, maxRetries: 0 }), 'alice', { limiter });
    const controller = new AbortController();
    const started = Date.now();
    const call = wrapped.messages.create(base, { signal: controller.signal });
    setTimeout(() => controller.abort(), 10);
    await expect(call).rejects.toBeInstanceOf(Anthropic.APIUserAbortError);
    // As from the bare client: not after the 1.5 s the store takes to reserve.
    expect(Date.now() - started).toBeLessThan(1000);
    await new Promise((r) => setTimeout(r, 1700));
    await settledBack(limiter);
    expect(emulator().requests).toHaveLength(0);
    expect(await limiter.admin.getUsage('alice')).toMatchObject({ used: 0, reserved: 0 });
    expect(await usageLog(limiter)).toHaveLength(0);
  });

  it('messages.stream() aborted at once sends nothing and charges nothing', async () => {
    const limiter = slowLimiter();
    const wrapped = withTokenLimits(new Anthropic({ apiKey: 'test', baseURL: emulator().anthropicBaseURL, maxRetries: 0 }), 'alice', { limiter });
    const stream = wrapped.messages.stream(base);
    stream.abort();
    await expect(stream.finalMessage()).rejects.toBeInstanceOf(Anthropic.APIUserAbortError);
    await new Promise((r) => setTimeout(r, 1700));
    await settledBack(limiter);
    expect(emulator().requests).toHaveLength(0);
    expect(await limiter.admin.getUsage('alice')).toMatchObject({ used: 0, reserved: 0 });
  });
});

describe('withTokenLimits(anthropic): fast mode and US inference', () => {
  // claude-opus-5-5, USD per million tokens: 4 in / 20 out; fast mode 2x every rate, US inference
  // 1.1x, stacked. The emulator's usage reports the speed and geography the request asked for.
  const OPUS = 'claude-opus-5-5';
  const costRules: LimitRule[] = [{ id: 'dollars', costUsd: 100, period: 'month' }];
  const priced = (input: number, output: number, factor: number) => ((input * 4 + output * 20) * factor) / 1e6;
  type Asked = { speed?: 'fast'; inference_geo?: 'us' };
  const variants: Array<{ asked: Asked; factor: number }> = [
    { asked: {}, factor: 1 },
    { asked: { speed: 'fast' }, factor: 2 },
    { asked: { inference_geo: 'us' }, factor: 1.1 },
    { asked: { speed: 'fast', inference_geo: 'us' }, factor: 2.2 },
  ];
  const runs = [
    { name: 'non-stream', run: (c: Anthropic, asked: Asked, headers?: Record<string, string>) => c.messages.create({ ...base, model: OPUS, ...asked }, { headers }) },
    { name: 'stream', run: async (c: Anthropic, asked: Asked, headers?: Record<string, string>) => collect(await c.messages.create({ ...base, model: OPUS, ...asked, stream: true }, { headers })) },
  ];
  for (const r of runs) {
    it(`${r.name}: a call is charged at the rates of the speed and geography its usage reports`, async () => {
      const { limiter, wrapped } = setup(costRules);
      for (const v of variants) {
        emulator().clearRequests();
        await r.run(wrapped, v.asked);
        const [record] = await loggedAtLeast(limiter, 1);
        const billed = emulatorTotals(emulator().requests);
        // Kept in whole micro-dollars: within half of one of the exact price.
        expect(Math.abs(record!.costUsd! - priced(billed.input, billed.output, v.factor)), JSON.stringify(v.asked)).toBeLessThanOrEqual(0.5e-6 + 1e-12);
        await limiter.admin.resetUsage('alice');
      }
    });

    it(`${r.name}: a workspace whose default geography is the US is charged as its usage says, though the request did not ask`, async () => {
      const { limiter, wrapped } = setup(costRules);
      await r.run(wrapped, {}, { 'x-emulator-usage': 'inference_geo="us"' });
      const [record] = await loggedAtLeast(limiter, 1);
      const billed = emulatorTotals(emulator().requests);
      expect(Math.abs(record!.costUsd! - priced(billed.input, billed.output, 1.1))).toBeLessThanOrEqual(0.5e-6 + 1e-12);
    });
  }

  it('holds a fast call at the fast rates: refused before it reaches Anthropic where a standard one fits', async () => {
    const params = { ...base, model: OPUS, max_tokens: 1000 };
    const hold = await estimateAnthropicMessage(params);
    const limit = (priced(hold.inputTokens, hold.outputTokens, 1) + priced(hold.inputTokens, hold.outputTokens, 2)) / 2;
    const { limiter, wrapped } = setup([{ id: 'dollars', costUsd: limit, period: 'month' }]);
    await expect(wrapped.messages.create({ ...params, speed: 'fast' })).rejects.toBeInstanceOf(TokenLimitExceededError);
    await expect(wrapped.messages.create({ ...params, speed: 'fast', inference_geo: 'us' })).rejects.toBeInstanceOf(TokenLimitExceededError);
    expect(emulator().requests).toHaveLength(0);
    await wrapped.messages.create(params);
    expect(emulator().requests).toHaveLength(1);
    expect(await usageLog(limiter)).toHaveLength(1);
  });

  it('prices a model without a known fast multiplier at 6x when its usage says it ran fast', async () => {
    const { limiter, wrapped } = setup(costRules);
    await wrapped.messages.create({ ...base, model: 'claude-sonnet-5' }, { headers: { 'x-emulator-usage': 'speed="fast"' } });
    const [record] = await usageLog(limiter);
    const billed = emulatorTotals(emulator().requests);
    // claude-sonnet-5: 2 in / 10 out.
    expect(Math.abs(record!.costUsd! - ((billed.input * 2 + billed.output * 10) * 6) / 1e6)).toBeLessThanOrEqual(0.5e-6 + 1e-12);
  });
});

describe('@anthropic-ai/sdk 0.x', () => {
  it('wraps a 0.x client (x-api-key): create and stream, usage exact', async () => {
    const limiter = createTokenLimiter();
    const client = withTokenLimits(new AnthropicV0({ apiKey: 'sk-old', baseURL: emulator().anthropicBaseURL }), 'old', { limiter });
    const message = await client.messages.create(base);
    const final = await client.messages.stream(base).finalMessage();
    const logged = await limiter.admin.getUsageLog({ userId: 'old' });
    expect(logged.map((r) => r.outputTokens)).toEqual([final.usage.output_tokens, message.usage.output_tokens]);
    expect(logged.every((r) => !r.estimated)).toBe(true);
    await expect(
      withTokenLimits(new AnthropicV0({ apiKey: 'sk-old', baseURL: emulator().anthropicBaseURL }), 'old', {
        limiter: createTokenLimiter({ defaultLimits: [{ id: 't', tokens: 1, period: 'day' }] }),
      }).messages.create(base),
    ).rejects.toBeInstanceOf(TokenLimitExceededError);
  });
});
