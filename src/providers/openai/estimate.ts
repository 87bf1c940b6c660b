/**
 * Input-token estimates and output reservations for OpenAI requests, as pure functions of the
 * request parameters (one file, over 300 lines: one estimator per OpenAI endpoint, sharing the
 * message, part and hidden-input walkers). Chat messages follow the cookbook "How to count tokens with tiktoken":
 * 3 tokens per message, the tokens of every string field (role, content, name), 1 more per `name`,
 * and 3 to prime the reply; tool definitions follow its tool formula (see `tools.ts`). Parts the
 * cookbook does not cover are documented where they are counted. Text is counted exactly in time
 * slices (an upper bound where bounded by bytes); input the request does not show (stored state,
 * files by id, PDFs) is bounded by the model's context window; the output hold without a request
 * maximum is the model's documented maximum output.
 */
import type { ChatCompletionCreateParams } from 'openai/resources/chat/completions';
import type { CompletionCreateParams } from 'openai/resources/completions';
import type { EmbeddingCreateParams } from 'openai/resources/embeddings';
import type { ResponseCreateParams } from 'openai/resources/responses/responses';
import { InvalidArgumentError } from '../../kernel/errors.js';
import { countTextsAsync } from '../../tokenizer/count.js';
import { encodingForModel } from '../../tokenizer/encodings.js';
import {
  asRecord,
  makeEstimate,
  modelLimits,
  optionalCount,
  optionalMultiplier,
  requireParams,
  resolveOutputReservation,
  TokenTally,
  withHiddenInput,
  type EstimateOptions,
  type RequestEstimate,
} from '../estimate-types.js';
import { audioTokens, decodedBase64Bytes, tallyInlineFile } from '../hidden-input.js';
import type { ResolvedLimits } from '../pricing/limits.js';
import { dataUrlImageSize, openAIImageTokens } from './images.js';
import { tallyTools } from './tools.js';

/** Cookbook chat-format constants. */
export const CHAT_TOKENS = { perMessage: 3, perName: 1, replyPriming: 3 } as const;
/** Tokens around each tool call in an assistant message (name and arguments are counted too); approximate. */
export const TOOL_CALL_OVERHEAD = 3;
/** Legacy completions API default for `max_tokens`. */
export const COMPLETIONS_DEFAULT_MAX_TOKENS = 16;

/** The OpenAI endpoints with an estimator. */
export type OpenAIEndpoint = 'chat.completions' | 'responses' | 'completions' | 'embeddings';

function tallyImage(model: string, image: Record<string, unknown> | undefined, detail: unknown, tally: TokenTally): void {
  const url = typeof image?.['url'] === 'string' ? image['url'] : typeof image?.['image_url'] === 'string' ? image['image_url'] : undefined;
  const size = url === undefined ? undefined : dataUrlImageSize(url);
  tally.add(openAIImageTokens(model, typeof detail === 'string' ? detail : undefined, size?.width, size?.height));
}

/** Audio: 10 tokens per second of the longest duration the payload size allows. */
function tallyAudio(audio: Record<string, unknown> | undefined, tally: TokenTally): void {
  const data = typeof audio?.['data'] === 'string' ? audio['data'] : '';
  tally.add(audioTokens(data, typeof audio?.['format'] === 'string' ? audio['format'] : undefined));
}

/**
 * A file part: Chat Completions `{ type: 'file', file: { file_data | file_id, filename } }`,
 * Responses `{ type: 'input_file', file_data | file_id | file_url, filename }`. Inline text files
 * count by their bytes; anything else is hidden input.
 */
function tallyFile(file: Record<string, unknown> | undefined, tally: TokenTally): void {
  const data = file?.['file_data'];
  const filename = typeof file?.['filename'] === 'string' ? file['filename'] : undefined;
  if (typeof data === 'string' && data.length > 0) tallyInlineFile(data, undefined, filename, tally);
  else tally.hide('a file by id or URL');
  tally.text(filename);
}

/** Content as a string or an array of parts (Chat Completions and Responses part types). */
function tallyContent(model: string, content: unknown, tally: TokenTally): void {
  if (typeof content === 'string') {
    tally.text(content);
    return;
  }
  if (!Array.isArray(content)) return;
  for (const raw of content) {
    if (typeof raw === 'string') {
      tally.text(raw);
      continue;
    }
    const part = asRecord(raw);
    if (part === undefined) continue;
    switch (part['type']) {
      case 'text':
      case 'input_text':
      case 'output_text':
        tally.text(part['text']);
        break;
      case 'refusal':
        tally.text(part['refusal']);
        break;
      case 'image_url': {
        const image = asRecord(part['image_url']);
        tallyImage(model, image, image?.['detail'], tally);
        break;
      }
      case 'input_image':
        tallyImage(model, part, part['detail'], tally);
        break;
      case 'input_audio':
        tallyAudio(asRecord(part['input_audio']) ?? part, tally);
        break;
      case 'file':
        tallyFile(asRecord(part['file']), tally);
        break;
      case 'input_file':
        tallyFile(part, tally);
        break;
      default:
        tally.text(JSON.stringify(part)); // unknown part type: its JSON, approximately
    }
  }
}

function tallyToolCalls(toolCalls: unknown, tally: TokenTally): void {
  if (!Array.isArray(toolCalls)) return;
  for (const raw of toolCalls) {
    const call = asRecord(raw);
    const fn = asRecord(call?.['function']) ?? asRecord(call?.['custom']);
    if (fn === undefined) continue;
    tally.add(TOOL_CALL_OVERHEAD);
    tally.text(fn['name']);
    tally.text(fn['arguments']);
    tally.text(fn['input']);
  }
}

/** One chat message: the cookbook rule plus tool calls, parts and refusals. */
function tallyChatMessage(model: string, raw: unknown, index: number, tally: TokenTally): void {
  const message = asRecord(raw);
  if (message === undefined) throw new InvalidArgumentError(`params.messages[${index}]`, raw, 'expected a message object');
  tally.add(CHAT_TOKENS.perMessage);
  tally.text(message['role']);
  tallyContent(model, message['content'], tally);
  if (typeof message['name'] === 'string') {
    tally.text(message['name']);
    tally.add(CHAT_TOKENS.perName);
  }
  tally.text(message['refusal']);
  // An assistant turn given as `audio: { id }`: the model's earlier audio answer, billed as input audio.
  if (asRecord(message['audio'])?.['id'] !== undefined) tally.hide('an earlier audio response by id');
  tallyToolCalls(message['tool_calls'], tally);
  const functionCall = asRecord(message['function_call']);
  if (functionCall !== undefined) {
    tally.add(TOOL_CALL_OVERHEAD);
    tally.text(functionCall['name']);
    tally.text(functionCall['arguments']);
  }
}

/** A JSON schema response format adds its schema to the prompt (approximately its JSON's tokens). */
function tallyResponseFormat(format: unknown, tally: TokenTally): void {
  const record = asRecord(format);
  if (record === undefined) return;
  const schema = asRecord(record['json_schema'])?.['schema'] ?? (record['type'] === 'json_schema' ? record['schema'] : undefined);
  if (schema !== undefined) tally.text(JSON.stringify(schema));
}

/** The output of a request: its own maximum (times `multiplier`), else the model's hold. */
function outputHold(max: number | undefined, multiplier: number, limits: ResolvedLimits, options: EstimateOptions | undefined): { outputTokens: number; outputFromRequest: boolean } {
  return { outputTokens: (max ?? resolveOutputReservation(options, limits)) * multiplier, outputFromRequest: max !== undefined };
}

async function finish(
  endpoint: OpenAIEndpoint,
  model: string,
  limits: ResolvedLimits,
  tally: TokenTally,
  output: { outputTokens: number; outputFromRequest: boolean },
  options: EstimateOptions | undefined,
  forceInexact = false,
): Promise<RequestEstimate> {
  const encoding = encodingForModel(model);
  // Past the context window the request cannot be served whole: the rest is bounded by bytes.
  const counted = await countTextsAsync(tally.texts, encoding, { ...options, exactTokenLimit: Math.min(options?.exactTokenLimit ?? Infinity, limits.contextWindow) });
  const visible = Math.max(0, tally.fixed + counted.tokens);
  return makeEstimate({
    provider: 'openai',
    model,
    endpoint,
    encoding,
    inputTokens: tally.hidden === undefined ? visible : withHiddenInput(visible, limits),
    ...output,
    exact: counted.exact && !forceInexact && tally.hidden === undefined,
    method: 'tokenizer',
  });
}

/**
 * Estimates a `chat.completions.create` request. Output: `max_completion_tokens` (else the
 * deprecated `max_tokens`, else the explicit `outputReservation`, else the model's maximum output)
 * times `n`.
 */
export async function estimateOpenAIChatCompletion(params: ChatCompletionCreateParams, options?: EstimateOptions): Promise<RequestEstimate> {
  const { record, model } = requireParams(params);
  const limits = modelLimits('openai', model, options);
  const messages = record['messages'];
  if (!Array.isArray(messages)) throw new InvalidArgumentError('params.messages', messages, 'expected an array of messages');
  const tally = new TokenTally();
  const encoding = encodingForModel(model);
  tallyTools(record['tools'], record['functions'], encoding, tally);
  if (record['web_search_options'] != null) tally.hide('web search results');
  // Azure OpenAI "On Your Data": the documents it retrieves are added to the prompt.
  if (record['data_sources'] != null) tally.hide('documents retrieved from data_sources');
  messages.forEach((message, index) => tallyChatMessage(model, message, index, tally));
  tally.add(CHAT_TOKENS.replyPriming);
  tallyResponseFormat(record['response_format'], tally);
  const prediction = asRecord(record['prediction']);
  if (prediction !== undefined) tallyContent(model, prediction['content'], tally);
  const max = optionalCount(record, 'max_completion_tokens') ?? optionalCount(record, 'max_tokens');
  const n = optionalMultiplier(record, 'n');
  return finish('chat.completions', model, limits, tally, outputHold(max, n, limits, options), options);
}

/**
 * Hosted tools (web and file search, code interpreter, MCP, image generation, computer use) feed
 * what they fetch back to the model inside the same call: input the request does not show.
 */
function tallyHostedTools(tools: unknown, tally: TokenTally): void {
  if (!Array.isArray(tools)) return;
  for (const tool of tools) {
    const type = asRecord(tool)?.['type'];
    if (typeof type === 'string' && type !== 'function' && type !== 'custom') tally.hide(`the ${type} tool`);
  }
}

/** One Responses API input item. */
function tallyResponseItem(model: string, raw: unknown, index: number, tally: TokenTally): boolean {
  if (typeof raw === 'string') {
    tally.add(CHAT_TOKENS.perMessage);
    tally.text(raw);
    return true;
  }
  const item = asRecord(raw);
  if (item === undefined) throw new InvalidArgumentError(`params.input[${index}]`, raw, 'expected an input item');
  tally.add(CHAT_TOKENS.perMessage);
  const type = item['type'];
  if (type === undefined || type === 'message') {
    tally.text(item['role']);
    tallyContent(model, item['content'], tally);
    return true;
  }
  switch (type) {
    case 'function_call':
    case 'custom_tool_call':
      tally.text(item['name']);
      tally.text(item['arguments']);
      tally.text(item['input']);
      return true;
    case 'function_call_output':
    case 'custom_tool_call_output':
      tallyContent(model, item['output'], tally);
      return true;
    case 'reasoning': {
      for (const key of ['summary', 'content']) {
        const parts = Array.isArray(item[key]) ? (item[key] as unknown[]) : [];
        for (const part of parts) tally.text(asRecord(part)?.['text']);
      }
      // Each reasoning token takes at least one byte of the encrypted payload; without it, a
      // reasoning item by id is the stored one, whose reasoning is billed but not shown here.
      const encrypted = item['encrypted_content'];
      if (typeof encrypted === 'string' && encrypted.length > 0) tally.add(decodedBase64Bytes(encrypted));
      else if (item['id'] != null) tally.hide('a stored reasoning item');
      return false;
    }
    case 'computer_call_output': {
      // A screenshot: an image (by data URL, URL or file id), priced as one.
      const screenshot = asRecord(item['output']);
      tallyImage(model, screenshot, screenshot?.['detail'], tally);
      return false;
    }
    case 'item_reference':
      tally.hide('an item reference'); // stored content we cannot see
      return false;
    default:
      tally.text(JSON.stringify(item));
      return false;
  }
}

/**
 * Estimates a `responses.create` request: `instructions` (as a developer message), `input` (a
 * string, or input items: messages, function calls and outputs, reasoning summaries), tools and a
 * JSON schema text format. Output: `max_output_tokens`, else the model's hold. With
 * `previous_response_id`, `conversation` or a stored `prompt`, earlier context is billed as input
 * but unknown here: the input is held at the model's context window and `exact` is false.
 */
export async function estimateOpenAIResponse(params: ResponseCreateParams, options?: EstimateOptions): Promise<RequestEstimate> {
  const { record, model } = requireParams(params);
  const limits = modelLimits('openai', model, options);
  const tally = new TokenTally();
  const encoding = encodingForModel(model);
  let exactShape = true;
  tallyTools(record['tools'], undefined, encoding, tally);
  tallyHostedTools(record['tools'], tally);
  if (typeof record['instructions'] === 'string') {
    tally.add(CHAT_TOKENS.perMessage);
    tally.text('developer');
    tally.text(record['instructions']);
  }
  const input = record['input'];
  if (typeof input === 'string') {
    tally.add(CHAT_TOKENS.perMessage);
    tally.text('user');
    tally.text(input);
  } else if (Array.isArray(input)) {
    input.forEach((item, index) => {
      if (!tallyResponseItem(model, item, index, tally)) exactShape = false;
    });
  } else if (input !== undefined && input !== null) {
    throw new InvalidArgumentError('params.input', input, 'expected a string or an array of input items');
  }
  tally.add(CHAT_TOKENS.replyPriming);
  const text = asRecord(record['text']);
  tallyResponseFormat(text?.['format'], tally);
  if (record['previous_response_id'] != null) tally.hide('previous_response_id');
  if (record['conversation'] != null) tally.hide('a stored conversation');
  if (record['prompt'] != null) tally.hide('a stored prompt');
  const max = optionalCount(record, 'max_output_tokens');
  return finish('responses', model, limits, tally, outputHold(max, 1, limits, options), options, !exactShape);
}

function tallyPrompt(value: unknown, parameter: string, tally: TokenTally): number {
  if (typeof value === 'string') {
    tally.text(value);
    return 1;
  }
  if (!Array.isArray(value)) throw new InvalidArgumentError(parameter, value, 'expected a string, an array of strings or token arrays');
  if (value.length === 0) return 0;
  if (value.every((v) => typeof v === 'number')) {
    tally.add(value.length);
    return 1;
  }
  let prompts = 0;
  value.forEach((item, index) => {
    if (typeof item === 'string') tally.text(item);
    else if (Array.isArray(item) && item.every((v) => typeof v === 'number')) tally.add(item.length);
    else throw new InvalidArgumentError(`${parameter}[${index}]`, item, 'expected a string or an array of token ids');
    prompts++;
  });
  return prompts;
}

/**
 * Estimates a legacy `completions.create` request: the prompt(s) plus `suffix`, no chat overhead.
 * Output: `max_tokens` (API default 16) times `max(n, best_of)` (best_of candidates are generated
 * and billed) times the number of prompts.
 */
export async function estimateOpenAICompletion(params: CompletionCreateParams, options?: EstimateOptions): Promise<RequestEstimate> {
  const { record, model } = requireParams(params);
  const limits = modelLimits('openai', model, options);
  const tally = new TokenTally();
  const prompts = record['prompt'] === undefined || record['prompt'] === null ? 1 : tallyPrompt(record['prompt'], 'params.prompt', tally);
  tally.text(record['suffix']);
  const max = optionalCount(record, 'max_tokens');
  const n = optionalMultiplier(record, 'n');
  const bestOf = optionalMultiplier(record, 'best_of');
  const output = { outputTokens: (max ?? COMPLETIONS_DEFAULT_MAX_TOKENS) * Math.max(n, bestOf) * Math.max(1, prompts), outputFromRequest: max !== undefined };
  return finish('completions', model, limits, tally, output, options);
}

/** Estimates an `embeddings.create` request (strings or token arrays); no output is reserved. */
export async function estimateOpenAIEmbedding(params: EmbeddingCreateParams, options?: EstimateOptions): Promise<RequestEstimate> {
  const { record, model } = requireParams(params);
  const limits = modelLimits('openai', model, options);
  const tally = new TokenTally();
  tallyPrompt(record['input'], 'params.input', tally);
  return finish('embeddings', model, limits, tally, { outputTokens: 0, outputFromRequest: false }, options);
}

/** Parameters of each OpenAI endpoint with an estimator. */
export interface OpenAIRequestParams {
  'chat.completions': ChatCompletionCreateParams;
  responses: ResponseCreateParams;
  completions: CompletionCreateParams;
  embeddings: EmbeddingCreateParams;
}

/** Dispatches to the estimator of `endpoint`. */
export async function estimateOpenAIRequest<E extends OpenAIEndpoint>(endpoint: E, params: OpenAIRequestParams[E], options?: EstimateOptions): Promise<RequestEstimate> {
  switch (endpoint) {
    case 'chat.completions':
      return estimateOpenAIChatCompletion(params as ChatCompletionCreateParams, options);
    case 'responses':
      return estimateOpenAIResponse(params as ResponseCreateParams, options);
    case 'completions':
      return estimateOpenAICompletion(params as CompletionCreateParams, options);
    case 'embeddings':
      return estimateOpenAIEmbedding(params as EmbeddingCreateParams, options);
    default:
      throw new InvalidArgumentError('endpoint', endpoint, 'expected chat.completions, responses, completions or embeddings');
  }
}
