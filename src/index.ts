/**
 * The public face: `createTokenLimiter`, `withTokenLimits`, the stores, errors and types. It wires
 * the layers together (kernel -> store protocol -> engine and stores -> providers -> here).
 */
export {
  TokenLimitsError,
  TokenLimitExceededError,
  UserDisabledError,
  MissingUserError,
  QuotaStoreError,
  StoreFullError,
  PlanInUseError,
  InvalidArgumentError,
  TokenizerUnavailableError,
  isTokenLimitsError,
  type QuotaScope,
  type TokenLimitsErrorCode,
} from './kernel/errors.js';
export type * from './kernel/types.js';
export { DEFAULTS } from './kernel/defaults.js';
export { createTokenLimiter, type TokenLimiter } from './face/limiter.js';
export type { TokenLimiterOptions } from './face/options.js';
export type { ReserveOptions } from './engine/estimate.js';
export type { AdminApi, DateInput } from './engine/admin.js';
export type { ModelPrice, PriceOverride, PricingOptions } from './face/pricing-options.js';
export { runWithUser, currentUserId, currentLimiter, type RunWithUserOptions } from './face/context.js';
export { withTokenLimits, configureTokenLimits } from './face/with-token-limits.js';
export type { WrapOptions } from './providers/shared/binding.js';
export type { CallSettings, LimiterPort } from './providers/shared/port.js';
export { MemoryStore, type MemoryStoreOptions } from './stores/memory/memory-store.js';
export type * from './stores/protocol/types.js';
export { RedisStore, type RedisStoreOptions } from './stores/redis/redis-store.js';
export type { RedisLikeClient } from './stores/redis/scripts.js';
// Tokenizers and request estimators, for apps that estimate themselves (the wrappers use them).
export type { EncodingName, Tokenizer } from './tokenizer/types.js';
export { encodingForModel } from './tokenizer/encodings.js';
export { gptTokenizer, type GptTokenizerOptions } from './tokenizer/gpt-tokenizer.js';
export { jsTiktokenTokenizer } from './tokenizer/js-tiktoken.js';
export { countText, countTextAsync, type CountOptions, type TextCount } from './tokenizer/count.js';
export type { EstimateOptions, RequestEstimate } from './providers/estimate-types.js';
export type { OpenAIEndpoint } from './providers/openai/estimate.js';
// Typed by shape, so that these declarations import no SDK (each app has only the SDKs it uses).
export {
  estimateOpenAIRequest,
  estimateAnthropicMessage,
  estimateGenAIRequest,
  estimateGenerativeAIRequest,
  type ProviderRequestParams,
} from './providers/public-estimators.js';
export { costOfUsage, resolvePrice, type PricedUsage } from './providers/pricing/resolve.js';
