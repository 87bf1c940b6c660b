/**
 * The OpenAI input estimate is an upper bound of the real count on crafted text, and exact on
 * natural text. The real count is gpt-tokenizer's count of the whole text.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { countTextAsync } from '../../src/tokenizer/count.js';
import { gptTokenizer } from '../../src/tokenizer/gpt-tokenizer.js';
import { findCut, utf8ByteLength } from '../../src/tokenizer/safe-cuts.js';
import type { EncodingName } from '../../src/tokenizer/types.js';
import { ADVERSARIAL_KINDS, adversarialCorpus, adversarialText, mixedText, NATURAL_LANGUAGES, naturalText, prng } from './adversarial-corpus.js';

const tokenizer = gptTokenizer();
const ENCODINGS: EncodingName[] = ['o200k_base', 'cl100k_base', 'p50k_base', 'r50k_base'];
beforeAll(() => tokenizer.warmup(ENCODINGS), 60_000);

describe('count-preserving cuts', () => {
  it('the counts of the two parts add up to the whole at every cut, in every encoding', () => {
    const random = prng(17);
    const samples: string[] = [];
    for (const kind of Object.keys(ADVERSARIAL_KINDS)) samples.push(adversarialText(kind, 60, random()));
    for (let i = 0; i < 60; i++) samples.push(mixedText(120, random()));
    for (const language of NATURAL_LANGUAGES) for (let i = 0; i < 8; i++) samples.push(naturalText(language, 150, random()));
    let cuts = 0;
    for (const text of samples) {
      for (let at = 0; at < text.length; ) {
        const cut = findCut(text, at, text.length);
        if (cut < 0) break;
        cuts++;
        for (const encoding of ENCODINGS) {
          const parts = tokenizer.count(text.slice(0, cut), encoding) + tokenizer.count(text.slice(cut), encoding);
          expect(parts, `${encoding} at ${cut} of ${JSON.stringify(text)}`).toBe(tokenizer.count(text, encoding));
        }
        at = cut;
      }
    }
    expect(cuts).toBeGreaterThan(1000);
  });
});

describe('upper bound on the adversarial corpus', () => {
  it.each(['o200k_base', 'cl100k_base'] as const)('%s: estimate >= real count for every class at 1 KB and 16 KB', async (encoding) => {
    let worst = Infinity;
    for (const { name, text } of adversarialCorpus([1000, 16_000], 3)) {
      const real = tokenizer.count(text, encoding);
      const estimate = await countTextAsync(text, encoding, { tokenizer });
      expect(estimate.tokens, name).toBeGreaterThanOrEqual(real);
      expect(estimate.tokens, name).toBeLessThanOrEqual(utf8ByteLength(text));
      worst = Math.min(worst, estimate.tokens / real);
    }
    expect(worst).toBeGreaterThanOrEqual(1);
  }, 120_000);

  // A handful of 10 MB cases whose real count gpt-tokenizer can compute in seconds (a 10 MB run of
  // one class is one pre-token it cannot finish, or overflows its regular expression on).
  it.each([
    ['natural and adversarial mixed', () => mixedText(10_000_000, 4)],
    ['digit groups', () => adversarialText('digit-groups', 10_000_000, 3)],
    ['hex', () => adversarialText('hex', 10_000_000, 3)],
  ])('o200k_base: 10 MB of %s', async (_name, make) => {
    const text = make();
    const real = tokenizer.count(text, 'o200k_base');
    const estimate = await countTextAsync(text, 'o200k_base', { tokenizer });
    expect(estimate.tokens).toBeGreaterThanOrEqual(real);
  }, 180_000);

  it('10 MB runs with no count-preserving cut are bounded by their bytes', async () => {
    for (const kind of ['long-letter', 'spaces', 'punctuation-runs', 'emoji-zwj', 'rare-cjk', 'combining-marks']) {
      const text = adversarialText(kind, 10_000_000, 5);
      const estimate = await countTextAsync(text, 'o200k_base', { tokenizer });
      // Every token of a byte-level BPE is at least one byte: the byte count bounds the real count.
      expect(estimate.tokens, kind).toBe(utf8ByteLength(text));
    }
  }, 120_000);
});

describe('natural text is counted exactly', () => {
  it.each(NATURAL_LANGUAGES)('%s', async (language) => {
    for (const encoding of ['o200k_base', 'cl100k_base'] as const) {
      const text = naturalText(language, 200_000, 11);
      const estimate = await countTextAsync(text, encoding, { tokenizer });
      expect(estimate).toEqual({ tokens: tokenizer.count(text, encoding), exact: true });
    }
  }, 60_000);
});
