/**
 * One linear pass over a string that counts the character classes the token heuristics need.
 * No allocation besides the result, no regular expressions: about 3-8 ns per UTF-16 code unit.
 */

/** Character-class counts of a text, the input of every heuristic estimate. */
export interface TextStats {
  /** UTF-16 code units (`text.length`). */
  length: number;
  /** UTF-8 bytes: an upper bound on the token count of any byte-level BPE encoding. */
  utf8Bytes: number;
  /** Maximal runs of ASCII letters (`[A-Za-z]+`): roughly the English words and identifiers. */
  asciiWords: number;
  /** ASCII letters. */
  asciiLetters: number;
  /** Letters of ASCII runs beyond the 12th of their run (long identifiers, random strings, `'a'.repeat(n)`). */
  longRunLetters: number;
  /** ASCII digits. */
  digits: number;
  /** Groups of up to 3 digits in each digit run (OpenAI encodings split numbers into such groups). */
  digitGroups: number;
  /** ASCII punctuation and symbols. */
  asciiPunct: number;
  /** Spaces and tabs. */
  spaces: number;
  /** Line breaks (`\n`, `\r`). */
  newlines: number;
  /** Characters encoded in 2 UTF-8 bytes (U+0080-U+07FF: accented Latin, Greek, Cyrillic, Hebrew, Arabic). */
  twoByte: number;
  /** Han ideographs, kana, Hangul and CJK punctuation/full-width forms. */
  cjk: number;
  /** Other characters of the Basic Multilingual Plane encoded in 3 UTF-8 bytes (Indic, Thai, symbols). */
  otherBmp: number;
  /** Characters outside the BMP (emoji, rare ideographs): 4 UTF-8 bytes each. */
  astral: number;
  /** Hangul syllables and jamo (a part of `cjk`). */
  hangul: number;
  /** Hiragana and katakana (a part of `cjk`). */
  kana: number;
  /** Whitespace outside ASCII (no-break, em, ideographic spaces, line separators; a part of `twoByte`/`cjk`/`otherBmp`). */
  unicodeSpaces: number;
}

/** Counts the character classes of `text` in one pass. */
export function textStats(text: string): TextStats {
  let utf8Bytes = 0;
  let asciiWords = 0;
  let asciiLetters = 0;
  let longRunLetters = 0;
  let digits = 0;
  let digitGroups = 0;
  let asciiPunct = 0;
  let spaces = 0;
  let newlines = 0;
  let twoByte = 0;
  let cjk = 0;
  let otherBmp = 0;
  let astral = 0;
  let hangul = 0;
  let kana = 0;
  let unicodeSpaces = 0;
  let letterRun = 0;
  let digitRun = 0;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) {
      utf8Bytes += 1;
      const lower = c | 0x20;
      if (lower >= 0x61 && lower <= 0x7a) {
        asciiLetters++;
        if (letterRun === 0) asciiWords++;
        letterRun++;
        if (letterRun > 12) longRunLetters++;
        digitRun = 0;
        continue;
      }
      letterRun = 0;
      if (c >= 0x30 && c <= 0x39) {
        digits++;
        if (digitRun % 3 === 0) digitGroups++;
        digitRun++;
        continue;
      }
      digitRun = 0;
      if (c === 0x20 || c === 0x09) spaces++;
      else if (c === 0x0a || c === 0x0d) newlines++;
      else if (c > 0x20 && c < 0x7f) asciiPunct++;
      else spaces++; // other control characters: count like whitespace
      continue;
    }
    letterRun = 0;
    digitRun = 0;
    if (c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff) {
      unicodeSpaces++;
    }
    if (c < 0x800) {
      utf8Bytes += 2;
      twoByte++;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        utf8Bytes += 4;
        astral++;
        i++;
      } else {
        utf8Bytes += 3; // lone surrogate: encoded as U+FFFD
        otherBmp++;
      }
    } else {
      utf8Bytes += 3;
      if (
        (c >= 0x4e00 && c <= 0x9fff) || // CJK unified ideographs
        (c >= 0x3000 && c <= 0x30ff) || // CJK punctuation, hiragana, katakana
        (c >= 0x3400 && c <= 0x4dbf) || // extension A
        (c >= 0xac00 && c <= 0xd7af) || // Hangul syllables
        (c >= 0xff00 && c <= 0xffef) || // full-width forms
        (c >= 0xf900 && c <= 0xfaff) || // compatibility ideographs
        (c >= 0x1100 && c <= 0x11ff) || // Hangul jamo
        (c >= 0x3130 && c <= 0x318f) // Hangul compatibility jamo
      ) {
        cjk++;
        if (c >= 0x3040 && c <= 0x30ff) kana++;
        else if ((c >= 0xac00 && c <= 0xd7af) || (c >= 0x1100 && c <= 0x11ff) || (c >= 0x3130 && c <= 0x318f)) hangul++;
      } else {
        otherBmp++;
      }
    }
  }
  return {
    length,
    utf8Bytes,
    asciiWords,
    asciiLetters,
    longRunLetters,
    digits,
    digitGroups,
    asciiPunct,
    spaces,
    newlines,
    twoByte,
    cjk,
    otherBmp,
    astral,
    hangul,
    kana,
    unicodeSpaces,
  };
}
