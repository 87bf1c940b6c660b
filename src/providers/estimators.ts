/** Request estimators, price and limit tables, output-maximum setters and cost computation of every provider. */
export type { EstimateOptions, InputTokenCounter, RequestEstimate } from './estimate-types.js';
export { DEFAULT_OUTPUT_RESERVATION, modelLimits, refineInputTokens, resolveOutputReservation } from './estimate-types.js';
export type { OpenAIEndpoint, OpenAIRequestParams } from './openai/estimate.js';
export {
  estimateOpenAIChatCompletion,
  estimateOpenAICompletion,
  estimateOpenAIEmbedding,
  estimateOpenAIRequest,
  estimateOpenAIResponse,
} from './openai/estimate.js';
export { openAIImageTokens } from './openai/images.js';
export { claudeModelFactor, estimateAnthropicMessage } from './anthropic/estimate.js';
export { estimateGeminiEmbedding, estimateGenAIRequest, estimateGenerativeAIRequest } from './google/estimate.js';
export type { OutputMaximumSet } from './output-maximum.js';
export {
  setAnthropicMaximum,
  setChatCompletionMaximum,
  setCompletionMaximum,
  setGenAIMaximum,
  setGenerativeAIMaximum,
  setResponseMaximum,
} from './output-maximum.js';
export type { ModelPrice, PriceOverride, PriceOverrides, PriceTier } from './pricing/types.js';
export { ANTHROPIC_PRICES, BUILT_IN_PRICES, GOOGLE_PRICES, OPENAI_PRICES } from './pricing/table.js';
export type { ModelLimits } from './pricing/model-limits.js';
export { ANTHROPIC_LIMITS, BUILT_IN_LIMITS, GOOGLE_LIMITS, OPENAI_LIMITS, UNKNOWN_MODEL_LIMITS } from './pricing/model-limits.js';
export type { MaxOutputOverrides, ResolvedLimits } from './pricing/limits.js';
export { parseMaxOutputOverrides, resolveModelLimits } from './pricing/limits.js';
export type { PricedUsage, PriceTable } from './pricing/resolve.js';
export { costOfUsage, createPriceTable, lookupModel, normalizeModelName, parsePriceOverride, resolvePrice } from './pricing/resolve.js';
