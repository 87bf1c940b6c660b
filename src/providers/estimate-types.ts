/** Types and helpers shared by the request estimators of every provider. */
import { InvalidArgumentError } from '../kernel/errors.js';
import type { CountOptions } from '../tokenizer/count.js';
import type { EncodingName } from '../tokenizer/types.js';
import { resolveModelLimits, type MaxOutputOverrides, type ResolvedLimits } from './pricing/limits.js';
import { spreadWith } from './shared/spread-with.js';

/**
 * Output tokens held by `planWith`'s fallback when an estimator cannot read a request and the
 * model is unknown: kept for callers of older versions; estimators use the model-limits table.
 */
export const DEFAULT_OUTPUT_RESERVATION = 4096;

/** What a request is expected to use, computed before the call. */
export interface RequestEstimate {
  provider: 'openai' | 'anthropic' | 'google';
  /** The model as given in the request. */
  model: string;
  /** `chat.completions`, `responses`, `completions`, `embeddings`, `messages`, `generateContent`. */
  endpoint: string;
  /** Estimated input tokens (for OpenAI: the tokenizer's count plus the documented overheads). */
  inputTokens: number;
  /**
   * Output tokens reserved: the request's maximum (times `n`), else the explicit
   * `outputReservation`, else the model's documented maximum output; 0 for embeddings.
   */
  outputTokens: number;
  /** `inputTokens + outputTokens`: what to reserve. */
  totalTokens: number;
  /** The encoding used (OpenAI only). */
  encoding?: EncodingName;
  /**
   * True when `inputTokens` is an exact tokenizer count of the documented format (nothing bounded
   * by bytes, no hidden input bounded by the context window).
   */
  exact: boolean;
  /** True when the output hold came from the request's own maximum (it can be shrunk by `setOutputMaximum`). */
  outputFromRequest?: boolean;
  /** `tokenizer`: a BPE count; `heuristic`: a calibrated character-class estimate; `provider`: a count-tokens endpoint. */
  method: 'tokenizer' | 'heuristic' | 'provider';
}

/** Options common to every estimator. */
export interface EstimateOptions extends CountOptions {
  /**
   * Output tokens to reserve when the request sets no maximum (`max_tokens`,
   * `max_completion_tokens`, `max_output_tokens`, `maxOutputTokens`), when set explicitly by the
   * user. @default the model's documented maximum output (see `maxOutputTokens`)
   */
  outputReservation?: number;
  /**
   * Overrides of the built-in table of maximum output tokens, by model name (prefixes resolve as
   * for prices: `gpt-4o` covers `gpt-4o-2024-08-06`). Used when a request sets no maximum and no
   * `outputReservation` is given. @default the built-in table (src/providers/pricing/model-limits.ts)
   */
  maxOutputTokens?: MaxOutputOverrides;
}

/**
 * Optional exact input count by a provider endpoint (Anthropic `messages.countTokens`, Gemini
 * `models.countTokens`, OpenAI `responses.inputTokens.count`): the wrapper supplies the call, the
 * estimators stay pure. Resolves to the input token count of `params`.
 */
export type InputTokenCounter<Params> = (params: Params, context: { model: string; signal?: AbortSignal }) => Promise<number>;

/** Builds an estimate from its parts. */
export function makeEstimate(fields: Omit<RequestEstimate, 'totalTokens'>): RequestEstimate {
  return spreadWith(fields, 'totalTokens', fields.inputTokens + fields.outputTokens);
}

/** `{ ...options, exactTokenLimit }` (see `spreadWith`): the count options of an estimate. */
export function withExactTokenLimit(options: EstimateOptions | undefined, exactTokenLimit: number): EstimateOptions {
  return spreadWith(options, 'exactTokenLimit', exactTokenLimit);
}

/**
 * Replaces the input side of a heuristic estimate with a provider's exact count (opt-in exact mode).
 * On any failure of the counter, or after `timeoutMs`, the heuristic estimate is returned unchanged
 * and `onError` is told why: counting must never make a call fail.
 */
export async function refineInputTokens<Params>(
  estimate: RequestEstimate,
  params: Params,
  counter: InputTokenCounter<Params>,
  options: { timeoutMs?: number; signal?: AbortSignal; onError?: (error: unknown) => void } = {},
): Promise<RequestEstimate> {
  const { timeoutMs = 2000 } = options;
  const controller = new AbortController();
  const abort = (): void => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', abort, { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new Error(`count-tokens call timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref?.();
    });
    const counted = await Promise.race([counter(params, { model: estimate.model, signal: controller.signal }), timeout]);
    if (typeof counted !== 'number' || !Number.isSafeInteger(counted) || counted < 0) {
      throw new InvalidArgumentError('inputTokenCounter result', counted, 'expected a non-negative integer');
    }
    return makeEstimate({ ...estimate, inputTokens: counted, exact: true, method: 'provider' });
  } catch (error) {
    options.onError?.(error);
    return estimate;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    options.signal?.removeEventListener('abort', abort);
  }
}

/** A plain-object view of an unknown value (or undefined). */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** Reads an optional non-negative integer request field; null counts as absent. */
export function optionalCount(params: Record<string, unknown>, key: string, parameter = `params.${key}`): number | undefined {
  const value = params[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(parameter, value, 'expected a non-negative integer');
  }
  return value;
}

/** Reads an optional positive integer request field (`n`, `best_of`, `candidateCount`). */
export function optionalMultiplier(params: Record<string, unknown>, key: string, parameter = `params.${key}`): number {
  const value = params[key];
  if (value === undefined || value === null) return 1;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(parameter, value, 'expected a positive integer');
  }
  return value;
}

/** Validates the request object and its `model`. */
export function requireParams(params: unknown, modelKey = 'model'): { record: Record<string, unknown>; model: string } {
  const record = asRecord(params);
  if (record === undefined) throw new InvalidArgumentError('params', params, 'expected the request parameters object');
  const model = record[modelKey];
  if (typeof model !== 'string' || model.length === 0) {
    throw new InvalidArgumentError(`params.${modelKey}`, model, 'expected a non-empty model name');
  }
  return { record, model };
}

/** The limits of a request's model, with the user's `maxOutputTokens` overrides. */
export function modelLimits(provider: RequestEstimate['provider'], model: string, options: EstimateOptions | undefined): ResolvedLimits {
  return resolveModelLimits(model, provider, options?.maxOutputTokens);
}

/**
 * The output hold of a request without its own maximum: the user's explicit `outputReservation`,
 * else the model's documented maximum output (`maxOutputTokens` overrides, the built-in table, or
 * the provider's default for unknown models).
 */
export function resolveOutputReservation(options: EstimateOptions | undefined, limits: ResolvedLimits): number {
  const value = options?.outputReservation;
  if (value === undefined) return limits.maxOutput;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError('options.outputReservation', value, 'expected a non-negative integer');
  }
  return value;
}

/**
 * The input hold of a request that carries input the estimator cannot see (stored conversation
 * state, files by id or URL, PDFs, audio or video): everything a request can bill as input fits
 * in the model's context window, so the window bounds it. `counted` is what could be counted.
 */
export function withHiddenInput(counted: number, limits: ResolvedLimits): number {
  return Math.max(counted, limits.contextWindow);
}

/** Texts to count plus tokens known without counting, and whether some input is hidden. */
export class TokenTally {
  readonly texts: string[] = [];
  fixed = 0;
  /** Why some input cannot be seen (stored state, a file by id...): the context window bounds it. */
  hidden: string | undefined;

  /** Marks input the estimator cannot see (the first reason is kept). */
  hide(reason: string): void {
    this.hidden ??= reason;
  }

  /** Adds a text to be counted (ignores non-strings and empty strings). */
  text(value: unknown): void {
    if (typeof value === 'string' && value.length > 0) this.texts.push(value);
  }

  /** Adds tokens known without counting. */
  add(tokens: number): void {
    this.fixed += tokens;
  }
}
