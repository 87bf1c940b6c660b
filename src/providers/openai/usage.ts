import { asObject, readCount, usageFrom, type UsageReading } from '../shared/usage.js';

/** `usage` of chat and legacy completions: prompt includes cached, completion includes reasoning. */
export function completionUsage(raw: unknown): UsageReading {
  const u = asObject(raw);
  if (!u) return undefined;
  return usageFrom({
    inputTokens: readCount(u.prompt_tokens, true),
    outputTokens: readCount(u.completion_tokens, true),
    cachedInputTokens: readCount(asObject(u.prompt_tokens_details)?.cached_tokens, false),
    reasoningTokens: readCount(asObject(u.completion_tokens_details)?.reasoning_tokens, false),
  });
}

/** `usage` of the Responses API. */
export function responseUsage(raw: unknown): UsageReading {
  const u = asObject(raw);
  if (!u) return undefined;
  return usageFrom({
    inputTokens: readCount(u.input_tokens, true),
    outputTokens: readCount(u.output_tokens, true),
    cachedInputTokens: readCount(asObject(u.input_tokens_details)?.cached_tokens, false),
    reasoningTokens: readCount(asObject(u.output_tokens_details)?.reasoning_tokens, false),
  });
}

/** `usage` of embeddings: input only. */
export function embeddingUsage(raw: unknown): UsageReading {
  const u = asObject(raw);
  if (!u) return undefined;
  return usageFrom({ inputTokens: readCount(u.prompt_tokens, true), outputTokens: 0 });
}
