/** Token counting: tokenizers, encodings, budgeted counting and cheap estimates. */
export type { EncodingName, Tokenizer } from './types.js';
export { ENCODING_NAMES, isEncodingName } from './types.js';
export { encodingForModel } from './encodings.js';
export { defaultTokenizer, gptTokenizer } from './gpt-tokenizer.js';
export { jsTiktokenTokenizer } from './js-tiktoken.js';
export type { CountOptions, TextCount } from './count.js';
export { countText, countTexts, DEFAULT_EXACT_LIMIT, DEFAULT_TIME_BUDGET_MS } from './count.js';
export { fastTokenEstimate, HEURISTIC_SCAN_LIMIT, utf8ByteLength } from './fast-estimate.js';
export { MAX_RUN_LENGTH } from './chunking.js';
export type { TextStats } from './text-stats.js';
export { textStats } from './text-stats.js';
