/** What a provider reported, normalised: input includes cached and cache-written tokens; output includes reasoning. */
export interface ProviderUsage {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens?: number;
  cacheWriteTokens?: number;
  /** The part of `cacheWriteTokens` written for an hour (Anthropic), priced higher than 5-minute writes. */
  cacheWrite1hTokens?: number;
  reasoningTokens?: number;
  /** Audio tokens of the input and of the output (OpenAI audio models), priced at their own rates. */
  audioInputTokens?: number;
  audioOutputTokens?: number;
  /** Web searches the provider ran for the call (Anthropic's `web_search` tool), billed per search. */
  webSearchRequests?: number;
}

/** Marks a usage object the provider sent but that is malformed (negative, NaN, strings, ...). */
export const MALFORMED = Symbol('malformed usage');
export type UsageReading = ProviderUsage | typeof MALFORMED | undefined;

/** A token count from a provider body: a non-negative safe integer, absent (0), or malformed. */
export function readCount(value: unknown, required: boolean): number | typeof MALFORMED {
  if (value === undefined || value === null) return required ? MALFORMED : 0;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) return MALFORMED;
  return value;
}

/** Builds a usage from counts, any of which may be malformed. */
export function usageFrom(fields: {
  inputTokens: number | typeof MALFORMED;
  outputTokens: number | typeof MALFORMED;
  cachedInputTokens?: number | typeof MALFORMED;
  cacheWriteTokens?: number | typeof MALFORMED;
  cacheWrite1hTokens?: number | typeof MALFORMED;
  reasoningTokens?: number | typeof MALFORMED;
  audioInputTokens?: number | typeof MALFORMED;
  audioOutputTokens?: number | typeof MALFORMED;
  webSearchRequests?: number | typeof MALFORMED;
}): UsageReading {
  const values = Object.values(fields);
  if (values.some((v) => v === MALFORMED)) return MALFORMED;
  const u = fields as { [K in keyof typeof fields]: number };
  if (u.cachedInputTokens !== undefined && u.cachedInputTokens > u.inputTokens) return MALFORMED;
  if (u.reasoningTokens !== undefined && u.reasoningTokens > u.outputTokens) return MALFORMED;
  if (u.cacheWrite1hTokens !== undefined && u.cacheWrite1hTokens > (u.cacheWriteTokens ?? 0)) return MALFORMED;
  if (u.audioInputTokens !== undefined && u.audioInputTokens > u.inputTokens) return MALFORMED;
  if (u.audioOutputTokens !== undefined && u.audioOutputTokens > u.outputTokens) return MALFORMED;
  if (!Number.isSafeInteger(u.inputTokens + u.outputTokens)) return MALFORMED;
  return u;
}

export function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
