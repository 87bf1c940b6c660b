/**
 * Built-in model limits: the documented maximum output tokens (what a request without its own
 * maximum may generate and be billed for, reasoning included) and context window of each model,
 * and whether it reasons by default. Names resolve like prices: exact key, else the longest key
 * that prefixes the name at a `-`, `@` or `:` boundary (`lookupModel`).
 *
 * Sources and dates:
 * - OpenAI: the model pages of platform.openai.com/docs/models as known to us in 2025 (context
 *   window and max output tokens per model). Reasoning tokens are part of the output maximum.
 * - Anthropic: docs.anthropic.com "Models overview" comparison table (max output, context window)
 *   as known to us in 2025. Extended thinking is opt-in per request and its budget is a part of
 *   `max_tokens` (which the Messages API requires), so a Claude model is flagged as reasoning only
 *   where it thinks without being asked: Fable 5.x, Mythos 5.x and Mythos Preview take adaptive
 *   thinking only (a request without `thinking` thinks; `disabled` is refused: docs.aws.amazon.com
 *   Bedrock "Adaptive thinking", 2026), and stream their thinking omitted by default.
 *   Models after Claude 4.5 (Opus 4.6-5.5, Sonnet 5.x, Haiku 5.5, Fable, Mythos) are UNVERIFIED:
 *   they get 128,000 output tokens and a 1,000,000-token window, the largest of their family.
 * - Google: ai.google.dev/gemini-api/docs/models ("Output token limit", "Input token limit") as
 *   known to us in 2025. Gemini 2.5 Pro and Flash think by default and their thinking tokens are
 *   billed as output; Gemini 3 Pro preview is UNVERIFIED.
 * Users override any output maximum with the `maxOutputTokens` option.
 */

/** Limits of one model. */
export interface ModelLimits {
  /** Documented maximum output tokens of one completion (reasoning or thinking included). */
  maxOutput: number;
  /** Documented context window, in tokens (input, plus output where the provider counts it in). */
  contextWindow: number;
  /** True when the model spends hidden reasoning tokens by default (billed as output). */
  reasoning?: boolean;
}

const limits = (maxOutput: number, contextWindow: number, reasoning = false): ModelLimits =>
  reasoning ? { maxOutput, contextWindow, reasoning } : { maxOutput, contextWindow };

/** OpenAI models. */
export const OPENAI_LIMITS: Readonly<Record<string, ModelLimits>> = {
  'gpt-5': limits(128_000, 400_000, true),
  'gpt-5-mini': limits(128_000, 400_000, true),
  'gpt-5-nano': limits(128_000, 400_000, true),
  'gpt-5-codex': limits(128_000, 400_000, true),
  'gpt-5-pro': limits(272_000, 400_000, true),
  'gpt-5-chat-latest': limits(16_384, 128_000),
  'gpt-4.1': limits(32_768, 1_047_576),
  'gpt-4.5-preview': limits(16_384, 128_000),
  'gpt-4o': limits(16_384, 128_000),
  'gpt-4o-2024-05-13': limits(4_096, 128_000),
  'gpt-4o-mini': limits(16_384, 128_000),
  'gpt-audio': limits(16_384, 128_000),
  'gpt-audio-mini': limits(16_384, 128_000),
  'chatgpt-4o-latest': limits(16_384, 128_000),
  o1: limits(100_000, 200_000, true),
  'o1-preview': limits(32_768, 128_000, true),
  'o1-mini': limits(65_536, 128_000, true),
  'o1-pro': limits(100_000, 200_000, true),
  o3: limits(100_000, 200_000, true),
  'o3-mini': limits(100_000, 200_000, true),
  'o3-pro': limits(100_000, 200_000, true),
  'o3-deep-research': limits(100_000, 200_000, true),
  'o4-mini': limits(100_000, 200_000, true),
  'o4-mini-deep-research': limits(100_000, 200_000, true),
  'gpt-oss-120b': limits(131_072, 131_072, true),
  'gpt-oss-20b': limits(131_072, 131_072, true),
  'gpt-4-turbo': limits(4_096, 128_000),
  'gpt-4': limits(8_192, 8_192),
  'gpt-4-32k': limits(32_768, 32_768),
  'gpt-3.5-turbo': limits(4_096, 16_385),
  'gpt-3.5-turbo-instruct': limits(4_096, 4_096),
  'davinci-002': limits(16_384, 16_384),
  'babbage-002': limits(16_384, 16_384),
  'text-embedding-3-small': limits(0, 8_192),
  'text-embedding-3-large': limits(0, 8_192),
  'text-embedding-ada-002': limits(0, 8_192),
};

/** Anthropic models. */
export const ANTHROPIC_LIMITS: Readonly<Record<string, ModelLimits>> = {
  'claude-fable-5': limits(128_000, 1_000_000, true),
  'claude-mythos-5': limits(128_000, 1_000_000, true),
  'claude-mythos-preview': limits(128_000, 1_000_000, true),
  'claude-opus-5': limits(128_000, 1_000_000),
  'claude-opus-4-8': limits(128_000, 1_000_000),
  'claude-opus-4-7': limits(128_000, 1_000_000),
  'claude-opus-4-6': limits(128_000, 1_000_000),
  'claude-opus-4-5': limits(64_000, 200_000),
  'claude-opus-4-1': limits(32_000, 200_000),
  'claude-opus-4-0': limits(32_000, 200_000),
  'claude-opus-4': limits(32_000, 200_000),
  'claude-sonnet-5': limits(128_000, 1_000_000),
  // 1M-token context with the long-context beta.
  'claude-sonnet-4-5': limits(64_000, 1_000_000),
  'claude-sonnet-4-0': limits(64_000, 1_000_000),
  'claude-sonnet-4': limits(64_000, 1_000_000),
  // 128k output with the output-128k beta header.
  'claude-3-7-sonnet': limits(128_000, 200_000),
  'claude-3-5-sonnet': limits(8_192, 200_000),
  'claude-haiku-5-5': limits(128_000, 1_000_000),
  'claude-haiku-4-5': limits(64_000, 200_000),
  'claude-3-5-haiku': limits(8_192, 200_000),
  'claude-3-haiku': limits(4_096, 200_000),
  'claude-3-opus': limits(4_096, 200_000),
};

/** Google Gemini models. */
export const GOOGLE_LIMITS: Readonly<Record<string, ModelLimits>> = {
  'gemini-3-pro-preview': limits(65_536, 1_048_576, true),
  'gemini-2.5-pro': limits(65_536, 1_048_576, true),
  'gemini-2.5-flash': limits(65_536, 1_048_576, true),
  // Thinking is off by default on Flash-Lite.
  'gemini-2.5-flash-lite': limits(65_536, 1_048_576),
  'gemini-2.0-flash': limits(8_192, 1_048_576),
  'gemini-2.0-flash-lite': limits(8_192, 1_048_576),
  'gemini-1.5-pro': limits(8_192, 2_097_152),
  'gemini-1.5-flash': limits(8_192, 1_048_576),
  'gemini-embedding-001': limits(0, 2_048),
  'text-embedding-004': limits(0, 2_048),
};

/** Every built-in limit. */
export const BUILT_IN_LIMITS: Readonly<Record<string, ModelLimits>> = { ...OPENAI_LIMITS, ...ANTHROPIC_LIMITS, ...GOOGLE_LIMITS };

/**
 * Limits assumed for a model the table does not know, per provider: the output maximum of the
 * provider's current generation (gpt-5, Claude 5, Gemini 2.5; OpenAI's larger gpt-5-pro is listed
 * by name) and the largest context window, flagged as reasoning.
 */
export const UNKNOWN_MODEL_LIMITS: Readonly<Record<'openai' | 'anthropic' | 'google' | 'unknown', ModelLimits>> = {
  openai: limits(128_000, 1_047_576, true),
  anthropic: limits(128_000, 1_000_000, true),
  google: limits(65_536, 2_097_152, true),
  // A provider of no known family (through the AI SDK): the largest of the three.
  unknown: limits(128_000, 2_097_152, true),
};
