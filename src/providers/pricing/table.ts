/**
 * Built-in price table, USD per million tokens (standard tier, no batch discount).
 *
 * Sources and dates:
 * - OpenAI: platform.openai.com/docs/pricing as known to us in 2025 (gpt-5/4.1/4o/o-series,
 *   embeddings, legacy gpt-4/3.5), cross-checked with gpt-tokenizer 4.0.0's model catalog
 *   (`models.gen.ts`, scraped from OpenAI's docs). Deep research models: their model pages on
 *   developers.openai.com (o4-mini-deep-research) and OpenRouter's listing (o3-deep-research),
 *   read through the search corpus in December 2026. Newer gpt-5.x point releases are not listed,
 *   and have no price (a `.` is no name boundary, so `gpt-5.2` is not `gpt-5`): a cost rule refuses
 *   them unless the `pricing` option prices them. A key listed here prices every longer name it
 *   prefixes at a `-`: a dearer sibling must be listed by its own name. `priority`:
 *   openai.com/api-priority-processing (read through the search corpus in December 2026; rates
 *   for prompts up to 128k tokens); models it does not list are priced at twice their standard
 *   rates when run with that tier (see `priceForServiceTier`). Audio models' audio-token rates as
 *   known to us in 2025; `gpt-audio-mini`'s are UNVERIFIED.
 * - Anthropic: platform.claude.com/docs/en/about-claude/pricing (model table with 5m/1h cache
 *   writes and cache hits), read through the search corpus; 2026 snapshot listing Opus 4.5-5,
 *   Fable 5, Sonnet 5/5.5, Haiku 5.5. Cache writes are 1.25x (5 min) and 2x (1 h) of input, reads
 *   0.1x, unless stated otherwise on that page. Fast mode (`fastMultiplier`, on every rate):
 *   platform.claude.com/docs/en/build-with-claude/fast-mode and third-party rate cards of December
 *   2026: 6x for Opus 4.6 and 4.7, 2x for Opus 4.8, 5 and 5.5 and for Fable 5.2; models it does not
 *   list are priced at 6x when a response says they ran fast (see `priceForCall`). US inference
 *   (`inference_geo: 'us'`) is 1.1x every token rate (data-residency page). Web search:
 *   platform.claude.com/docs/en/agents-and-tools/tool-use/web-search-tool ("$10 per 1,000
 *   searches, plus standard token costs"), read through the search corpus in December 2026.
 * - Google: ai.google.dev/gemini-api/docs/pricing as known to us in 2025 (paid tier; audio input
 *   at its own rate where it differs);
 *   Gemini 2.5 Pro's higher rates above 200k prompt tokens are modelled as a tier. Context-cache
 *   storage (per token-hour) is not a per-request cost and is not modelled. Gemini 3 Pro preview
 *   prices are UNVERIFIED.
 * Where a figure is unsure the entry says so. Users can override any entry with the `pricing` option.
 */
import type { ModelPrice } from './types.js';

/**
 * Anthropic's cache multipliers: 5-minute write 1.25x, 1-hour write 2x, read 0.1x of input; and its
 * web search tool's fee, $10 per 1,000 searches on every model (web fetch has none).
 */
function claude(input: number, output: number, cachedInput = input * 0.1): ModelPrice {
  return { input, output, cachedInput, cacheWrite: input * 1.25, cacheWrite1h: input * 2, webSearchPerThousand: 10 };
}

/** A Claude model with fast mode (`speed: 'fast'`), billed at `multiplier` times every rate. */
function withFast(price: ModelPrice, multiplier: number): ModelPrice {
  return { ...price, fastMultiplier: multiplier };
}

/** OpenAI models. */
export const OPENAI_PRICES: Readonly<Record<string, ModelPrice>> = {
  'gpt-5': { input: 1.25, cachedInput: 0.125, output: 10, priority: { input: 2.5, cachedInput: 0.25, output: 20 } },
  'gpt-5-mini': { input: 0.25, cachedInput: 0.025, output: 2, priority: { input: 0.45, cachedInput: 0.045, output: 3.6 } },
  'gpt-5-nano': { input: 0.05, cachedInput: 0.005, output: 0.4 },
  'gpt-5-chat-latest': { input: 1.25, cachedInput: 0.125, output: 10 },
  'gpt-5-codex': { input: 1.25, cachedInput: 0.125, output: 10, priority: { input: 2.5, cachedInput: 0.25, output: 20 } },
  'gpt-5-pro': { input: 15, output: 120 },
  'gpt-4.1': { input: 2, cachedInput: 0.5, output: 8, priority: { input: 3.5, cachedInput: 0.875, output: 14 } },
  'gpt-4.1-mini': { input: 0.4, cachedInput: 0.1, output: 1.6, priority: { input: 0.7, cachedInput: 0.175, output: 2.8 } },
  'gpt-4.1-nano': { input: 0.1, cachedInput: 0.025, output: 0.4, priority: { input: 0.2, cachedInput: 0.05, output: 0.8 } },
  'gpt-4.5-preview': { input: 75, cachedInput: 37.5, output: 150 },
  'gpt-4o': { input: 2.5, cachedInput: 1.25, output: 10, priority: { input: 4.25, cachedInput: 2.125, output: 17 } },
  'gpt-4o-2024-05-13': { input: 5, output: 15, priority: { input: 8.75, output: 26.25 } },
  'gpt-4o-mini': { input: 0.15, cachedInput: 0.075, output: 0.6, priority: { input: 0.25, cachedInput: 0.125, output: 1 } },
  // Audio models: text tokens at the first rates, audio tokens at their own.
  'gpt-4o-audio-preview': { input: 2.5, output: 10, audioInput: 40, audioOutput: 80 },
  'gpt-4o-mini-audio-preview': { input: 0.15, output: 0.6, audioInput: 10, audioOutput: 20 },
  'gpt-audio': { input: 2.5, output: 10, audioInput: 32, audioOutput: 64 },
  'gpt-audio-mini': { input: 0.6, output: 2.4, audioInput: 10, audioOutput: 20 },
  'chatgpt-4o-latest': { input: 5, output: 15 },
  o1: { input: 15, cachedInput: 7.5, output: 60 },
  'o1-mini': { input: 1.1, cachedInput: 0.55, output: 4.4 },
  'o1-pro': { input: 150, output: 600 },
  o3: { input: 2, cachedInput: 0.5, output: 8, priority: { input: 3.5, cachedInput: 0.875, output: 14 } },
  // Listed by name: by prefix they would take the rates of o3 and o4-mini, 5 and 1.8 times lower.
  'o3-deep-research': { input: 10, cachedInput: 2.5, output: 40 },
  'o4-mini-deep-research': { input: 2, cachedInput: 0.5, output: 8 },
  'o3-mini': { input: 1.1, cachedInput: 0.55, output: 4.4 },
  'o3-pro': { input: 20, output: 80 },
  'o4-mini': { input: 1.1, cachedInput: 0.275, output: 4.4, priority: { input: 2, cachedInput: 0.5, output: 8 } },
  'gpt-4-turbo': { input: 10, output: 30 },
  'gpt-4': { input: 30, output: 60 },
  'gpt-4-32k': { input: 60, output: 120 },
  'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
  'gpt-3.5-turbo-instruct': { input: 1.5, output: 2 },
  'davinci-002': { input: 2, output: 2 },
  'babbage-002': { input: 0.4, output: 0.4 },
  'text-embedding-3-small': { input: 0.02, output: 0 },
  'text-embedding-3-large': { input: 0.13, output: 0 },
  'text-embedding-ada-002': { input: 0.1, output: 0 },
};

/** Anthropic models (Claude 3.x still offered or recently retired, 4.x, 5.x). */
export const ANTHROPIC_PRICES: Readonly<Record<string, ModelPrice>> = {
  // UNVERIFIED: $8 / $40 and fast mode at $16 / $80 as a third-party summary of Anthropic's pages
  // (November 2026) gives them; cache rates at the usual multipliers.
  'claude-fable-5-2': withFast(claude(8, 40), 2),
  'claude-mythos-5-2': withFast(claude(8, 40), 2),
  'claude-fable-5-1': claude(10, 50, 0.25),
  'claude-fable-5': claude(10, 50, 1),
  'claude-mythos-5-1': claude(10, 50, 0.25),
  'claude-mythos-5': claude(10, 50, 1),
  'claude-opus-5-5': withFast(claude(4, 20, 0.2), 2),
  'claude-opus-5': withFast(claude(5, 25), 2),
  'claude-opus-4-8': withFast(claude(5, 25), 2),
  'claude-opus-4-7': withFast(claude(5, 25), 6),
  'claude-opus-4-6': withFast(claude(5, 25), 6),
  'claude-opus-4-5': claude(5, 25),
  'claude-opus-4-1': claude(15, 75),
  'claude-opus-4-0': claude(15, 75),
  'claude-opus-4': claude(15, 75),
  'claude-sonnet-5-5': claude(2, 10, 0.1),
  'claude-sonnet-5': claude(2, 10),
  'claude-sonnet-4-5': claude(3, 15),
  'claude-sonnet-4-0': claude(3, 15),
  'claude-sonnet-4': claude(3, 15),
  'claude-3-7-sonnet': claude(3, 15),
  'claude-3-5-sonnet': claude(3, 15),
  // Haiku 5.5: two bands by prompt length (input + cache reads + writes), on every token of the request.
  'claude-haiku-5-5': {
    ...claude(0.1, 0.5, 0.01),
    tiers: [{ aboveInputTokens: 100_000, input: 0.5, output: 2.5, cachedInput: 0.05, cacheWrite: 0.625, cacheWrite1h: 1 }],
  },
  'claude-haiku-4-5': claude(1, 5),
  'claude-3-5-haiku': claude(0.8, 4),
  'claude-3-haiku': claude(0.25, 1.25, 0.03),
  'claude-3-opus': claude(15, 75),
};

/** Google Gemini models (Gemini Developer API, paid tier). */
export const GOOGLE_PRICES: Readonly<Record<string, ModelPrice>> = {
  // UNVERIFIED preview pricing; tiered like 2.5 Pro.
  'gemini-3-pro-preview': {
    input: 2,
    cachedInput: 0.2,
    output: 12,
    tiers: [{ aboveInputTokens: 200_000, input: 4, cachedInput: 0.4, output: 18 }],
  },
  'gemini-2.5-pro': {
    input: 1.25,
    cachedInput: 0.125,
    output: 10,
    tiers: [{ aboveInputTokens: 200_000, input: 2.5, cachedInput: 0.25, output: 15 }],
  },
  // Audio input costs more than text, image and video input on these (`audioInput`).
  'gemini-2.5-flash': { input: 0.3, cachedInput: 0.03, output: 2.5, audioInput: 1 },
  'gemini-2.5-flash-lite': { input: 0.1, cachedInput: 0.01, output: 0.4, audioInput: 0.3 },
  'gemini-2.0-flash': { input: 0.1, cachedInput: 0.025, output: 0.4, audioInput: 0.7 },
  'gemini-2.0-flash-lite': { input: 0.075, output: 0.3 },
  'gemini-embedding-001': { input: 0.15, output: 0 },
};

/** Every built-in price. */
export const BUILT_IN_PRICES: Readonly<Record<string, ModelPrice>> = { ...OPENAI_PRICES, ...ANTHROPIC_PRICES, ...GOOGLE_PRICES };
