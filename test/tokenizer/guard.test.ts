import { monitorEventLoopDelay } from 'node:perf_hooks';
import { beforeAll, describe, expect, it } from 'vitest';
import { estimateOpenAIChatCompletion } from '../../src/providers/openai/estimate.js';
import { countText } from '../../src/tokenizer/count.js';
import { fastTokenEstimate, utf8ByteLength } from '../../src/tokenizer/fast-estimate.js';
import { gptTokenizer } from '../../src/tokenizer/gpt-tokenizer.js';

const tokenizer = gptTokenizer();
beforeAll(() => tokenizer.warmup(), 60_000);

/** Runs `fn` while a delay histogram samples the event loop every 10 ms; returns the worst block. */
async function worstBlockMs<T>(fn: () => T): Promise<{ value: T; maxMs: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  await new Promise((resolve) => setTimeout(resolve, 30));
  const value = fn();
  await new Promise((resolve) => setTimeout(resolve, 30));
  histogram.disable();
  return { value, maxMs: histogram.max / 1e6 };
}

function words(n: number): string {
  const vocabulary = ['alpha', 'budget', 'committee', 'delta', 'evening', 'forecast', 'growth', 'harbor', 'island', 'journal'];
  let seed = 7;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    out.push(vocabulary[seed % vocabulary.length]!);
  }
  return out.join(' ');
}

describe('pathological and large input', () => {
  it("'a'.repeat(100_000): an upper bound, without blocking the event loop", async () => {
    const text = 'a'.repeat(100_000);
    const { value, maxMs } = await worstBlockMs(() =>
      estimateOpenAIChatCompletion({ model: 'gpt-4o', messages: [{ role: 'user', content: text }] }, { tokenizer }),
    );
    // The true count, from pieces the tokenizer handles fast (runs of 'a' split at 8-char tokens).
    const truth = 100_000 / 8;
    expect(tokenizer.count('a'.repeat(8_000), 'o200k_base')).toBe(1000);
    expect(value.inputTokens).toBeGreaterThanOrEqual(truth);
    expect(value.exact).toBe(false);
    expect(maxMs).toBeLessThan(100);
  });

  it('a 10 MB prompt: an upper bound, without blocking the event loop', async () => {
    const unit = `${words(2000)}. `;
    const text = unit.repeat(Math.ceil(10_000_000 / unit.length));
    const { value, maxMs } = await worstBlockMs(() =>
      estimateOpenAIChatCompletion({ model: 'gpt-4o', messages: [{ role: 'user', content: text }] }, { tokenizer }),
    );
    const truth = countText(text, 'o200k_base', { tokenizer, exactLimit: Infinity, timeBudgetMs: Infinity }).tokens;
    expect(value.inputTokens).toBeGreaterThanOrEqual(truth);
    expect(value.inputTokens).toBeLessThanOrEqual(utf8ByteLength(text) + 10);
    expect(maxMs).toBeLessThan(100);
  }, 60_000);

  it('long runs are cut before tokenizing: 10 KB of one letter stays fast and over-counts', () => {
    const text = 'z'.repeat(10_000);
    const started = performance.now();
    const result = countText(text, 'o200k_base', { tokenizer, exactLimit: Infinity, timeBudgetMs: Infinity });
    const elapsed = performance.now() - started;
    expect(result.exact).toBe(false);
    expect(result.tokens).toBeGreaterThanOrEqual(tokenizer.count(text, 'o200k_base'));
    expect(elapsed).toBeLessThan(50);
  });

  it('the time budget stops exact counting of slow input', () => {
    const cjk = Array.from({ length: 40_000 }, (_, i) => String.fromCodePoint(0x4e00 + ((i * 7919) % 20_000))).join('');
    const started = performance.now();
    const result = countText(cjk, 'o200k_base', { tokenizer, exactLimit: Infinity, timeBudgetMs: 5 });
    expect(performance.now() - started).toBeLessThan(60);
    expect(result.exact).toBe(false);
  });

  it('the cheap estimate stays above the truth on ordinary and adversarial text', () => {
    const samples = [
      words(3000),
      'const value = computeSomethingLong(argumentNumberOne, argumentNumberTwo);\n'.repeat(100),
      'Não é possível concluir a operação porque o arquivo está bloqueado por outro processo. '.repeat(40),
      '人工智能正在改变世界，东京是日本的首都。'.repeat(100),
      Array.from({ length: 3000 }, (_, i) => String.fromCharCode(97 + ((i * 7) % 26))).join(''),
      '1 2 3 4 5 6 7 8 9 0 '.repeat(200),
      '🚀🎉👍'.repeat(300),
    ];
    for (const text of samples) {
      for (const encoding of ['o200k_base', 'cl100k_base'] as const) {
        const truth = tokenizer.count(text, encoding);
        const estimate = fastTokenEstimate(text, encoding);
        expect(estimate, `${encoding}: ${text.slice(0, 30)}`).toBeGreaterThanOrEqual(truth);
        expect(fastTokenEstimate(text, encoding, true)).toBe(utf8ByteLength(text));
      }
    }
  });
});
