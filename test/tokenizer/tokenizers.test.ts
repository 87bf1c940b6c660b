import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodingForModel } from '../../src/tokenizer/encodings.js';
import { gptTokenizer } from '../../src/tokenizer/gpt-tokenizer.js';
import { jsTiktokenTokenizer } from '../../src/tokenizer/js-tiktoken.js';
import { countText } from '../../src/tokenizer/count.js';
import { CHUNK_LENGTH, findCut } from '../../src/tokenizer/safe-cuts.js';

const gpt = gptTokenizer();
const tiktoken = jsTiktokenTokenizer();

beforeAll(async () => {
  await Promise.all([gpt.warmup(), tiktoken.warmup()]);
}, 60_000);

const corpus: Record<string, string> = {
  prose: 'The committee met on Tuesday to discuss the budget. After a long debate, members agreed to postpone the vote until March.',
  code: 'export function add(a: number, b: number): number {\n  return a + b; // TODO: overflow?\n}\n\nconst x = [1, 2, 3].map((n) => n * 2);',
  cjk: '人工智能正在改变世界。東京は日本の首都です。한국어 텍스트도 포함합니다。',
  portuguese: 'Não há razão para preocupação: a configuração está correta e o serviço funcionará amanhã às 9h.',
  emoji: 'Deploy done 🚀🎉 — thanks 👍🏽 and 👨‍👩‍👧‍👦!',
  special: 'User text may contain <|endoftext|> or <|im_start|> and must count as plain text.',
  whitespace: 'a    b\n\n\n\tc   \r\n  d',
};

describe('the "tiktoken is great!" example (cookbook section 8)', () => {
  it.each([gpt, tiktoken].map((t) => [t.name, t] as const))('%s: 6 tokens in both encodings', (_name, tokenizer) => {
    expect(tokenizer.count('tiktoken is great!', 'cl100k_base')).toBe(6);
    expect(tokenizer.count('tiktoken is great!', 'o200k_base')).toBe(6);
  });
});

describe('gpt-tokenizer and js-tiktoken agree', () => {
  it.each(Object.entries(corpus))('%s', (_name, text) => {
    for (const encoding of ['o200k_base', 'cl100k_base'] as const) {
      expect(gpt.count(text, encoding)).toBe(tiktoken.count(text, encoding));
    }
  });
  it('on p50k_base and r50k_base too', async () => {
    await Promise.all([gpt.warmup(['p50k_base', 'r50k_base']), tiktoken.warmup(['p50k_base', 'r50k_base'])]);
    for (const text of Object.values(corpus)) {
      expect(gpt.count(text, 'p50k_base')).toBe(tiktoken.count(text, 'p50k_base'));
      expect(gpt.count(text, 'r50k_base')).toBe(tiktoken.count(text, 'r50k_base'));
    }
  });
});

describe('encodingForModel', () => {
  it.each([
    ['gpt-4o', 'o200k_base'],
    ['gpt-4o-mini-2024-07-18', 'o200k_base'],
    ['chatgpt-4o-latest', 'o200k_base'],
    ['gpt-4.1-nano', 'o200k_base'],
    ['gpt-4.5-preview', 'o200k_base'],
    ['gpt-5', 'o200k_base'],
    ['o1-mini', 'o200k_base'],
    ['o3-pro', 'o200k_base'],
    ['o4-mini', 'o200k_base'],
    ['gpt-oss-120b', 'o200k_base'],
    ['openai/gpt-4o', 'o200k_base'],
    ['gpt-4', 'cl100k_base'],
    ['gpt-4-0613', 'cl100k_base'],
    ['gpt-4-turbo-2024-04-09', 'cl100k_base'],
    ['gpt-3.5-turbo', 'cl100k_base'],
    ['text-embedding-3-small', 'cl100k_base'],
    ['text-embedding-ada-002', 'cl100k_base'],
    ['text-davinci-003', 'p50k_base'],
    ['davinci', 'r50k_base'],
    ['some-future-model', 'o200k_base'],
  ])('%s -> %s', (model, encoding) => {
    expect(encodingForModel(model)).toBe(encoding);
  });
});

describe('lazy loading', () => {
  it('importing the package loads no encoder; the first count loads only its own', () => {
    const script = `
      Promise.all([import('./src/tokenizer/index.ts'), import('./src/tokenizer/gpt-tokenizer.ts')]).then(async ([m, g]) => {
        const before = Object.keys(require.cache ?? {}).filter((k) => k.includes('gpt-tokenizer') || k.includes('js-tiktoken')).length;
        const t = m.gptTokenizer();
        const loadedBefore = [t.isLoaded('o200k_base'), t.isLoaded('cl100k_base')];
        const n = t.count('hello world', 'o200k_base');
        const loadedAfter = [t.isLoaded('o200k_base'), t.isLoaded('cl100k_base')];
        const mods = Object.keys(require.cache).filter((k) => k.includes('gpt-tokenizer'));
        process.stdout.write(JSON.stringify({ before, loadedBefore, n, loadedAfter, cl: mods.some((k) => k.includes('bpeRanks')), sources: [g.encodingSource('o200k_base'), g.encodingSource('cl100k_base')] }));
      });`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: process.cwd(), encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ before: 0, loadedBefore: [false, false], n: 2, loadedAfter: [true, false], cl: false, sources: ['data-file', null] });
  }, 30_000);
});

describe('chunked counting equals the whole count', () => {
  it('splits only where the count is unchanged', () => {
    const text = Object.values(corpus).join(' ').repeat(40);
    for (const encoding of ['o200k_base', 'cl100k_base'] as const) {
      const result = countText(text, encoding, { tokenizer: gpt, timeBudgetMs: Infinity, exactLimit: Infinity });
      expect(findCut(text, CHUNK_LENGTH - 1, CHUNK_LENGTH + 200)).toBeGreaterThan(0);
      expect(result).toEqual({ tokens: gpt.count(text, encoding), exact: true });
    }
  });
});
