import { describe, expect, it } from 'vitest';

import { emulatorTokenCount, expectedUsage, startEmulator, type Emulator } from '../../src/testing/index.js';
import { useEmulator } from './harness.js';

const emulator = useEmulator();

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${emulator().url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
const OPENAI_AUTH = { authorization: 'Bearer sk-test' };
const ANTHROPIC_AUTH = { 'x-api-key': 'k', 'anthropic-version': '2023-06-01' };

describe('startEmulator', () => {
  it('exposes the base URLs of every SDK on an ephemeral loopback port', () => {
    const e = emulator();
    expect(e.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(e.openaiBaseURL).toBe(`${e.url}/v1`);
    expect(e.anthropicBaseURL).toBe(e.url);
    expect(e.googleBaseUrl).toBe(e.url);
  });

  it('rejects malformed options and behaviors with typed errors', async () => {
    await expect(startEmulator({ port: -1 })).rejects.toBeInstanceOf(RangeError);
    await expect(startEmulator({ embeddingDimensions: 0 })).rejects.toBeInstanceOf(RangeError);
    await expect(startEmulator({ defaultBehavior: { delayMs: -5 } })).rejects.toBeInstanceOf(RangeError);
    expect(() => emulator().setDefault({ status: 200 })).toThrow(RangeError);
    expect(() => emulator().enqueue({ chunkDelayMs: 1.5 })).toThrow(RangeError);
    expect(() => emulator().enqueue({ omitUsage: 'yes' as unknown as boolean })).toThrow(TypeError);
    expect(() => emulator().enqueue({}, { times: -1 })).toThrow(RangeError);
  });

  it('records every attempt with path, query, headers and parsed body; clears in place', async () => {
    const requests = emulator().requests;
    await post('/v1/messages?beta=true', { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'q' }] }, ANTHROPIC_AUTH);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      seq: expect.any(Number),
      method: 'POST',
      path: '/v1/messages',
      query: { beta: 'true' },
      provider: 'anthropic',
      endpoint: 'messages',
      model: 'm',
      stream: false,
      body: { model: 'm', max_tokens: 5 },
      reply: { status: 200, outcome: 'complete' },
    });
    expect(requests[0]?.headers['x-api-key']).toBe('k');
    emulator().clearRequests();
    expect(requests).toHaveLength(0);
    expect(emulator().requests).toBe(requests);
  });

  it('answers unknown routes with 404, other methods with 405, bad bodies with 400 in the provider format', async () => {
    const notFound = await post('/v1/nothing', {}, OPENAI_AUTH);
    expect(notFound.status).toBe(404);
    expect(((await notFound.json()) as { error: { message: string } }).error.message).toContain('no route');

    const wrongMethod = await fetch(`${emulator().url}/v1/chat/completions`, { headers: OPENAI_AUTH });
    expect(wrongMethod.status).toBe(405);

    const notJson = await post('/v1/chat/completions', '{oops', OPENAI_AUTH);
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ error: { type: 'invalid_request_error' } });

    const noMessages = await post('/v1/messages', { model: 'm', max_tokens: 5 }, ANTHROPIC_AUTH);
    expect(noMessages.status).toBe(400);
    expect(await noMessages.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'messages: Field required' } });

    const noAuth = await post('/v1/chat/completions', { model: 'm', messages: [] });
    expect(noAuth.status).toBe(401);
    expect(emulator().requests.map((r) => r.reply?.status)).toEqual([404, 405, 400, 400, 401]);
  });

  it('sends retry-after headers with retryable errors and any extra headers', async () => {
    emulator().enqueue({ status: 503, retryAfter: 0.01, headers: { 'x-custom': 'yes' } });
    const response = await post('/v1/chat/completions', { model: 'm', messages: [] }, OPENAI_AUTH);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after-ms')).toBe('10');
    expect(response.headers.get('retry-after')).toBe('0.01');
    expect(response.headers.get('x-custom')).toBe('yes');
    expect(response.headers.get('x-request-id')).toMatch(/^req_/);
    emulator().enqueue({ status: 400 });
    const notRetryable = await post('/v1/chat/completions', { model: 'm', messages: [] }, OPENAI_AUTH);
    expect(notRetryable.headers.get('retry-after-ms')).toBeNull();
  });

  it('replaces the error body with errorBody', async () => {
    const errorBody = { error: { message: 'You exceeded your current quota', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } };
    const response = await post('/v1/chat/completions', { model: 'm', messages: [] }, { ...OPENAI_AUTH, 'x-emulator-status': '429', 'x-emulator-error-body': JSON.stringify(errorBody) });
    expect(await response.json()).toEqual(errorBody);
  });

  it('frames Gemini SSE records exactly as data: <json>\\r\\n\\r\\n, and answers a JSON array without alt=sse', async () => {
    const body = { contents: [{ role: 'user', parts: [{ text: 'frame me' }] }] };
    const sse = await (await post('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse', body, { 'x-goog-api-key': 'k' })).text();
    const records = sse.split('\r\n\r\n');
    expect(records.pop()).toBe('');
    expect(records.length).toBeGreaterThanOrEqual(3);
    for (const record of records) {
      expect(record.startsWith('data: {')).toBe(true);
      expect(record).not.toContain('\n');
    }
    expect(sse).not.toContain('[DONE]');
    expect(sse).not.toContain('continuationToken');
    const array = (await (await post('/v1beta/models/gemini-2.5-flash:streamGenerateContent', body, { 'x-goog-api-key': 'k' })).json()) as unknown[];
    expect(array).toEqual(records.map((r) => JSON.parse(r.slice('data: '.length))));
  });

  it('frames Anthropic SSE with an event line matching every payload type', async () => {
    const text = await (
      await post('/v1/messages', { model: 'm', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] }, ANTHROPIC_AUTH)
    ).text();
    const records = text.trim().split('\n\n');
    for (const record of records) {
      const [eventLine, dataLine] = record.split('\n');
      const type = eventLine?.replace('event: ', '');
      expect(JSON.parse(dataLine?.replace('data: ', '') ?? '').type).toBe(type);
    }
    expect(records[0]).toMatch(/^event: message_start/);
    expect(records[records.length - 1]).toMatch(/^event: message_stop/);
  });

  it('expectedUsage rejects unknown endpoints and non-object bodies', () => {
    expect(() => expectedUsage({ provider: 'openai', endpoint: 'messages', body: {} })).toThrow(TypeError);
    expect(() => expectedUsage({ provider: 'openai', endpoint: 'chat.completions', body: 'x' })).toThrow(TypeError);
    expect(expectedUsage({ provider: 'anthropic', endpoint: 'messages.count_tokens', body: { messages: [{ role: 'user', content: 'abcdefgh' }] } }).inputTokens).toBe(
      10 + 4 + 1 + 2,
    );
  });

  it('expectedUsage and emulatorTokenCount say what is wrong with their input', () => {
    const request = { provider: 'openai', endpoint: 'chat.completions', body: { model: 'm', messages: [{ role: 'user', content: 'hi' }] } } as const;
    // A misspelt knob was ignored: the usage without the reasoning tokens the test meant to add.
    expect(() => expectedUsage(request, { reasoningToken: 20 } as never)).toThrow(/^expectedUsage: behavior: unknown field "reasoningToken"/);
    expect(() => expectedUsage(request, { reasoningTokens: -1 })).toThrow(RangeError);
    expect(expectedUsage(request, { reasoningTokens: 20 }).reasoningTokens).toBe(20);
    // These threw "Cannot read properties of null" and "text.match is not a function".
    expect(() => expectedUsage(null as never)).toThrow(new TypeError('expectedUsage: the request must be an object of provider, endpoint and body'));
    expect(() => emulatorTokenCount(42 as never)).toThrow(new TypeError('emulatorTokenCount: expected a string, got number'));
    expect(() => emulatorTokenCount(null as never)).toThrow(new TypeError('emulatorTokenCount: expected a string, got null'));
    expect(emulatorTokenCount('tiktoken is great!')).toBe(5);
  });

  it('startEmulator refuses an option that does not exist', async () => {
    // Ignored, { defaultBehaviour: { status: 429 } } left every request answered 200.
    await expect(startEmulator({ defaultBehaviour: { status: 429 } } as never)).rejects.toThrow(
      new TypeError('startEmulator: unknown field "defaultBehaviour" (known: port, defaultBehavior, clock, requireAuth, headerKnobs, embeddingDimensions)'),
    );
    await expect(startEmulator({ requireAuh: false } as never)).rejects.toThrow(/^startEmulator: unknown field "requireAuh"/);
  });

  it('waitForRequests resolves on arrival and rejects on timeout', async () => {
    const waiting = emulator().waitForRequests(2);
    await post('/v1/embeddings', { model: 'e', input: 'a' }, OPENAI_AUTH);
    await post('/v1/embeddings', { model: 'e', input: 'b' }, OPENAI_AUTH);
    expect((await waiting).map((r) => r.endpoint)).toEqual(['embeddings', 'embeddings']);
    await expect(emulator().waitForRequests(5, { timeoutMs: 20 })).rejects.toThrow(/2 of 5/);
  });

  it('waitForRequests refuses a timeoutMs a timer cannot hold instead of rejecting at once', async () => {
    // { timeoutMs: Infinity } rejected after 1 ms ("0 of 1 requests after Infinity ms").
    for (const timeoutMs of [Infinity, 2 ** 31, NaN, -1]) {
      await expect(emulator().waitForRequests(1, { timeoutMs })).rejects.toThrow(new RangeError(`waitForRequests: timeoutMs must be from 0 to 2147483647, got ${timeoutMs}`));
    }
    await expect(emulator().waitForRequests(1, { timeoutMs: '100' as unknown as number })).rejects.toThrow(new TypeError('waitForRequests: timeoutMs must be a number, got string'));
    await expect(emulator().waitForRequests(1, null as unknown as { timeoutMs?: number })).rejects.toThrow(new TypeError('waitForRequests: options must be an object'));
    const waiting = emulator().waitForRequests(1, { timeoutMs: 2 ** 31 - 1 });
    await post('/v1/embeddings', { model: 'e', input: 'a' }, OPENAI_AUTH);
    expect(await waiting).toHaveLength(1);
  });

  it('can turn off credential checks and header knobs', async () => {
    let own: Emulator | undefined;
    try {
      own = await startEmulator({ requireAuth: false, headerKnobs: false });
      const response = await fetch(`${own.url}/v1/embeddings`, {
        method: 'POST',
        headers: { 'x-emulator-status': '500' },
        body: JSON.stringify({ model: 'e', input: 'a' }),
      });
      expect(response.status).toBe(200);
    } finally {
      await own?.close();
    }
  });

  it('close() ends open keep-alive sockets and is idempotent', async () => {
    const own = await startEmulator();
    await fetch(`${own.url}/v1/embeddings`, { method: 'POST', headers: OPENAI_AUTH, body: JSON.stringify({ model: 'e', input: 'a' }) });
    await Promise.all([own.close(), own.close()]);
    await expect(fetch(`${own.url}/v1/embeddings`, { method: 'POST' })).rejects.toThrow();
  });
});
