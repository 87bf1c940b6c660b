import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/kernel/errors.js';
import {
  setAnthropicMaximum,
  setChatCompletionMaximum,
  setCompletionMaximum,
  setGenAIMaximum,
  setGenerativeAIMaximum,
  setResponseMaximum,
} from '../../src/providers/output-maximum.js';
import { estimateOpenAIChatCompletion, estimateOpenAIResponse } from '../../src/providers/openai/estimate.js';
import { estimateAnthropicMessage } from '../../src/providers/anthropic/estimate.js';
import { estimateGenAIRequest, estimateGenerativeAIRequest } from '../../src/providers/google/estimate.js';

const messages = [{ role: 'user' as const, content: 'hi' }];

describe('setting the output maximum of a request', () => {
  it('chat: max_completion_tokens, or max_tokens when the caller used that field alone', async () => {
    const plain = { model: 'gpt-4o', messages };
    const set = setChatCompletionMaximum(plain, 50);
    expect(set).toEqual({ params: { ...plain, max_completion_tokens: 50 }, field: 'max_completion_tokens', adjusted: [] });
    expect(plain).not.toHaveProperty('max_completion_tokens');
    expect((await estimateOpenAIChatCompletion(set.params)).outputTokens).toBe(50);
    const legacy = setChatCompletionMaximum({ ...plain, max_tokens: 4000 }, 60);
    expect([legacy.field, legacy.params.max_tokens]).toEqual(['max_tokens', 60]);
    const both = setChatCompletionMaximum({ ...plain, max_tokens: 4000, max_completion_tokens: 3000 }, 70);
    expect([both.field, both.params.max_completion_tokens, both.params.max_tokens]).toEqual(['max_completion_tokens', 70, 4000]);
    expect((await estimateOpenAIChatCompletion({ ...both.params, n: 2 })).outputTokens).toBe(140);
  });

  it('responses and legacy completions', async () => {
    const response = setResponseMaximum({ model: 'o3', input: 'x' }, 40);
    expect([response.field, (response.params as Record<string, unknown>)['max_output_tokens']]).toEqual(['max_output_tokens', 40]);
    expect((await estimateOpenAIResponse(response.params)).outputTokens).toBe(40);
    const completion = setCompletionMaximum({ model: 'gpt-3.5-turbo-instruct', prompt: 'x', max_tokens: 900 }, 30);
    expect([completion.field, completion.params.max_tokens]).toEqual(['max_tokens', 30]);
  });

  it('anthropic: max_tokens, with a thinking budget kept below it', async () => {
    const request = { model: 'claude-sonnet-4-5', max_tokens: 20_000, messages, thinking: { type: 'enabled' as const, budget_tokens: 16_000 } };
    const set = setAnthropicMaximum(request, 5000);
    expect(set.field).toBe('max_tokens');
    expect(set.params).toMatchObject({ max_tokens: 5000, thinking: { type: 'enabled', budget_tokens: 4999 } });
    expect(set.adjusted).toEqual(['thinking.budget_tokens']);
    expect(request.thinking.budget_tokens).toBe(16_000);
    expect((await estimateAnthropicMessage(set.params)).outputTokens).toBe(5000);
    expect(setAnthropicMaximum({ ...request, thinking: { type: 'enabled' as const, budget_tokens: 1024 } }, 5000).adjusted).toEqual([]);
  });

  it('@google/genai: config.maxOutputTokens, other config kept', async () => {
    const set = setGenAIMaximum({ model: 'gemini-2.5-flash', contents: 'x', config: { temperature: 0.2, thinkingConfig: { thinkingBudget: 900 } } }, 500);
    expect(set.field).toBe('config.maxOutputTokens');
    expect(set.params.config).toEqual({ temperature: 0.2, maxOutputTokens: 500, thinkingConfig: { thinkingBudget: 499 } });
    expect(set.adjusted).toEqual(['config.thinkingConfig.thinkingBudget']);
    expect((await estimateGenAIRequest(set.params)).outputTokens).toBe(500 + 499);
  });

  it("@google/generative-ai: generationConfig.maxOutputTokens, copying the model's config the request would replace", async () => {
    const modelParams = { model: 'gemini-2.0-flash', generationConfig: { temperature: 0.1, maxOutputTokens: 8000 } };
    const fromString = setGenerativeAIMaximum('hello', 100, modelParams.generationConfig);
    expect(fromString).toEqual({
      params: { contents: [{ role: 'user', parts: [{ text: 'hello' }] }], generationConfig: { temperature: 0.1, maxOutputTokens: 100 } },
      field: 'generationConfig.maxOutputTokens',
      adjusted: [],
    });
    expect((await estimateGenerativeAIRequest(fromString.params as never, modelParams)).outputTokens).toBe(100);
    const fromParts = setGenerativeAIMaximum(['a', { text: 'b' }], 10);
    expect(fromParts.params).toEqual({ contents: [{ role: 'user', parts: [{ text: 'a' }, { text: 'b' }] }], generationConfig: { maxOutputTokens: 10 } });
    const own = setGenerativeAIMaximum({ contents: [], generationConfig: { topK: 3 } }, 10, modelParams.generationConfig);
    expect(own.params.generationConfig).toEqual({ topK: 3, maxOutputTokens: 10 });
  });

  it('rejects a maximum that is not a positive integer, and a request that is not an object', () => {
    for (const n of [0, -1, 1.5, Number.NaN]) expect(() => setResponseMaximum({ model: 'o3' }, n)).toThrow(InvalidArgumentError);
    expect(() => setChatCompletionMaximum(null as never, 5)).toThrow(expect.objectContaining({ parameter: 'params' }));
    expect(() => setGenerativeAIMaximum(42, 5)).toThrow(expect.objectContaining({ parameter: 'request' }));
  });
});
