/**
 * Where a text can be cut so that the token counts of the parts add up to the count of the whole,
 * for every OpenAI encoding (o200k_base, cl100k_base, p50k_base, r50k_base).
 *
 * Why a cut is count-preserving. These encodings split a text into pre-tokens with a regular
 * expression, then run BPE on each pre-token alone: the count is the sum over pre-tokens. A cut at
 * index i keeps that sum when (1) i is a pre-token boundary of the whole text and (2) the two parts
 * split into the same pre-tokens as the whole. (1) holds when no pre-token can contain the pair of
 * characters around i; (2) holds when the character before i is not whitespace, because the only
 * parts of the patterns that look past what they consume (`\s+(?!\S)`, cl100k's `\s+$`) follow
 * whitespace: every other alternative that succeeds on the left part succeeds identically on the
 * whole, and the patterns never look behind, so the right part starts fresh as the whole does.
 * With x the character before i and y the one at i, (1) holds for:
 * - x a letter, y neither a letter, a mark nor `'`: letter pre-tokens end at the first non-letter
 *   (o200k counts marks as letters; `'` may start a contraction such as `'s`);
 * - x a digit, y not a digit: digit pre-tokens hold digits only;
 * - x neither whitespace, letter, digit nor mark (punctuation, symbols, controls), y a digit or a
 *   whitespace other than CR/LF (a punctuation run may absorb the line breaks that follow it).
 * The test suite checks the equality on every cut of the adversarial corpus.
 */

/**
 * Code points in the longest run of letters, of punctuation or of whitespace that is counted with
 * the tokenizer; a chunk holding a longer run is bounded by its UTF-8 bytes instead. BPE cost grows
 * with the square of a pre-token's length (10 KB of `'a'` takes 60-80 ms, 100 KB 8-15 s; 96 random
 * 3-byte letters about 0.5 ms), and runs this long do not occur in prose, code or CJK text (the
 * longest in the test fixtures: 37 characters of Japanese).
 */
export const MAX_RUN_LENGTH = 96;

/**
 * Target length of a counted chunk, in UTF-16 code units. gpt-tokenizer spends up to about 2 µs
 * per byte on input without cached merges (C0 controls, random characters): 256 units of 3-byte
 * characters stay near 1.5 ms of work between two checks of the slice clock.
 */
export const CHUNK_LENGTH = 256;

/** How far past the target a cut is looked for before the stretch is bounded by bytes. */
export const CUT_WINDOW = 128;

/** A pair of characters around a count-preserving cut (the cut is after the first one). */
const CUT = /\p{L}(?=[^\p{L}\p{M}'])|\p{N}(?=\P{N})|[^\s\p{L}\p{N}\p{M}](?=\p{N}|[^\S\r\n])/u;

/** A run too long to hand to the tokenizer. */
const LONG_RUN = new RegExp(
  `[\\p{L}\\p{M}]{${MAX_RUN_LENGTH + 1}}|[^\\s\\p{L}\\p{M}\\p{N}]{${MAX_RUN_LENGTH + 1}}|\\s{${MAX_RUN_LENGTH + 1}}`,
  'u',
);

/**
 * The first count-preserving cut in `text` at an index in `(from, to)`, or -1. Only
 * `text[from, to)` is read, so the cost is bounded by the window whatever the text's length.
 */
export function findCut(text: string, from: number, to: number): number {
  if (to - from < 2) return -1;
  const match = CUT.exec(from === 0 && to === text.length ? text : text.slice(from, to));
  return match === null ? -1 : from + match.index + match[0].length;
}

/** True when `chunk` holds a run longer than {@link MAX_RUN_LENGTH} code points. */
export function hasLongRun(chunk: string): boolean {
  return chunk.length > MAX_RUN_LENGTH && LONG_RUN.test(chunk);
}

/**
 * UTF-8 byte length: an upper bound on the token count of any byte-level BPE encoding (every token
 * is at least one byte) and of a SentencePiece model with byte fallback. Lone surrogates count 3
 * bytes, as they are sent as U+FFFD.
 */
export function utf8ByteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}
