/**
 * gpt-tokenizer's byte-pair ranks read from the `.tiktoken` file the package ships
 * (`gpt-tokenizer/data/<encoding>.tiktoken`, one "<base64 token> <rank>" line per token) instead of
 * its JS module. The module is a 2.4 MB array literal (o200k) whose source V8 keeps: once garbage
 * is collected, it costs about 52 MB of RSS over bare node against about 41 MB for the same array
 * built from the file (docs/benchmarks.md gives the commands; before a collection the two are
 * within noise of each other). The values
 * equal the module's one for one (test/tokenizer/tiktoken-ranks.test.ts compares all four
 * encodings), so counts cannot differ.
 */

/** A rank's token: its text when its bytes are UTF-8 text, else the bytes (as gpt-tokenizer holds them). */
export type RankValue = string | number[];

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const SIXBITS = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE64.length; i += 1) SIXBITS[BASE64.charCodeAt(i)] = i;

const SPACE = 0x20;
const NEWLINE = 0x0a;
const PAD = 0x3d;
const BOM = '\ufeff';
/** The longest token of the four encodings is 256 bytes; room to spare. */
const MAX_TOKEN_BYTES = 4096;

/**
 * Parses a `.tiktoken` file into the ranks array gpt-tokenizer's `GptEncoding` takes. Decodes base64
 * into one reused buffer (no per-line strings or Buffers: the transient garbage is what this saves).
 * A token whose bytes are not valid UTF-8, or start with a byte-order mark, stays bytes, as in the
 * package's own modules. Throws on anything malformed, so a caller can fall back to the module.
 */
export function parseTiktokenRanks(data: Uint8Array): RankValue[] {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const bytes = new Uint8Array(MAX_TOKEN_BYTES);
  const ranks: RankValue[] = [];
  let i = 0;
  while (i < data.length) {
    if (data[i] === NEWLINE) {
      i += 1;
      continue;
    }
    let length = 0;
    let acc = 0;
    let bits = 0;
    for (; i < data.length && data[i] !== SPACE; i += 1) {
      const c = data[i]!;
      if (c === PAD) continue;
      const six = c < 128 ? SIXBITS[c]! : -1;
      if (six < 0 || length >= MAX_TOKEN_BYTES) throw new Error(`malformed token at byte ${i}`);
      acc = ((acc << 6) | six) & 0xffffff;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        bytes[length++] = (acc >> bits) & 0xff;
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
    if (length === 0 || digits === 0 || ranks[rank] !== undefined) throw new Error(`malformed line before byte ${i}`);
    i += 1;
    const token = bytes.subarray(0, length);
    let value: RankValue;
    try {
      value = decoder.decode(token);
      if (value.startsWith(BOM)) value = Array.from(token);
    } catch {
      value = Array.from(token);
    }
    ranks[rank] = value;
  }
  // p50k_base has no rank 50256 (its end-of-text special token): a hole, as in the package's array.
  return ranks;
}
