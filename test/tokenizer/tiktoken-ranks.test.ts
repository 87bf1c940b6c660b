import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { encodingSource, gptTokenizer } from '../../src/tokenizer/gpt-tokenizer.js';
import { parseTiktokenRanks } from '../../src/tokenizer/tiktoken-ranks.js';
import type { EncodingName } from '../../src/tokenizer/types.js';

const require = createRequire(import.meta.url);
const dataFile = (encoding: EncodingName) => readFileSync(require.resolve(`gpt-tokenizer/data/${encoding}.tiktoken`));
const packageRanks = async (encoding: EncodingName): Promise<unknown[]> => {
  switch (encoding) {
    case 'o200k_base':
      return (await import('gpt-tokenizer/bpeRanks/o200k_base')).default;
    case 'cl100k_base':
      return (await import('gpt-tokenizer/bpeRanks/cl100k_base')).default;
    case 'p50k_base':
      return (await import('gpt-tokenizer/bpeRanks/p50k_base')).default;
    case 'r50k_base':
      return (await import('gpt-tokenizer/bpeRanks/r50k_base')).default;
  }
};
const encodings: EncodingName[] = ['o200k_base', 'cl100k_base', 'p50k_base', 'r50k_base'];
const bytes = (text: string) => new TextEncoder().encode(text);

describe('ranks read from the .tiktoken data file', () => {
  it.each(encodings)('%s: equal the package module, rank for rank', async (encoding) => {
    const parsed = parseTiktokenRanks(dataFile(encoding));
    const expected = await packageRanks(encoding);
    expect(parsed.length).toBe(expected.length);
    let differing = 0;
    for (let i = 0; i < expected.length; i += 1) {
      const a = parsed[i];
      const b = expected[i];
      const same = i in parsed !== i in expected ? false : a === undefined ? b === undefined : typeof a === 'string' ? a === b : Array.isArray(b) && a!.length === b.length && a!.every((v, j) => v === b[j]);
      if (!same) differing += 1;
    }
    expect(differing).toBe(0);
    // Both kinds occur, so both branches were compared.
    expect(parsed.some((v) => typeof v === 'string')).toBe(true);
    expect(parsed.some((v) => Array.isArray(v))).toBe(true);
  }, 60_000);

  it('leaves a hole where a rank is not given (p50k_base has none at 50256)', () => {
    const ranks = parseTiktokenRanks(bytes('YQ== 0\nYg== 2\n'));
    expect(ranks.length).toBe(3);
    expect(1 in ranks).toBe(false);
  });

  it('keeps a token with a leading byte-order mark as bytes, as the package does', () => {
    expect(parseTiktokenRanks(bytes('77u/ 0\nYQ== 1\n'))).toEqual([[0xef, 0xbb, 0xbf], 'a']);
  });

  it.each([
    ['a character outside base64', 'YQ== 0\nY!== 1\n'],
    ['a rank that is not a number', 'YQ== x\n'],
    ['a missing rank', 'YQ==\n'],
    ['a rank given twice', 'YQ== 0\nYg== 0\n'],
    ['a token longer than any encoding has', `${'YWFh'.repeat(2000)} 0\n`],
  ])('throws on %s', (_name, text) => {
    expect(() => parseTiktokenRanks(bytes(text))).toThrow(Error);
  });
});

describe('gptTokenizer() in Node', () => {
  it('loads its encoders from the data file and counts as the package module does', async () => {
    const tokenizer = gptTokenizer();
    await tokenizer.warmup(['o200k_base']);
    expect(encodingSource('o200k_base')).toBe('data-file');
    const { countTokens } = await import('gpt-tokenizer/encoding/o200k_base');
    const plain = { disallowedSpecial: new Set<string>() };
    for (const text of [
      'The committee met on Tuesday to discuss the budget.',
      '人工智能正在改变世界。東京は日本の首都です。',
      'Deploy done 🚀🎉 — thanks 👍🏽 and 👨‍👩‍👧‍👦!',
      '\ufeffusing System; namespace Demo { }',
      'User text may contain <|endoftext|> as plain text.',
      'Não há razão para preocupação às 9h.',
    ]) {
      expect(tokenizer.count(text, 'o200k_base')).toBe(countTokens(text, plain));
    }
  }, 60_000);

  it('loads synchronously from the data file too (count before any warmup)', () => {
    const tokenizer = gptTokenizer();
    expect(tokenizer.count('tiktoken is great!', 'cl100k_base')).toBe(6);
    expect(encodingSource('cl100k_base')).toBe('data-file');
  });
});
