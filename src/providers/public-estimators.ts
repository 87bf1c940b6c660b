/**
 * The request estimators as the root entry point exports them. Their parameters are typed by shape
 * (an object with a `model`), not with the SDKs' own types, so the root declarations import no
 * SDK: an app with only `openai` (or only Anthropic, Google, or none) type-checks with
 * `skipLibCheck: false`. Each SDK's parameter objects are assignable to these shapes, and the
 * estimators check every field they read at run time (`InvalidArgumentError` naming it).
 */
import { estimateAnthropicMessage as anthropicMessage } from './anthropic/estimate.js';
import type { EstimateOptions, RequestEstimate } from './estimate-types.js';
import { estimateGenAIRequest as genAIRequest, estimateGenerativeAIRequest as generativeAIRequest } from './google/estimate.js';
import { estimateOpenAIRequest as openAIRequest, type OpenAIEndpoint } from './openai/estimate.js';

/**
 * A provider SDK's request parameters, as the estimators read them: an object naming its model (the
 * estimators are generic over it, so object literals with the SDK's other fields are accepted).
 */
export interface ProviderRequestParams {
  readonly model: string;
}

/**
 * Estimates an OpenAI request before it is sent: `endpoint` is `chat.completions`, `responses`,
 * `completions` or `embeddings`; `params` what the SDK method receives (e.g. a
 * `ChatCompletionCreateParams`). Counted with the model's BPE encoding.
 */
export const estimateOpenAIRequest: <P extends ProviderRequestParams>(endpoint: OpenAIEndpoint, params: P, options?: EstimateOptions) => Promise<RequestEstimate> =
  openAIRequest as never;

/**
 * Estimates an Anthropic `messages.create` request (a `MessageCreateParams`): system prompt,
 * messages, tool definitions; output from its required `max_tokens`.
 */
export const estimateAnthropicMessage: <P extends ProviderRequestParams>(params: P, options?: EstimateOptions) => Promise<RequestEstimate> = anthropicMessage as never;

/**
 * Estimates an `@google/genai` `models.generateContent(Stream)` request
 * (`{ model, contents, config }`, a `GenerateContentParameters`).
 */
export const estimateGenAIRequest: <P extends ProviderRequestParams>(params: P, options?: EstimateOptions) => Promise<RequestEstimate> = genAIRequest as never;

/**
 * Estimates an `@google/generative-ai` `GenerativeModel.generateContent(Stream)` call: `request` is
 * what the method received (a string, parts, or a `GenerateContentRequest`), `modelParams` what
 * `getGenerativeModel()` received (a `ModelParams`).
 */
export const estimateGenerativeAIRequest: <M extends ProviderRequestParams>(
  request: string | object | ReadonlyArray<string | object>,
  modelParams: M,
  options?: EstimateOptions,
) => Promise<RequestEstimate> = generativeAIRequest as never;
