import type { RateModifiers } from '../pricing/types.js';
import { asObject, MALFORMED, readCount, usageFrom, type UsageReading } from '../shared/usage.js';

/**
 * Anthropic's `usage`: `input_tokens` excludes cached tokens, so the input billed is
 * `input_tokens + cache_creation_input_tokens + cache_read_input_tokens`; output includes thinking.
 * `cache_creation.ephemeral_1h_input_tokens` is the part of the cache writes made for an hour,
 * billed at twice the input rate (5-minute writes at 1.25 times). `server_tool_use.web_search_requests`
 * counts the searches of the web search tool, billed per search (web fetches are not). The
 * `compaction` entries of `iterations` (server-side compaction) and its `advisor_message` entries
 * (the advisor tool's consultations of another model) are sampling steps that the top-level
 * fields leave out: their tokens are added (its `message` entries are the steps the top-level
 * fields already sum). An advisor's tokens are priced at the request's model's rates.
 */
export function messageUsage(raw: unknown): UsageReading {
  const u = asObject(raw);
  if (!u) return undefined;
  const top = tokensOf(u, true);
  if (top === MALFORMED) return MALFORMED;
  const steps = uncountedSteps(u.iterations);
  if (steps === MALFORMED) return MALFORMED;
  const all = steps === undefined ? top : sum(top, steps);
  return usageFrom({
    inputTokens: all.inputTokens,
    outputTokens: all.outputTokens,
    cachedInputTokens: all.cachedInputTokens,
    cacheWriteTokens: all.cacheWriteTokens,
    cacheWrite1hTokens: all.cacheWrite1hTokens,
    reasoningTokens: readCount(asObject(u.output_tokens_details)?.thinking_tokens, false),
    webSearchRequests: readCount(asObject(u.server_tool_use)?.web_search_requests, false),
  });
}

interface Tokens {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  cacheWrite1hTokens: number;
}

/** The token counts of a usage object (the top level, or one entry of `iterations`). */
function tokensOf(u: Record<string, unknown>, required: boolean): Tokens | typeof MALFORMED {
  const plain = readCount(u.input_tokens, required);
  const written = readCount(u.cache_creation_input_tokens, false);
  const read = readCount(u.cache_read_input_tokens, false);
  const output = readCount(u.output_tokens, required);
  const hour = readCount(asObject(u.cache_creation)?.ephemeral_1h_input_tokens, false);
  if (plain === MALFORMED || written === MALFORMED || read === MALFORMED || output === MALFORMED || hour === MALFORMED) return MALFORMED;
  return { inputTokens: plain + written + read, outputTokens: output, cachedInputTokens: read, cacheWriteTokens: written, cacheWrite1hTokens: hour };
}

/** The summed tokens of the entries of `iterations` that the top-level fields leave out; undefined without one. */
function uncountedSteps(iterations: unknown): Tokens | typeof MALFORMED | undefined {
  if (iterations === undefined || iterations === null) return undefined;
  if (!Array.isArray(iterations)) return MALFORMED;
  let total: Tokens | undefined;
  for (const entry of iterations) {
    const e = asObject(entry);
    if (e?.type !== 'compaction' && e?.type !== 'advisor_message') continue;
    const step = tokensOf(e, true);
    if (step === MALFORMED) return MALFORMED;
    total = total === undefined ? step : sum(total, step);
  }
  return total;
}

function sum(a: Tokens, b: Tokens): Tokens {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
    cacheWrite1hTokens: a.cacheWrite1hTokens + b.cacheWrite1hTokens,
  };
}

/**
 * Stream usage: `message_start` carries the input side; each `message_delta` carries cumulative
 * totals that replace (never add to) what came before, for the fields it has. Cumulative counts
 * never go down, so a count lower than the one before is a placeholder and the higher one is kept:
 * Anthropic-compatible servers of other vendors write the input fields of `message_delta` as 0
 * (they report only output there), and some report the input only in `message_delta` (0 in
 * `message_start`). A value that is not a count replaces what came before (it reads as malformed).
 */
export function mergeStreamUsage(current: Record<string, unknown> | undefined, delta: unknown): Record<string, unknown> | undefined {
  const d = asObject(delta);
  if (!d) return current;
  const merged: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(d)) {
    if (value === null || value === undefined) continue;
    const before = merged[key];
    if (isCount(value) && isCount(before)) merged[key] = Math.max(before, value);
    else if (asObject(value) && asObject(before)) merged[key] = mergeStreamUsage(asObject(before), value);
    else merged[key] = value;
  }
  return merged;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * What besides the model prices an Anthropic call, from a request's params or a response's `usage`
 * (the same names in both): `speed` (fast mode) and `inference_geo` (`us`: inference kept in the
 * US). Its `service_tier` (Priority Tier capacity) is not one: Anthropic bills it at the standard
 * rates against a commitment.
 */
export function anthropicRates(fields: unknown): RateModifiers | undefined {
  const f = asObject(fields);
  if (!f) return undefined;
  const speed = typeof f.speed === 'string' ? f.speed : undefined;
  const inferenceGeo = typeof f.inference_geo === 'string' ? f.inference_geo : undefined;
  return speed === undefined && inferenceGeo === undefined ? undefined : { speed, inferenceGeo };
}
