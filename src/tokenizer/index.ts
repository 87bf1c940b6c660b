/** Token counting: tokenizers, encodings, bounded counting. */
export type { EncodingName, Tokenizer } from './types.js';
export { ENCODING_NAMES, isEncodingName } from './types.js';
export { encodingForModel } from './encodings.js';
export { defaultTokenizer, gptTokenizer, type GptTokenizerOptions } from './gpt-tokenizer.js';
export { jsTiktokenTokenizer } from './js-tiktoken.js';
export type { CountOptions, TextCount } from './count.js';
export {
  countText,
  countTextAsync,
  countTexts,
  countTextsAsync,
  DEFAULT_EXACT_LIMIT,
  DEFAULT_EXACT_TOKEN_LIMIT,
  DEFAULT_SLICE_MS,
  DEFAULT_TIME_BUDGET_MS,
} from './count.js';
export { CHUNK_LENGTH, MAX_RUN_LENGTH, utf8ByteLength } from './safe-cuts.js';
export type { TextStats } from './text-stats.js';
export { textStats } from './text-stats.js';
