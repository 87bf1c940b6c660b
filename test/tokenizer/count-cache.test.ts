import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/index.js';
import { countTextAsync } from '../../src/tokenizer/count.js';
import { gptTokenizer } from '../../src/tokenizer/gpt-tokenizer.js';
import type { EncodingName } from '../../src/tokenizer/types.js';

/**
 * The default tokenizer keeps the counts of pieces it has counted (`countCache`): a count served
 * from it must be the count itself, for every kind of text and both encodings, through the
 * tokenizer and through the walk that cuts long texts into pieces.
 */
const cached = gptTokenizer();
const uncached = gptTokenizer({ countCache: false });
const encodings: EncodingName[] = ['o200k_base', 'cl100k_base'];

beforeAll(async () => {
  await Promise.all([cached.warmup(encodings), uncached.warmup(encodings)]);
}, 60_000);

const pieces = [
  'What is the capital of Portugal? Answer in one word.',
  'Não há razão para preocupação: a configuração está correta.',
  '人工智能正在改变世界。東京は日本の首都です。',
  'Deploy done 🚀🎉 — thanks 👍🏽 and 👨‍👩‍👧‍👦!',
  'lone \ud800 surrogate \udfff here',
  'a    b\n\n\n\tc   \r\n  d',
  'x',
  'word '.repeat(102), // 510 characters: kept
  'word '.repeat(103), // 515: counted every time
  '<|endoftext|> must count as plain text',
];

describe('gptTokenizer count cache', () => {
  it.each(encodings)('gives the counts of an uncached tokenizer, the first time and from the cache (%s)', (encoding) => {
    for (const text of pieces) {
      const expected = uncached.count(text, encoding);
      expect(cached.count(text, encoding)).toBe(expected);
      expect(cached.count(text, encoding)).toBe(expected);
      // The same text as another string object (a substring of a longer one) hits the same entry.
      expect(cached.count(`[${text}]`.slice(1, -1), encoding)).toBe(expected);
    }
  });

  it('keeps encodings apart: a text counted in one encoding is counted again in the other', () => {
    const text = 'ありがとうございました、また来週お会いしましょう';
    const o200k = cached.count(text, 'o200k_base');
    const cl100k = cached.count(text, 'cl100k_base');
    expect(o200k).toBe(uncached.count(text, 'o200k_base'));
    expect(cl100k).toBe(uncached.count(text, 'cl100k_base'));
    expect(o200k).not.toBe(cl100k);
  });

  it('gives the same estimate through the walk for a long text counted twice (its pieces from the cache)', async () => {
    const text = Array.from({ length: 400 }, (_, i) => `Sentence ${i} of a long system prompt, with ${i % 7} clauses; ünïcödé ${'漢字'.repeat(i % 3)}.`).join(' ');
    const expected = await countTextAsync(text, 'o200k_base', { tokenizer: uncached });
    expect(await countTextAsync(text, 'o200k_base', { tokenizer: cached })).toEqual(expected);
    expect(await countTextAsync(text, 'o200k_base', { tokenizer: cached })).toEqual(expected);
    expect(expected.tokens).toBe(uncached.count(text, 'o200k_base'));
  });

  it('stays correct past its size (4,096 pieces per encoding)', () => {
    const texts = Array.from({ length: 5_000 }, (_, i) => `piece number ${i} ${i.toString(36)}`);
    const first = texts.map((t) => cached.count(t, 'o200k_base'));
    expect(texts.map((t) => cached.count(t, 'o200k_base'))).toEqual(first);
    expect(first).toEqual(texts.map((t) => uncached.count(t, 'o200k_base')));
  });

  it('refuses a malformed option with a typed error', () => {
    expect(() => gptTokenizer({ countCache: 'no' as never })).toThrow(InvalidArgumentError);
    expect(() => gptTokenizer(null as never)).toThrow(InvalidArgumentError);
    expect(() => gptTokenizer({ countcache: false } as never)).toThrow(InvalidArgumentError);
  });
});
