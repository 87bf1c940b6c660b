/**
 * Input estimate for Gemini `generateContent` requests of both Google SDKs. Gemini's tokenizer is
 * not published as such, but Google documents Gemma 3's SentencePiece tokenizer as the one of
 * Gemini 2.0: text is bounded per chunk by the larger of a heuristic fitted to it and a robust
 * term on the exact o200k count, capped by UTF-8 bytes (see `heuristic-count.ts`). Inline text
 * files count by their bytes; PDFs, audio, video and files by URI are bounded by the model's
 * context window. For exact counts, pass the free `countTokens` endpoint to `refineInputTokens`.
 */
import type { GenerateContentParameters } from '@google/genai';
import type { GenerateContentRequest, ModelParams } from '@google/generative-ai';
import { InvalidArgumentError } from '../../kernel/errors.js';
import {
  asRecord,
  makeEstimate,
  modelLimits,
  optionalCount,
  optionalMultiplier,
  resolveOutputReservation,
  TokenTally,
  withHiddenInput,
  type EstimateOptions,
  type RequestEstimate,
} from '../estimate-types.js';
import { GEMINI_PROFILE, referenceCount, referenceCountSync } from '../heuristic-count.js';
import { isTextFile, tallyInlineFile } from '../hidden-input.js';
import type { ResolvedLimits } from '../pricing/limits.js';

/** Assumed overhead per content turn (Gemma's `<start_of_turn>role\n ... <end_of_turn>\n`). */
export const GEMINI_TURN_OVERHEAD = 5;
/**
 * Tokens held per image part (inline data or file URI): 4 tiles of 258 tokens. Audio (32 tokens/s),
 * video (263 tokens/s) and PDFs are bounded by the context window instead.
 */
export const GEMINI_MEDIA_TOKENS = 1032;

/** A media part: images as 4 tiles, text files by their bytes, anything else as hidden input. */
function tallyMedia(part: Record<string, unknown>, tally: TokenTally): void {
  const inline = asRecord(part['inlineData']);
  const file = asRecord(part['fileData']);
  const media = inline ?? file;
  const mime = typeof media?.['mimeType'] === 'string' ? media['mimeType'] : undefined;
  if (mime?.startsWith('image/') === true) tally.add(GEMINI_MEDIA_TOKENS);
  else if (inline !== undefined && typeof inline['data'] === 'string' && isTextFile(mime, undefined)) tallyInlineFile(inline['data'], mime, undefined, tally);
  else tally.hide(`a ${mime ?? 'media'} part`);
}

function tallyPart(raw: unknown, tally: TokenTally, parameter: string): void {
  if (typeof raw === 'string') {
    tally.text(raw);
    return;
  }
  const part = asRecord(raw);
  if (part === undefined) throw new InvalidArgumentError(parameter, raw, 'expected a string or a part object');
  if (typeof part['text'] === 'string') tally.text(part['text']);
  if (part['inlineData'] !== undefined || part['fileData'] !== undefined) tallyMedia(part, tally);
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
  if (!Array.isArray(tools)) return;
  for (const tool of tools) {
    tally.text(JSON.stringify(tool));
    // Every tool but the caller's own functions runs on Google's side and adds what it fetches,
    // finds or runs to the call's input (search and maps grounding, URL context, code execution,
    // file search, Vertex AI Search and RAG retrieval, and whatever comes next).
    const record = asRecord(tool);
    for (const key of Object.keys(record ?? {})) if (key !== 'functionDeclarations' && record![key] !== undefined && record![key] !== null) tally.hide(`the ${key} tool`);
  }
}

/** A response schema (`responseSchema`, `responseJsonSchema`) is input of the call, counted by its JSON as tools are. */
function tallyResponseSchema(config: Record<string, unknown> | undefined, tally: TokenTally): void {
  for (const key of ['responseSchema', 'responseJsonSchema']) if (config?.[key] !== undefined && config[key] !== null) tally.text(JSON.stringify(config[key]));
}

/** Cached content (`cachedContent`, a name) is input of the call that its request does not show. */
function tallyCachedContent(cachedContent: unknown, tally: TokenTally): void {
  if (cachedContent !== undefined && cachedContent !== null && cachedContent !== '') tally.hide('cached content');
}

/** The output hold and whether it came from the request's own maximum. */
interface OutputHold {
  outputTokens: number;
  outputFromRequest: boolean;
}

/**
 * Output reservation: `maxOutputTokens` times `candidateCount`, else the explicit
 * `outputReservation`, else the model's maximum output; plus a positive
 * `thinkingConfig.thinkingBudget` (thinking tokens are billed as output).
 */
function outputOf(config: Record<string, unknown> | undefined, parameter: string, limits: ResolvedLimits, options: EstimateOptions | undefined): OutputHold {
  if (config === undefined) return { outputTokens: resolveOutputReservation(options, limits), outputFromRequest: false };
  const max = optionalCount(config, 'maxOutputTokens', `${parameter}.maxOutputTokens`);
  const candidates = optionalMultiplier(config, 'candidateCount', `${parameter}.candidateCount`);
  const thinking = asRecord(config['thinkingConfig']);
  const budget = thinking?.['thinkingBudget'];
  const thinkingTokens = typeof budget === 'number' && Number.isSafeInteger(budget) && budget > 0 ? budget : 0;
  return { outputTokens: (max ?? resolveOutputReservation(options, limits)) * candidates + thinkingTokens, outputFromRequest: max !== undefined };
}

function countOptions(limits: ResolvedLimits, options: EstimateOptions | undefined): EstimateOptions {
  return { ...options, exactTokenLimit: Math.min(options?.exactTokenLimit ?? Infinity, limits.contextWindow) };
}

async function finish(model: string, limits: ResolvedLimits, tally: TokenTally, output: OutputHold, options: EstimateOptions | undefined): Promise<RequestEstimate> {
  const visible = tally.fixed + (await referenceCount(tally.texts, GEMINI_PROFILE, 1, countOptions(limits, options)));
  const input = tally.hidden === undefined ? visible : withHiddenInput(visible, limits);
  return makeEstimate({ provider: 'google', model, endpoint: 'generateContent', inputTokens: input, ...output, exact: false, method: 'heuristic' });
}

/**
 * Estimates an `@google/genai` `models.generateContent(Stream)` request:
 * `{ model, contents, config: { systemInstruction, tools, maxOutputTokens, candidateCount, thinkingConfig } }`.
 */
export async function estimateGenAIRequest(params: GenerateContentParameters, options?: EstimateOptions): Promise<RequestEstimate> {
  const record = asRecord(params);
  if (record === undefined) throw new InvalidArgumentError('params', params, 'expected the request parameters object');
  const model = record['model'];
  if (typeof model !== 'string' || model.length === 0) throw new InvalidArgumentError('params.model', model, 'expected a non-empty model name');
  const config = asRecord(record['config']);
  const tally = new TokenTally();
  tallySystemAndTools(config?.['systemInstruction'], config?.['tools'], tally);
  tallyCachedContent(config?.['cachedContent'], tally);
  tallyResponseSchema(config, tally);
  tallyContents(record['contents'], tally, 'params.contents');
  const limits = modelLimits('google', model, options);
  return finish(model, limits, tally, outputOf(config, 'params.config', limits, options), options);
}

/**
 * Estimates an `@google/generative-ai` `GenerativeModel.generateContent(Stream)` call. `request` is
 * what was passed to the method (a string, parts, or a `GenerateContentRequest`); `modelParams` is
 * what `getGenerativeModel()` received (model name, and defaults for `systemInstruction`, `tools`,
 * `generationConfig` that the request may override).
 */
export async function estimateGenerativeAIRequest(
  request: GenerateContentRequest | string | ReadonlyArray<string | object>,
  modelParams: ModelParams,
  options?: EstimateOptions,
): Promise<RequestEstimate> {
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
  tallyCachedContent(record?.['cachedContent'] ?? modelRecord?.['cachedContent'], tally);
  const config = asRecord(record?.['generationConfig']) ?? asRecord(modelRecord?.['generationConfig']);
  tallyResponseSchema(config, tally);
  const name = model.replace(/^models\//, '');
  const limits = modelLimits('google', name, options);
  return finish(name, limits, tally, outputOf(config, 'generationConfig', limits, options), options);
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
export async function estimateGeminiEmbedding(model: string, contents: unknown, options?: EstimateOptions): Promise<RequestEstimate> {
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
  const name = model.replace(/^models\//, '');
  const limits = modelLimits('google', name, options);
  const visible = tally.fixed + (await referenceCount(tally.texts, GEMINI_PROFILE, 1, countOptions(limits, options)));
  const input = tally.hidden === undefined ? visible : withHiddenInput(visible, limits);
  return makeEstimate({ provider: 'google', model: name, endpoint: 'embedContent', inputTokens: input, outputTokens: 0, exact: false, method: 'heuristic' });
}

/**
 * The local estimate of a system instruction and tool declarations alone: what the Gemini
 * Developer API's `countTokens` cannot count through `@google/genai` (it accepts `contents` only).
 */
export function estimateGeminiSystemAndTools(systemInstruction: unknown, tools: unknown, options?: EstimateOptions): number {
  const tally = new TokenTally();
  tallySystemAndTools(systemInstruction, tools, tally);
  return tally.fixed + referenceCountSync(tally.texts, GEMINI_PROFILE, 1, options);
}
