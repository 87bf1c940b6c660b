/** Shared types of the tokenizer layer. */

/** The byte-pair encodings the tokenizers can load. */
export type EncodingName = 'o200k_base' | 'cl100k_base' | 'p50k_base' | 'r50k_base';

/** Every supported encoding, in order of relevance. */
export const ENCODING_NAMES: readonly EncodingName[] = ['o200k_base', 'cl100k_base', 'p50k_base', 'r50k_base'];

/** True when `value` names a supported encoding. */
export function isEncodingName(value: unknown): value is EncodingName {
  return typeof value === 'string' && (ENCODING_NAMES as readonly string[]).includes(value);
}

/**
 * A BPE token counter. Encoders load lazily: on `warmup()`, or synchronously on the first `count()`
 * of an encoding (a one-time cost of 70-300 ms; call `warmup()` at startup to keep it off the
 * request path). Nothing is loaded at import time.
 */
export interface Tokenizer {
  /** Identifies the implementation (`gpt-tokenizer`, `js-tiktoken`, ...). */
  readonly name: string;
  /**
   * Exact token count of `text`. Special-token strings such as `<|endoftext|>` count as plain text,
   * as the provider APIs treat them in user content. Cost grows roughly quadratically with the
   * length of runs that have no pre-token boundary: use the guarded counters of this module (or
   * the request estimators) for untrusted input.
   */
  count(text: string, encoding: EncodingName): number;
  /** Loads the encoders ahead of use (default: `o200k_base` and `cl100k_base`). */
  warmup(encodings?: readonly EncodingName[]): Promise<void>;
  /** True when the encoder is loaded, so that `count` will not load it. */
  isLoaded(encoding: EncodingName): boolean;
}
