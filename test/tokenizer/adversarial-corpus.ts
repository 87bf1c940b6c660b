/**
 * A seeded generator of text crafted against token estimators: character classes that tokenize
 * far worse than natural text of the same script (controls, whitespace mixes, combining marks,
 * random code points of every UTF-8 length, rare ideographs, private use, emoji sequences, digit and
 * punctuation runs, long single letters, base64/hex) and mixes of them with natural text. Used by
 * the bound tests and by the bench (`bench/tokenizers.ts`); the same seed gives the same text.
 */
import { readFileSync } from 'node:fs';

/** A 32-bit linear congruential generator: deterministic, fast, good enough to defeat caches. */
export function prng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state;
  };
}

type Make = (units: number, next: () => number) => string;

/** Builds about `units` UTF-16 code units from a code-point source, in batches (fast at 10 MB). */
function fromCodePoints(units: number, next: () => number): string {
  const parts: string[] = [];
  let length = 0;
  let batch: number[] = [];
  while (length < units) {
    const codePoint = next();
    batch.push(codePoint);
    length += codePoint > 0xffff ? 2 : 1;
    if (batch.length === 8192) {
      parts.push(String.fromCodePoint(...batch));
      batch = [];
    }
  }
  parts.push(String.fromCodePoint(...batch));
  return parts.join('');
}

function fromPieces(units: number, pieces: readonly string[], random: () => number): string {
  const parts: string[] = [];
  let length = 0;
  while (length < units) {
    const piece = pieces[random() % pieces.length]!;
    parts.push(piece);
    length += piece.length;
  }
  return parts.join('');
}

const between = (low: number, high: number, random: () => number) => low + (random() % (high - low + 1));

/** Random bytes, for base64 and hex. */
function randomBytes(count: number, random: () => number): Buffer {
  const buffer = Buffer.allocUnsafe(count);
  for (let i = 0; i < count; i++) buffer[i] = random() & 0xff;
  return buffer;
}

const ZWJ_EMOJI = ['👨‍👩‍👧‍👦', '🏳️‍🌈', '👩🏽‍💻', '🧑‍🤝‍🧑', '👁️‍🗨️', '🧔🏿‍♂️', '❤️‍🔥'];
const WHITESPACE = [' ', '  ', '\t', '\n', '\r\n', '\u00a0', '\u2003', '\u3000', '\u2028', '\u0085'];

/** The adversarial classes, by name. */
export const ADVERSARIAL_KINDS: Readonly<Record<string, Make>> = {
  controls: (n, r) => fromCodePoints(n, () => between(0x01, 0x1f, r)),
  'tab-vt-ff': (n, r) => fromPieces(n, ['\t', '\v', '\f', ' ', '\t\v', '\f\f'], r),
  'combining-marks': (n, r) => fromCodePoints(n, () => (r() % 9 === 0 ? between(0x61, 0x7a, r) : between(0x300, 0x36f, r))),
  'random-2-byte': (n, r) => fromCodePoints(n, () => between(0x80, 0x7ff, r)),
  'random-3-byte': (n, r) => fromCodePoints(n, () => between(0x800, 0xd7ff, r)),
  'random-4-byte': (n, r) => fromCodePoints(n, () => between(0x10000, 0x10fffd, r)),
  'rare-cjk': (n, r) => fromCodePoints(n, () => (r() % 4 === 0 ? between(0x3400, 0x4dbf, r) : between(0x4e00, 0x9fff, r))),
  'cjk-ext-b': (n, r) => fromCodePoints(n, () => between(0x20000, 0x2a6df, r)),
  'random-hangul': (n, r) => fromCodePoints(n, () => between(0xac00, 0xd7a3, r)),
  'random-kana': (n, r) => fromCodePoints(n, () => between(0x3041, 0x30fa, r)),
  'korean-words': (n, r) => fromPieces(n, ['한국어 ', '텍스트 ', '포함합니다 ', '서울 ', '안녕하세요 ', '데이터베이스 '], r),
  'han-words': (n, r) => fromPieces(n, ['中国', '我们', '发展', '经济', '社会', '政府', '问题', '工作', '时间', '国家'], r),
  'private-use': (n, r) => fromCodePoints(n, () => (r() % 3 === 0 ? between(0xf0000, 0xffffd, r) : between(0xe000, 0xf8ff, r))),
  'emoji-zwj': (n, r) => fromPieces(n, ZWJ_EMOJI, r),
  digits: (n, r) => fromCodePoints(n, () => between(0x30, 0x39, r)),
  'digit-groups': (n, r) => fromPieces(n, ['1 ', '22 ', '333 ', '4,444 ', '7.5 ', '-0.001 ', '1e9 '], r),
  'punctuation-runs': (n, r) => fromPieces(n, ['!', '"', '#', '$', '%', '&', '(', ')', '*', '+', ',', '-', '.', '/', ':', ';', '<', '=', '>', '?', '@', '[', ']', '^', '_', '`', '{', '|', '}', '~'], r),
  'whitespace-runs': (n, r) => fromPieces(n, WHITESPACE, r),
  spaces: (n) => ' '.repeat(n),
  'long-letter': (n) => 'a'.repeat(n),
  'random-letters': (n, r) => fromCodePoints(n, () => between(0x61, 0x7a, r)),
  'random-ascii': (n, r) => fromCodePoints(n, () => between(0x21, 0x7e, r)),
  base64: (n, r) => randomBytes(Math.ceil((n * 3) / 4), r).toString('base64').slice(0, n),
  hex: (n, r) => randomBytes(Math.ceil(n / 2), r).toString('hex').slice(0, n),
  // Characters whose NFKC form is much longer (a tokenizer that normalizes sees more bytes).
  'compatibility-forms': (n, r) =>
    fromCodePoints(n, () => [0xfdfa, 0xfdfb, between(0x3300, 0x3357, r), between(0x2474, 0x249b, r), between(0x33e0, 0x33fe, r), between(0x1d15e, 0x1d164, r)][r() % 6]!),
  'invisible-format': (n, r) => fromPieces(n, ['\u200b', '\u200d', '\u2060', '\ufeff', '\u202e', '\u2066', '\u00ad'], r),
  'lone-surrogates': (n, r) => fromPieces(n, ['\ud800', '\udfff', 'a', '\udbff'], r),
};

/** Natural-text fixtures (see test/tokenizer/fixtures/README.md), by language. */
export const NATURAL_LANGUAGES = ['en', 'pt-BR', 'code', 'zh-CN', 'ja'] as const;
export type NaturalLanguage = (typeof NATURAL_LANGUAGES)[number];

const fixtures = new Map<NaturalLanguage, string>();

/** A natural-text fixture, whole. */
export function naturalFixture(language: NaturalLanguage): string {
  let text = fixtures.get(language);
  if (text === undefined) {
    text = readFileSync(new URL(`./fixtures/${language}.txt`, import.meta.url), 'utf8');
    fixtures.set(language, text);
  }
  return text;
}

/** About `units` code units of natural text: the fixture from a seeded offset, repeated if needed. */
export function naturalText(language: NaturalLanguage, units: number, seed = 1): string {
  const source = naturalFixture(language);
  const start = prng(seed)() % source.length;
  let text = source.slice(start) + '\n' + source.slice(0, start);
  while (text.length < units) text += '\n' + text;
  return text.slice(0, units);
}

/** About `units` code units of one adversarial class. */
export function adversarialText(kind: string, units: number, seed = 1): string {
  const make = ADVERSARIAL_KINDS[kind];
  if (make === undefined) throw new Error(`unknown adversarial kind ${kind}`);
  return make(units, prng(seed));
}

/**
 * Natural text with adversarial stretches spliced in (about one third of the length), several
 * classes at once: the case where a per-class estimate would average the attack away.
 */
export function mixedText(units: number, seed = 1): string {
  const random = prng(seed);
  const kinds = Object.keys(ADVERSARIAL_KINDS);
  const parts: string[] = [];
  let length = 0;
  while (length < units) {
    const language = NATURAL_LANGUAGES[random() % NATURAL_LANGUAGES.length]!;
    const natural = naturalText(language, between(100, 2000, random), random());
    const attack = adversarialText(kinds[random() % kinds.length]!, between(20, 1000, random), random());
    parts.push(natural, attack);
    length += natural.length + attack.length;
  }
  return parts.join('').slice(0, units);
}

/** One case of the corpus. */
export interface CorpusCase {
  name: string;
  text: string;
}

/** Every adversarial class and a mix at each size (code units), from one seed. */
export function adversarialCorpus(sizes: readonly number[], seed = 1): CorpusCase[] {
  const cases: CorpusCase[] = [];
  for (const size of sizes) {
    Object.keys(ADVERSARIAL_KINDS).forEach((kind, index) => cases.push({ name: `${kind} ${size}`, text: adversarialText(kind, size, seed + index) }));
    cases.push({ name: `mixed ${size}`, text: mixedText(size, seed) });
  }
  return cases;
}
