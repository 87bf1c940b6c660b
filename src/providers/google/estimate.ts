/**
 * Input estimate for Gemini `generateContent` requests of both Google SDKs. Gemini's tokenizer is
 * not published as such, but Google documents Gemma 3's SentencePiece tokenizer as the one of
 * Gemini 2.0: the text estimate is a character-class heuristic calibrated against it
 * (docs/token-estimation.md). For exact counts, pass the free `countTokens` endpoint to
 * `refineInputTokens`.
 */
import type { GenerateContentParameters } from '@google/genai';
import type { GenerateContentRequest, ModelParams } from '@google/generative-ai';
import { InvalidArgumentError } from '../../kernel/errors.js';
import { GEMINI_HEURISTIC } from '../../tokenizer/heuristic-weights.js';
import {
  asRecord,
  makeEstimate,
  optionalCount,
  optionalMultiplier,
  resolveOutputReservation,
  TokenTally,
  type EstimateOptions,
  type RequestEstimate,
} from '../estimate-types.js';
import { heuristicCount } from '../heuristic-count.js';

/** Assumed overhead per content turn (Gemma's `<start_of_turn>role\n ... <end_of_turn>\n`). */
export const GEMINI_TURN_OVERHEAD = 5;
/**
 * Tokens held per media part (inline data or file URI) whose size is unknown: 4 image tiles of 258
 * tokens. Audio (32 tokens/s) and video (263 tokens/s) can cost far more: not a bound.
 */
export const GEMINI_MEDIA_TOKENS = 1032;

function tallyPart(raw: unknown, tally: TokenTally, parameter: string): void {
  if (typeof raw === 'string') {
    tally.text(raw);
    return;
  }
  const part = asRecord(raw);
  if (part === undefined) throw new InvalidArgumentError(parameter, raw, 'expected a string or a part object');
  if (typeof part['text'] === 'string') tally.text(part['text']);
  if (part['inlineData'] !== undefined || part['fileData'] !== undefined) tally.add(GEMINI_MEDIA_TOKENS);
  for (const key of ['functionCall', 'functionResponse', 'executableCode', 'codeExecutionResult']) {
    if (part[key] !== undefined) tally.text(JSON.stringify(part[key]));
  }
}

function tallyContent(raw: unknown, tally: TokenTally, parameter: string): void {
  tally.add(GEMINI_TURN_OVERHEAD);
  const content = asRecord(raw);
  if (content !== undefined && Array.isArray(content['parts'])) {
    content['parts'].forEach((part, index) => tallyPart(part, tally, `${parameter}.parts[${index}]`));
  } else {
    tallyPart(raw, tally, parameter);
  }
}

/** `contents` in any accepted shape: a string, a part, a content, or an array of those. */
function tallyContents(contents: unknown, tally: TokenTally, parameter: string): void {
  if (contents === undefined || contents === null) throw new InvalidArgumentError(parameter, contents, 'is required');
  if (Array.isArray(contents)) {
    const allParts = contents.every((c) => typeof c === 'string' || asRecord(c)?.['parts'] === undefined);
    if (allParts) {
      tally.add(GEMINI_TURN_OVERHEAD);
      contents.forEach((part, index) => tallyPart(part, tally, `${parameter}[${index}]`));
    } else {
      contents.forEach((content, index) => tallyContent(content, tally, `${parameter}[${index}]`));
    }
    return;
  }
  tallyContent(contents, tally, parameter);
}

function tallySystemAndTools(systemInstruction: unknown, tools: unknown, tally: TokenTally): void {
  if (systemInstruction !== undefined && systemInstruction !== null) tallyContents(systemInstruction, tally, 'systemInstruction');
  if (Array.isArray(tools)) for (const tool of tools) tally.text(JSON.stringify(tool));
}

/**
 * Output reservation: `maxOutputTokens` times `candidateCount`, else `outputReservation`, plus a
 * positive `thinkingConfig.thinkingBudget` (thinking tokens are billed as output).
 */
function outputOf(config: Record<string, unknown> | undefined, parameter: string, options: EstimateOptions | undefined): number {
  if (config === undefined) return resolveOutputReservation(options);
  const max = optionalCount(config, 'maxOutputTokens', `${parameter}.maxOutputTokens`);
  const candidates = optionalMultiplier(config, 'candidateCount', `${parameter}.candidateCount`);
  const thinking = asRecord(config['thinkingConfig']);
  const budget = thinking?.['thinkingBudget'];
  const thinkingTokens = typeof budget === 'number' && Number.isSafeInteger(budget) && budget > 0 ? budget : 0;
  return (max ?? resolveOutputReservation(options)) * candidates + thinkingTokens;
}

function finish(model: string, tally: TokenTally, outputTokens: number, options: EstimateOptions | undefined): RequestEstimate {
  const input = tally.fixed + heuristicCount(tally.texts, GEMINI_HEURISTIC, 1, options);
  return makeEstimate({ provider: 'google', model, endpoint: 'generateContent', inputTokens: input, outputTokens, exact: false, method: 'heuristic' });
}

/**
 * Estimates an `@google/genai` `models.generateContent(Stream)` request:
 * `{ model, contents, config: { systemInstruction, tools, maxOutputTokens, candidateCount, thinkingConfig } }`.
 */
export function estimateGenAIRequest(params: GenerateContentParameters, options?: EstimateOptions): RequestEstimate {
  const record = asRecord(params);
  if (record === undefined) throw new InvalidArgumentError('params', params, 'expected the request parameters object');
  const model = record['model'];
  if (typeof model !== 'string' || model.length === 0) throw new InvalidArgumentError('params.model', model, 'expected a non-empty model name');
  const config = asRecord(record['config']);
  const tally = new TokenTally();
  tallySystemAndTools(config?.['systemInstruction'], config?.['tools'], tally);
  tallyContents(record['contents'], tally, 'params.contents');
  return finish(model, tally, outputOf(config, 'params.config', options), options);
}

/**
 * Estimates an `@google/generative-ai` `GenerativeModel.generateContent(Stream)` call. `request` is
 * what was passed to the method (a string, parts, or a `GenerateContentRequest`); `modelParams` is
 * what `getGenerativeModel()` received (model name, and defaults for `systemInstruction`, `tools`,
 * `generationConfig` that the request may override).
 */
export function estimateGenerativeAIRequest(
  request: GenerateContentRequest | string | ReadonlyArray<string | object>,
  modelParams: ModelParams,
  options?: EstimateOptions,
): RequestEstimate {
  const modelRecord = asRecord(modelParams);
  const model = modelRecord?.['model'];
  if (typeof model !== 'string' || model.length === 0) throw new InvalidArgumentError('modelParams.model', model, 'expected a non-empty model name');
  const tally = new TokenTally();
  const record = typeof request === 'string' || Array.isArray(request) ? undefined : asRecord(request);
  if (record !== undefined && record['contents'] !== undefined) {
    tallySystemAndTools(record['systemInstruction'] ?? modelRecord?.['systemInstruction'], record['tools'] ?? modelRecord?.['tools'], tally);
    tallyContents(record['contents'], tally, 'request.contents');
  } else {
    tallySystemAndTools(modelRecord?.['systemInstruction'], modelRecord?.['tools'], tally);
    tallyContents(request, tally, 'request');
  }
  const config = asRecord(record?.['generationConfig']) ?? asRecord(modelRecord?.['generationConfig']);
  return finish(model.replace(/^models\//, ''), tally, outputOf(config, 'generationConfig', options), options);
}

function tallyEmbedInput(raw: unknown, tally: TokenTally, parameter: string): void {
  if (Array.isArray(raw)) {
    raw.forEach((item, index) => tallyEmbedInput(item, tally, `${parameter}[${index}]`));
    return;
  }
  const content = asRecord(raw);
  if (content !== undefined && Array.isArray(content['parts'])) {
    content['parts'].forEach((part, index) => tallyPart(part, tally, `${parameter}.parts[${index}]`));
  } else {
    tallyPart(raw, tally, parameter);
  }
}

/**
 * Estimates the input of a Gemini embedding request (no turn overhead: only the text is embedded).
 * `contents` is anything either SDK accepts: `@google/generative-ai` `embedContent` (a string,
 * parts, `{ content }`) and `batchEmbedContents` (`{ requests: [{ content, title? }] }`), or
 * `@google/genai` `embedContent`'s `contents` (strings, parts, contents, or arrays of them).
 * The API reports no usage for embeddings: this estimate is what the wrappers commit.
 */
export function estimateGeminiEmbedding(model: string, contents: unknown, options?: EstimateOptions): RequestEstimate {
  if (typeof model !== 'string' || model.length === 0) throw new InvalidArgumentError('model', model, 'expected a non-empty model name');
  if (contents === undefined || contents === null) throw new InvalidArgumentError('contents', contents, 'is required');
  const tally = new TokenTally();
  const record = asRecord(contents);
  if (record !== undefined && Array.isArray(record['requests'])) {
    record['requests'].forEach((request, index) => {
      const r = asRecord(request);
      tally.text(r?.['title']);
      tallyEmbedInput(r?.['content'], tally, `requests[${index}].content`);
    });
  } else if (record !== undefined && record['content'] !== undefined) {
    tally.text(record['title']);
    tallyEmbedInput(record['content'], tally, 'content');
  } else {
    tallyEmbedInput(contents, tally, 'contents');
  }
  const input = tally.fixed + heuristicCount(tally.texts, GEMINI_HEURISTIC, 1, options);
  return makeEstimate({ provider: 'google', model: model.replace(/^models\//, ''), endpoint: 'embedContent', inputTokens: input, outputTokens: 0, exact: false, method: 'heuristic' });
}

/**
 * The local estimate of a system instruction and tool declarations alone: what the Gemini
 * Developer API's `countTokens` cannot count through `@google/genai` (it accepts `contents` only).
 */
export function estimateGeminiSystemAndTools(systemInstruction: unknown, tools: unknown, options?: EstimateOptions): number {
  const tally = new TokenTally();
  tallySystemAndTools(systemInstruction, tools, tally);
  return tally.fixed + heuristicCount(tally.texts, GEMINI_HEURISTIC, 1, options);
}
