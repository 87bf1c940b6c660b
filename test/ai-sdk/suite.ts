/**
 * The AI SDK middleware suite, run for `ai` 6 on Node 20 (test/providers/ai-sdk.test.ts) and for
 * `ai` 7 on Node 22 (test/node22/ai-sdk.test.ts): the real AI SDK providers over HTTP against the
 * emulator, wrapped vs bare.
 */
import { describe, expect, it, vi } from 'vitest';
import { costOfUsage, createTokenLimiter, MissingUserError, resolvePrice, InvalidArgumentError, runWithUser, TokenLimitExceededError, type TokenLimiter, type UsageRecord } from '../../src/index.js';
import { tokenLimitsEmbeddingMiddleware, tokenLimitsMiddleware, type TokenLimitsMiddlewareOptions } from '../../src/integrations/ai/index.js';
import { expectedUsage, type Emulator, type RecordedRequest, type UsageOverride } from '../../src/testing/index.js';
import { useEmulator, collect } from '../emulator/harness.js';
import OpenAI from 'openai';
import { RedisStore } from '../../src/index.js';
import { connectRedis, uniquePrefix } from '../helpers/redis.js';
import { slowStore } from '../providers/matrix.js';

/** The modules of one AI SDK major (typed loosely: the same suite drives ai 6 and ai 7). */
export interface AiSdkKit {
  ai: any;
  createOpenAI: (options: Record<string, unknown>) => any;
  createAnthropic: (options: Record<string, unknown>) => any;
  createGoogleGenerativeAI: (options: Record<string, unknown>) => any;
}

type Variant = 'openai.chat' | 'openai.responses' | 'anthropic' | 'google';
const VARIANTS: Variant[] = ['openai.chat', 'openai.responses', 'anthropic', 'google'];

/** A language model of the variant, pointed at the emulator by baseURL. */
export function modelOf(kit: AiSdkKit, e: Emulator, variant: Variant): any {
  switch (variant) {
    case 'openai.chat':
      return kit.createOpenAI({ apiKey: 'test', baseURL: e.openaiBaseURL }).chat('gpt-4o-mini');
    case 'openai.responses':
      return kit.createOpenAI({ apiKey: 'test', baseURL: e.openaiBaseURL }).responses('gpt-4o-mini');
    case 'anthropic':
      return kit.createAnthropic({ apiKey: 'test', baseURL: `${e.url}/v1` })('claude-haiku-4-5');
    case 'google':
      return kit.createGoogleGenerativeAI({ apiKey: 'test', baseURL: `${e.url}/v1beta` })('gemini-2.5-flash');
  }
}

let nextUser = 0;
const freshUser = (label: string) => `${label}-${process.pid}-${++nextUser}`;

async function records(limiter: TokenLimiter, userId: string): Promise<UsageRecord[]> {
  await limiter.flush();
  return limiter.admin.getUsageLog({ userId, limit: 100 });
}

/** The usage the emulator reported for a request, as a record would hold it. */
function emulatorRecord(request: RecordedRequest | undefined): { inputTokens: number; outputTokens: number } {
  const u = expectedUsage(request!);
  return { inputTokens: u.inputTokens, outputTokens: u.outputTokens };
}

/** A limiter whose reserve and commit calls are counted (it is passed to the middleware as it is). */
function counting(limiter: TokenLimiter): { limiter: TokenLimiter; reserves: () => number; commits: () => number } {
  let reserves = 0;
  let commits = 0;
  const counted = {
    ...limiter,
    reserve: (...args: Parameters<TokenLimiter['reserve']>) => {
      reserves++;
      return limiter.reserve(...args);
    },
    commit: (...args: Parameters<TokenLimiter['commit']>) => {
      commits++;
      return limiter.commit(...args);
    },
  } as TokenLimiter;
  return { limiter: counted, reserves: () => reserves, commits: () => commits };
}

const ask = 'Name one city in Portugal and say why it is known.';
const citySchema = { type: 'object', properties: { city: { type: 'string' }, reason: { type: 'string' } }, required: ['city', 'reason'], additionalProperties: false } as const;

export function defineAiSdkSuite(label: string, kit: AiSdkKit): void {
  const { ai } = kit;
  const emulator = useEmulator();
  const wrap = (model: any, options: TokenLimitsMiddlewareOptions) => ai.wrapLanguageModel({ model, middleware: tokenLimitsMiddleware(options) });

  describe(`${label}: results, stream parts and usage equal an unwrapped model's`, () => {
    for (const variant of VARIANTS) {
      it(`${variant}: generateText`, async () => {
        const limiter = createTokenLimiter();
        const user = freshUser('gen');
        const bare = await ai.generateText({ model: modelOf(kit, emulator(), variant), prompt: ask, maxOutputTokens: 40 });
        const wrapped = await ai.generateText({ model: wrap(modelOf(kit, emulator(), variant), { limiter, user }), prompt: ask, maxOutputTokens: 40 });
        expect(wrapped.text).toBe(bare.text);
        expect(wrapped.content).toEqual(bare.content);
        expect(wrapped.finishReason).toBe(bare.finishReason);
        expect(wrapped.usage).toEqual(bare.usage);
        const log = await records(limiter, user);
        expect(log).toHaveLength(1);
        expect(log[0]).toMatchObject({ ...emulatorRecord(emulator().requests.at(-1)), estimated: false, model: bare.response.modelId });
        expect(log[0]!.inputTokens).toBe(wrapped.usage.inputTokens);
        expect(log[0]!.outputTokens).toBe(wrapped.usage.outputTokens);
        // Priced by the model id the provider reported (every model here is in the built-in table).
        const price = resolvePrice(bare.response.modelId)!;
        expect(log[0]!.costUsd).toBeCloseTo(costOfUsage({ inputTokens: log[0]!.inputTokens, outputTokens: log[0]!.outputTokens }, price), 6); // the store keeps micro-dollars
        expect(log[0]!.costUsd).toBeGreaterThan(0);
        expect((await limiter.admin.getUsage(user)).reserved).toBe(0);
      });

      it(`${variant}: doStream parts are the same parts, and streamText the same text`, async () => {
        const limiter = createTokenLimiter();
        const user = freshUser('stream');
        const params = { prompt: [{ role: 'user', content: [{ type: 'text', text: ask }] }], maxOutputTokens: 40 };
        const bareParts = await collect<unknown>((await modelOf(kit, emulator(), variant).doStream(params)).stream);
        const wrappedModel = wrap(modelOf(kit, emulator(), variant), { limiter, user });
        const wrappedParts = await collect<unknown>((await wrappedModel.doStream(params)).stream);
        expect(wrappedParts).toEqual(bareParts);
        expect(wrappedParts.some((p: any) => p.type === 'text-delta')).toBe(true);
        const bareText = await ai.streamText({ model: modelOf(kit, emulator(), variant), prompt: ask, maxOutputTokens: 40 }).text;
        const streamed = ai.streamText({ model: wrappedModel, prompt: ask, maxOutputTokens: 40 });
        expect(await streamed.text).toBe(bareText);
        const log = await records(limiter, user);
        expect(log).toHaveLength(2);
        const streams = emulator().requests.filter((r) => r.stream);
        expect(log.map((r) => ({ inputTokens: r.inputTokens, outputTokens: r.outputTokens, estimated: r.estimated }))).toEqual(
          [streams.at(-1), streams.at(-3)].map((r) => ({ ...emulatorRecord(r), estimated: false })),
        );
        expect(log[0]!.inputTokens).toBe((await streamed.usage).inputTokens);
      });

      it(`${variant}: generateObject and streamObject`, async () => {
        const limiter = createTokenLimiter();
        const user = freshUser('object');
        const schema = ai.jsonSchema(citySchema);
        const bare = await ai.generateObject({ model: modelOf(kit, emulator(), variant), schema, prompt: ask });
        const model = wrap(modelOf(kit, emulator(), variant), { limiter, user });
        const wrapped = await ai.generateObject({ model, schema, prompt: ask });
        expect(wrapped.object).toEqual(bare.object);
        // streamObject's promises resolve once its stream is read.
        const bareStream = ai.streamObject({ model: modelOf(kit, emulator(), variant), schema, prompt: ask });
        const bareParts = await collect<unknown>(bareStream.partialObjectStream);
        const stream = ai.streamObject({ model, schema, prompt: ask });
        expect(await collect<unknown>(stream.partialObjectStream)).toEqual(bareParts);
        expect(await stream.object).toEqual(await bareStream.object);
        const log = await records(limiter, user);
        expect(log).toHaveLength(2);
        const mine = emulator().requests.filter((_, i) => i % 2 === 1);
        expect(log.map((r) => [r.inputTokens, r.outputTokens])).toEqual([mine[1], mine[0]].map((r) => Object.values(emulatorRecord(r))));
      });
    }
  });

  describe(`${label}: cached and reasoning tokens`, () => {
    for (const variant of VARIANTS) {
      it(`${variant}: committed as the provider reported them, in generate and stream calls`, async () => {
        const limiter = createTokenLimiter();
        const user = freshUser('detail');
        const model = wrap(modelOf(kit, emulator(), variant), { limiter, user });
        const behavior = { reasoningTokens: 5, cachedInputTokens: 4, ...(variant === 'anthropic' ? { cacheCreationInputTokens: 3 } : {}) };
        emulator().setDefault(behavior);
        const generated = await ai.generateText({ model, prompt: ask, maxOutputTokens: 40 });
        await ai.streamText({ model, prompt: ask, maxOutputTokens: 40 }).text;
        const log = (await records(limiter, user)).reverse();
        expect(log).toHaveLength(2);
        for (const [i, record] of log.entries()) {
          const want = expectedUsage(emulator().requests[i]!, behavior);
          expect(record).toMatchObject({
            inputTokens: want.inputTokens,
            outputTokens: want.outputTokens,
            cachedInputTokens: want.cachedInputTokens,
            reasoningTokens: want.reasoningTokens,
            estimated: false,
          });
        }
        expect(log[0]!.cachedInputTokens).toBe(generated.usage.inputTokenDetails?.cacheReadTokens ?? generated.usage.cachedInputTokens);
        expect(log[0]!.reasoningTokens).toBe(generated.usage.outputTokenDetails?.reasoningTokens ?? generated.usage.reasoningTokens);
      });
    }
  });

  describe(`${label}: OpenAI service tiers`, () => {
    for (const variant of ['openai.chat', 'openai.responses'] as const) {
      it(`${variant}: providerOptions.openai.serviceTier 'priority' is charged at the priority rates, in generate and stream calls`, async () => {
        const limiter = createTokenLimiter();
        const user = freshUser('tier');
        const model = wrap(modelOf(kit, emulator(), variant), { limiter, user });
        const priority = { providerOptions: { openai: { serviceTier: 'priority' } } };
        await ai.generateText({ model, prompt: ask, maxOutputTokens: 40, ...priority });
        await ai.streamText({ model, prompt: ask, maxOutputTokens: 40, ...priority }).text;
        await ai.generateText({ model, prompt: ask, maxOutputTokens: 40 });
        const log = (await records(limiter, user)).reverse();
        expect(log).toHaveLength(3);
        const price = resolvePrice('gpt-4o-mini')!;
        for (const [i, record] of log.entries()) {
          const rates = i < 2 ? price.priority! : price;
          const exact = costOfUsage({ inputTokens: record.inputTokens, outputTokens: record.outputTokens }, rates);
          expect(Math.abs(record.costUsd! - exact)).toBeLessThanOrEqual(0.5e-6 + 1e-12); // kept in whole micro-dollars
        }
        expect(log[0]!.costUsd).toBeGreaterThan(log[2]!.costUsd!);
      });
    }

    // The AI SDK sends 'flex' only for models it believes have it (o3, o4-mini, gpt-5), and drops it
    // otherwise: the request's tier cannot say flex ran. Its Responses model reports the tier that
    // ran; its chat model does not, and a flex call through it is charged at the standard rates
    // (overcounted, never undercounted).
    const flexCases = [
      { variant: 'openai.responses', model: 'o4-mini', charged: 'half' },
      { variant: 'openai.responses', model: 'gpt-4o-mini', charged: 'standard' },
      { variant: 'openai.chat', model: 'o4-mini', charged: 'standard' },
      { variant: 'openai.chat', model: 'gpt-4o-mini', charged: 'standard' },
    ] as const;
    for (const c of flexCases) {
      it(`${c.variant} ${c.model}: providerOptions.openai.serviceTier 'flex' is charged at the ${c.charged} rates`, async () => {
        const limiter = createTokenLimiter();
        const user = freshUser('flex');
        const base = kit.createOpenAI({ apiKey: 'test', baseURL: emulator().openaiBaseURL });
        const model = wrap(c.variant === 'openai.chat' ? base.chat(c.model) : base.responses(c.model), { limiter, user });
        const flex = { providerOptions: { openai: { serviceTier: 'flex' } } };
        await ai.generateText({ model, prompt: ask, maxOutputTokens: 40, ...flex });
        await ai.streamText({ model, prompt: ask, maxOutputTokens: 40, ...flex }).text;
        const log = await records(limiter, user);
        expect(log).toHaveLength(2);
        const sent = emulator().requests.map((r) => (r.body as { service_tier?: string }).service_tier);
        expect(sent).toEqual(c.model === 'o4-mini' ? ['flex', 'flex'] : [undefined, undefined]);
        const price = resolvePrice(c.model)!;
        const rates = c.charged === 'half' ? { input: price.input / 2, output: price.output / 2 } : price;
        for (const record of log) {
          const exact = costOfUsage({ inputTokens: record.inputTokens, outputTokens: record.outputTokens }, rates);
          expect(Math.abs(record.costUsd! - exact)).toBeLessThanOrEqual(0.5e-6 + 1e-12); // kept in whole micro-dollars
        }
      });
    }
  });

  describe(`${label}: Anthropic fast mode and US inference`, () => {
    it('anthropic: one-hour cache writes are priced at their own rate (twice the input rate), in generate and stream calls', async () => {
      const limiter = createTokenLimiter();
      const user = freshUser('cache-1h');
      const model = wrap(kit.createAnthropic({ apiKey: 'test', baseURL: `${emulator().url}/v1` })('claude-sonnet-5'), { limiter, user });
      const headers = { 'x-emulator-usage': 'cache_creation_input_tokens=100000,cache_creation.ephemeral_5m_input_tokens=40000,cache_creation.ephemeral_1h_input_tokens=60000' };
      await ai.generateText({ model, prompt: ask, maxOutputTokens: 40, headers });
      await ai.streamText({ model, prompt: ask, maxOutputTokens: 40, headers }).text;
      const log = await records(limiter, user);
      expect(log).toHaveLength(2);
      for (const record of log) {
        // claude-sonnet-5: input $2, 5-minute writes $2.50, one-hour writes $4, output $10 per million.
        const exact = ((record.inputTokens - 100_000) * 2 + 40_000 * 2.5 + 60_000 * 4 + record.outputTokens * 10) / 1e6;
        expect(Math.abs(record.costUsd! - exact)).toBeLessThanOrEqual(0.5e-6 + 1e-12); // kept in whole micro-dollars
      }
    });

    it("anthropic: the web search tool's searches are charged at $10 per 1,000 on top of the tokens, in generate and stream calls", async () => {
      const limiter = createTokenLimiter();
      const user = freshUser('searches');
      const model = wrap(kit.createAnthropic({ apiKey: 'test', baseURL: `${emulator().url}/v1` })('claude-sonnet-5'), { limiter, user });
      const headers = { 'x-emulator-usage': 'server_tool_use.web_search_requests=4' };
      await ai.generateText({ model, prompt: ask, maxOutputTokens: 40, headers });
      await ai.streamText({ model, prompt: ask, maxOutputTokens: 40, headers }).text;
      const log = await records(limiter, user);
      expect(log).toHaveLength(2);
      for (const record of log) {
        // claude-sonnet-5: input $2, output $10 per million; 4 searches at $0.01.
        const exact = (record.inputTokens * 2 + record.outputTokens * 10) / 1e6 + 0.04;
        expect(Math.abs(record.costUsd! - exact)).toBeLessThanOrEqual(0.5e-6 + 1e-12);
      }
    });

    it("anthropic: a web search tool's maxUses is held at $10 per 1,000 searches: a call whose searches could pass a cost limit is refused before it is sent", async () => {
      const provider = kit.createAnthropic({ apiKey: 'test', baseURL: `${emulator().url}/v1` });
      const tools = (maxUses?: number) => ({ web_search: provider.tools.webSearch_20250305(maxUses === undefined ? {} : { maxUses }) });
      // The hold of the same call with no bound on its searches.
      const probeLimiter = createTokenLimiter({ defaultLimits: [{ id: 'budget', costUsd: 0.000001, period: 'month' }] });
      const probe = await ai.generateText({ model: wrap(provider('claude-sonnet-5'), { limiter: probeLimiter, user: freshUser('probe') }), prompt: ask, maxOutputTokens: 40, tools: tools() }).catch((e: unknown) => e);
      expect(probe).toBeInstanceOf(TokenLimitExceededError);
      const tokensHold = (probe as TokenLimitExceededError).requested;
      const limiter = createTokenLimiter({ defaultLimits: [{ id: 'budget', costUsd: tokensHold + 0.04, period: 'month' }] });
      const model = wrap(provider('claude-sonnet-5'), { limiter, user: freshUser('searches-held') });
      const before = emulator().requests.length;
      await expect(ai.generateText({ model, prompt: ask, maxOutputTokens: 40, tools: tools(5) })).rejects.toMatchObject({ ruleId: 'budget', requested: expect.closeTo(tokensHold + 0.05, 6) });
      expect(emulator().requests).toHaveLength(before);
      await ai.generateText({ model, prompt: ask, maxOutputTokens: 40, tools: tools(3) });
      expect(emulator().requests).toHaveLength(before + 1);
    });

    it('anthropic: providerOptions.anthropic speed "fast" and inferenceGeo "us" are charged at their rates (2x and 1.1x for claude-opus-5-5), in generate and stream calls', async () => {
      const limiter = createTokenLimiter();
      const user = freshUser('fast');
      const model = wrap(kit.createAnthropic({ apiKey: 'test', baseURL: `${emulator().url}/v1` })('claude-opus-5-5'), { limiter, user });
      const fast = { providerOptions: { anthropic: { speed: 'fast', inferenceGeo: 'us' } } };
      await ai.generateText({ model, prompt: ask, maxOutputTokens: 40, ...fast });
      await ai.streamText({ model, prompt: ask, maxOutputTokens: 40, ...fast }).text;
      await ai.generateText({ model, prompt: ask, maxOutputTokens: 40 });
      const sent = emulator().requests.map((r) => [(r.body as { speed?: string }).speed, (r.body as { inference_geo?: string }).inference_geo]);
      expect(sent).toEqual([['fast', 'us'], ['fast', 'us'], [undefined, undefined]]);
      const log = (await records(limiter, user)).reverse();
      expect(log).toHaveLength(3);
      const price = resolvePrice('claude-opus-5-5')!;
      for (const [i, record] of log.entries()) {
        const exact = costOfUsage({ inputTokens: record.inputTokens, outputTokens: record.outputTokens }, price) * (i < 2 ? 2.2 : 1);
        expect(Math.abs(record.costUsd! - exact)).toBeLessThanOrEqual(0.5e-6 + 1e-12); // kept in whole micro-dollars
      }
    });
  });

  describe(`${label}: refusals`, () => {
    for (const variant of VARIANTS) {
      it(`${variant}: an exhausted quota throws TokenLimitExceededError and the emulator receives nothing`, async () => {
        const limiter = createTokenLimiter({ defaultLimits: [{ id: 'daily', requests: 1, period: 'day' }] });
        const user = freshUser('refused');
        const model = wrap(modelOf(kit, emulator(), variant), { limiter, user });
        await ai.generateText({ model, prompt: ask, maxOutputTokens: 20 });
        emulator().clearRequests();
        await expect(ai.generateText({ model, prompt: ask, maxOutputTokens: 20 })).rejects.toBeInstanceOf(TokenLimitExceededError);
        const parts = await collect<any>(ai.streamText({ model, prompt: ask, maxOutputTokens: 20, onError: () => {} }).fullStream);
        expect(parts.find((p) => p.type === 'error')?.error).toBeInstanceOf(TokenLimitExceededError);
        await expect(ai.generateObject({ model, schema: ai.jsonSchema(citySchema), prompt: ask })).rejects.toBeInstanceOf(TokenLimitExceededError);
        expect(emulator().requests).toHaveLength(0);
        expect(await limiter.admin.getUsage(user)).toMatchObject({ used: 1, reserved: 0 });
      });
    }

    it('no user anywhere throws MissingUserError before the provider is called; bad options throw at once', async () => {
      const model = wrap(modelOf(kit, emulator(), 'openai.chat'), { limiter: createTokenLimiter() });
      await expect(ai.generateText({ model, prompt: ask })).rejects.toBeInstanceOf(MissingUserError);
      // Where the user could come from: this middleware's option, not withTokenLimits.
      await expect(ai.generateText({ model, prompt: ask })).rejects.toThrow(/give tokenLimitsMiddleware\(\{ user \}\) one or run the call inside runWithUser/);
      expect(emulator().requests).toHaveLength(0);
      expect(() => tokenLimitsMiddleware({ user: '' })).toThrow(InvalidArgumentError);
      expect(() => tokenLimitsMiddleware({ outputReservation: -1 })).toThrow(InvalidArgumentError);
      expect(() => tokenLimitsMiddleware({ onInsufficientQuota: 'maybe' as never })).toThrow(InvalidArgumentError);
      expect(() => tokenLimitsMiddleware({ estimator: 'provider' } as never)).toThrow(InvalidArgumentError);
      expect(() => tokenLimitsMiddleware({ limiter: {} as never })).toThrow(InvalidArgumentError);
    });

    it('a user function that returns a Promise throws InvalidArgumentError, sends nothing, leaves no unhandled rejection', async () => {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        const limiter = createTokenLimiter();
        emulator().clearRequests();
        for (const user of [async () => 'u1', async () => Promise.reject(new Error('lookup failed'))]) {
          const model = wrap(modelOf(kit, emulator(), 'openai.chat'), { limiter, user: user as never });
          const error = await ai.generateText({ model, prompt: ask, maxOutputTokens: 20, maxRetries: 0 }).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(InvalidArgumentError);
          expect((error as Error).message).toMatch(/synchronously/);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(unhandled).toEqual([]);
        expect(emulator().requests).toHaveLength(0);
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
    });

    it("options of the SDK wrappers only (includeStreamUsage) or unknown throw at once, naming the middleware's options", () => {
      for (const factory of [tokenLimitsMiddleware, tokenLimitsEmbeddingMiddleware]) {
        expect(() => factory({ includeStreamUsage: true } as never)).toThrow(InvalidArgumentError);
        expect(() => factory({ includeStreamUsage: true } as never)).toThrow(/options\.includeStreamUsage/);
        expect(() => factory({ userId: 'u1' } as never)).toThrow(/allowed: limiter, user, outputReservation, onInsufficientQuota\)/);
        expect(() => factory({ estimator: 'local' } as never)).toThrow(InvalidArgumentError);
      }
    });
  });

  describe(`${label}: a middleware copied without transformParams`, () => {
    it('still reserves before the provider call and commits after it', async () => {
      const limiter = createTokenLimiter({ defaultLimits: [{ id: 'daily', requests: 1, period: 'day' }] });
      const user = freshUser('copied');
      const { transformParams: _dropped, ...hooks } = tokenLimitsMiddleware({ limiter, user });
      const model = ai.wrapLanguageModel({ model: modelOf(kit, emulator(), 'openai.chat'), middleware: hooks });
      await ai.generateText({ model, prompt: ask, maxOutputTokens: 20 });
      emulator().clearRequests();
      await expect(ai.generateText({ model, prompt: ask, maxOutputTokens: 20 })).rejects.toBeInstanceOf(TokenLimitExceededError);
      expect(emulator().requests).toHaveLength(0);
      expect(await records(limiter, user)).toHaveLength(1);
    });
  });

  describe(`${label}: a middleware copied without transformParams, onInsufficientQuota 'shrink'`, () => {
    it('refuses a call that does not fit rather than holding less than it sends', async () => {
      const limiter = createTokenLimiter({ defaultLimits: [{ id: 'daily', tokens: 400, period: 'day' }] });
      const user = freshUser('copied-shrink');
      const { transformParams: _dropped, ...hooks } = tokenLimitsMiddleware({ limiter, user, onInsufficientQuota: 'shrink' });
      const model = ai.wrapLanguageModel({ model: modelOf(kit, emulator(), 'openai.chat'), middleware: hooks });
      emulator().clearRequests();
      await expect(ai.generateText({ model, prompt: ask, maxOutputTokens: 5000, maxRetries: 0 })).rejects.toBeInstanceOf(TokenLimitExceededError);
      expect(emulator().requests).toHaveLength(0);
      expect(await limiter.admin.getUsage(user)).toMatchObject({ used: 0, reserved: 0 });
    });
  });

  describe(`${label}: the same middleware stacked twice`, () => {
    it('reserves and charges each call once, generate and stream', async () => {
      const base = createTokenLimiter();
      const { limiter, reserves, commits } = counting(base);
      const user = freshUser('stacked');
      const middleware = tokenLimitsMiddleware({ limiter, user });
      const twice = ai.wrapLanguageModel({ model: modelOf(kit, emulator(), 'openai.chat'), middleware: [middleware, middleware] });
      const again = ai.wrapLanguageModel({ model: ai.wrapLanguageModel({ model: modelOf(kit, emulator(), 'openai.chat'), middleware }), middleware });
      for (const model of [twice, again]) {
        await ai.generateText({ model, prompt: ask, maxOutputTokens: 20 });
        await collect(ai.streamText({ model, prompt: ask, maxOutputTokens: 20 }).fullStream);
      }
      await vi.waitFor(async () => expect(await records(base, user)).toHaveLength(4), { timeout: 5000 });
      expect(emulator().requests).toHaveLength(4);
      expect(reserves()).toBe(4);
      expect(commits()).toBe(4);
      const log = await records(base, user);
      expect(log.map((r) => [r.inputTokens, r.outputTokens]).reverse()).toEqual(emulator().requests.map((r) => Object.values(emulatorRecord(r))));
    });
  });

  describe(`${label}: two middleware instances on one model`, () => {
    it('one limiter: the outer layer reserves and charges each call once, however they are stacked (generate, stream, embed)', async () => {
      const base = createTokenLimiter();
      const { limiter, reserves, commits } = counting(base);
      const user = freshUser('layers');
      const other = freshUser('layers-inner');
      const outer = tokenLimitsMiddleware({ limiter, user });
      // The inner layer names another user: the call is still one call on this limiter, charged to the outer layer's.
      const inner = tokenLimitsMiddleware({ limiter, user: other });
      const models = [
        ai.wrapLanguageModel({ model: modelOf(kit, emulator(), 'openai.chat'), middleware: [outer, inner] }),
        // A shared wrapped model that an app wraps again.
        ai.wrapLanguageModel({ model: ai.wrapLanguageModel({ model: modelOf(kit, emulator(), 'anthropic'), middleware: inner }), middleware: outer }),
        // A middleware of the AI SDK's between the two, which hands the inner layer a copy of the params.
        ai.wrapLanguageModel({ model: modelOf(kit, emulator(), 'google'), middleware: [outer, ai.defaultSettingsMiddleware({ settings: { temperature: 0.5 } }), inner] }),
      ];
      for (const model of models) {
        await ai.generateText({ model, prompt: ask, maxOutputTokens: 20 });
        await collect(ai.streamText({ model, prompt: ask, maxOutputTokens: 20 }).fullStream);
      }
      const bareEmbedder = kit.createOpenAI({ apiKey: 'test', baseURL: emulator().openaiBaseURL }).embedding('text-embedding-3-small');
      const embedder = ai.wrapEmbeddingModel({
        model: ai.wrapEmbeddingModel({ model: bareEmbedder, middleware: tokenLimitsEmbeddingMiddleware({ limiter, user: other }) }),
        middleware: tokenLimitsEmbeddingMiddleware({ limiter, user }),
      });
      await ai.embed({ model: embedder, value: ask });
      await vi.waitFor(async () => expect(await records(base, user)).toHaveLength(7), { timeout: 5000 });
      expect(emulator().requests).toHaveLength(7);
      expect(reserves()).toBe(7);
      expect(commits()).toBe(7);
      expect(await records(base, other)).toHaveLength(0);
      const log = (await records(base, user)).reverse();
      expect(log.map((r) => r.inputTokens)).toEqual(emulator().requests.map((r) => expectedUsage(r).inputTokens));
      expect(log.every((r) => r.estimated === false)).toBe(true);
      expect((await base.admin.getUsage(user)).reserved).toBe(0);
    });

    it('one limiter: a model call made while another is in progress (a tool of streamText, its onFinish) is charged on its own', async () => {
      const limiter = createTokenLimiter();
      const user = freshUser('inside');
      const helper = freshUser('inside-helper');
      const model = wrap(modelOf(kit, emulator(), 'openai.chat'), { limiter, user });
      const helperModel = wrap(modelOf(kit, emulator(), 'openai.chat'), { limiter, user: helper });
      const lookup = ai.tool({
        description: 'Looks a city up',
        inputSchema: ai.jsonSchema({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false }),
        execute: async () => (await ai.generateText({ model: helperModel, prompt: 'Describe Porto.', maxOutputTokens: 20 })).text,
      });
      let finished: Promise<unknown> | undefined;
      const stream = ai.streamText({
        model,
        prompt: ask,
        tools: { lookup },
        toolChoice: 'required',
        stopWhen: ai.stepCountIs(2),
        onFinish: () => {
          finished = ai.generateText({ model: helperModel, prompt: 'Title this chat.', maxOutputTokens: 10 });
          return finished;
        },
      });
      await collect(stream.fullStream);
      await finished;
      // Two steps, each calling the tool (toolChoice 'required'), then onFinish: 3 calls of the helper model.
      await vi.waitFor(async () => expect(await records(limiter, helper)).toHaveLength(3), { timeout: 5000 });
      expect(await records(limiter, user)).toHaveLength(2);
      expect(emulator().requests).toHaveLength(5);
    });

    it('two limiters: each charges the call on its own quota, and either one refuses it', async () => {
      const outerLimiter = createTokenLimiter();
      const innerLimiter = createTokenLimiter({ defaultLimits: [{ id: 'daily', requests: 2, period: 'day' }] });
      const user = freshUser('two-limiters');
      const model = ai.wrapLanguageModel({
        model: modelOf(kit, emulator(), 'openai.chat'),
        middleware: [tokenLimitsMiddleware({ limiter: outerLimiter, user }), tokenLimitsMiddleware({ limiter: innerLimiter, user })],
      });
      await ai.generateText({ model, prompt: ask, maxOutputTokens: 20 });
      await collect(ai.streamText({ model, prompt: ask, maxOutputTokens: 20 }).fullStream);
      await vi.waitFor(async () => expect(await records(innerLimiter, user)).toHaveLength(2), { timeout: 5000 });
      const want = emulator().requests.map((r) => Object.values(emulatorRecord(r)));
      for (const limiter of [outerLimiter, innerLimiter]) {
        expect((await records(limiter, user)).map((r) => [r.inputTokens, r.outputTokens]).reverse()).toEqual(want);
      }
      // The inner limiter's quota is spent: it refuses, the provider is not called, the outer layer releases its hold.
      emulator().clearRequests();
      await expect(ai.generateText({ model, prompt: ask, maxOutputTokens: 20, maxRetries: 0 })).rejects.toBeInstanceOf(TokenLimitExceededError);
      expect(emulator().requests).toHaveLength(0);
      await outerLimiter.flush();
      expect(await records(outerLimiter, user)).toHaveLength(2);
      expect((await outerLimiter.admin.getUsage(user)).reserved).toBe(0);
    });
  });

  describe(`${label}: whom to charge`, () => {
    it('the runWithUser context, else a function of the call headers and providerOptions', async () => {
      const limiter = createTokenLimiter();
      const inContext = freshUser('ctx');
      const fromHeader = freshUser('hdr');
      const fromOptions = freshUser('opt');
      await runWithUser(inContext, () => ai.generateText({ model: wrap(modelOf(kit, emulator(), 'openai.chat'), { limiter }), prompt: ask, maxOutputTokens: 10 }));
      const model = wrap(modelOf(kit, emulator(), 'openai.chat'), {
        limiter,
        user: ({ headers, providerOptions }) => headers?.['x-user'] ?? (providerOptions?.['app'] as { user?: string } | undefined)?.user,
      });
      await ai.generateText({ model, prompt: ask, maxOutputTokens: 10, headers: { 'x-user': fromHeader } });
      await ai.generateText({ model, prompt: ask, maxOutputTokens: 10, providerOptions: { app: { user: fromOptions } } });
      for (const user of [inContext, fromHeader, fromOptions]) expect(await records(limiter, user)).toHaveLength(1);
      // A function that names nobody falls back to the context; one that names garbage is refused before the call.
      await runWithUser(inContext, () => ai.generateText({ model, prompt: ask, maxOutputTokens: 10 }));
      expect(await records(limiter, inContext)).toHaveLength(2);
      emulator().clearRequests();
      const bad = wrap(modelOf(kit, emulator(), 'openai.chat'), { limiter, user: () => ({ id: '' }) });
      await expect(ai.generateText({ model: bad, prompt: ask })).rejects.toBeInstanceOf(InvalidArgumentError);
      expect(emulator().requests).toHaveLength(0);
    });
  });

  describe(`${label}: tool loops, aborts, shrinking, embeddings, unknown providers`, () => {
    for (const variant of VARIANTS) {
      it(`${variant}: a 3-step tool loop makes 3 reservations and 3 commits`, async () => {
        const base = createTokenLimiter();
        const { limiter, reserves, commits } = counting(base);
        const user = freshUser('loop');
        const lookup = ai.tool({
          description: 'Looks a city up',
          inputSchema: ai.jsonSchema({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false }),
          execute: async () => 'Porto: known for port wine',
        });
        const result = await ai.generateText({
          model: wrap(modelOf(kit, emulator(), variant), { limiter, user }),
          prompt: ask,
          tools: { lookup },
          toolChoice: 'required',
          stopWhen: ai.stepCountIs(3),
        });
        expect(result.steps).toHaveLength(3);
        expect(emulator().requests).toHaveLength(3);
        expect(reserves()).toBe(3);
        expect(commits()).toBe(3);
        const log = await records(base, user);
        expect(log.map((r) => [r.inputTokens, r.outputTokens]).reverse()).toEqual(emulator().requests.map((r) => Object.values(emulatorRecord(r))));
      });
    }

    /** A streamText the caller aborts at its first text, with its one usage record once it lands. */
    const abortedAtFirstText = async (variant: Variant, label: string, options: Record<string, unknown>) => {
      const limiter = createTokenLimiter();
      const user = freshUser(label);
      emulator().setDefault({ chunkDelayMs: 40 });
      const controller = new AbortController();
      const result = ai.streamText({ model: wrap(modelOf(kit, emulator(), variant), { limiter, user }), prompt: ask, abortSignal: controller.signal, onError: () => {}, ...options });
      try {
        for await (const part of result.fullStream) {
          if (part.type === 'text-delta') controller.abort();
        }
      } catch {
        // the abort ends the stream
      }
      await vi.waitFor(async () => expect(await records(limiter, user)).toHaveLength(1), { timeout: 5000 });
      const [record] = await records(limiter, user);
      return { limiter, user, record };
    };

    for (const variant of VARIANTS) {
      it(`${variant}: an aborted streamText is charged more than 0`, async () => {
        const { limiter, user, record } = await abortedAtFirstText(variant, 'abort', {});
        expect(record).toMatchObject({ status: 'aborted', estimated: true });
        expect(record!.totalTokens).toBeGreaterThan(0);
        expect(record!.inputTokens).toBeGreaterThan(0);
        expect((await limiter.admin.getUsage(user)).reserved).toBe(0);
      });
    }

    it('anthropic: an aborted streamText with thinking is charged its hold (thinking is billed whole, streamed as a summary)', async () => {
      for (const thinking of [{ type: 'enabled', budgetTokens: 1024 }, undefined]) {
        const { record } = await abortedAtFirstText('anthropic', 'abort-thinking', {
          maxOutputTokens: 3000,
          ...(thinking ? { providerOptions: { anthropic: { thinking } } } : {}),
        });
        expect(record).toMatchObject({ status: 'aborted', estimated: true });
        // Its hold: maxOutputTokens plus the thinking budget, which the AI SDK adds to the maximum it sends.
        if (thinking) expect(record!.outputTokens).toBe(3000 + 1024);
        else expect(record!.outputTokens).toBeLessThan(100);
      }
    });

    it('google: a thinking budget is held on top of maxOutputTokens, as through the Google SDKs', async () => {
      const user = freshUser('gemini-thinking-hold');
      const limiter = createTokenLimiter({ defaultLimits: [{ id: 'd', tokens: 4000, period: 'day' }] });
      const model = wrap(modelOf(kit, emulator(), 'google'), { limiter, user });
      const thinking = { providerOptions: { google: { thinkingConfig: { thinkingBudget: 2000 } } } };
      await expect(ai.generateText({ model, prompt: ask, maxOutputTokens: 3000, ...thinking })).rejects.toBeInstanceOf(TokenLimitExceededError);
      expect(emulator().requests).toHaveLength(0);
      await ai.generateText({ model, prompt: ask, maxOutputTokens: 3000 });
      expect(emulator().requests).toHaveLength(1);
    });

    it('anthropic: thinking enabled holds maxOutputTokens plus its budget (what the AI SDK sends as max_tokens)', async () => {
      const user = freshUser('thinking-hold');
      const limiter = createTokenLimiter({ defaultLimits: [{ id: 'd', tokens: 4000, period: 'day' }] });
      const model = wrap(modelOf(kit, emulator(), 'anthropic'), { limiter, user });
      const thinking = { providerOptions: { anthropic: { thinking: { type: 'enabled', budgetTokens: 2000 } } } };
      await expect(ai.generateText({ model, prompt: ask, maxOutputTokens: 3000, ...thinking })).rejects.toBeInstanceOf(TokenLimitExceededError);
      expect(emulator().requests).toHaveLength(0);
      await ai.generateText({ model, prompt: ask, maxOutputTokens: 3000 });
      expect(emulator().requests).toHaveLength(1);
      expect((emulator().requests[0]!.body as { max_tokens?: number }).max_tokens).toBe(3000);
    });

    for (const variant of VARIANTS) {
      it(`${variant}: a call aborted before it is sent rejects as the bare model does, sends nothing and charges nothing`, async () => {
        const limiter = createTokenLimiter();
        const user = freshUser('abort-unsent');
        const model = wrap(modelOf(kit, emulator(), variant), { limiter, user });
        const aborted = new AbortController();
        aborted.abort();
        const bareError = await ai.generateText({ model: modelOf(kit, emulator(), variant), prompt: ask, abortSignal: aborted.signal }).catch((e: unknown) => e);
        const error = await ai.generateText({ model, prompt: ask, abortSignal: aborted.signal }).catch((e: unknown) => e);
        expect(error).toBe(bareError);
        const streamParts = await collect(ai.streamText({ model, prompt: ask, abortSignal: aborted.signal, onError: () => {} }).fullStream).catch(() => []);
        expect(streamParts.filter((p: any) => p.type === 'text-delta')).toHaveLength(0);
        expect(emulator().requests).toHaveLength(0);
        await limiter.flush();
        expect(await limiter.admin.getUsage(user)).toMatchObject({ used: 0, reserved: 0 });
        expect(await records(limiter, user)).toHaveLength(0);
      });
    }

    it('a call aborted while its reserve is on its way to the store rejects at once and charges nothing', async () => {
      const limiter = createTokenLimiter({ store: slowStore(700) });
      const user = freshUser('abort-admission');
      const model = wrap(modelOf(kit, emulator(), 'openai.chat'), { limiter, user });
      const embedder = ai.wrapEmbeddingModel({
        model: kit.createOpenAI({ apiKey: 'test', baseURL: emulator().openaiBaseURL }).embedding('text-embedding-3-small'),
        middleware: tokenLimitsEmbeddingMiddleware({ limiter, user }),
      });
      for (const call of [
        (signal: AbortSignal) => ai.generateText({ model, prompt: ask, abortSignal: signal, maxRetries: 0 }),
        (signal: AbortSignal) => ai.embed({ model: embedder, value: ask, abortSignal: signal, maxRetries: 0 }),
      ]) {
        const controller = new AbortController();
        const started = Date.now();
        const pending = call(controller.signal);
        setTimeout(() => controller.abort(), 10);
        await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
        // Not after the 0.7 s the store takes to reserve.
        expect(Date.now() - started).toBeLessThan(450);
      }
      // The reservations land later, and are released then.
      await vi.waitFor(async () => expect((await limiter.admin.getUsage(user)).reserved).toBe(0), { timeout: 10_000, interval: 100 });
      await limiter.flush();
      expect(emulator().requests).toHaveLength(0);
      expect(await limiter.admin.getUsage(user)).toMatchObject({ used: 0, reserved: 0 });
      expect(await records(limiter, user)).toHaveLength(0);
    });

    const invalidOptions: Record<Variant, Record<string, Record<string, unknown>>> = {
      'openai.chat': { openai: { serviceTier: 'bogus' } },
      'openai.responses': { openai: { serviceTier: 'bogus' } },
      anthropic: { anthropic: { speed: 'turbo' } },
      google: { google: { thinkingConfig: { thinkingBudget: 'many' } } },
    };
    for (const variant of VARIANTS) {
      it(`${variant}: providerOptions the provider rejects before sending throw its error and charge nothing`, async () => {
        const limiter = createTokenLimiter();
        const user = freshUser('invalid-options');
        const providerOptions = invalidOptions[variant];
        const bareError = await ai.generateText({ model: modelOf(kit, emulator(), variant), prompt: ask, providerOptions }).catch((e: unknown) => e);
        const model = wrap(modelOf(kit, emulator(), variant), { limiter, user });
        const error = await ai.generateText({ model, prompt: ask, providerOptions }).catch((e: unknown) => e);
        expect(bareError).toMatchObject({ name: 'AI_InvalidArgumentError' });
        expect(error).toMatchObject({ name: (bareError as Error).name, message: (bareError as Error).message });
        await collect(ai.streamText({ model, prompt: ask, providerOptions, onError: () => {} }).fullStream);
        const embedder = ai.wrapEmbeddingModel({
          model: kit.createOpenAI({ apiKey: 'test', baseURL: emulator().openaiBaseURL }).embedding('text-embedding-3-small'),
          middleware: tokenLimitsEmbeddingMiddleware({ limiter, user }),
        });
        await expect(ai.embed({ model: embedder, value: ask, providerOptions: { openai: { dimensions: 'wide' } } })).rejects.toMatchObject({ name: 'AI_InvalidArgumentError' });
        expect(emulator().requests).toHaveLength(0);
        await limiter.flush();
        expect(await limiter.admin.getUsage(user)).toMatchObject({ used: 0, reserved: 0 });
        expect(await records(limiter, user)).toHaveLength(0);
      });
    }

    // A field the provider's schema rejects: the answer was billed, but the AI SDK throws "Invalid JSON response".
    const unreadable: Record<Variant, { usage: UsageOverride; exact: boolean }> = {
      'openai.chat': { usage: { completion_tokens_details: 'x' }, exact: true },
      'openai.responses': { usage: { input_tokens_details: 'x' }, exact: true },
      anthropic: { usage: { output_tokens: 'x' }, exact: false },
      google: { usage: { candidatesTokenCount: 'x' }, exact: false },
    };
    for (const variant of VARIANTS) {
      it(`${variant}: a billed answer the provider fails to read is charged its usage, else an estimate, never 0`, async () => {
        const limiter = createTokenLimiter();
        const user = freshUser('unreadable');
        const { usage, exact } = unreadable[variant];
        emulator().enqueue({ usage }, { times: 2 });
        const bareError = await ai.generateText({ model: modelOf(kit, emulator(), variant), prompt: ask, maxOutputTokens: 40, maxRetries: 0 }).catch((e: unknown) => e);
        const error = await ai.generateText({ model: wrap(modelOf(kit, emulator(), variant), { limiter, user }), prompt: ask, maxOutputTokens: 40, maxRetries: 0 }).catch((e: unknown) => e);
        expect(bareError).toMatchObject({ statusCode: 200 });
        expect(error).toBeInstanceOf(Error);
        expect((error as Error).message).toBe((bareError as Error).message);
        await limiter.flush();
        const [record, ...more] = await records(limiter, user);
        expect(more).toHaveLength(0);
        expect(record).toMatchObject({ status: 'error', estimated: !exact });
        if (exact) expect({ inputTokens: record!.inputTokens, outputTokens: record!.outputTokens }).toEqual(emulatorRecord(emulator().requests[1]));
        expect(record!.inputTokens).toBeGreaterThan(0);
        expect(Number.isFinite(record!.totalTokens)).toBe(true);
        expect((await limiter.admin.getUsage(user)).reserved).toBe(0);
      });
    }

    for (const variant of VARIANTS) {
      it(`${variant}: a stream broken mid-way is charged more than 0; an HTTP error answer charges nothing`, async () => {
        const limiter = createTokenLimiter();
        const model = wrap(modelOf(kit, emulator(), variant), { limiter });
        for (const [i, behavior] of [{ midStreamError: { afterChunks: 3 } }, { disconnectAfterChunks: 3 }].entries()) {
          const user = freshUser(`broken${i}`);
          emulator().enqueue(behavior);
          await runWithUser(user, () => collect(ai.streamText({ model, prompt: ask, maxOutputTokens: 40, maxRetries: 0, onError: () => {} }).fullStream)).catch(() => {});
          await vi.waitFor(async () => expect(await records(limiter, user)).toHaveLength(1), { timeout: 5000 });
          const [record] = await records(limiter, user);
          expect(record!.estimated).toBe(true);
          expect(record!.inputTokens).toBeGreaterThan(0);
          expect((await limiter.admin.getUsage(user)).reserved).toBe(0);
        }
        // An error event mid-way settles as the SDK wrappers settle a failed stream: OpenAI and
        // Anthropic 'aborted' (a reasoning model charged its hold), Gemini 'error' with its running usage.
        const held = createTokenLimiter({ abortedStreamCharge: 'hold' });
        const erred = freshUser('broken-hold');
        emulator().enqueue({ midStreamError: { afterChunks: 3 } });
        await runWithUser(erred, () => collect(ai.streamText({ model: wrap(modelOf(kit, emulator(), variant), { limiter: held }), prompt: ask, maxOutputTokens: 40, maxRetries: 0, onError: () => {} }).fullStream)).catch(() => {});
        await vi.waitFor(async () => expect(await records(held, erred)).toHaveLength(1), { timeout: 5000 });
        const [failed] = await records(held, erred);
        if (variant === 'google') expect(failed).toMatchObject({ status: 'error', estimated: true });
        else expect(failed).toMatchObject({ status: 'aborted', estimated: true, outputTokens: 40 });
        const user = freshUser('http-error');
        emulator().enqueue({ status: 500 });
        await expect(runWithUser(user, () => ai.generateText({ model, prompt: ask, maxOutputTokens: 40, maxRetries: 0 }))).rejects.toThrow();
        await limiter.flush();
        expect(await limiter.admin.getUsage(user)).toMatchObject({ used: 0, reserved: 0 });
        expect(await records(limiter, user)).toHaveLength(0);
      });
    }

    // A stream the provider answered whose first event is an error event or cannot be parsed (a bare
    // NaN in message_start's usage). The AI SDK's Anthropic and OpenAI providers read the first events
    // before doStream returns and throw an APICallError with a status of their own (500, 529): the
    // request was sent and may have been billed, so it is charged as an aborted stream that brought
    // nothing (`thrown`: status aborted, the hold under abortedStreamCharge 'hold'). The others fail
    // as an error part of the stream, or (@ai-sdk/anthropic 4, an event it cannot parse) a plain
    // Error: charged the input estimate, status error.
    const firstEvents: Array<{ variant: Variant; what: string; behavior: Record<string, unknown>; thrown: boolean }> = [
      { variant: 'anthropic', what: 'cannot be parsed', behavior: { usage: { input_tokens: Number.NaN } }, thrown: false },
      { variant: 'anthropic', what: 'is an error event', behavior: { midStreamError: { afterChunks: 0 } }, thrown: true },
      { variant: 'openai.chat', what: 'is an error event', behavior: { midStreamError: { afterChunks: 0 } }, thrown: true },
      { variant: 'openai.responses', what: 'is an error event', behavior: { midStreamError: { afterChunks: 0 } }, thrown: true },
      { variant: 'openai.responses', what: 'is followed by an error event before any output', behavior: { midStreamError: { afterChunks: 1 } }, thrown: true },
      { variant: 'google', what: 'cannot be parsed', behavior: { usage: { promptTokenCount: Number.NaN } }, thrown: false },
      { variant: 'google', what: 'is an error event', behavior: { midStreamError: { afterChunks: 0 } }, thrown: false },
    ];
    for (const { variant, what, behavior, thrown } of firstEvents) {
      it(`${variant}: a stream whose first event ${what} is charged as a broken stream, never released`, async () => {
        for (const abortedStreamCharge of ['received', 'hold'] as const) {
          const limiter = createTokenLimiter({ abortedStreamCharge });
          const user = freshUser(`first-event-${abortedStreamCharge}`);
          emulator().clearRequests();
          emulator().enqueue(behavior);
          const model = wrap(modelOf(kit, emulator(), variant), { limiter, user });
          const parts = await collect<any>(ai.streamText({ model, prompt: ask, maxOutputTokens: 40, maxRetries: 0, onError: () => {} }).fullStream);
          expect(parts.some((p) => p.type === 'error')).toBe(true);
          expect(emulator().requests).toHaveLength(1);
          await vi.waitFor(async () => expect(await records(limiter, user)).toHaveLength(1), { timeout: 5000 });
          const [record] = await records(limiter, user);
          expect(record, abortedStreamCharge).toMatchObject({ estimated: true, status: thrown ? 'aborted' : expect.stringMatching(/^(aborted|error)$/) });
          expect(record!.inputTokens).toBeGreaterThan(0);
          // An aborted stream that brought nothing: the input estimate, or the whole hold (40) when the policy says so.
          if (record!.status === 'aborted') expect(record!.outputTokens).toBe(abortedStreamCharge === 'hold' ? 40 : 0);
          expect((await limiter.admin.getUsage(user)).reserved).toBe(0);
        }
      });
    }

    it('openai.responses: previousResponseId or conversation holds the input at the context window, as responses.create does', async () => {
      const base = createTokenLimiter({ defaultLimits: [{ id: 'daily', tokens: 100_000, period: 'day' }] });
      const held: number[] = [];
      const limiter = { ...base, reserve: (...args: Parameters<TokenLimiter['reserve']>) => (held.push(args[1].tokens ?? 0), base.reserve(...args)) } as TokenLimiter;
      const user = freshUser('stored-context');
      const model = wrap(modelOf(kit, emulator(), 'openai.responses'), { limiter, user });
      await ai.generateText({ model, prompt: ask, maxOutputTokens: 20 });
      expect(held[0]).toBeLessThan(1_000);
      // The stored context is billed as input but not in the prompt: gpt-4o-mini's window (128,000) is held, more than the limit.
      for (const openai of [{ previousResponseId: 'resp_123' }, { conversation: 'conv_123' }]) {
        await expect(ai.generateText({ model, prompt: ask, maxOutputTokens: 20, maxRetries: 0, providerOptions: { openai } })).rejects.toBeInstanceOf(TokenLimitExceededError);
      }
      expect(held.slice(1).every((tokens) => tokens >= 128_000)).toBe(true);
      expect(emulator().requests).toHaveLength(1);
      // The chat model sends neither: nothing more is held for it.
      const chat = wrap(modelOf(kit, emulator(), 'openai.chat'), { limiter, user });
      await ai.generateText({ model: chat, prompt: ask, maxOutputTokens: 20, providerOptions: { openai: { previousResponseId: 'resp_123' } } });
      expect(held.at(-1)).toBeLessThan(1_000);
    });

    it("onInsufficientQuota 'shrink' lowers maxOutputTokens to what is left", async () => {
      const limiter = createTokenLimiter({ defaultLimits: [{ id: 'daily', tokens: 400, period: 'day' }] });
      const user = freshUser('shrink');
      const model = wrap(modelOf(kit, emulator(), 'openai.chat'), { limiter, user, onInsufficientQuota: 'shrink' });
      await ai.generateText({ model, prompt: ask, maxOutputTokens: 5000 });
      const sent = emulator().requests.at(-1)!.body as { max_completion_tokens?: number; max_tokens?: number };
      const max = sent.max_completion_tokens ?? sent.max_tokens!;
      expect(max).toBeGreaterThanOrEqual(16);
      expect(max).toBeLessThan(400);
      expect((await limiter.admin.getUsage(user)).used).toBeLessThanOrEqual(400);
    });

    it("onInsufficientQuota 'shrink' never leaves a thinking budget unheld: such a call is refused, sending nothing", async () => {
      const limiter = createTokenLimiter({ defaultLimits: [{ id: 'daily', tokens: 3000, period: 'day' }] });
      const cases = [
        { variant: 'anthropic' as const, providerOptions: { anthropic: { thinking: { type: 'enabled', budgetTokens: 1024 } } } },
        { variant: 'google' as const, providerOptions: { google: { thinkingConfig: { thinkingBudget: 1024 } } } },
      ];
      for (const { variant, providerOptions } of cases) {
        const user = freshUser(`shrink-thinking-${variant}`);
        const model = wrap(modelOf(kit, emulator(), variant), { limiter, user, onInsufficientQuota: 'shrink' });
        emulator().clearRequests();
        await expect(ai.generateText({ model, prompt: ask, maxOutputTokens: 5000, providerOptions, maxRetries: 0 })).rejects.toBeInstanceOf(TokenLimitExceededError);
        expect(emulator().requests).toHaveLength(0);
        expect(await limiter.admin.getUsage(user)).toMatchObject({ used: 0, reserved: 0 });
        // Without a thinking budget the call is shrunk to fit, as before.
        await ai.generateText({ model, prompt: ask, maxOutputTokens: 5000, maxRetries: 0 });
        const sent = emulator().requests.at(-1)!.body as { max_tokens?: number; generationConfig?: { maxOutputTokens?: number } };
        expect(sent.max_tokens ?? sent.generationConfig?.maxOutputTokens).toBeLessThan(3000);
      }
    });

    it('embed and embedMany: one reservation and one commit per call, the provider-reported tokens', async () => {
      const base = createTokenLimiter();
      const { limiter, reserves, commits } = counting(base);
      const user = freshUser('embed');
      const bareModel = kit.createOpenAI({ apiKey: 'test', baseURL: emulator().openaiBaseURL }).embedding('text-embedding-3-small');
      const model = ai.wrapEmbeddingModel({ model: bareModel, middleware: tokenLimitsEmbeddingMiddleware({ limiter, user }) });
      const bare = await ai.embed({ model: bareModel, value: 'sunny day at the beach' });
      const one = await ai.embed({ model, value: 'sunny day at the beach' });
      expect(one.embedding).toEqual(bare.embedding);
      const many = await ai.embedMany({ model, values: ['a', 'b c', 'd e f'] });
      expect(many.embeddings).toHaveLength(3);
      expect(reserves()).toBe(2);
      expect(commits()).toBe(2);
      const log = await records(base, user);
      expect(log.map((r) => r.inputTokens).reverse()).toEqual(emulator().requests.slice(1).map((r) => expectedUsage(r).inputTokens));
      expect(log.every((r) => r.estimated === false)).toBe(true);

      const refused = ai.wrapEmbeddingModel({
        model: bareModel,
        middleware: tokenLimitsEmbeddingMiddleware({ limiter: createTokenLimiter({ defaultLimits: [{ id: 'd', requests: 0, period: 'day' }] }), user }),
      });
      emulator().clearRequests();
      await expect(ai.embed({ model: refused, value: 'x' })).rejects.toBeInstanceOf(TokenLimitExceededError);
      expect(emulator().requests).toHaveLength(0);
    });

    it('a provider of no known family is bounded by bytes and priced by the fallback price', async () => {
      const limiter = createTokenLimiter({ pricing: { fallback: { input: 1, output: 2 } } });
      const user = freshUser('unknown');
      const acme = kit.createOpenAI({ apiKey: 'test', baseURL: emulator().openaiBaseURL, name: 'acme' }).chat('acme-large');
      expect(acme.provider).toBe('acme.chat');
      const result = await ai.generateText({ model: wrap(acme, { limiter, user }), prompt: ask, maxOutputTokens: 30 });
      const [record] = await records(limiter, user);
      expect(record).toMatchObject({ provider: 'unknown', model: 'acme-large', inputTokens: result.usage.inputTokens, outputTokens: result.usage.outputTokens, estimated: false });
      expect(record!.costUsd).toBeCloseTo((record!.inputTokens * 1 + record!.outputTokens * 2) / 1e6, 10);
    });
  });

  describe(`${label}: one quota shared with a wrapped openai client`, () => {
    it('holds exactly under concurrency on RedisStore: the requests that fit reach the emulator, no more', async () => {
      const redis = await connectRedis();
      const limiter = createTokenLimiter({
        store: new RedisStore({ client: redis, prefix: uniquePrefix('tl-aisdk') }),
        defaultLimits: [
          { id: 'requests', requests: 6, period: 'day' },
          { id: 'tokens', tokens: 1_000_000, period: 'day' },
        ],
      });
      try {
        const user = freshUser('shared');
        const model = wrap(modelOf(kit, emulator(), 'openai.chat'), { limiter, user });
        const openai = limiter.wrap(new OpenAI({ apiKey: 'test', baseURL: emulator().openaiBaseURL, maxRetries: 0 }), user);
        const chat = () => openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: ask }], max_completion_tokens: 20 });
        const generate = () => ai.generateText({ model, prompt: ask, maxOutputTokens: 20, maxRetries: 0 });
        // Both callers charge the one quota...
        await chat();
        await generate();
        expect(await limiter.admin.getUsage(user)).toMatchObject({ used: 2 });
        // ...and a burst of both holds it exactly.
        const results = await Promise.allSettled(
          Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? chat() : generate())),
        );
        await limiter.flush();
        const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(4);
        for (const r of refused) expect(r.reason).toBeInstanceOf(TokenLimitExceededError);
        expect(emulator().requests).toHaveLength(6);
        expect(emulator().requests.filter((r) => String(r.headers['user-agent']).includes('ai-sdk')).length).toBeGreaterThanOrEqual(1);
        const tokens = emulator().requests.reduce((sum, r) => sum + expectedUsage(r).inputTokens + expectedUsage(r).outputTokens, 0);
        const usage = await limiter.admin.getUsage(user);
        expect(usage.windows.map((w) => [w.rule.id, w.used, w.reserved])).toEqual([
          ['requests', 6, 0],
          ['tokens', tokens, 0],
        ]);
      } finally {
        await limiter.close();
        redis.disconnect();
      }
    });
  });
}
