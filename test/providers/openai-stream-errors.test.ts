/**
 * A stream that the provider ends with its error event (chat: a `data: {"error": ...}` chunk, which
 * the SDK throws; Responses: an `error` event, or `response.failed` without usage) has broken off:
 * it is charged as a stream that broke (input estimate and the text received, or the whole hold for
 * a model that bills reasoning it does not show), status `aborted`, whether or not the caller reads
 * it, and on either API.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenLimiter, estimateOpenAIRequest, withTokenLimits } from '../../src/index.js';
import { collect, useEmulator } from '../emulator/harness.js';
import { loggedAtLeast } from './helpers.js';

const emulator = useEmulator();

function setup() {
  const limiter = createTokenLimiter({ defaultLimits: [{ id: 'm', tokens: 10_000_000, period: 'month' }] });
  const wrapped = withTokenLimits(new OpenAI({ apiKey: 'test', baseURL: emulator().openaiBaseURL }), 'alice', { limiter });
  return { limiter, wrapped };
}

const HOLD = 400;
const messages = [{ role: 'user' as const, content: 'Tell me a long story about Lisbon and its trams' }];
const chat = (model: string) => ({ model, messages, max_completion_tokens: HOLD, stream: true as const });
const responses = (model: string) => ({ model, input: 'Tell me a long story about Lisbon and its trams', max_output_tokens: HOLD, stream: true as const });

describe('withTokenLimits(openai): a stream the provider ends with an error', () => {
  it('Responses: charged as a broken stream, the hold for a reasoning model, what it received for another', async () => {
    const { limiter, wrapped } = setup();
    emulator().enqueue({ midStreamError: { afterChunks: 6 } }, { times: 2 });
    const events = await collect(await wrapped.responses.create(responses('o3')));
    expect(events.at(-1)).toMatchObject({ type: 'error' });
    await collect(await wrapped.responses.create(responses('gpt-4.1')));
    const records = await loggedAtLeast(limiter, 2);
    const hold = await estimateOpenAIRequest('responses', responses('o3'));
    const reasoning = records.find((r) => r.model === 'o3')!;
    const plain = records.find((r) => r.model === 'gpt-4.1')!;
    expect(reasoning).toMatchObject({ estimated: true, status: 'aborted', inputTokens: hold.inputTokens, outputTokens: HOLD });
    expect(plain).toMatchObject({ estimated: true, status: 'aborted' });
    expect(plain.outputTokens).toBeGreaterThan(0);
    expect(plain.outputTokens).toBeLessThan(HOLD);
  });

  it('chat completions: the same whether the caller reads the stream or never does', async () => {
    for (const read of [true, false]) {
      const { limiter, wrapped } = setup();
      emulator().enqueue({ midStreamError: { afterChunks: 4 } });
      const stream = await wrapped.chat.completions.create(chat('o3'));
      if (read) await expect(collect(stream)).rejects.toBeInstanceOf(OpenAI.APIError);
      const [record] = await loggedAtLeast(limiter, 1);
      expect(record, `read: ${read}`).toMatchObject({ estimated: true, status: 'aborted', outputTokens: HOLD });
      await limiter.close();
    }
  });
});

/**
 * Responses streams of a server of the test's own: the events of each case, sent whole. The
 * emulator sends no `response.failed`, nor an error event followed by the response's end.
 */
describe('withTokenLimits(openai): how a Responses stream ends', () => {
  const USAGE = { input_tokens: 30, output_tokens: 12, total_tokens: 42 };
  const response = (status: string, usage: unknown) => ({ id: 'resp_1', object: 'response', model: 'gpt-4.1', status, output: [], usage });
  const cases: Record<string, Array<[string, Record<string, unknown>]>> = {
    'failed, with usage': [['response.failed', { response: response('failed', USAGE) }]],
    'failed, without usage': [['response.failed', { response: response('failed', null) }]],
    'an error event, then the completed response': [
      ['error', { code: 'server_error', message: 'transient', param: null }],
      ['response.completed', { response: response('completed', USAGE) }],
    ],
  };
  let server: Server;
  let baseURL: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      const events = cases[decodeURIComponent(String(req.headers['x-case']))]!;
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const all: Array<[string, Record<string, unknown>]> = [['response.created', { response: response('in_progress', null) }], ...events];
        res.end(all.map(([type, data], n) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: n, ...data })}\n\n`).join(''));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const expected: Record<string, object> = {
    'failed, with usage': { estimated: false, status: 'ok', inputTokens: 30, outputTokens: 12 },
    'failed, without usage': { estimated: true, status: 'aborted', outputTokens: HOLD },
    'an error event, then the completed response': { estimated: false, status: 'ok', inputTokens: 30, outputTokens: 12 },
  };
  for (const name of Object.keys(cases)) {
    it(`${name}: charged ${JSON.stringify(expected[name])}`, async () => {
      const limiter = createTokenLimiter({ defaultLimits: [{ id: 'm', tokens: 10_000_000, period: 'month' }] });
      const wrapped = withTokenLimits(new OpenAI({ apiKey: 'test', baseURL, maxRetries: 0 }), 'alice', { limiter });
      await collect(await wrapped.responses.create(responses('o3'), { headers: { 'x-case': encodeURIComponent(name) } }));
      const [record] = await loggedAtLeast(limiter, 1);
      expect(record).toMatchObject(expected[name]!);
    });
  }
});
