/**
 * Token counting for estimation: always an upper bound of the encoding's real count. Texts are
 * counted exactly in chunks cut where the count is unchanged; runs the tokenizer would be slow on,
 * and whatever lies past the budget, are bounded by their UTF-8 bytes (see `chunk-walk.ts`).
 *
 * Two drivers: {@link countTextsAsync} counts in time slices and yields to the event loop between
 * them (the request estimators use it, so a 10 MB prompt never blocks the loop for more than a few
 * ms); {@link countTexts} counts synchronously under a small budget of characters and time.
 */
import { InvalidArgumentError } from '../kernel/errors.js';
import { runSliced, runToEnd, walkTexts, type WalkLimits } from './chunk-walk.js';
import { defaultTokenizer } from './gpt-tokenizer.js';
import { utf8ByteLength } from './safe-cuts.js';
import type { EncodingName, Tokenizer } from './types.js';

/** UTF-16 code units counted exactly by the synchronous {@link countTexts} by default. */
export const DEFAULT_EXACT_LIMIT = 16_384;

/** Milliseconds of tokenizer time per synchronous count after which the rest is bounded by bytes. */
export const DEFAULT_TIME_BUDGET_MS = 5;

/**
 * Tokens counted exactly per request by the asynchronous count when no model limit applies: the
 * largest context window of current models. Past it a request cannot be served whole anyway.
 */
export const DEFAULT_EXACT_TOKEN_LIMIT = 2_000_000;

/** Milliseconds of work between two yields to the event loop in asynchronous counting. */
export const DEFAULT_SLICE_MS = 3;

/** How texts are counted. */
export interface CountOptions {
  /** Tokenizer for exact counts. @default the shared gpt-tokenizer instance */
  tokenizer?: Tokenizer;
  /**
   * UTF-16 code units counted exactly per call; the rest is bounded by its UTF-8 bytes. `0` never
   * runs the tokenizer. @default 16384 for the synchronous count, Infinity for the asynchronous one
   */
  exactLimit?: number;
  /**
   * Tokens counted per call (measured or bounded) past which the rest is bounded by bytes. The
   * request estimators pass the model's context window. @default 2000000
   */
  exactTokenLimit?: number;
  /**
   * Synchronous count only: tokenizer time per call, in ms, after which the rest is bounded by
   * bytes. Makes the `exact` flag timing-dependent for slow inputs; `Infinity` disables it.
   * @default 5
   */
  timeBudgetMs?: number;
  /** Asynchronous count only: ms of work between two yields to the event loop. @default 3 */
  sliceMs?: number;
  /** Bound everything by UTF-8 bytes, without a tokenizer (a proven bound, about 4x on English). @default false */
  strictBound?: boolean;
  /** Aborts an asynchronous count between two slices (rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** The result of counting. */
export interface TextCount {
  /** An upper bound of the real count; the real count when `exact`. */
  tokens: number;
  /** False when any part was bounded by bytes. */
  exact: boolean;
}

/** Validated count options with defaults. */
export interface ResolvedCountOptions {
  tokenizer: Tokenizer;
  exactLimit: number;
  exactTokenLimit: number;
  timeBudgetMs: number;
  sliceMs: number;
  strictBound: boolean;
  signal: AbortSignal | undefined;
}

// The option's name is put together only for an error: every estimate resolves these options.
function limit(value: unknown, parameter: string, option: string): number {
  if (typeof value !== 'number' || !(value >= 0) || (!Number.isSafeInteger(value) && value !== Infinity)) {
    throw new InvalidArgumentError(`${parameter}.${option}`, value, 'expected a non-negative integer or Infinity');
  }
  return value;
}

function milliseconds(value: unknown, parameter: string, option: string): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new InvalidArgumentError(`${parameter}.${option}`, value, 'expected a non-negative number of milliseconds');
  }
  return value;
}

/** Validates and defaults {@link CountOptions}; `exactLimit` defaults per driver. */
export function resolveCountOptions(options: CountOptions = {}, parameter = 'options', exactLimitDefault = DEFAULT_EXACT_LIMIT): ResolvedCountOptions {
  const { tokenizer = defaultTokenizer() } = options;
  if (typeof tokenizer !== 'object' || tokenizer === null || typeof tokenizer.count !== 'function') {
    throw new InvalidArgumentError(`${parameter}.tokenizer`, tokenizer, 'expected a Tokenizer (an object with count())');
  }
  const strict = options.strictBound ?? false;
  if (typeof strict !== 'boolean') throw new InvalidArgumentError(`${parameter}.strictBound`, strict, 'expected true or false');
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new InvalidArgumentError(`${parameter}.signal`, signal, 'expected an AbortSignal');
  return {
    tokenizer,
    exactLimit: limit(options.exactLimit ?? exactLimitDefault, parameter, 'exactLimit'),
    exactTokenLimit: limit(options.exactTokenLimit ?? DEFAULT_EXACT_TOKEN_LIMIT, parameter, 'exactTokenLimit'),
    timeBudgetMs: milliseconds(options.timeBudgetMs ?? DEFAULT_TIME_BUDGET_MS, parameter, 'timeBudgetMs'),
    sliceMs: milliseconds(options.sliceMs ?? DEFAULT_SLICE_MS, parameter, 'sliceMs'),
    strictBound: strict,
    signal,
  };
}

function bytesOnly(texts: readonly string[]): TextCount {
  let tokens = 0;
  for (const text of texts) tokens += utf8ByteLength(text);
  return { tokens, exact: tokens === 0 };
}

/**
 * Counts the tokens of several texts of one request synchronously, under one budget of characters
 * (`exactLimit`) and time (`timeBudgetMs`): an upper bound of the real count, exact when the texts
 * fit the budget and hold no run longer than 128 letters, symbols or spaces.
 */
export function countTexts(texts: readonly string[], encoding: EncodingName, options?: CountOptions): TextCount {
  const resolved = resolveCountOptions(options);
  if (resolved.strictBound || resolved.exactLimit === 0) return bytesOnly(texts);
  const { tokenizer, timeBudgetMs } = resolved;
  const started = performance.now();
  const limits: WalkLimits = {
    exactLimit: resolved.exactLimit,
    exactTokenLimit: resolved.exactTokenLimit,
    stop: () => performance.now() - started > timeBudgetMs,
  };
  const result = runToEnd(walkTexts(texts, (chunk) => tokenizer.count(chunk, encoding), limits));
  return { tokens: result.tokens, exact: result.exact };
}

/** {@link countTexts} for one text. */
export function countText(text: string, encoding: EncodingName, options?: CountOptions): TextCount {
  return countTexts([text], encoding, options);
}

/**
 * Counts the tokens of several texts of one request in time slices of `sliceMs`, yielding to the
 * event loop between them: an upper bound of the real count, exact unless a text holds a run
 * longer than 128 letters, symbols or spaces or the count passes `exactLimit` / `exactTokenLimit`.
 */
export async function countTextsAsync(texts: readonly string[], encoding: EncodingName, options?: CountOptions): Promise<TextCount> {
  const resolved = resolveCountOptions(options, 'options', Infinity);
  if (resolved.strictBound || resolved.exactLimit === 0) return bytesOnly(texts);
  const { tokenizer } = resolved;
  // Load the encoder through the asynchronous import rather than a synchronous require on first use.
  if (!tokenizer.isLoaded(encoding)) await tokenizer.warmup([encoding]);
  const limits: WalkLimits = { exactLimit: resolved.exactLimit, exactTokenLimit: resolved.exactTokenLimit };
  const walk = walkTexts(texts, (chunk) => tokenizer.count(chunk, encoding), limits);
  // Most prompts are short: counted at once they never come near a slice, and skip its clock reads.
  const result = totalLength(texts) <= SHORT_TEXTS ? runToEnd(walk) : await runSliced(walk, resolved.sliceMs, resolved.signal);
  return { tokens: result.tokens, exact: result.exact };
}

/**
 * UTF-16 code units up to which an asynchronous count runs in one go: under a millisecond of
 * tokenizer work (0.15-0.55 ms measured for English, CJK and symbol text of this length; runs that
 * would take longer are bounded by bytes, see chunk-walk.ts), within a slice.
 */
export const SHORT_TEXTS = 2_048;

/** UTF-16 code units of all of `texts`. */
export function totalLength(texts: readonly string[]): number {
  let length = 0;
  for (const text of texts) length += text.length;
  return length;
}

/** {@link countTextsAsync} for one text. */
export function countTextAsync(text: string, encoding: EncodingName, options?: CountOptions): Promise<TextCount> {
  return countTextsAsync([text], encoding, options);
}
