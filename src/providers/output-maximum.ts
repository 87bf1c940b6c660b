/**
 * Pure functions that set a request's output maximum to `n` tokens, one per endpoint, for callers
 * that lower a request to fit what a user has left. Each returns a new request (the caller's object
 * is never changed) and names the field it set; fields changed to keep the request valid are listed
 * in `adjusted`. The maximum is per completion: with `n` choices or candidates, the hold is `n`
 * times it.
 */
import { InvalidArgumentError } from '../kernel/errors.js';
import { asRecord } from './estimate-types.js';

/** A request with its output maximum set. */
export interface OutputMaximumSet<P> {
  params: P;
  /** The field set, as a path: `max_completion_tokens`, `config.maxOutputTokens`... */
  field: string;
  /** Other fields changed so that the request stays valid (e.g. a thinking budget lowered below the maximum). */
  adjusted: string[];
}

function checkMaximum(n: number): void {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('n', n, 'expected a positive integer number of tokens');
}

function requestObject(params: unknown, parameter = 'params'): Record<string, unknown> {
  const record = asRecord(params);
  if (record === undefined) throw new InvalidArgumentError(parameter, params, 'expected the request parameters object');
  return record;
}

/**
 * OpenAI `chat.completions.create`: `max_completion_tokens`, or `max_tokens` when the caller used
 * that deprecated field alone (older deployments accept only it).
 */
export function setChatCompletionMaximum<P extends object>(params: P, n: number): OutputMaximumSet<P> {
  checkMaximum(n);
  const record = requestObject(params);
  const legacy = record['max_tokens'] != null && record['max_completion_tokens'] == null;
  const field = legacy ? 'max_tokens' : 'max_completion_tokens';
  return { params: { ...record, [field]: n } as P, field, adjusted: [] };
}

/** OpenAI `responses.create`: `max_output_tokens` (reasoning included). */
export function setResponseMaximum<P extends object>(params: P, n: number): OutputMaximumSet<P> {
  checkMaximum(n);
  return { params: { ...requestObject(params), max_output_tokens: n } as P, field: 'max_output_tokens', adjusted: [] };
}

/** OpenAI legacy `completions.create`: `max_tokens`. */
export function setCompletionMaximum<P extends object>(params: P, n: number): OutputMaximumSet<P> {
  checkMaximum(n);
  return { params: { ...requestObject(params), max_tokens: n } as P, field: 'max_tokens', adjusted: [] };
}

/**
 * Anthropic `messages.create`: `max_tokens`. With extended thinking, `thinking.budget_tokens` must
 * stay below `max_tokens`: it is lowered to `n - 1` when needed (the API's minimum budget is 1,024,
 * so a smaller `n` with thinking on is refused by the API).
 */
export function setAnthropicMaximum<P extends object>(params: P, n: number): OutputMaximumSet<P> {
  checkMaximum(n);
  const record = requestObject(params);
  const next: Record<string, unknown> = { ...record, max_tokens: n };
  const adjusted: string[] = [];
  const thinking = asRecord(record['thinking']);
  const budget = thinking?.['budget_tokens'];
  if (thinking?.['type'] === 'enabled' && typeof budget === 'number' && budget >= n) {
    next['thinking'] = { ...thinking, budget_tokens: Math.max(0, n - 1) };
    adjusted.push('thinking.budget_tokens');
  }
  return { params: next as P, field: 'max_tokens', adjusted };
}

/** A Gemini generation config with `maxOutputTokens` set and a thinking budget kept below it. */
function withGeminiMaximum(config: Record<string, unknown> | undefined, n: number, prefix: string, adjusted: string[]): Record<string, unknown> {
  const next: Record<string, unknown> = { ...config, maxOutputTokens: n };
  const thinking = asRecord(config?.['thinkingConfig']);
  const budget = thinking?.['thinkingBudget'];
  if (typeof budget === 'number' && budget > 0 && budget >= n) {
    next['thinkingConfig'] = { ...thinking, thinkingBudget: n - 1 };
    adjusted.push(`${prefix}.thinkingConfig.thinkingBudget`);
  }
  return next;
}

/** `@google/genai` `models.generateContent(Stream)`: `config.maxOutputTokens` (a positive thinking budget is kept below it). */
export function setGenAIMaximum<P extends object>(params: P, n: number): OutputMaximumSet<P> {
  checkMaximum(n);
  const record = requestObject(params);
  const adjusted: string[] = [];
  const config = withGeminiMaximum(asRecord(record['config']), n, 'config', adjusted);
  return { params: { ...record, config } as P, field: 'config.maxOutputTokens', adjusted };
}

/**
 * `@google/generative-ai` `GenerativeModel.generateContent(Stream)`: `generationConfig.maxOutputTokens`
 * of the request. A request's `generationConfig` replaces the model's whole (the SDK does not merge
 * them), so the model's `generationConfig` is copied in first; a string or parts request becomes a
 * `{ contents }` request as the SDK would build it.
 */
export function setGenerativeAIMaximum(
  request: unknown,
  n: number,
  modelGenerationConfig?: Readonly<Record<string, unknown>>,
): OutputMaximumSet<Record<string, unknown>> {
  checkMaximum(n);
  let record: Record<string, unknown>;
  if (typeof request === 'string') record = { contents: [{ role: 'user', parts: [{ text: request }] }] };
  else if (Array.isArray(request)) {
    record = { contents: [{ role: 'user', parts: request.map((part: unknown) => (typeof part === 'string' ? { text: part } : part)) }] };
  } else record = requestObject(request, 'request');
  const adjusted: string[] = [];
  const base = asRecord(record['generationConfig']) ?? (modelGenerationConfig === undefined ? undefined : { ...modelGenerationConfig });
  const generationConfig = withGeminiMaximum(base, n, 'generationConfig', adjusted);
  return { params: { ...record, generationConfig }, field: 'generationConfig.maxOutputTokens', adjusted };
}
