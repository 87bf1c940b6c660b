export {
  TokenLimitsError,
  TokenLimitExceededError,
  UserDisabledError,
  MissingUserError,
  QuotaStoreError,
  InvalidArgumentError,
  TokenizerUnavailableError,
  isTokenLimitsError,
  type TokenLimitsErrorCode,
} from './core/errors.js';
export type * from './core/types.js';
export { createTokenLimiter, type TokenLimiter } from './core/limiter.js';
export type { TokenLimiterOptions } from './core/options.js';
export type { AdminApi, DateInput } from './core/admin.js';
export type { ModelPrice, PriceOverride, PricingOptions } from './core/pricing.js';
export { runWithUser, currentUserId, currentLimiter, type RunWithUserOptions } from './core/context.js';
export { withTokenLimits, configureTokenLimits } from './providers/wrap.js';
export type { WrapOptions } from './providers/shared/binding.js';
export { MemoryStore, type MemoryStoreOptions } from './stores/memory/memory-store.js';
export type * from './stores/types.js';
export { RedisStore, type RedisStoreOptions } from './stores/redis/redis-store.js';
export type { RedisLikeClient } from './stores/redis/scripts.js';
// Tokenizers and request estimators, for apps that estimate themselves (the wrappers use them).
export type { EncodingName, Tokenizer } from './tokenizer/types.js';
export { encodingForModel } from './tokenizer/encodings.js';
export { gptTokenizer } from './tokenizer/gpt-tokenizer.js';
export { jsTiktokenTokenizer } from './tokenizer/js-tiktoken.js';
export { countText, type CountOptions, type TextCount } from './tokenizer/count.js';
export type { EstimateOptions, RequestEstimate } from './providers/estimate-types.js';
export { estimateOpenAIRequest, type OpenAIEndpoint } from './providers/openai/estimate.js';
export { estimateAnthropicMessage } from './providers/anthropic/estimate.js';
export { estimateGenAIRequest, estimateGenerativeAIRequest } from './providers/google/estimate.js';
export { costOfUsage, resolvePrice, type PricedUsage } from './providers/pricing/resolve.js';
