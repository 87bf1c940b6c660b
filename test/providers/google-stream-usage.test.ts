/**
 * Gemini streams whose usage chunks differ from the plain running totals the emulator writes, as
 * served by the Gemini API's own variants (Vertex AI, newer models) and by gateways: the real
 * SDKs over real HTTP, against a server that writes exactly the given chunks.
 */
import { GoogleGenAI } from '@google/genai';
import { GoogleGenerativeAI } from '@google/generative-ai';
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createTokenLimiter, withTokenLimits, type UsageRecord } from '../../src/index.js';
import { geminiTextTokens } from '../../src/providers/google/usage.js';
import { loggedAtLeast } from './helpers.js';

const MODEL = 'gemini-2.5-flash';
const TEXT = 'Lisbon is the capital of Portugal, on the Tagus estuary. '.repeat(8);

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A server that streams these chunks (`data:` records, as the Gemini API writes them); its base URL. */
async function serving(chunks: unknown[]): Promise<string> {
  const body = chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\r\n\r\n`).join('');
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(body);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

const candidate = (text: string, finishReason?: string) => ({ content: { role: 'model', parts: [{ text }] }, index: 0, ...(finishReason === undefined ? {} : { finishReason }) });
const FINAL = { promptTokenCount: 50, candidatesTokenCount: 120, totalTokenCount: 170 };

/** Streams one request through a wrapped client of `sdk`, reading every chunk; the usage record. */
async function streamed(sdk: 'genai' | 'generative-ai', baseUrl: string): Promise<UsageRecord> {
  const limiter = createTokenLimiter({ defaultLimits: [{ id: 'm', tokens: 1_000_000, period: 'month' }] });
  if (sdk === 'genai') {
    const ai = withTokenLimits(new GoogleGenAI({ apiKey: 'test', httpOptions: { baseUrl } }), 'alice', { limiter });
    for await (const chunk of await ai.models.generateContentStream({ model: MODEL, contents: 'Tell me about Lisbon.', config: { maxOutputTokens: 500 } })) void chunk;
  } else {
    const model = withTokenLimits(new GoogleGenerativeAI('test'), 'alice', { limiter }).getGenerativeModel({ model: MODEL, generationConfig: { maxOutputTokens: 500 } }, { baseUrl });
    const result = await model.generateContentStream('Tell me about Lisbon.');
    for await (const chunk of result.stream) void chunk;
  }
  const [record] = await loggedAtLeast(limiter, 1);
  return record!;
}

describe.each(['genai', 'generative-ai'] as const)('withTokenLimits(%s): stream usage', (sdk) => {
  it('a later chunk whose usageMetadata carries no count (only trafficType) does not erase the usage before it', async () => {
    const url = await serving([{ candidates: [candidate(TEXT, 'STOP')], usageMetadata: FINAL }, { usageMetadata: { trafficType: 'ON_DEMAND' } }]);
    expect(await streamed(sdk, url)).toMatchObject({ inputTokens: 50, outputTokens: 120, estimated: false, status: 'ok' });
  });

  it('a later chunk whose running usage is lower (zeros) does not lower the usage: running totals never go down', async () => {
    const url = await serving([{ candidates: [candidate(TEXT, 'STOP')], usageMetadata: FINAL }, { usageMetadata: { promptTokenCount: 0, totalTokenCount: 0 } }]);
    expect(await streamed(sdk, url)).toMatchObject({ inputTokens: 50, outputTokens: 120, estimated: false, status: 'ok' });
  });

  it('an early zero usage is replaced by the final one', async () => {
    const url = await serving([
      { candidates: [candidate('Lisbon ')], usageMetadata: { promptTokenCount: 0, candidatesTokenCount: 0, totalTokenCount: 0 } },
      { candidates: [candidate(TEXT, 'STOP')], usageMetadata: FINAL },
    ]);
    expect(await streamed(sdk, url)).toMatchObject({ inputTokens: 50, outputTokens: 120, estimated: false, status: 'ok' });
  });

  it('a stream that ends without a finishReason was cut: its text is charged (an estimate), not the output of its last running usage', async () => {
    const url = await serving([
      { candidates: [candidate('Lisbon ')], usageMetadata: { promptTokenCount: 50, totalTokenCount: 50 } },
      { candidates: [candidate(TEXT)], usageMetadata: { promptTokenCount: 50, totalTokenCount: 50 } },
    ]);
    const record = await streamed(sdk, url);
    expect(record).toMatchObject({ inputTokens: 50, estimated: true, status: 'aborted' });
    expect(record.outputTokens).toBeGreaterThanOrEqual(geminiTextTokens(`Lisbon ${TEXT}`));
  });

  it('a blocked prompt (promptFeedback.blockReason, no candidate) is a finished stream: its usage is exact', async () => {
    const url = await serving([{ promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 50, totalTokenCount: 50 } }]);
    expect(await streamed(sdk, url)).toMatchObject({ inputTokens: 50, outputTokens: 0, estimated: false, status: 'ok' });
  });
});
