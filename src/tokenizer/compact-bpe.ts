/**
 * A byte-pair token counter over a compact rank table, built straight from a `.tiktoken` data file.
 *
 * Why not gpt-tokenizer's own encoder: it holds every token as a JS string in a `Map` (plus the
 * rank array and a merge cache), about 41 MB of resident memory for o200k_base once garbage is
 * collected. Here every token's bytes sit in one `Uint8Array` and an open-addressing hash table of
 * `Int32Array` finds a rank from a byte range: about 5 MB for o200k_base. Counting is the only job
 * (no encode or decode), and it follows tiktoken's merge rule (the lowest rank merges first, the
 * leftmost on a tie): test/tokenizer/compact-bpe.test.ts finds the counts of js-tiktoken on the
 * adversarial and natural corpus in all four encodings. gpt-tokenizer's encoder counts U+FEFF one
 * token too many; tiktoken's Rust core splits whitespace a little differently (see
 * docs/token-estimation.md). Text is split into pre-tokens by the encoding's own regular
 * expression, taken from gpt-tokenizer.
 */

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const SIXBITS = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE64.length; i += 1) SIXBITS[BASE64.charCodeAt(i)] = i;

const SPACE = 0x20;
const NEWLINE = 0x0a;
const PAD = 0x3d;
/** The longest token of the four encodings is 256 bytes; room to spare. */
const MAX_TOKEN_BYTES = 4096;
/** No rank: larger than any real one, so `<` comparisons need no special case. */
const NONE = 0x7fffffff;
/**
 * Merged pieces remembered (piece -> token count): natural text repeats its words, and a merge
 * costs a few microseconds (a run of CJK characters is one piece). Bounded, and emptied when full,
 * so that memory stays flat whatever the text.
 */
const MERGE_CACHE_SIZE = 4096;
/** Pieces longer than this are not remembered (a long run rarely repeats). */
const MERGE_CACHE_MAX_PIECE = 64;
/**
 * Work buffers up to this many bytes are kept for the next piece; a larger piece (a long run
 * counted by a caller without the guarded counters) gets buffers that are dropped after it.
 */
const KEPT_BUFFER_BYTES = 1 << 16;

/** FNV-1a over bytes[start, end). */
function hashOf(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i += 1) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

/** Every token's bytes in one buffer, and a hash table from a byte range to its rank. */
export class CompactRanks {
  /** Tokens' bytes, one after another. */
  readonly #bytes: Uint8Array;
  /** Token i's bytes are #bytes[#starts[i], #starts[i + 1]). */
  readonly #starts: Int32Array;
  readonly #ranks: Int32Array;
  /** Open addressing, linear probing: token index + 1, or 0 for an empty slot. */
  readonly #table: Int32Array;
  readonly #mask: number;

  /**
   * Parses a `.tiktoken` file ("<base64 token> <rank>" per line). Throws on anything malformed
   * (a bad character, a missing or repeated rank, a token given twice), so that a caller can fall
   * back to another source.
   */
  constructor(data: Uint8Array) {
    let lines = 0;
    for (let i = 0; i < data.length; i += 1) if (data[i] === NEWLINE) lines += 1;
    // Decoded tokens are never longer than their base64 text, so the file's size bounds them.
    const bytes = new Uint8Array(data.length);
    const starts = new Int32Array(lines + 2);
    const ranks = new Int32Array(lines + 1);
    let size = 1;
    while (size < (lines + 1) * 2) size *= 2;
    const table = new Int32Array(size);
    const mask = size - 1;
    // Ranks run from 0 with at most a few holes (p50k_base has one): a larger rank is malformed.
    const seenRanks = new Uint8Array(lines + 1024);
    let count = 0;
    let end = 0;
    let i = 0;
    while (i < data.length) {
      if (data[i] === NEWLINE) {
        i += 1;
        continue;
      }
      const start = end;
      let acc = 0;
      let bits = 0;
      for (; i < data.length && data[i] !== SPACE; i += 1) {
        const c = data[i]!;
        if (c === PAD) continue;
        const six = c < 128 ? SIXBITS[c]! : -1;
        if (six < 0 || end - start >= MAX_TOKEN_BYTES) throw new Error(`malformed token at byte ${i}`);
        acc = ((acc << 6) | six) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
          bits -= 8;
          bytes[end++] = (acc >> bits) & 0xff;
        }
      }
      i += 1;
      let rank = 0;
      let digits = 0;
      for (; i < data.length && data[i] !== NEWLINE; i += 1) {
        const d = data[i]! - 0x30;
        if (d < 0 || d > 9 || digits >= 9) throw new Error(`malformed rank at byte ${i}`);
        rank = rank * 10 + d;
        digits += 1;
      }
      i += 1;
      if (end === start || digits === 0 || rank >= seenRanks.length || seenRanks[rank] === 1) throw new Error(`malformed line before byte ${i}`);
      seenRanks[rank] = 1;
      starts[count] = start;
      ranks[count] = rank;
      let slot = hashOf(bytes, start, end) & mask;
      while (table[slot] !== 0) {
        const other = table[slot]! - 1;
        if (CompactRanks.#same(bytes, starts[other]!, other + 1 === count ? start : starts[other + 1]!, start, end)) {
          throw new Error(`token given twice before byte ${i}`);
        }
        slot = (slot + 1) & mask;
      }
      table[slot] = count + 1;
      count += 1;
      starts[count] = end;
    }
    this.#bytes = bytes.slice(0, end);
    this.#starts = starts.slice(0, count + 1);
    this.#ranks = ranks.slice(0, count);
    this.#table = table;
    this.#mask = mask;
  }

  /** Number of tokens. */
  get size(): number {
    return this.#ranks.length;
  }

  static #same(bytes: Uint8Array, a: number, aEnd: number, b: number, bEnd: number): boolean {
    if (aEnd - a !== bEnd - b) return false;
    for (; a < aEnd; a += 1, b += 1) if (bytes[a] !== bytes[b]) return false;
    return true;
  }

  /** The rank of the token whose bytes are piece[start, end), or NONE. */
  rankOf(piece: Uint8Array, start: number, end: number): number {
    const length = end - start;
    const tokens = this.#bytes;
    const starts = this.#starts;
    let slot = hashOf(piece, start, end) & this.#mask;
    for (;;) {
      const entry = this.#table[slot]!;
      if (entry === 0) return NONE;
      const t = entry - 1;
      const from = starts[t]!;
      if (starts[t + 1]! - from === length) {
        let k = 0;
        while (k < length && tokens[from + k] === piece[start + k]) k += 1;
        if (k === length) return this.#ranks[t]!;
      }
      slot = (slot + 1) & this.#mask;
    }
  }
}

/**
 * Counts the tokens of a text: pre-tokens from `split` (a global, unicode regular expression), each
 * one token if its bytes are a token, else merged pair by pair as tiktoken does.
 */
export class CompactBpeCounter {
  readonly #ranks: CompactRanks;
  readonly #split: RegExp;
  readonly #encoder = new TextEncoder();
  #piece = new Uint8Array(256);
  /** Per byte boundary of the piece being merged: its start, and the rank of the pair starting there. */
  #starts = new Int32Array(257);
  #pairRanks = new Int32Array(257);
  readonly #merged = new Map<string, number>();

  constructor(ranks: CompactRanks, split: RegExp) {
    this.#ranks = ranks;
    // Its own copy: a global expression keeps its position in `lastIndex`.
    this.#split = new RegExp(split.source, split.flags.includes('g') ? split.flags : `${split.flags}g`);
  }

  countTokens(text: string): number {
    const split = this.#split;
    split.lastIndex = 0;
    let count = 0;
    let match: RegExpExecArray | null;
    while ((match = split.exec(text)) !== null) {
      const piece = match[0];
      if (piece.length === 0) {
        split.lastIndex += 1;
        continue;
      }
      count += this.#countPiece(piece);
    }
    return count;
  }

  #countPiece(text: string): number {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    let piece = this.#piece;
    if (piece.length < text.length * 3) {
      piece = new Uint8Array(text.length * 3);
      if (piece.length <= KEPT_BUFFER_BYTES) this.#piece = piece;
    }
    const length = this.#encoder.encodeInto(text, piece).written;
    const ranks = this.#ranks;
    if (length === 1 || ranks.rankOf(piece, 0, length) !== NONE) return 1;
    const cacheable = text.length <= MERGE_CACHE_MAX_PIECE;
    if (cacheable) {
      const known = this.#merged.get(text);
      if (known !== undefined) return known;
    }
    const count = this.#merge(piece, length);
    if (cacheable) {
      if (this.#merged.size >= MERGE_CACHE_SIZE) this.#merged.clear();
      this.#merged.set(text, count);
    }
    return count;
  }

  /** The token count of the first `length` bytes of `piece`, merged pair by pair. */
  #merge(piece: Uint8Array, length: number): number {
    const ranks = this.#ranks;
    let starts = this.#starts;
    let pairRanks = this.#pairRanks;
    if (starts.length < length + 1) {
      starts = new Int32Array(length + 1);
      pairRanks = new Int32Array(length + 1);
      if (starts.byteLength <= KEPT_BUFFER_BYTES) {
        this.#starts = starts;
        this.#pairRanks = pairRanks;
      }
    }
    // tiktoken's byte_pair_merge: parts are boundaries; the pair at part i spans parts i to i + 2.
    for (let i = 0; i <= length; i += 1) starts[i] = i;
    let parts = length + 1;
    for (let i = 0; i < length - 1; i += 1) pairRanks[i] = ranks.rankOf(piece, i, i + 2);
    pairRanks[length - 1] = NONE;
    pairRanks[length] = NONE;
    for (;;) {
      let min = NONE;
      let at = -1;
      for (let i = 0; i < parts - 1; i += 1) {
        if (pairRanks[i]! < min) {
          min = pairRanks[i]!;
          at = i;
        }
      }
      if (at < 0) break;
      // Merge parts at and at + 1: drop boundary at + 1, then rank the pairs now around it.
      starts.copyWithin(at + 1, at + 2, parts);
      pairRanks.copyWithin(at + 1, at + 2, parts);
      parts -= 1;
      pairRanks[at] = at + 2 < parts ? ranks.rankOf(piece, starts[at]!, starts[at + 2]!) : NONE;
      if (at > 0) pairRanks[at - 1] = ranks.rankOf(piece, starts[at - 1]!, starts[at + 1]!);
    }
    return parts - 1;
  }
}
