/**
 * `token-limits/ai`: per-user quotas for the Vercel AI SDK (`ai` 6 and 7), as middleware for
 * `wrapLanguageModel` and `wrapEmbeddingModel`. The AI SDK itself is never imported (an optional
 * peer dependency): the middleware are plain objects of hooks.
 */
export {
  tokenLimitsMiddleware,
  tokenLimitsEmbeddingMiddleware,
  type AiCallContext,
  type AiUserOption,
  type TokenLimitsMiddlewareOptions,
  type AiCallParams,
  type AiEmbedParams,
  type AiGenerateResult,
  type AiModel,
  type AiStreamResult,
  type TokenLimitsEmbeddingModelMiddleware,
  type TokenLimitsLanguageModelMiddleware,
} from '../../face/ai-sdk.js';
