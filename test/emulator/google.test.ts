import { GoogleGenAI } from '@google/genai';
import { GoogleGenerativeAI } from '@google/generative-ai';
import { describe, expect, it } from 'vitest';

import { expectedUsage } from '../../src/testing/index.js';
import { collect, useEmulator } from './harness.js';

const emulator = useEmulator();
const MODEL = 'gemini-2.5-flash';
const legacyModel = () => new GoogleGenerativeAI('g-key').getGenerativeModel({ model: MODEL }, { baseUrl: emulator().googleBaseUrl });
const genai = () => new GoogleGenAI({ apiKey: 'g-key', httpOptions: { baseUrl: emulator().googleBaseUrl } });

describe('@google/generative-ai 0.24', () => {
  it('answers generateContent with text and usageMetadata', async () => {
    const { response } = await legacyModel().generateContent('Hello gemini');
    expect(response.text()).toBe('Emulated reply to "Hello gemini".');
    const [recorded] = emulator().requests;
    expect(recorded).toMatchObject({ provider: 'google', endpoint: 'generateContent', model: MODEL, path: `/v1beta/models/${MODEL}:generateContent` });
    expect(recorded?.headers['x-goog-api-key']).toBe('g-key');
    const expected = expectedUsage(recorded!);
    // 10 + (4 + "user" 1 + "Hell|o| gemi|ni" 4)
    expect(expected.inputTokens).toBe(19);
    expect(response.usageMetadata).toEqual({
      promptTokenCount: 19,
      candidatesTokenCount: expected.outputTokens,
      totalTokenCount: 19 + expected.outputTokens,
      promptTokensDetails: [{ modality: 'TEXT', tokenCount: 19 }],
    });
    expect(response.candidates?.[0]?.finishReason).toBe('STOP');
  });

  it('streams with running usageMetadata; stream and response agree', async () => {
    const result = await legacyModel().generateContentStream('Stream this reply');
    const chunks = await collect(result.stream);
    const response = await result.response;
    expect(emulator().requests[0]?.query).toEqual({ alt: 'sse' });
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    expect(chunks.map((c) => c.text()).join('')).toBe('Emulated reply to "Stream this reply".');
    expect(response.text()).toBe('Emulated reply to "Stream this reply".');
    const counts = chunks.map((c) => c.usageMetadata?.candidatesTokenCount ?? -1);
    expect(counts).toEqual(counts.map((_, i) => i + 1));
    const expected = expectedUsage(emulator().requests[0]!);
    expect(response.usageMetadata?.candidatesTokenCount).toBe(expected.outputTokens);
    expect(response.usageMetadata?.totalTokenCount).toBe(expected.totalTokens);
    expect(chunks[chunks.length - 1]?.candidates?.[0]?.finishReason).toBe('STOP');
    expect(chunks.slice(0, -1).every((c) => c.candidates?.[0]?.finishReason === undefined)).toBe(true);
  });

  it('works with startChat().sendMessage() and sendMessageStream(), sending the history', async () => {
    const chat = legacyModel().startChat();
    const first = await chat.sendMessage('First question');
    expect(first.response.text()).toBe('Emulated reply to "First question".');
    const second = await chat.sendMessageStream('Second question');
    expect((await collect(second.stream)).map((c) => c.text()).join('')).toBe('Emulated reply to "Second question".');
    expect((await second.response).text()).toBe('Emulated reply to "Second question".');
    const body = emulator().requests[1]?.body as { contents: Array<{ role: string }> };
    expect(body.contents.map((c) => c.role)).toEqual(['user', 'model', 'user']);
  });

  it('counts tokens (generateContentRequest body) like the prompt of a generate', async () => {
    const counted = await legacyModel().countTokens('How many tokens');
    const generated = await legacyModel().generateContent('How many tokens');
    expect((emulator().requests[0]?.body as Record<string, unknown>)['generateContentRequest']).toBeDefined();
    expect(counted.totalTokens).toBe(generated.response.usageMetadata?.promptTokenCount);
  });

  it('embeds one and several contents', async () => {
    const one = await legacyModel().embedContent('embed me');
    expect(one.embedding.values).toHaveLength(8);
    const batch = await legacyModel().batchEmbedContents({
      requests: [{ content: { role: 'user', parts: [{ text: 'embed me' }] } }, { content: { role: 'user', parts: [{ text: 'and me' }] } }],
    });
    expect(batch.embeddings).toHaveLength(2);
    expect(batch.embeddings[0]?.values).toEqual(one.embedding.values);
    expect(batch.embeddings[1]?.values).not.toEqual(one.embedding.values);
    expect(emulator().requests.map((r) => r.endpoint)).toEqual(['embedContent', 'batchEmbedContents']);
  });

  it('reports thoughtsTokenCount from the reasoning knob, outside candidatesTokenCount', async () => {
    emulator().enqueue({ reasoningTokens: 40 });
    const { response } = await legacyModel().generateContent('Think hard');
    const visible = expectedUsage(emulator().requests[0]!).outputTokens;
    const meta = response.usageMetadata as Record<string, number> | undefined;
    expect(meta?.['thoughtsTokenCount']).toBe(40);
    expect(meta?.['candidatesTokenCount']).toBe(visible);
    expect(meta?.['totalTokenCount']).toBe(meta!['promptTokenCount']! + visible + 40);
    expect(emulator().requests[0]?.reply?.usage).toMatchObject({ reasoningTokens: 40, outputTokens: visible + 40 });
  });
});

describe('@google/genai 2.x', () => {
  it('answers models.generateContent, honouring maxOutputTokens', async () => {
    const response = await genai().models.generateContent({ model: MODEL, contents: 'Hello genai', config: { maxOutputTokens: 3 } });
    expect(response.text).toBe('Emulated repl');
    expect(response.candidates?.[0]?.finishReason).toBe('MAX_TOKENS');
    expect(response.usageMetadata?.candidatesTokenCount).toBe(3);
    expect(response.usageMetadata?.promptTokenCount).toBe(expectedUsage(emulator().requests[0]!).inputTokens);
  });

  it('streams models.generateContentStream with a final finishReason', async () => {
    const chunks = await collect(await genai().models.generateContentStream({ model: MODEL, contents: 'Stream genai' }));
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    expect(chunks.map((c) => c.text).join('')).toBe('Emulated reply to "Stream genai".');
    const last = chunks[chunks.length - 1];
    expect(last?.candidates?.[0]?.finishReason).toBe('STOP');
    expect(last?.usageMetadata?.totalTokenCount).toBe(expectedUsage(emulator().requests[0]!).totalTokens);
    expect(emulator().requests).toHaveLength(1);
  });

  it('embeds through batchEmbedContents and counts tokens ({contents} body)', async () => {
    const embedded = await genai().models.embedContent({ model: 'gemini-embedding-001', contents: ['one', 'two'] });
    expect(embedded.embeddings).toHaveLength(2);
    expect(emulator().requests[0]?.endpoint).toBe('batchEmbedContents');
    const counted = await genai().models.countTokens({ model: MODEL, contents: 'count genai' });
    expect(Object.keys(emulator().requests[1]?.body as object)).toEqual(['contents']);
    expect(counted.totalTokens).toBe(expectedUsage(emulator().requests[1]!).inputTokens);
  });

  it('works with chats.create().sendMessage() and sendMessageStream()', async () => {
    const chat = genai().chats.create({ model: MODEL });
    const first = await chat.sendMessage({ message: 'genai chat one' });
    expect(first.text).toBe('Emulated reply to "genai chat one".');
    const stream = await chat.sendMessageStream({ message: 'genai chat two' });
    expect((await collect(stream)).map((c) => c.text).join('')).toBe('Emulated reply to "genai chat two".');
    const body = emulator().requests[1]?.body as { contents: Array<{ role: string }> };
    expect(body.contents.map((c) => c.role)).toEqual(['user', 'model', 'user']);
  });

  it('answers a function call when tools are declared and text after the function response', async () => {
    const tools = [{ functionDeclarations: [{ name: 'lookup', parametersJsonSchema: { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] } }] }];
    const first = await genai().models.generateContent({ model: MODEL, contents: 'find item', config: { tools } });
    expect(first.functionCalls).toEqual([{ name: 'lookup', args: { id: 1 } }]);
    const second = await genai().models.generateContent({
      model: MODEL,
      config: { tools },
      contents: [
        { role: 'user', parts: [{ text: 'find item' }] },
        { role: 'model', parts: [{ functionCall: { name: 'lookup', args: { id: 1 } } }] },
        { role: 'user', parts: [{ functionResponse: { name: 'lookup', response: { found: true } } }] },
      ],
    });
    expect(second.text).toBe('Emulated answer using the tool result: {"found":true}.');
  });

  it('accepts ?key= authentication and answers 403 without any key', async () => {
    const body = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'raw' }] }] });
    const ok = await fetch(`${emulator().url}/v1beta/models/${MODEL}:generateContent?key=abc`, { method: 'POST', body });
    expect(ok.status).toBe(200);
    const denied = await fetch(`${emulator().url}/v1beta/models/${MODEL}:generateContent`, { method: 'POST', body });
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { error: { status: string } }).error.status).toBe('PERMISSION_DENIED');
  });
});
