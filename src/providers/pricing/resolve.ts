/** Model-name resolution, user overrides and cost computation. */
import { InvalidArgumentError } from '../../kernel/errors.js';
import { isPlainObject, rejectUnknownKeys } from '../../kernel/validate.js';
import { LruMap } from '../../kernel/lru.js';
import { BUILT_IN_PRICES } from './table.js';
import type { ModelPrice, PriceOverride, PriceOverrides, PriceTier, RateModifiers } from './types.js';

/**
 * Normalizes a model name for price lookup: lower case, without a path prefix (`models/`,
 * `openai/`, `publishers/google/models/`), a Bedrock-style `anthropic.` prefix, or a `-v1:0`-style
 * version suffix.
 */
export function normalizeModelName(model: string): string {
  return model.trim().toLowerCase().replace(/^.*\//, '').replace(/^(anthropic|openai|google)\./, '').replace(/-v\d+:\d+$/, '');
}

/**
 * The key of `table` that names `model`: an exact key, else the longest key that is a prefix of the
 * name at a `-`, `@` or `:` boundary (`gpt-4o-2024-08-06` -> `gpt-4o`, never `gpt-4` for `gpt-4o`;
 * `claude-sonnet-4-5-20250929` -> `claude-sonnet-4-5`).
 */
export function lookupModelKey(model: string, table: Readonly<Record<string, unknown>>): string | undefined {
  const memo = memos.get(table);
  // A long name (model names come from requests and responses) is not kept: 512 of them could be large.
  if (memo === undefined || model.length > MEMO_MAX_NAME) return findModelKey(model, table);
  let key = memo.get(model);
  if (key === undefined) {
    key = findModelKey(model, table) ?? null;
    memo.set(model, key);
  }
  return key ?? undefined;
}

/**
 * Lookups remembered per table that never changes (the built-in tables, a price table's merged
 * entries): a wrapped call resolves its model's price and limits several times, and a name that is
 * no exact key scans every key of the table.
 */
const memos = new WeakMap<object, LruMap<string, string | null>>();
const MEMO_CAPACITY = 512;
const MEMO_MAX_NAME = 256;

/** How many lookups of `table` are remembered (for tests). */
export function rememberedLookups(table: object): number {
  return memos.get(table)?.size ?? 0;
}

/** Remembers the lookups of `table`, which must never change from now on. */
export function memoizeLookups(table: Readonly<Record<string, unknown>>): void {
  if (!memos.has(table)) memos.set(table, new LruMap(MEMO_CAPACITY));
}

function findModelKey(model: string, table: Readonly<Record<string, unknown>>): string | undefined {
  const name = normalizeModelName(model);
  if (Object.hasOwn(table, name)) return name;
  let best: string | undefined;
  for (const key of Object.keys(table)) {
    if (name.length > key.length && name.startsWith(key) && '-@:'.includes(name[key.length]!) && (best === undefined || key.length > best.length)) {
      best = key;
    }
  }
  return best;
}

/** The entry of `table` for `model` (see {@link lookupModelKey}). */
export function lookupModel<T>(model: string, table: Readonly<Record<string, T>>): T | undefined {
  const key = lookupModelKey(model, table);
  return key === undefined ? undefined : table[key];
}

const PRICE_FIELDS = ['input', 'output', 'cachedInput', 'cacheWrite', 'cacheWrite1h', 'audioInput', 'audioOutput'] as const;

function parseRate(value: unknown, parameter: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError(parameter, value, 'expected a finite, non-negative price in USD per million tokens');
  }
  return value;
}

/** Validates one price override; names the offending field (e.g. `pricing["gpt-4o"].input`). */
export function parsePriceOverride(value: unknown, parameter: string): PriceOverride {
  if (!isPlainObject(value)) throw new InvalidArgumentError(parameter, value, 'expected { input, output, cachedInput?, cacheWrite?, cacheWrite1h?, audioInput?, audioOutput?, priority?, fastMultiplier?, webSearchPerThousand? }');
  rejectUnknownKeys(value, [...PRICE_FIELDS, 'priority', 'fastMultiplier', 'webSearchPerThousand'], parameter);
  const price: PriceOverride = { input: parseRate(value['input'], `${parameter}.input`), output: parseRate(value['output'], `${parameter}.output`) };
  for (const field of ['cachedInput', 'cacheWrite', 'cacheWrite1h', 'audioInput', 'audioOutput'] as const) {
    if (value[field] !== undefined) price[field] = parseRate(value[field], `${parameter}.${field}`);
  }
  const priority = value['priority'];
  if (priority !== undefined) {
    const where = `${parameter}.priority`;
    if (!isPlainObject(priority)) throw new InvalidArgumentError(where, priority, 'expected { input, output, cachedInput? }');
    rejectUnknownKeys(priority, ['input', 'output', 'cachedInput'], where);
    price.priority = { input: parseRate(priority['input'], `${where}.input`), output: parseRate(priority['output'], `${where}.output`) };
    if (priority['cachedInput'] !== undefined) price.priority.cachedInput = parseRate(priority['cachedInput'], `${where}.cachedInput`);
  }
  const fast = value['fastMultiplier'];
  if (fast !== undefined) {
    if (typeof fast !== 'number' || !Number.isFinite(fast) || fast <= 0 || fast > 1000) {
      throw new InvalidArgumentError(`${parameter}.fastMultiplier`, fast, 'expected a finite number above 0 and at most 1000');
    }
    price.fastMultiplier = fast;
  }
  const searches = value['webSearchPerThousand'];
  if (searches !== undefined) {
    if (typeof searches !== 'number' || !Number.isFinite(searches) || searches < 0) {
      throw new InvalidArgumentError(`${parameter}.webSearchPerThousand`, searches, 'expected a finite, non-negative price in USD per 1,000 searches');
    }
    price.webSearchPerThousand = searches;
  }
  return price;
}

/**
 * The rates a call is billed at in OpenAI's service tier `tier`. `priority` has rates of its own
 * (the table's from OpenAI's priority-processing page, or the `pricing` option's), else twice every
 * standard rate: the highest ratio that page lists, so that a hold is never too small. `flex` is
 * billed at half of every standard rate (OpenAI's flex-processing rates, the same as its Batch
 * API's). Every other tier (`default`, `auto`, `scale`, none) is priced at the standard rates.
 */
export function priceForServiceTier(price: ModelPrice, tier: string | undefined): ModelPrice {
  if (tier === 'flex') return scaled(price, 0.5);
  if (tier !== 'priority') return price;
  if (price.priority !== undefined) return { ...price.priority };
  return scaled(price, 2);
}

/**
 * Anthropic's price multiplier for inference kept in the US (`inference_geo: 'us'`), on every
 * rate (its data-residency page: 1.1x).
 */
export const US_INFERENCE_MULTIPLIER = 1.1;
/**
 * Anthropic's fast-mode multiplier for a model neither the table nor the `pricing` option gives
 * one: the highest its fast-mode page has listed (Opus 4.6, 6x), so that a fast call is never
 * charged too little.
 */
export const DEFAULT_FAST_MULTIPLIER = 6;

/**
 * The rates of one call with its rate modifiers (see {@link RateModifiers}): the service tier's
 * rates (see {@link priceForServiceTier}), times the model's fast multiplier when it ran fast,
 * times {@link US_INFERENCE_MULTIPLIER} when it ran in the US (Anthropic's modifiers stack).
 */
export function priceForCall(price: ModelPrice, rates: RateModifiers | undefined): ModelPrice {
  if (rates === undefined) return price;
  let out = priceForServiceTier(price, rates.serviceTier);
  if (rates.speed === 'fast') out = scaled(out, price.fastMultiplier ?? DEFAULT_FAST_MULTIPLIER);
  if (rates.inferenceGeo === 'us') out = scaled(out, US_INFERENCE_MULTIPLIER);
  return out;
}

/**
 * The rates a call's hold is priced at, for the modifiers its request asks for: as
 * {@link priceForCall}, but a `flex` request is held at the standard rates, so that its hold still
 * covers the call if OpenAI runs it in another tier.
 */
export function holdPriceForCall(price: ModelPrice, rates: RateModifiers | undefined): ModelPrice {
  const call = priceForCall(price, rates?.serviceTier === 'flex' ? { ...rates, serviceTier: undefined } : rates);
  // A model that answers in audio (OpenAI's audio models) may take or give audio for any token:
  // held at the higher rates. Others with an audio input rate (Gemini) are held at their text
  // rates, and charged their audio exactly.
  if (call.audioOutput === undefined) return call;
  return { ...call, input: Math.max(call.input, call.audioInput ?? 0), output: Math.max(call.output, call.audioOutput ?? 0) };
}

/**
 * The modifiers a call is charged by: each as its response reports it, else as its request asked
 * for it, except a `flex` the response does not confirm (a request's flex can be dropped on the
 * way: the AI SDK drops it for models it believes lack it). Undefined when they leave the call at
 * its model's standard rates (the engine prices it then).
 */
export function chargedRates(requested: RateModifiers | undefined, reported: RateModifiers | undefined): RateModifiers | undefined {
  const serviceTier = reported?.serviceTier ?? (requested?.serviceTier === 'flex' ? undefined : requested?.serviceTier);
  const speed = reported?.speed ?? requested?.speed;
  const inferenceGeo = reported?.inferenceGeo ?? requested?.inferenceGeo;
  if (serviceTier !== 'priority' && serviceTier !== 'flex' && speed !== 'fast' && inferenceGeo !== 'us') return undefined;
  return { serviceTier, speed, inferenceGeo };
}

/** Every standard rate of `price` (and of its tiers) times `factor`. */
function scaled(price: ModelPrice, factor: number): ModelPrice {
  const times = <T extends Partial<Record<(typeof PRICE_FIELDS)[number], number>>>(rates: T): T => {
    const out = { ...rates };
    for (const field of PRICE_FIELDS) if (out[field] !== undefined) (out as Record<string, number>)[field] = out[field]! * factor;
    return out;
  };
  const { priority: _priority, fastMultiplier: _fast, ...standard } = price;
  return { ...times(standard), ...(price.tiers === undefined ? {} : { tiers: price.tiers.map(times) }) };
}

/** Resolves model names to prices: user overrides over the built-in table, then an optional fallback. */
export interface PriceTable {
  /** The price of `model`, or undefined when neither the table nor the fallback knows it. */
  resolve(model: string): ModelPrice | undefined;
}

/**
 * Builds a price table: `overrides` (the `pricing` option, validated here) merge over the built-in
 * entries (same key: replaced; new key: added), then names resolve by longest prefix over the
 * merged table (an override for `gpt-4o` prices `gpt-4o-2024-08-06` but not `gpt-4o-mini`, which
 * has its own entry). `fallback` prices models nobody knows.
 */
export function createPriceTable(options: { overrides?: PriceOverrides; fallback?: PriceOverride; builtIn?: boolean } = {}): PriceTable {
  const overrides: Record<string, ModelPrice> = {};
  if (options.overrides !== undefined) {
    if (!isPlainObject(options.overrides)) throw new InvalidArgumentError('pricing', options.overrides, 'expected an object of prices by model name');
    for (const [model, price] of Object.entries(options.overrides)) {
      const parsed: ModelPrice = parsePriceOverride(price, `pricing[${JSON.stringify(model)}]`);
      // An override of a model's token rates keeps the table's search fee, which it rarely means to drop.
      const builtInFee = options.builtIn === false ? undefined : lookupModel(model, BUILT_IN_PRICES)?.webSearchPerThousand;
      if (parsed.webSearchPerThousand === undefined && builtInFee !== undefined) parsed.webSearchPerThousand = builtInFee;
      overrides[normalizeModelName(model)] = parsed;
    }
  }
  const fallback = options.fallback === undefined ? undefined : parsePriceOverride(options.fallback, 'fallbackPrice');
  const merged: Record<string, ModelPrice> = { ...(options.builtIn === false ? {} : BUILT_IN_PRICES), ...overrides };
  memoizeLookups(merged);
  return {
    resolve(model) {
      return lookupModel(model, merged) ?? fallback;
    },
  };
}

memoizeLookups(BUILT_IN_PRICES);

/** The built-in table without overrides. */
export function resolvePrice(model: string): ModelPrice | undefined {
  return lookupModel(model, BUILT_IN_PRICES);
}

/** Token counts to price. `cachedInputTokens`, `cacheWriteTokens` and `cacheWrite1hTokens` are parts of `inputTokens`. */
export interface PricedUsage {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens?: number;
  cacheWriteTokens?: number;
  cacheWrite1hTokens?: number;
  /** Audio input tokens (a part of `inputTokens`, not cached), priced at `audioInput`. */
  audioInputTokens?: number;
  /** Audio output tokens (a part of `outputTokens`), priced at `audioOutput`. */
  audioOutputTokens?: number;
  /** Web searches the provider ran for the call, priced at `webSearchPerThousand`. */
  webSearchRequests?: number;
}

function count(value: unknown, parameter: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(parameter, value, 'expected a non-negative integer');
  }
  return value;
}

function tierFor(price: ModelPrice, inputTokens: number): ModelPrice | PriceTier {
  let chosen: ModelPrice | PriceTier = price;
  for (const tier of price.tiers ?? []) if (inputTokens > tier.aboveInputTokens) chosen = tier;
  return chosen;
}

/**
 * Cost in US dollars of a usage at a price. Cached input tokens are a part of `inputTokens` and
 * are priced at `cachedInput`; cache writes at `cacheWrite` (1-hour writes at `cacheWrite1h`); the
 * rest of the input at `input` (its audio tokens at `audioInput`); output at `output` (its audio
 * tokens at `audioOutput`). A tiered price uses the rates of the highest
 * tier whose threshold the whole prompt exceeds, for every token of the request. Web searches are
 * priced at `webSearchPerThousand`, whatever the tier.
 */
export function costOfUsage(usage: PricedUsage, price: ModelPrice): number {
  const input = count(usage.inputTokens, 'usage.inputTokens');
  const output = count(usage.outputTokens, 'usage.outputTokens');
  const cached = count(usage.cachedInputTokens ?? 0, 'usage.cachedInputTokens');
  const writes = count(usage.cacheWriteTokens ?? 0, 'usage.cacheWriteTokens');
  const writes1h = count(usage.cacheWrite1hTokens ?? 0, 'usage.cacheWrite1hTokens');
  if (cached + writes + writes1h > input) {
    throw new InvalidArgumentError('usage.cachedInputTokens', cached, 'cached and cache-write tokens are parts of inputTokens and cannot exceed it');
  }
  for (const field of PRICE_FIELDS) {
    const rate = price[field];
    if (rate !== undefined) parseRate(rate, `price.${field}`);
  }
  if (price.webSearchPerThousand !== undefined) parseRate(price.webSearchPerThousand, 'price.webSearchPerThousand');
  const rates = tierFor(price, input);
  const cacheWrite = rates.cacheWrite ?? rates.input;
  // Audio is a part of the uncached input and of the output (more than those parts is read as all of them).
  const audioIn = Math.min(count(usage.audioInputTokens ?? 0, 'usage.audioInputTokens'), input - cached - writes - writes1h);
  const audioOut = Math.min(count(usage.audioOutputTokens ?? 0, 'usage.audioOutputTokens'), output);
  const micro =
    (input - cached - writes - writes1h - audioIn) * rates.input +
    audioIn * (price.audioInput ?? rates.input) +
    cached * (rates.cachedInput ?? rates.input) +
    writes * cacheWrite +
    writes1h * (rates.cacheWrite1h ?? cacheWrite) +
    (output - audioOut) * rates.output +
    audioOut * (price.audioOutput ?? rates.output) +
    count(usage.webSearchRequests ?? 0, 'usage.webSearchRequests') * (price.webSearchPerThousand ?? 0) * 1000;
  return micro / 1_000_000;
}
