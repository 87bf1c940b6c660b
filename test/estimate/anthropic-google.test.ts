import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/kernel/errors.js';
import { claudeModelFactor, CLAUDE_TOOL_SYSTEM_TOKENS, estimateAnthropicMessage } from '../../src/providers/anthropic/estimate.js';
import { refineInputTokens } from '../../src/providers/estimate-types.js';
import { estimateGenAIRequest, estimateGenerativeAIRequest } from '../../src/providers/google/estimate.js';

const prose = 'The committee met on Tuesday to discuss the budget, and after a long debate agreed to postpone the vote. ';

describe('Anthropic messages', () => {
  it('reserves max_tokens and estimates system, messages and tools', async () => {
    const base = await estimateAnthropicMessage({ model: 'claude-sonnet-4-5', max_tokens: 1024, messages: [{ role: 'user', content: prose }] });
    expect(base).toMatchObject({ provider: 'anthropic', endpoint: 'messages', outputTokens: 1024, exact: false, method: 'heuristic' });
    expect(base.totalTokens).toBe(base.inputTokens + 1024);
    // ~20 o200k tokens of prose, leaning over
    expect(base.inputTokens).toBeGreaterThan(20);
    expect(base.inputTokens).toBeLessThan(60);
    const withSystem = await estimateAnthropicMessage({ model: 'claude-sonnet-4-5', max_tokens: 1024, system: [{ type: 'text', text: prose }], messages: [{ role: 'user', content: prose }] });
    expect(withSystem.inputTokens).toBeGreaterThan(base.inputTokens + 15);
    const withTools = await estimateAnthropicMessage({
      model: 'claude-sonnet-4-5',
      max_tokens: 1024,
      messages: [{ role: 'user', content: [{ type: 'text', text: prose }] }],
      tools: [{ name: 'get_weather', description: 'Get the weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
    });
    expect(withTools.inputTokens).toBeGreaterThan(base.inputTokens + CLAUDE_TOOL_SYSTEM_TOKENS);
  });
  it('counts images, tool use and tool results', async () => {
    const e = await estimateAnthropicMessage({
      model: 'claude-haiku-4-5',
      max_tokens: 10,
      messages: [
        { role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://x/y.png' } }, { type: 'text', text: 'What is this?' }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'lookup', input: { q: 'cat' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'A cat.' }] },
      ],
    });
    expect(e.inputTokens).toBeGreaterThan(1600);
  });
  it('uses a larger factor for models with the newer tokenizer', async () => {
    expect(claudeModelFactor('claude-sonnet-4-5-20250929')).toBe(1.15);
    expect(claudeModelFactor('claude-3-5-haiku-20241022')).toBe(1.15);
    expect(claudeModelFactor('claude-opus-4-6')).toBe(1.15);
    expect(claudeModelFactor('claude-opus-4-7')).toBe(1.5);
    expect(claudeModelFactor('claude-sonnet-5')).toBe(1.5);
    expect(claudeModelFactor('claude-fable-5')).toBe(1.5);
    const text = prose.repeat(20);
    const old = await estimateAnthropicMessage({ model: 'claude-opus-4-5', max_tokens: 1, messages: [{ role: 'user', content: text }] });
    const recent = await estimateAnthropicMessage({ model: 'claude-opus-4-7', max_tokens: 1, messages: [{ role: 'user', content: text }] });
    expect(recent.inputTokens).toBeGreaterThan(old.inputTokens * 1.2);
  });
  it('rejects requests without max_tokens or messages', async () => {
    await expect(estimateAnthropicMessage({ model: 'claude-sonnet-4-5', messages: [] } as never)).rejects.toThrow(expect.objectContaining({ parameter: 'params.max_tokens' }));
    await expect(estimateAnthropicMessage({ model: 'claude-sonnet-4-5', max_tokens: 1 } as never)).rejects.toThrow(InvalidArgumentError);
    await expect(estimateAnthropicMessage({ model: 'claude-sonnet-4-5', max_tokens: 1, messages: [{ role: 'user', content: 5 }] } as never)).rejects.toThrow(
      expect.objectContaining({ parameter: 'params.messages[0].content' }),
    );
  });
  it('holds documents by their size: text by its bytes, PDFs and URLs at the context window', async () => {
    const base = (await estimateAnthropicMessage({ model: 'claude-sonnet-4-5', max_tokens: 1, messages: [{ role: 'user', content: 'Summarize.' }] })).inputTokens;
    const text = 'line of a log file\n'.repeat(500);
    const plain = await estimateAnthropicMessage({
      model: 'claude-sonnet-4-5',
      max_tokens: 1,
      messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'text/plain', data: Buffer.from(text).toString('base64') } }, { type: 'text', text: 'Summarize.' }] }],
    } as never);
    expect(plain.inputTokens - base).toBeGreaterThanOrEqual(Buffer.byteLength(text));
    for (const source of [{ type: 'base64', media_type: 'application/pdf', data: 'JVBERi0xLjQK' }, { type: 'url', url: 'https://x/y.pdf' }, { type: 'file', file_id: 'file_1' }]) {
      const e = await estimateAnthropicMessage({ model: 'claude-sonnet-4-5', max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'document', source }] }] } as never);
      expect(e.inputTokens, source.type).toBe(1_000_000);
    }
  });
});

describe('Gemini', () => {
  it('@google/genai: contents as a string, config output reservation and thinking budget', async () => {
    const e = await estimateGenAIRequest({ model: 'gemini-2.5-flash', contents: prose, config: { maxOutputTokens: 256, candidateCount: 2, thinkingConfig: { thinkingBudget: 100 } } });
    expect(e).toMatchObject({ provider: 'google', outputTokens: 612, exact: false });
    expect(e.inputTokens).toBeGreaterThan(20);
    expect((await estimateGenAIRequest({ model: 'gemini-2.5-flash', contents: 'hi' }, { outputReservation: 77 })).outputTokens).toBe(77);
  });
  it('@google/genai: Content[] with system instruction and tools costs more', async () => {
    const plain = await estimateGenAIRequest({ model: 'gemini-2.5-pro', contents: [{ role: 'user', parts: [{ text: prose }] }] });
    const rich = await estimateGenAIRequest({
      model: 'gemini-2.5-pro',
      contents: [{ role: 'user', parts: [{ text: prose }, { inlineData: { mimeType: 'image/png', data: 'AAAA' } }] }],
      config: { systemInstruction: prose, tools: [{ functionDeclarations: [{ name: 'f', description: 'does f' }] }] },
    });
    expect(rich.inputTokens).toBeGreaterThan(plain.inputTokens + 1000);
  });
  it('@google/generative-ai: string, parts and request shapes, with model defaults', async () => {
    const modelParams = { model: 'models/gemini-2.0-flash', generationConfig: { maxOutputTokens: 50 } };
    const a = await estimateGenerativeAIRequest(prose, modelParams);
    const b = await estimateGenerativeAIRequest([prose], modelParams);
    const c = await estimateGenerativeAIRequest({ contents: [{ role: 'user', parts: [{ text: prose }] }], generationConfig: { maxOutputTokens: 10 } }, modelParams);
    expect(a.inputTokens).toBe(b.inputTokens);
    expect(c.inputTokens).toBe(a.inputTokens);
    expect([a.outputTokens, c.outputTokens]).toEqual([50, 10]);
    expect(a.model).toBe('gemini-2.0-flash');
  });
  it('rejects bad requests', async () => {
    await expect(estimateGenAIRequest({ contents: 'x' } as never)).rejects.toThrow(expect.objectContaining({ parameter: 'params.model' }));
    await expect(estimateGenAIRequest({ model: 'gemini-2.5-flash', contents: 'x', config: { maxOutputTokens: -3 } })).rejects.toThrow(
      expect.objectContaining({ parameter: 'params.config.maxOutputTokens' }),
    );
    await expect(estimateGenerativeAIRequest('x', {} as never)).rejects.toThrow(expect.objectContaining({ parameter: 'modelParams.model' }));
  });
  it('holds Gemini output at the model\'s documented maximum without maxOutputTokens', async () => {
    expect((await estimateGenAIRequest({ model: 'gemini-2.5-pro', contents: 'hi' })).outputTokens).toBe(65_536);
    expect((await estimateGenAIRequest({ model: 'gemini-2.0-flash-001', contents: 'hi' })).outputTokens).toBe(8_192);
    expect((await estimateGenAIRequest({ model: 'gemini-2.0-flash', contents: 'hi' }, { maxOutputTokens: { 'gemini-2.0-flash': 100 } })).outputTokens).toBe(100);
  });
  it('holds inline PDFs, audio and files by URI at the context window, text files by their bytes', async () => {
    const pdf = await estimateGenAIRequest({ model: 'gemini-2.5-flash', contents: [{ role: 'user', parts: [{ inlineData: { mimeType: 'application/pdf', data: 'JVBERi0xLjQK' } }] }] });
    expect(pdf.inputTokens).toBe(1_048_576);
    const audio = await estimateGenAIRequest({ model: 'gemini-2.5-flash', contents: [{ role: 'user', parts: [{ fileData: { mimeType: 'audio/mp3', fileUri: 'gs://b/a.mp3' } }] }] });
    expect(audio.inputTokens).toBe(1_048_576);
    const text = 'x,y\n'.repeat(1000);
    const csv = await estimateGenAIRequest({ model: 'gemini-2.5-flash', contents: [{ role: 'user', parts: [{ inlineData: { mimeType: 'text/csv', data: Buffer.from(text).toString('base64') } }] }] });
    expect(csv.inputTokens).toBeGreaterThanOrEqual(Buffer.byteLength(text));
    expect(csv.inputTokens).toBeLessThan(Buffer.byteLength(text) + 20);
  });
});

describe('exact mode hook', () => {
  const heuristicPromise = estimateAnthropicMessage({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hello' }] });
  let heuristic: Awaited<typeof heuristicPromise>;
  beforeAll(async () => {
    heuristic = await heuristicPromise;
  });
  it('replaces the input estimate with the provider count', async () => {
    const refined = await refineInputTokens(heuristic, { any: 1 }, async (_params, { model }) => (model === 'claude-sonnet-4-5' ? 9 : 0));
    expect(refined).toMatchObject({ inputTokens: 9, outputTokens: 100, totalTokens: 109, exact: true, method: 'provider' });
  });
  it('keeps the heuristic estimate when the counter fails or times out', async () => {
    const errors: unknown[] = [];
    const failed = await refineInputTokens(heuristic, {}, async () => {
      throw new Error('429');
    }, { onError: (e) => errors.push(e) });
    expect(failed).toBe(heuristic);
    const slow = await refineInputTokens(heuristic, {}, () => new Promise<number>(() => {}), { timeoutMs: 20, onError: (e) => errors.push(e) });
    expect(slow).toBe(heuristic);
    const bad = await refineInputTokens(heuristic, {}, async () => -1, { onError: (e) => errors.push(e) });
    expect(bad).toBe(heuristic);
    expect(errors).toHaveLength(3);
  });
});

describe('server-side tools', () => {
  it('hold Anthropic web search and Gemini grounding at the context window', async () => {
    const claude = await estimateAnthropicMessage({
      model: 'claude-sonnet-4-5',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'news?' }],
      tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 3 }],
    } as never);
    expect(claude.inputTokens).toBe(1_000_000);
    const gemini = await estimateGenAIRequest({ model: 'gemini-2.5-flash', contents: 'news?', config: { tools: [{ googleSearch: {} }] } });
    expect(gemini.inputTokens).toBe(1_048_576);
  });

  it('hold every Gemini tool but function declarations, and cached content, at the context window', async () => {
    const ask = (config: Record<string, unknown>) => estimateGenAIRequest({ model: 'gemini-2.5-flash', contents: 'news?', config } as never);
    for (const tool of [{ googleMaps: {} }, { fileSearch: { fileSearchStoreNames: ['s'] } }, { enterpriseWebSearch: {} }, { retrieval: { vertexAiSearch: { datastore: 'd' } } }, { someFutureTool: {} }]) {
      expect((await ask({ tools: [tool] })).inputTokens, JSON.stringify(tool)).toBe(1_048_576);
    }
    expect((await ask({ cachedContent: 'cachedContents/abc' })).inputTokens).toBe(1_048_576);
    const own = await ask({ tools: [{ functionDeclarations: [{ name: 'f', description: 'd' }] }] });
    expect(own.inputTokens).toBeLessThan(1000);
    const fromCache = await estimateGenerativeAIRequest('news?', { model: 'gemini-2.5-flash', cachedContent: { name: 'cachedContents/abc' } } as never);
    expect(fromCache.inputTokens).toBe(1_048_576);
    const requestCache = await estimateGenerativeAIRequest({ contents: [{ role: 'user', parts: [{ text: 'news?' }] }], cachedContent: 'cachedContents/abc' } as never, { model: 'gemini-2.5-flash' });
    expect(requestCache.inputTokens).toBe(1_048_576);
    expect((await estimateGenerativeAIRequest('news?', { model: 'gemini-2.5-flash' })).inputTokens).toBeLessThan(1000);
  });

  it('count a Gemini response schema as input, by its JSON, and not as a hosted tool', async () => {
    const properties = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`field${i}`, { type: 'string', description: `the value of field number ${i}` }]));
    const schema = { type: 'object', properties };
    const bare = await estimateGenAIRequest({ model: 'gemini-2.5-flash', contents: 'news?' });
    for (const key of ['responseSchema', 'responseJsonSchema']) {
      const withSchema = await estimateGenAIRequest({ model: 'gemini-2.5-flash', contents: 'news?', config: { [key]: schema } } as never);
      expect(withSchema.inputTokens - bare.inputTokens, key).toBeGreaterThan(200);
      expect(withSchema.inputTokens, key).toBeLessThan(5000);
    }
    const generative = await estimateGenerativeAIRequest('news?', { model: 'gemini-2.5-flash', generationConfig: { responseSchema: schema } } as never);
    expect(generative.inputTokens - bare.inputTokens).toBeGreaterThan(200);
  });

  it('hold Anthropic tool search, MCP toolsets and MCP servers at the context window, not client tools', async () => {
    const ask = (extra: Record<string, unknown>) =>
      estimateAnthropicMessage({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'news?' }], ...extra } as never);
    for (const type of ['tool_search_tool_regex_20251119', 'mcp_toolset', 'web_fetch_20250910', 'code_execution_20250825']) {
      expect((await ask({ tools: [{ type, name: 'x' }] })).inputTokens, type).toBe(1_000_000);
    }
    expect((await ask({ mcp_servers: [{ type: 'url', url: 'https://example.com/sse', name: 'm' }] })).inputTokens).toBe(1_000_000);
    expect((await ask({ mcp_servers: [] })).inputTokens).toBeLessThan(1000);
    expect((await ask({ tools: [{ type: 'bash_20250124', name: 'bash' }, { name: 'f', input_schema: { type: 'object' } }] })).inputTokens).toBeLessThan(2000);
  });
});
