import { describe, expect, it } from 'vitest';
import { CLAUDE_IMAGE_TOKENS } from '../../src/providers/anthropic/estimate.js';
import { familyOf, planAiCall } from '../../src/providers/ai-sdk/plan.js';
import type { AiCallParams } from '../../src/providers/ai-sdk/prompt.js';
import { modelLimits } from '../../src/providers/estimate-types.js';
import { GEMINI_MEDIA_TOKENS } from '../../src/providers/google/estimate.js';
import { UNKNOWN_MODEL_LIMITS } from '../../src/providers/pricing/model-limits.js';

const prose = 'The committee met on Tuesday to discuss the budget, and after a long debate agreed to postpone the vote.';
const user = (...content: unknown[]) => ({ role: 'user', content });
const text = (t: string) => ({ type: 'text', text: t });
const params = (...content: unknown[]): AiCallParams => ({ prompt: [{ role: 'system', content: 'Be brief.' }, user(...content)] });
const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);
const models = {
  openai: { provider: 'openai.chat', modelId: 'gpt-4o-mini' },
  responses: { provider: 'openai.responses', modelId: 'gpt-4o-mini' },
  anthropic: { provider: 'anthropic.messages', modelId: 'claude-haiku-4-5' },
  google: { provider: 'google.generative-ai', modelId: 'gemini-2.5-flash' },
  unknown: { provider: 'acme.chat', modelId: 'acme-large' },
};

describe('AI SDK calls are estimated by the provider family', () => {
  it('maps model.provider to a family', () => {
    expect(['openai.chat', 'openai.responses', 'azure.chat', 'anthropic.messages', 'google.vertex.anthropic.messages', 'google.generative-ai', 'google.vertex.chat', 'mistral.chat'].map(familyOf)).toEqual([
      'openai',
      'openai',
      'openai',
      'anthropic',
      'anthropic',
      'google',
      'google',
      'unknown',
    ]);
  });

  it('holds maxOutputTokens, else outputReservation, else the per-model table', async () => {
    for (const [family, model] of Object.entries(models)) {
      const table = family === 'unknown' ? UNKNOWN_MODEL_LIMITS.unknown.maxOutput : modelLimits(family === 'responses' ? 'openai' : (family as 'openai'), model.modelId, {}).maxOutput;
      expect(await planAiCall(model, params(text(prose)), {}), family).toMatchObject({ outputTokens: table, outputFromRequest: false, endpoint: model.provider });
      expect(await planAiCall(model, { ...params(text(prose)), maxOutputTokens: 77 }, {}), family).toMatchObject({ outputTokens: 77, outputFromRequest: true });
      expect(await planAiCall(model, params(text(prose)), { outputReservation: 300 }), family).toMatchObject({ outputTokens: 300, outputFromRequest: false });
    }
  });

  it('counts text, tool definitions, tool calls and results', async () => {
    for (const [family, model] of Object.entries(models)) {
      const base = await planAiCall(model, params(text(prose)), {});
      expect(base.inputTokens, family).toBeGreaterThan(15);
      const tools = [{ type: 'function', name: 'lookup', description: 'Looks a city up in the atlas', inputSchema: { type: 'object', properties: { city: { type: 'string' } } } }];
      expect((await planAiCall(model, { ...params(text(prose)), tools }, {})).inputTokens, family).toBeGreaterThan(base.inputTokens + 10);
      const loop: AiCallParams = {
        prompt: [
          user(text(prose)),
          { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 'c1', toolName: 'lookup', input: '{"city":"Porto"}' }] },
          { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'c1', toolName: 'lookup', output: { type: 'text', value: prose } }] },
        ],
      };
      expect((await planAiCall(model, loop, {})).inputTokens, family).toBeGreaterThan(base.inputTokens + 15);
      const schema = { type: 'object', properties: { city: { type: 'string' }, population: { type: 'number' } } };
      expect((await planAiCall(model, { ...params(text(prose)), responseFormat: { type: 'json', schema } }, {})).inputTokens, family).toBeGreaterThan(base.inputTokens);
    }
  });

  it('bounds images by the family bound, in the v3 (bytes) and v4 (tagged) shapes', async () => {
    const without = async (m: { provider: string; modelId: string }) => (await planAiCall(m, params(text(prose)), {})).inputTokens;
    const image = { type: 'file', mediaType: 'image/png', data: png };
    const tagged = { type: 'file', mediaType: 'image/png', data: { type: 'data', data: png } };
    for (const part of [image, tagged]) {
      expect((await planAiCall(models.anthropic, params(text(prose), part), {})).inputTokens - (await without(models.anthropic))).toBeGreaterThanOrEqual(CLAUDE_IMAGE_TOKENS);
      expect((await planAiCall(models.google, params(text(prose), part), {})).inputTokens - (await without(models.google))).toBeGreaterThanOrEqual(GEMINI_MEDIA_TOKENS);
      // An image OpenAI cannot size is held at the high-detail bound (hundreds of tokens at least).
      expect((await planAiCall(models.openai, params(text(prose), part), {})).inputTokens - (await without(models.openai))).toBeGreaterThan(500);
    }
  });

  it('holds PDFs, files by URL and provider tools at the context window; text files by their bytes', async () => {
    const pdf = { type: 'file', mediaType: 'application/pdf', data: new Uint8Array(64) };
    const byUrl = { type: 'file', mediaType: 'application/pdf', data: new URL('https://example.com/a.pdf') };
    const providerTool = { ...params(text(prose)), tools: [{ type: 'provider', id: 'openai.web_search', name: 'web_search', args: {} }] };
    for (const [family, model] of Object.entries(models)) {
      const window = family === 'unknown' ? UNKNOWN_MODEL_LIMITS.unknown.contextWindow : modelLimits(family === 'responses' ? 'openai' : (family as 'openai'), model.modelId, {}).contextWindow;
      expect((await planAiCall(model, params(text(prose), pdf), {})).inputTokens, family).toBeGreaterThanOrEqual(window);
      expect((await planAiCall(model, params(text(prose), byUrl), {})).inputTokens, family).toBeGreaterThanOrEqual(window);
      expect((await planAiCall(model, providerTool, {})).inputTokens, family).toBeGreaterThanOrEqual(window);
      const body = 'x '.repeat(2000);
      const file = { type: 'file', mediaType: 'text/plain', data: new TextEncoder().encode(body) };
      const withFile = (await planAiCall(model, params(text(prose), file), {})).inputTokens;
      expect(withFile, family).toBeGreaterThan((await planAiCall(model, params(text(prose)), {})).inputTokens + 1000);
      expect(withFile, family).toBeLessThan(window);
    }
  });

  it('bounds an unknown provider by the UTF-8 bytes of its texts', async () => {
    const plan = await planAiCall(models.unknown, params(text('héllo wörld ' + prose)), {});
    expect(plan).toMatchObject({ provider: 'unknown', model: 'acme-large' });
    expect(plan.inputTokens).toBeGreaterThanOrEqual(new TextEncoder().encode('Be brief.' + 'héllo wörld ' + prose).length);
  });
});
