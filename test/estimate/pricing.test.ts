import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/kernel/errors.js';
import { costOfUsage, createPriceTable, DEFAULT_FAST_MULTIPLIER, holdPriceForCall, lookupModelKey, memoizeLookups, priceForCall, priceForServiceTier, rememberedLookups, resolvePrice, US_INFERENCE_MULTIPLIER } from '../../src/providers/pricing/resolve.js';

describe('price resolution', () => {
  it.each([
    ['gpt-4o-2024-08-06', 2.5],
    ['gpt-4o-mini-2024-07-18', 0.15],
    ['gpt-4o-2024-05-13', 5],
    ['gpt-4', 30],
    ['gpt-4-0613', 30],
    ['gpt-4-turbo-2024-04-09', 10],
    ['gpt-5-mini-2025-08-07', 0.25],
    ['claude-sonnet-4-5-20250929', 3],
    ['claude-3-5-haiku-20241022', 0.8],
    ['claude-opus-4-1-20250805', 15],
    ['anthropic.claude-haiku-4-5-20251001-v1:0', 1],
    ['models/gemini-2.5-flash', 0.3],
    ['gemini-2.5-flash-lite', 0.1],
    ['GEMINI-2.5-PRO', 1.25],
  ])('%s -> input %f', (model, input) => {
    expect(resolvePrice(model)?.input).toBe(input);
  });
  it('does not match across a name boundary and knows nothing of unknown models', () => {
    expect(resolvePrice('gpt-4oops')).toBeUndefined();
    expect(resolvePrice('my-model')).toBeUndefined();
  });
  it('overrides win over the table and resolve snapshots; the fallback prices unknown models', () => {
    const table = createPriceTable({ overrides: { 'gpt-4o': { input: 1, output: 2 } }, fallback: { input: 9, output: 9 } });
    expect(table.resolve('gpt-4o-2024-08-06')).toEqual({ input: 1, output: 2 });
    expect(table.resolve('gpt-4o-mini')?.input).toBe(0.15);
    expect(table.resolve('unknown-model')).toEqual({ input: 9, output: 9 });
    expect(createPriceTable().resolve('unknown-model')).toBeUndefined();
  });
  it.each([
    [{ 'gpt-4o': { input: -1, output: 1 } }, 'pricing["gpt-4o"].input'],
    [{ 'gpt-4o': { input: 1, output: Number.NaN } }, 'pricing["gpt-4o"].output'],
    [{ 'gpt-4o': { input: 1, output: 1, cachedInput: Infinity } }, 'pricing["gpt-4o"].cachedInput'],
    [{ 'gpt-4o': { input: 1, output: 1, cacheWrite: '2' } }, 'pricing["gpt-4o"].cacheWrite'],
    [{ 'gpt-4o': { input: 1, output: 1, cached: 1 } }, 'pricing["gpt-4o"].cached'],
    [{ 'gpt-4o': null }, 'pricing["gpt-4o"]'],
  ])('invalid override %j -> InvalidArgumentError(%s)', (overrides, parameter) => {
    const call = () => createPriceTable({ overrides: overrides as never });
    expect(call).toThrow(InvalidArgumentError);
    expect(call).toThrow(expect.objectContaining({ parameter }));
  });
  it('answers a name the same the second time (lookups are remembered per table), and tables do not share answers', () => {
    const a = createPriceTable({ overrides: { 'gpt-4o': { input: 1, output: 2 } } });
    const b = createPriceTable();
    for (let i = 0; i < 3; i += 1) {
      expect(a.resolve('gpt-4o-2024-08-06')).toEqual({ input: 1, output: 2 });
      expect(b.resolve('gpt-4o-2024-08-06')?.input).toBe(2.5);
      expect(a.resolve('no-such-model')).toBeUndefined();
      expect(resolvePrice('GPT-4o-mini-2024-07-18')?.input).toBe(0.15);
    }
    // More names than the memory keeps: the oldest are looked up again, with the same answers.
    for (let i = 0; i < 1500; i += 1) expect(b.resolve(`gpt-4o-mini-${i}`)?.input).toBe(0.15);
    expect(b.resolve('gpt-4o-2024-08-06')?.input).toBe(2.5);
  });
  it('does not remember lookups of names over 256 characters (they come from requests and responses), and still answers them', () => {
    const table = { 'gpt-4o': 1, 'gpt-4o-mini': 2 };
    memoizeLookups(table);
    expect(lookupModelKey(`gpt-4o-mini-${'x'.repeat(244)}`, table)).toBe('gpt-4o-mini'); // 256 characters: remembered
    expect(rememberedLookups(table)).toBe(1);
    for (let i = 0; i < 50; i += 1) expect(lookupModelKey(`gpt-4o-mini-${'x'.repeat(245 + i)}`, table)).toBe('gpt-4o-mini');
    expect(rememberedLookups(table)).toBe(1);
  });
  it('validates the fallback price', () => {
    expect(() => createPriceTable({ fallback: { input: -0.5, output: 1 } })).toThrow(expect.objectContaining({ parameter: 'fallbackPrice.input' }));
  });
});

describe('service tiers', () => {
  it("prices OpenAI's priority tier at its own rates, twice the standard ones where none are known, flex at half the standard ones, and every other tier at the standard ones", () => {
    const usage = { inputTokens: 1000, cachedInputTokens: 400, outputTokens: 100 };
    const gpt41 = resolvePrice('gpt-4.1')!;
    expect(costOfUsage(usage, priceForServiceTier(gpt41, 'priority'))).toBeCloseTo((600 * 3.5 + 400 * 0.875 + 100 * 14) / 1e6, 12);
    expect(costOfUsage(usage, priceForServiceTier(gpt41, 'flex'))).toBeCloseTo((600 * 1 + 400 * 0.25 + 100 * 4) / 1e6, 12);
    for (const tier of [undefined, 'default', 'auto', 'scale']) {
      expect(costOfUsage(usage, priceForServiceTier(gpt41, tier))).toBeCloseTo((600 * 2 + 400 * 0.5 + 100 * 8) / 1e6, 12);
    }
    // A flex request is held at the standard rates (OpenAI may run it in another tier); a priority one at the priority rates.
    expect(holdPriceForCall(gpt41, { serviceTier: 'flex' })).toEqual(gpt41);
    expect(holdPriceForCall(gpt41, { serviceTier: 'priority' })).toEqual(priceForServiceTier(gpt41, 'priority'));
    // Long-context tiers are halved too (Gemini 2.5 Pro's, for a model priced like it).
    const tiered = resolvePrice('gemini-2.5-pro')!;
    expect(tiered.tiers?.length).toBeGreaterThan(0);
    expect(priceForServiceTier(tiered, 'flex').tiers![0]!.input).toBeCloseTo(tiered.tiers![0]!.input / 2, 12);
    const nano = resolvePrice('gpt-5-nano')!;
    expect(costOfUsage(usage, priceForServiceTier(nano, 'priority'))).toBeCloseTo(2 * costOfUsage(usage, nano), 12);
    // Priority never costs less than standard in the table.
    for (const model of ['gpt-5', 'gpt-5-mini', 'gpt-5-codex', 'gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano', 'gpt-4o', 'gpt-4o-2024-05-13', 'gpt-4o-mini', 'o3', 'o4-mini']) {
      const price = resolvePrice(model)!;
      expect(price.priority, model).toBeDefined();
      expect(costOfUsage(usage, priceForServiceTier(price, 'priority')), model).toBeGreaterThan(costOfUsage(usage, price));
    }
  });

  it("prices Anthropic's fast mode at the model's multiplier (6x where none is known) and US inference at 1.1x, stacked", () => {
    const usage = { inputTokens: 1000, cachedInputTokens: 400, cacheWriteTokens: 100, outputTokens: 100 };
    const opus = resolvePrice('claude-opus-5-5-20261001')!;
    const standard = costOfUsage(usage, opus);
    expect(standard).toBeCloseTo((500 * 4 + 400 * 0.2 + 100 * 5 + 100 * 20) / 1e6, 12);
    expect(costOfUsage(usage, priceForCall(opus, { speed: 'fast' }))).toBeCloseTo(2 * standard, 12);
    expect(costOfUsage(usage, priceForCall(opus, { inferenceGeo: 'us' }))).toBeCloseTo(US_INFERENCE_MULTIPLIER * standard, 12);
    expect(costOfUsage(usage, priceForCall(opus, { speed: 'fast', inferenceGeo: 'us' }))).toBeCloseTo(2 * 1.1 * standard, 12);
    for (const other of [{ speed: 'standard' }, { inferenceGeo: 'global' }, {}, undefined]) expect(costOfUsage(usage, priceForCall(opus, other))).toBeCloseTo(standard, 12);
    expect(costOfUsage(usage, priceForCall(resolvePrice('claude-opus-4-6')!, { speed: 'fast' }))).toBeCloseTo(6 * costOfUsage(usage, resolvePrice('claude-opus-4-6')!), 12);
    const sonnet = resolvePrice('claude-sonnet-5')!;
    expect(sonnet.fastMultiplier).toBeUndefined();
    expect(costOfUsage(usage, priceForCall(sonnet, { speed: 'fast' }))).toBeCloseTo(DEFAULT_FAST_MULTIPLIER * costOfUsage(usage, sonnet), 12);
    // Long-prompt bands are multiplied too (Haiku 5.5's).
    const haiku = priceForCall(resolvePrice('claude-haiku-5-5')!, { inferenceGeo: 'us' });
    expect(haiku.tiers![0]!.output).toBeCloseTo(2.5 * 1.1, 12);
  });

  it('takes a fast multiplier in the pricing option, and validates it', () => {
    const table = createPriceTable({ overrides: { 'claude-opus-5-5': { input: 4, output: 20, fastMultiplier: 3 } } });
    expect(costOfUsage({ inputTokens: 10, outputTokens: 10 }, priceForCall(table.resolve('claude-opus-5-5')!, { speed: 'fast' }))).toBeCloseTo((3 * 240) / 1e6, 12);
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 1001, '2']) {
      expect(() => createPriceTable({ overrides: { m: { input: 1, output: 2, fastMultiplier: bad as never } } })).toThrow(expect.objectContaining({ parameter: 'pricing["m"].fastMultiplier' }));
    }
  });

  it("prices Claude's web searches at $10 per 1,000, flat under fast mode and US inference; an override keeps or sets the fee, validated", () => {
    const usage = { inputTokens: 1000, outputTokens: 100 };
    const sonnet = resolvePrice('claude-sonnet-5')!;
    const tokens = costOfUsage(usage, sonnet);
    expect(costOfUsage({ ...usage, webSearchRequests: 3 }, sonnet)).toBeCloseTo(tokens + 0.03, 12);
    for (const rates of [{ speed: 'fast' }, { inferenceGeo: 'us' }]) {
      const call = priceForCall(sonnet, rates);
      expect(costOfUsage({ ...usage, webSearchRequests: 3 }, call) - costOfUsage(usage, call)).toBeCloseTo(0.03, 12);
    }
    // Models of other providers have no search fee in the table.
    expect(costOfUsage({ ...usage, webSearchRequests: 3 }, resolvePrice('gpt-4o')!)).toBe(costOfUsage(usage, resolvePrice('gpt-4o')!));
    const table = createPriceTable({ overrides: { 'claude-sonnet-5': { input: 1, output: 1 }, 'claude-haiku-4-5': { input: 1, output: 1, webSearchPerThousand: 0 }, 'my-model': { input: 1, output: 1, webSearchPerThousand: 25 } } });
    expect(costOfUsage({ inputTokens: 0, outputTokens: 0, webSearchRequests: 2 }, table.resolve('claude-sonnet-5')!)).toBeCloseTo(0.02, 12);
    expect(costOfUsage({ inputTokens: 0, outputTokens: 0, webSearchRequests: 2 }, table.resolve('claude-haiku-4-5')!)).toBe(0);
    expect(costOfUsage({ inputTokens: 0, outputTokens: 0, webSearchRequests: 2 }, table.resolve('my-model')!)).toBeCloseTo(0.05, 12);
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, '10']) {
      expect(() => createPriceTable({ overrides: { m: { input: 1, output: 2, webSearchPerThousand: bad as never } } })).toThrow(expect.objectContaining({ parameter: 'pricing["m"].webSearchPerThousand' }));
    }
    expect(() => costOfUsage({ inputTokens: 1, outputTokens: 1, webSearchRequests: -1 }, sonnet)).toThrow(InvalidArgumentError);
  });

  it('takes priority rates in the pricing option, and validates them', () => {
    const table = createPriceTable({ overrides: { 'my-model': { input: 1, output: 2, priority: { input: 3, output: 5 } }, 'other-model': { input: 1, output: 2 } } });
    expect(costOfUsage({ inputTokens: 10, outputTokens: 10 }, priceForServiceTier(table.resolve('my-model')!, 'priority'))).toBeCloseTo(80 / 1e6, 12);
    expect(costOfUsage({ inputTokens: 10, outputTokens: 10 }, priceForServiceTier(table.resolve('other-model')!, 'priority'))).toBeCloseTo(60 / 1e6, 12);
    expect(() => createPriceTable({ overrides: { m: { input: 1, output: 2, priority: { input: -1, output: 2 } } } })).toThrow(expect.objectContaining({ parameter: 'pricing["m"].priority.input' }));
    expect(() => createPriceTable({ overrides: { m: { input: 1, output: 2, priority: { input: 1, output: 2, cacheWrite: 1 } as never } } })).toThrow(expect.objectContaining({ parameter: 'pricing["m"].priority.cacheWrite' }));
    expect(() => createPriceTable({ overrides: { m: { input: 1, output: 2, priority: 3 as never } } })).toThrow(InvalidArgumentError);
  });
});

describe('costOfUsage', () => {
  it('prices cached input as a part of the input', () => {
    // gpt-4o: 1000 input of which 400 cached, 100 output.
    const cost = costOfUsage({ inputTokens: 1000, cachedInputTokens: 400, outputTokens: 100 }, resolvePrice('gpt-4o')!);
    expect(cost).toBeCloseTo((600 * 2.5 + 400 * 1.25 + 100 * 10) / 1e6, 12);
  });
  it('prices Anthropic cache writes (5 min and 1 h)', () => {
    const price = resolvePrice('claude-sonnet-4-5')!;
    const cost = costOfUsage({ inputTokens: 10_000, cachedInputTokens: 5000, cacheWriteTokens: 2000, cacheWrite1hTokens: 1000, outputTokens: 500 }, price);
    expect(cost).toBeCloseTo((2000 * 3 + 5000 * 0.3 + 2000 * 3.75 + 1000 * 6 + 500 * 15) / 1e6, 12);
  });
  it('prices audio tokens at the audio rates (gpt-4o-audio-preview), and rates given by the pricing option', () => {
    const cost = costOfUsage({ inputTokens: 1000, audioInputTokens: 300, outputTokens: 500, audioOutputTokens: 200 }, resolvePrice('gpt-4o-audio-preview')!);
    expect(cost).toBeCloseTo((700 * 2.5 + 300 * 40 + 300 * 10 + 200 * 80) / 1e6, 12);
    // More audio than the part it is of is read as all of it; a model without audio rates prices it as text.
    expect(costOfUsage({ inputTokens: 10, audioInputTokens: 50, outputTokens: 0 }, { input: 1, output: 1, audioInput: 8 })).toBeCloseTo(80 / 1e6, 12);
    expect(costOfUsage({ inputTokens: 10, audioInputTokens: 5, outputTokens: 4, audioOutputTokens: 4 }, { input: 1, output: 2 })).toBeCloseTo(18 / 1e6, 12);
    const table = createPriceTable({ overrides: { voice: { input: 1, output: 2, audioInput: 16, audioOutput: 32 } } });
    expect(table.resolve('voice')).toMatchObject({ audioInput: 16, audioOutput: 32 });
    expect(() => createPriceTable({ overrides: { m: { input: 1, output: 2, audioOutput: -1 } } })).toThrow(expect.objectContaining({ parameter: 'pricing["m"].audioOutput' }));
  });
  it('uses the long-prompt tier of Gemini 2.5 Pro above 200k prompt tokens', () => {
    const price = resolvePrice('gemini-2.5-pro')!;
    expect(costOfUsage({ inputTokens: 200_000, outputTokens: 1000 }, price)).toBeCloseTo((200_000 * 1.25 + 1000 * 10) / 1e6, 12);
    expect(costOfUsage({ inputTokens: 200_001, outputTokens: 1000 }, price)).toBeCloseTo((200_001 * 2.5 + 1000 * 15) / 1e6, 12);
  });
  it('defaults missing cache rates to the input rate', () => {
    expect(costOfUsage({ inputTokens: 100, cachedInputTokens: 50, outputTokens: 0 }, { input: 2, output: 4 })).toBeCloseTo(200 / 1e6, 12);
  });
  it.each([
    [{ inputTokens: -1, outputTokens: 0 }, 'usage.inputTokens'],
    [{ inputTokens: 1, outputTokens: Number.NaN }, 'usage.outputTokens'],
    [{ inputTokens: 10, cachedInputTokens: 11, outputTokens: 0 }, 'usage.cachedInputTokens'],
  ])('invalid usage %j -> InvalidArgumentError(%s)', (usage, parameter) => {
    expect(() => costOfUsage(usage, { input: 1, output: 1 })).toThrow(expect.objectContaining({ parameter }));
  });
  it('rejects an invalid price', () => {
    expect(() => costOfUsage({ inputTokens: 1, outputTokens: 1 }, { input: -1, output: 1 })).toThrow(InvalidArgumentError);
  });
});
