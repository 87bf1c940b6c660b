import { describe, expect, it, beforeAll } from 'vitest';
import { estimateOpenAIChatCompletion } from '../../src/providers/openai/estimate.js';
import { countText, countTextAsync, countTextsAsync } from '../../src/tokenizer/count.js';
import { gptTokenizer } from '../../src/tokenizer/gpt-tokenizer.js';
import { MAX_RUN_LENGTH, utf8ByteLength } from '../../src/tokenizer/safe-cuts.js';
import type { Tokenizer } from '../../src/tokenizer/types.js';
import { naturalText } from './adversarial-corpus.js';

const tokenizer = gptTokenizer();
beforeAll(() => tokenizer.warmup(), 60_000);

describe('pathological and large input', () => {
  it("'a'.repeat(100_000) is bounded by its bytes, never handed whole to the tokenizer", async () => {
    const text = 'a'.repeat(100_000);
    const calls: number[] = [];
    const spy: Tokenizer = { ...tokenizer, count: (t, e) => (calls.push(t.length), tokenizer.count(t, e)) };
    const value = await estimateOpenAIChatCompletion({ model: 'gpt-4o', messages: [{ role: 'user', content: text }] }, { tokenizer: spy });
    // The true count (runs of 'a' merge into 8-letter tokens) is far below the byte bound.
    expect(tokenizer.count('a'.repeat(8_000), 'o200k_base')).toBe(1000);
    expect(value.inputTokens).toBeGreaterThanOrEqual(100_000);
    expect(value.exact).toBe(false);
    expect(Math.max(0, ...calls)).toBeLessThanOrEqual(MAX_RUN_LENGTH + 8);
  });

  it('a 10 MB prompt of prose is counted exactly up to the context window, then bounded by bytes', async () => {
    const text = naturalText('en', 10_000_000, 5);
    const value = await estimateOpenAIChatCompletion({ model: 'gpt-4o', messages: [{ role: 'user', content: text }] }, { tokenizer });
    const truth = tokenizer.count(text, 'o200k_base');
    expect(value.inputTokens).toBeGreaterThanOrEqual(truth);
    expect(value.inputTokens).toBeLessThanOrEqual(utf8ByteLength(text) + 10);
    expect(value.exact).toBe(false);
  }, 120_000);

  it('short prompts are counted at once, longer ones in slices, to the same totals', async () => {
    // Around the length up to which countTextsAsync skips its slices (2,048 code units in all).
    for (const lang of ['en', 'zh-CN'] as const) {
      for (const length of [1, 500, 2_047, 2_048, 2_049, 6_000]) {
        const text = naturalText(lang, length, 3);
        const parts = [text.slice(0, length >> 1), text.slice(length >> 1)];
        const sync = countText(text, 'o200k_base', { tokenizer, exactLimit: Infinity, timeBudgetMs: Infinity });
        expect(await countTextAsync(text, 'o200k_base', { tokenizer })).toEqual(sync);
        const asyncParts = await countTextsAsync(parts, 'o200k_base', { tokenizer });
        expect(asyncParts.tokens).toBe(parts.reduce((sum, p) => sum + tokenizer.count(p, 'o200k_base'), 0));
        expect(asyncParts.exact).toBe(true);
      }
    }
  });

  it('estimation yields to the event loop while it counts a large prompt', async () => {
    const text = naturalText('zh-CN', 2_000_000, 9);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      const counted = await countTextAsync(text, 'o200k_base', { tokenizer });
      expect(counted.exact).toBe(true);
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(5);
  }, 60_000);

  it('the synchronous count stays an upper bound past its budget', () => {
    const text = naturalText('ja', 100_000, 2);
    const result = countText(text, 'o200k_base', { tokenizer, exactLimit: 1000 });
    expect(result.exact).toBe(false);
    expect(result.tokens).toBeGreaterThanOrEqual(tokenizer.count(text, 'o200k_base'));
    expect(result.tokens).toBeLessThanOrEqual(utf8ByteLength(text));
  });

  it('a chunk the tokenizer fails on is bounded by its bytes instead of failing the estimate', async () => {
    const failing: Tokenizer = {
      ...tokenizer,
      count: (t, e) => {
        if (t.includes('boom')) throw new RangeError('Maximum call stack size exceeded');
        return tokenizer.count(t, e);
      },
    };
    const text = `${naturalText('en', 3000, 1)} boom ${naturalText('en', 3000, 2)}`;
    const result = await countTextAsync(text, 'o200k_base', { tokenizer: failing });
    expect(result.exact).toBe(false);
    expect(result.tokens).toBeGreaterThan(tokenizer.count(text, 'o200k_base'));
  });

  it('an aborted signal stops an asynchronous count with its reason', async () => {
    const controller = new AbortController();
    const counting = countTextsAsync([naturalText('zh-CN', 3_000_000, 4)], 'o200k_base', { tokenizer, signal: controller.signal });
    controller.abort(new Error('caller went away'));
    await expect(counting).rejects.toThrow('caller went away');
  });

  it('strictBound and exactLimit 0 bound by bytes without a tokenizer', async () => {
    const text = 'héllo 世界';
    expect(countText(text, 'o200k_base', { strictBound: true })).toEqual({ tokens: utf8ByteLength(text), exact: false });
    expect(await countTextAsync(text, 'o200k_base', { exactLimit: 0 })).toEqual({ tokens: utf8ByteLength(text), exact: false });
  });
});
