/**
 * Where a text can be cut without changing its token count, and how long runs without a pre-token
 * boundary are capped before they reach a BPE tokenizer (whose cost grows with the square of such
 * a run: 10 KB of `'a'` takes 60-80 ms, 100 KB 8-15 s).
 */

/** Runs longer than this (letters, symbols or whitespace) are cut into pieces of this length. */
export const MAX_RUN_LENGTH = 128;

/** Target chunk length for budgeted counting, in UTF-16 code units. */
export const CHUNK_LENGTH = 2048;

/** How far past the target a safe split point is searched for. */
const SPLIT_WINDOW = 512;

const LETTER = /\p{L}/u;
const LONG_RUN = new RegExp(
  `[\\p{L}\\p{M}]{${MAX_RUN_LENGTH + 1},}|[^\\s\\p{L}\\p{M}\\p{N}]{${MAX_RUN_LENGTH + 1},}|\\s{${MAX_RUN_LENGTH + 1},}`,
  'gu',
);

/** Characters before which a cut keeps the count, when a letter precedes them (see `safeSplitAt`). */
function isSplitChar(code: number): boolean {
  return (
    code === 0x20 || // space
    code === 0x3001 || // 、
    code === 0x3002 || // 。
    code === 0xff0c || // ，
    code === 0xff01 || // ！
    code === 0xff1f || // ？
    code === 0xff1b || // ；
    code === 0xff1a // ：
  );
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/**
 * True when cutting `text` just before index `i` leaves the sum of the two parts' token counts equal
 * to the whole's, for the o200k and cl100k pre-tokenizers: the character before is a letter (so a
 * letter pre-token ends there) and the character at `i` is a space or CJK punctuation, which starts
 * the next pre-token and can only attach to what follows it.
 */
export function safeSplitAt(text: string, i: number): boolean {
  if (i <= 0 || i >= text.length || !isSplitChar(text.charCodeAt(i))) return false;
  const before = text.charCodeAt(i - 1);
  if (before < 0x80) return (before | 0x20) >= 0x61 && (before | 0x20) <= 0x7a;
  if (isLowSurrogate(before)) return false;
  return LETTER.test(text[i - 1]!);
}

/**
 * The end of the chunk that starts at `start`: a safe split point at or after `start + length`
 * (within a small window), else `start + length` moved off a surrogate pair (`forced: true`, the
 * cut may change the count by a token), or the end of the text.
 */
export function chunkEnd(text: string, start: number, length = CHUNK_LENGTH): { end: number; forced: boolean } {
  const target = start + length;
  if (target >= text.length) return { end: text.length, forced: false };
  const limit = Math.min(text.length, target + SPLIT_WINDOW);
  for (let i = target; i < limit; i++) if (safeSplitAt(text, i)) return { end: i, forced: false };
  let end = target;
  if (isLowSurrogate(text.charCodeAt(end))) end++;
  return { end, forced: true };
}

/**
 * Counts `text` with `count`, cutting every run of more than {@link MAX_RUN_LENGTH} letters, symbols
 * or whitespace into pieces first. Each cut, and each edge of a cut run, adds one token of margin (a
 * cut can merge differently by about a token). Returns the count and the number of cuts made.
 */
export function countWithRunGuard(text: string, count: (piece: string) => number): { tokens: number; cuts: number } {
  let tokens = 0;
  let cuts = 0;
  let position = 0;
  LONG_RUN.lastIndex = 0;
  for (let match = LONG_RUN.exec(text); match !== null; match = LONG_RUN.exec(text)) {
    const runStart = match.index;
    const runEnd = runStart + match[0].length;
    if (runStart > position) tokens += count(text.slice(position, runStart));
    // The run's own edges may merge differently once it is cut out: one token of margin each.
    tokens += 2;
    let pieceStart = runStart;
    while (pieceStart < runEnd) {
      let pieceEnd = Math.min(runEnd, pieceStart + MAX_RUN_LENGTH);
      if (pieceEnd < runEnd && isLowSurrogate(text.charCodeAt(pieceEnd))) pieceEnd++;
      tokens += count(text.slice(pieceStart, pieceEnd));
      if (pieceEnd < runEnd) {
        cuts++;
        tokens++;
      }
      pieceStart = pieceEnd;
    }
    position = runEnd;
  }
  if (position < text.length) tokens += count(position === 0 ? text : text.slice(position));
  return { tokens, cuts };
}
