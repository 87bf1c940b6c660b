import { asObject, MALFORMED, readCount, usageFrom, type UsageReading } from '../shared/usage.js';

/**
 * The output tokens billed: the reported output, raised to what the rest of the usage shows when
 * a provider counts reasoning apart from it. OpenAI counts reasoning inside the output and its
 * total is input + output; OpenAI-compatible providers such as xAI report `reasoning_tokens` on top
 * of `completion_tokens`, and a total of input + output + reasoning. So the output is at least
 * `total - input` (when a valid total is given) and at least output + reasoning when the reasoning
 * alone exceeds the output (no total given).
 */
function billedOutput(input: number | typeof MALFORMED, output: number | typeof MALFORMED, reasoning: number | typeof MALFORMED, total: unknown): number | typeof MALFORMED {
  if (input === MALFORMED || output === MALFORMED || reasoning === MALFORMED) return output;
  let billed = output;
  const counted = readCount(total, false);
  if (counted !== MALFORMED && counted - input > billed) billed = counted - input;
  if (reasoning > billed) billed = output + reasoning;
  return billed;
}

/** `usage` of chat and legacy completions: prompt includes cached, completion includes reasoning. */
export function completionUsage(raw: unknown): UsageReading {
  const u = asObject(raw);
  if (!u) return undefined;
  const inputTokens = readCount(u.prompt_tokens, true);
  const details = asObject(u.completion_tokens_details);
  const promptDetails = asObject(u.prompt_tokens_details);
  const reasoningTokens = readCount(details?.reasoning_tokens, false);
  return usageFrom({
    inputTokens,
    outputTokens: billedOutput(inputTokens, readCount(u.completion_tokens, true), reasoningTokens, u.total_tokens),
    cachedInputTokens: readCount(promptDetails?.cached_tokens, false),
    reasoningTokens,
    // Audio models bill audio tokens at their own, higher rates.
    audioInputTokens: readCount(promptDetails?.audio_tokens, false),
    audioOutputTokens: readCount(details?.audio_tokens, false),
  });
}

/** `usage` of the Responses API. */
export function responseUsage(raw: unknown): UsageReading {
  const u = asObject(raw);
  if (!u) return undefined;
  const inputTokens = readCount(u.input_tokens, true);
  const reasoningTokens = readCount(asObject(u.output_tokens_details)?.reasoning_tokens, false);
  return usageFrom({
    inputTokens,
    outputTokens: billedOutput(inputTokens, readCount(u.output_tokens, true), reasoningTokens, u.total_tokens),
    cachedInputTokens: readCount(asObject(u.input_tokens_details)?.cached_tokens, false),
    reasoningTokens,
  });
}

/** `usage` of embeddings: input only. */
export function embeddingUsage(raw: unknown): UsageReading {
  const u = asObject(raw);
  if (!u) return undefined;
  return usageFrom({ inputTokens: readCount(u.prompt_tokens, true), outputTokens: 0 });
}
