/**
 * What an AI SDK model call returned, read for its usage record: the normalized usage, the text
 * generated (for an estimate when usage is unknown), the rates the result reports, and the usage
 * of a provider's raw answer body.
 */
import { outputTokensOf as claudeTextTokens } from '../anthropic/endpoints.js';
import { anthropicRates, messageUsage } from '../anthropic/usage.js';
import { geminiTextTokens, geminiUsage } from '../google/usage.js';
import { outputTokensOf as openAITextTokens } from '../openai/endpoints.js';
import { completionUsage, embeddingUsage, responseUsage } from '../openai/usage.js';
import type { RateModifiers } from '../pricing/types.js';
import type { CallOutcome } from '../shared/tracked-call.js';
import { asObject, MALFORMED, readCount, usageFrom, type UsageReading } from '../shared/usage.js';
import { utf8ByteLength } from '../../tokenizer/safe-cuts.js';
import { openaiTier, type Family } from './plan.js';

/**
 * A call's usage as the AI SDK reports it (see {@link aiUsage}), with, for an Anthropic model, what
 * the normalized usage leaves out and Anthropic bills apart: the part of its cache writes made for
 * an hour (twice the input rate; the normalized usage counts writes as one) and the searches of its
 * web search tool (per search). Both are read from Anthropic's own usage, which the AI SDK passes
 * on as `raw`.
 */
export function familyUsage(family: Family, usage: unknown): UsageReading {
  const reading = aiUsage(usage);
  if (family !== 'anthropic' || reading === undefined || reading === MALFORMED) return reading;
  const raw = asObject(asObject(usage)?.['raw']);
  if (raw === undefined) return reading;
  const hour = readCount(asObject(raw['cache_creation'])?.['ephemeral_1h_input_tokens'], false);
  const searches = readCount(asObject(raw['server_tool_use'])?.['web_search_requests'], false);
  const out = { ...reading };
  if (hour !== MALFORMED && hour > 0 && hour <= (reading.cacheWriteTokens ?? 0)) out.cacheWrite1hTokens = hour;
  if (searches !== MALFORMED && searches > 0) out.webSearchRequests = searches;
  return out;
}

/**
 * The AI SDK's normalized usage: v3/v4 `{ inputTokens: { total, cacheRead, cacheWrite },
 * outputTokens: { total, reasoning } }` (input total includes cache reads and writes, output total
 * includes reasoning, as the engine counts them), or the flat v2 form. Missing totals read as
 * malformed: the call is then charged an estimate.
 */
export function aiUsage(usage: unknown): UsageReading {
  const u = asObject(usage);
  if (u === undefined) return undefined;
  const input = asObject(u['inputTokens']);
  if (input !== undefined) {
    const output = asObject(u['outputTokens']) ?? {};
    return usageFrom({
      inputTokens: readCount(input['total'], true),
      outputTokens: readCount(output['total'], true),
      cachedInputTokens: readCount(input['cacheRead'], false),
      cacheWriteTokens: readCount(input['cacheWrite'], false),
      reasoningTokens: readCount(output['reasoning'], false),
    });
  }
  return usageFrom({
    inputTokens: readCount(u['inputTokens'], true),
    outputTokens: readCount(u['outputTokens'], true),
    cachedInputTokens: readCount(u['cachedInputTokens'], false),
    reasoningTokens: readCount(u['reasoningTokens'], false),
  });
}

/** Estimated output tokens of text received, with the family's counter (an estimate when usage is unknown). */
export function textTokens(family: Family, text: string, model: string): number {
  if (text.length === 0) return 0;
  switch (family) {
    case 'openai':
      return openAITextTokens(text, model);
    case 'anthropic':
      return claudeTextTokens(text, model);
    case 'google':
      return geminiTextTokens(text);
    default:
      return utf8ByteLength(text);
  }
}

/** The generated text of a result's content: text, reasoning and tool-call arguments. */
export function contentText(content: unknown): string {
  if (!Array.isArray(content)) return '';
  const out: string[] = [];
  for (const raw of content) {
    const part = asObject(raw);
    if (typeof part?.['text'] === 'string') out.push(part['text']);
    else if (part?.['type'] === 'tool-call') out.push(typeof part['input'] === 'string' ? part['input'] : JSON.stringify(part['input'] ?? {}));
  }
  return out.join('');
}

/** The text a stream part adds (`text-delta`, `reasoning-delta`, `tool-input-delta`; v2's `textDelta` too). */
export function partText(part: Record<string, unknown>): string | undefined {
  if (typeof part['delta'] === 'string') return part['delta'];
  if (typeof part['textDelta'] === 'string') return part['textDelta'];
  return undefined;
}

export function outcomeOf(model: string | undefined, requestId: string | undefined, status?: CallOutcome['status'], rates?: RateModifiers): CallOutcome {
  const outcome: CallOutcome = {};
  if (model) outcome.model = model;
  if (requestId) outcome.requestId = requestId;
  if (status) outcome.status = status;
  if (rates) outcome.rates = rates;
  return outcome;
}

/**
 * What the result reports about its rates: the service tier `@ai-sdk/openai` puts in its provider
 * metadata (its Responses model does; its chat model does not, and the request's tier counts then),
 * and the `speed` and `inference_geo` of Anthropic's own usage, which `@ai-sdk/anthropic` passes on
 * as the usage's `raw` object (AI SDK 6 and later).
 */
export function reportedRates(family: Family, metadata: unknown, usage: unknown): RateModifiers | undefined {
  if (family === 'openai') return openaiTier(asObject(asObject(metadata)?.['openai']));
  if (family === 'anthropic') return anthropicRates(asObject(usage)?.['raw']);
  return undefined;
}

/**
 * The usage a provider's answer body reports, in the family's shape (OpenAI's chat, Responses or
 * embeddings shape for unknown providers too: most are OpenAI-compatible).
 */
export function bodyUsage(family: Family, body: Record<string, unknown> | undefined): UsageReading {
  if (family === 'anthropic') return messageUsage(body?.['usage']);
  if (family === 'google') return geminiUsage(body?.['usageMetadata']);
  const usage = asObject(body?.['usage']);
  if (usage === undefined) return undefined;
  if ('input_tokens' in usage) return responseUsage(usage);
  return 'completion_tokens' in usage ? completionUsage(usage) : embeddingUsage(usage);
}
