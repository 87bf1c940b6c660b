/** Request estimators, price tables and cost computation of every provider. */
export type { EstimateOptions, InputTokenCounter, RequestEstimate } from './estimate-types.js';
export { DEFAULT_OUTPUT_RESERVATION, refineInputTokens } from './estimate-types.js';
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
export type { ModelPrice, PriceOverride, PriceOverrides, PriceTier } from './pricing/types.js';
export { ANTHROPIC_PRICES, BUILT_IN_PRICES, GOOGLE_PRICES, OPENAI_PRICES } from './pricing/table.js';
export type { PricedUsage, PriceTable } from './pricing/resolve.js';
export { costOfUsage, createPriceTable, lookupModel, normalizeModelName, parsePriceOverride, resolvePrice } from './pricing/resolve.js';
