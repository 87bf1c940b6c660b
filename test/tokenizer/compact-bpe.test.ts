import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { O200K_TOKEN_SPLIT_REGEX } from 'gpt-tokenizer/encodingParams/constants';
import { beforeAll, describe, expect, it } from 'vitest';
import { CompactBpeCounter, CompactRanks } from '../../src/tokenizer/compact-bpe.js';
import { encodingSource, gptTokenizer } from '../../src/tokenizer/gpt-tokenizer.js';
import { jsTiktokenTokenizer } from '../../src/tokenizer/js-tiktoken.js';
import type { EncodingName } from '../../src/tokenizer/types.js';
import { adversarialCorpus, naturalText, NATURAL_LANGUAGES } from './adversarial-corpus.js';

const require = createRequire(import.meta.url);
const dataFile = (encoding: EncodingName) => readFileSync(require.resolve(`gpt-tokenizer/data/${encoding}.tiktoken`));
const encodings: EncodingName[] = ['o200k_base', 'cl100k_base', 'p50k_base', 'r50k_base'];
const bytes = (text: string) => new TextEncoder().encode(text);
const b64 = (text: string) => Buffer.from(text, 'latin1').toString('base64');
/** A `.tiktoken` file of the given tokens (latin1 text, one byte per character), ranked in order. */
const tableOf = (tokens: readonly string[]) => bytes(tokens.map((t, rank) => `${b64(t)} ${rank}\n`).join(''));
/** gpt-tokenizer's own o200k_base encoder: an independent count (texts without U+FEFF). */
async function packageCounter(): Promise<(text: string) => number> {
  const { countTokens } = await import('gpt-tokenizer/encoding/o200k_base');
  const plain = { disallowedSpecial: new Set<string>() };
  return (text) => countTokens(text, plain);
}

/** Pre-tokens split on spaces only, for synthetic tables. */
const WORDS = /[^ ]+| /g;

const corpus = [
  ...adversarialCorpus([1, 7, 64, 700], 1),
  ...adversarialCorpus([40], 9),
  ...NATURAL_LANGUAGES.map((language) => ({ name: language, text: naturalText(language, 6000) })),
];

describe('the compact counter against js-tiktoken (a port of tiktoken)', () => {
  const reference = jsTiktokenTokenizer();
  beforeAll(() => reference.warmup(encodings), 120_000);

  it.each(encodings)('%s: the same count for every text of the adversarial and natural corpus', (encoding) => {
    const counter = gptTokenizer();
    const differing = corpus.filter((c) => counter.count(c.text, encoding) !== reference.count(c.text, encoding)).map((c) => c.name);
    expect(encodingSource(encoding)).toBe('data-file');
    expect(differing).toEqual([]);
  }, 120_000);

  it('counts U+FEFF as tiktoken does, where gpt-tokenizer\'s own encoder does not', async () => {
    const { countTokens } = await import('gpt-tokenizer/encoding/o200k_base');
    const plain = { disallowedSpecial: new Set<string>() };
    const counter = gptTokenizer();
    for (const text of ['\ufeff', '\ufeff\ufeff', 'a\ufeffb', '\ufeffusing System; namespace Demo { }']) {
      expect(counter.count(text, 'o200k_base')).toBe(reference.count(text, 'o200k_base'));
      expect(countTokens(text, plain)).toBeGreaterThan(reference.count(text, 'o200k_base'));
    }
  });
});

describe('gptTokenizer() in Node', () => {
  it('counts as the package module does on texts without U+FEFF', async () => {
    const tokenizer = gptTokenizer();
    await tokenizer.warmup(['o200k_base']);
    expect(encodingSource('o200k_base')).toBe('data-file');
    const { countTokens } = await import('gpt-tokenizer/encoding/o200k_base');
    const plain = { disallowedSpecial: new Set<string>() };
    const texts = [
      'The committee met on Tuesday to discuss the budget.',
      '人工智能正在改变世界。東京は日本の首都です。',
      'Deploy done 🚀🎉 — thanks 👍🏽 and 👨‍👩‍👧‍👦!',
      'User text may contain <|endoftext|> as plain text.',
      'Não há razão para preocupação às 9h.',
      ...corpus.filter((c) => !c.text.includes('\ufeff')).map((c) => c.text),
    ];
    expect(texts.filter((text) => tokenizer.count(text, 'o200k_base') !== countTokens(text, plain))).toEqual([]);
  }, 60_000);

  it('loads synchronously from the data file too (count before any warmup)', () => {
    const tokenizer = gptTokenizer();
    expect(tokenizer.count('tiktoken is great!', 'cl100k_base')).toBe(6);
    expect(encodingSource('cl100k_base')).toBe('data-file');
  });
});

describe('CompactRanks', () => {
  it('finds every token of o200k_base by its bytes, and nothing else', () => {
    const data = dataFile('o200k_base');
    const ranks = new CompactRanks(data);
    const lines = data.toString('latin1').trim().split('\n');
    expect(ranks.size).toBe(lines.length);
    for (const line of lines.filter((_, i) => i % 97 === 0)) {
      const [token, rank] = line.split(' ');
      const tokenBytes = Buffer.from(token!, 'base64');
      expect(ranks.rankOf(tokenBytes, 0, tokenBytes.length)).toBe(Number(rank));
    }
    const absent = bytes('certainly not one token of o200k');
    expect(ranks.rankOf(absent, 0, absent.length)).toBe(0x7fffffff);
  });

  it('reads a byte range in place', () => {
    const ranks = new CompactRanks(tableOf(['a', 'b', 'ab']));
    expect(ranks.rankOf(bytes('xaby'), 1, 3)).toBe(2);
    expect(ranks.rankOf(bytes('xaby'), 1, 2)).toBe(0);
  });

  it('leaves a hole where a rank is not given (p50k_base has none at 50256)', () => {
    const ranks = new CompactRanks(bytes('YQ== 0\nYg== 2\n'));
    expect(ranks.size).toBe(2);
    expect(ranks.rankOf(bytes('b'), 0, 1)).toBe(2);
  });

  it.each([
    ['a character outside base64', 'YQ== 0\nY!== 1\n'],
    ['a rank that is not a number', 'YQ== x\n'],
    ['a missing rank', 'YQ==\n'],
    ['a rank given twice', 'YQ== 0\nYg== 0\n'],
    ['a token given twice', 'YQ== 0\nYQ== 1\n'],
    ['a rank far beyond the number of lines', 'YQ== 99999\n'],
    ['an empty token', ' 0\n'],
    ['a token longer than any encoding has', `${'YWFh'.repeat(2000)} 0\n`],
  ])('throws on %s', (_name, text) => {
    expect(() => new CompactRanks(bytes(text))).toThrow(Error);
  });
});

describe('CompactBpeCounter: the merge rule', () => {
  it('merges the lowest-ranked pair first', () => {
    // "abcd" (not itself a token): ab first gives [ab][c][d], then cd: [ab][cd], 2 tokens.
    const abFirst = new CompactBpeCounter(new CompactRanks(tableOf(['a', 'b', 'c', 'd', 'ab', 'bc', 'cd'])), WORDS);
    expect(abFirst.countTokens('abcd')).toBe(2);
    // bc first gives [a][bc][d], and neither abc nor bcd is a token: 3.
    const bcFirst = new CompactBpeCounter(new CompactRanks(tableOf(['a', 'b', 'c', 'd', 'bc', 'ab', 'cd'])), WORDS);
    expect(bcFirst.countTokens('abcd')).toBe(3);
  });

  it('takes the leftmost of equal pairs', () => {
    // "aaab": aa at 0 and at 1 rank the same. The left one gives [aa][a][b]: aaa and ab are not
    // tokens, 3. The right one would give [a][aa][b], then [a][aab]: 2.
    const counter = new CompactBpeCounter(new CompactRanks(tableOf(['a', 'b', 'aa', 'aab'])), WORDS);
    expect(counter.countTokens('aaab')).toBe(3);
  });

  it('counts a piece whose bytes are one token as 1, and splits pieces by the expression', () => {
    const counter = new CompactBpeCounter(new CompactRanks(tableOf(['a', 'b', ' ', 'ab'])), WORDS);
    expect(counter.countTokens('ab ab a')).toBe(5);
    expect(counter.countTokens('')).toBe(0);
  });

  it('gives the same counts with its merge cache full, emptied and refilled', () => {
    const counter = new CompactBpeCounter(new CompactRanks(dataFile('cl100k_base')), /[^ ]+| /gu);
    const words = Array.from({ length: 10_000 }, (_, i) => `zq${i.toString(36)}xj`);
    const fresh = words.map((w) => new CompactBpeCounter(new CompactRanks(tableOf([...'0123456789abcdefghijklmnopqrstuvwxyz'])), WORDS).countTokens(w));
    expect(fresh.every((n, i) => n === words[i]!.length)).toBe(true);
    const first = words.map((w) => counter.countTokens(w));
    const again = words.map((w) => counter.countTokens(w));
    expect(again).toEqual(first);
    expect(counter.countTokens(words.join(' '))).toBe(first.reduce((a, b) => a + b, 0) + words.length - 1);
  });

  it('counts a long piece (beyond the cache\'s limit) and a piece longer than its first buffer', async () => {
    const counter = new CompactBpeCounter(new CompactRanks(dataFile('o200k_base')), /[^ ]+| /gu);
    const reference = await packageCounter();
    for (const text of ['x'.repeat(65), 'ação'.repeat(100), '語'.repeat(300)]) {
      expect(counter.countTokens(text)).toBe(reference(text));
      expect(counter.countTokens(text)).toBe(reference(text));
    }
  });

  it('counts a piece beyond the buffers it keeps (64 KB), then small ones as before', async () => {
    const counter = new CompactBpeCounter(new CompactRanks(dataFile('o200k_base')), O200K_TOKEN_SPLIT_REGEX);
    const reference = await packageCounter();
    const small = 'Não há razão para preocupação às 9h.';
    const before = counter.countTokens(small);
    const long = 'z'.repeat(22_000);
    expect(counter.countTokens(long)).toBe(reference(long));
    expect(counter.countTokens(small)).toBe(before);
    expect(before).toBe(reference(small));
  }, 60_000);
});
