import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/kernel/errors.js';
import { BUILT_IN_LIMITS, UNKNOWN_MODEL_LIMITS } from '../../src/providers/pricing/model-limits.js';
import { parseMaxOutputOverrides, resolveModelLimits } from '../../src/providers/pricing/limits.js';
import { BUILT_IN_PRICES } from '../../src/providers/pricing/table.js';

describe('model limits table', () => {
  it('resolves dated snapshots and provider prefixes the way prices resolve', () => {
    expect(resolveModelLimits('gpt-4o-2024-08-06', 'openai')).toMatchObject({ maxOutput: 16_384, contextWindow: 128_000, reasoning: false, known: true });
    expect(resolveModelLimits('gpt-4o-2024-05-13', 'openai').maxOutput).toBe(4_096);
    expect(resolveModelLimits('openai/o3-2025-04-16', 'openai')).toMatchObject({ maxOutput: 100_000, reasoning: true });
    expect(resolveModelLimits('claude-sonnet-4-5-20250929', 'anthropic')).toMatchObject({ maxOutput: 64_000, reasoning: false });
    expect(resolveModelLimits('anthropic.claude-3-5-haiku-20241022-v1:0', 'anthropic').maxOutput).toBe(8_192);
    expect(resolveModelLimits('models/gemini-2.5-pro', 'google')).toMatchObject({ maxOutput: 65_536, contextWindow: 1_048_576, reasoning: true });
  });

  it('flags the reasoning models: o1/o3/o4, gpt-5, Gemini 2.5 Pro and Flash', () => {
    for (const model of ['o1', 'o3-mini', 'o4-mini', 'gpt-5', 'gpt-5-nano', 'gemini-2.5-flash']) expect(BUILT_IN_LIMITS[model]?.reasoning, model).toBe(true);
    for (const model of ['gpt-4o', 'gpt-4.1', 'claude-opus-4-1', 'gemini-2.0-flash', 'gemini-2.5-flash-lite']) expect(BUILT_IN_LIMITS[model]?.reasoning, model).toBeUndefined();
  });

  it('has limits for every priced model', () => {
    for (const model of Object.keys(BUILT_IN_PRICES)) expect(resolveModelLimits(model, 'openai').known, model).toBe(true);
  });

  it('gives unknown models the provider default', () => {
    expect(resolveModelLimits('brand-new-model', 'openai')).toEqual({ ...UNKNOWN_MODEL_LIMITS.openai, reasoning: true, known: false });
    expect(resolveModelLimits('claude-next', 'anthropic').maxOutput).toBe(128_000);
    expect(resolveModelLimits('gemini-9', 'google').maxOutput).toBe(65_536);
  });

  it('applies maxOutputTokens overrides by prefix; a more specific built-in entry wins over a shorter override', () => {
    const overrides = { 'GPT-4o': 1000, 'my-fine-tune': 2000 };
    expect(resolveModelLimits('gpt-4o-2024-11-20', 'openai', overrides).maxOutput).toBe(1000);
    expect(resolveModelLimits('gpt-4o-mini', 'openai', overrides).maxOutput).toBe(16_384);
    expect(resolveModelLimits('my-fine-tune-v2', 'openai', overrides)).toMatchObject({ maxOutput: 2000, known: true });
    expect(resolveModelLimits('gpt-4o-mini', 'openai', { 'gpt-4o-mini': 5 }).maxOutput).toBe(5);
  });

  it('rejects invalid overrides with the offending key', () => {
    expect(() => parseMaxOutputOverrides([])).toThrow(InvalidArgumentError);
    expect(() => parseMaxOutputOverrides({ 'gpt-4o': 1.5 })).toThrow(expect.objectContaining({ parameter: 'maxOutputTokens["gpt-4o"]' }));
    expect(() => parseMaxOutputOverrides({ o3: -1 })).toThrow(InvalidArgumentError);
  });
});
