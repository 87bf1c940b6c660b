/**
 * OpenAI models whose names begin with a cheaper model's name must not be priced as that model:
 * the deep research models (o3-deep-research at $10 / $40 per million input and output tokens
 * against o3's $2 / $8; o4-mini-deep-research at $2 / $8 against o4-mini's $1.10 / $4.40, OpenAI's
 * model pages) were charged, and held, at the rates of o3 and o4-mini.
 */
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { createTokenLimiter, resolvePrice, withTokenLimits } from '../../src/index.js';
import { useEmulator } from '../emulator/harness.js';
import { emulatorTotals, loggedAtLeast } from './helpers.js';

const emulator = useEmulator();

const RATES = {
  'o3-deep-research': { input: 10, cachedInput: 2.5, output: 40 },
  'o4-mini-deep-research': { input: 2, cachedInput: 0.5, output: 8 },
};

describe('withTokenLimits(openai): deep research models are priced at their own rates', () => {
  for (const [model, rates] of Object.entries(RATES)) {
    it(`${model}: its price, its snapshots' and a Responses call charged at it`, async () => {
      expect(resolvePrice(model)).toEqual(rates);
      expect(resolvePrice(`${model}-2025-06-26`)).toEqual(rates);
      const limiter = createTokenLimiter({ defaultLimits: [{ id: 'dollars', costUsd: 100, period: 'month' }] });
      const wrapped = withTokenLimits(new OpenAI({ apiKey: 'test', baseURL: emulator().openaiBaseURL }), 'alice', { limiter });
      await wrapped.responses.create({ model, input: 'Research the history of Lisbon trams', max_output_tokens: 200 });
      const [record] = await loggedAtLeast(limiter, 1);
      const billed = emulatorTotals(emulator().requests);
      const exact = (billed.input * rates.input + billed.output * rates.output) / 1e6;
      expect(Math.abs(record!.costUsd! - exact)).toBeLessThanOrEqual(0.5e-6 + 1e-12);
    });
  }
});
